"""The seeded Lingo demo portfolio: showcase experiments and a history of past ones."""

from nsexp.demo.showcase import main, write_demo

__all__ = ["main", "write_demo"]
