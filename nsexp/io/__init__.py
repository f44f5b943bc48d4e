"""Reading experiment data: files in, validated sufficient statistics out."""

from nsexp.io.dataset import Dataset, Experiment, default_data_dir, fingerprint, load_dataset
from nsexp.io.schema import SUMMARY_SCHEMA, totals

__all__ = [
    "SUMMARY_SCHEMA",
    "Dataset",
    "Experiment",
    "default_data_dir",
    "fingerprint",
    "load_dataset",
    "totals",
]
