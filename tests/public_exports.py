"""Small rebuilds of two public experiment exports' column layouts (nobody here wrote them):
Cookie Cats (a mobile-game A/B test) and Kevin Hillstrom's e-mail test, seeded."""

from __future__ import annotations

import numpy as np
import polars as pl

HILLSTROM = "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv"


def cookie_cats(n: int = 1200, seed: int = 3) -> bytes:
    """Cookie Cats' columns: userid, version (gate_30/gate_40), sum_gamerounds, retention_1/7."""
    rng = np.random.default_rng(seed)
    gate = rng.choice(["gate_30", "gate_40"], n)
    return (
        pl.DataFrame(
            {
                "userid": np.arange(116, 116 + n),
                "version": gate,
                "sum_gamerounds": rng.poisson(50, n),
                "retention_1": rng.random(n) < 0.45,
                "retention_7": rng.random(n) < np.where(gate == "gate_30", 0.19, 0.18),
            }
        )
        .write_csv()
        .encode()
    )


def hillstrom(n: int = 1500, seed: int = 5) -> bytes:
    """Hillstrom's columns: recency, history_segment, history, mens, womens, zip_code, newbie,
    channel, segment (the arms), visit, conversion, spend."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(["Mens E-Mail", "Womens E-Mail", "No E-Mail"], n)
    visit = rng.random(n) < np.where(segment == "No E-Mail", 0.11, 0.17)
    conversion = visit & (rng.random(n) < 0.08)
    return (
        pl.DataFrame(
            {
                "recency": rng.integers(1, 13, n),
                "history_segment": rng.choice(["1) $0 - $100", "2) $100 - $200"], n),
                "history": rng.gamma(2.0, 120.0, n).round(2),
                "mens": rng.integers(0, 2, n),
                "womens": rng.integers(0, 2, n),
                "zip_code": rng.choice(["Urban", "Surburban", "Rural"], n),
                "newbie": rng.integers(0, 2, n),
                "channel": rng.choice(["Phone", "Web", "Multichannel"], n),
                "segment": segment,
                "visit": visit.astype(int),
                "conversion": conversion.astype(int),
                "spend": np.where(conversion, rng.gamma(2.0, 60.0, n), 0.0).round(2),
            }
        )
        .write_csv()
        .encode()
    )
