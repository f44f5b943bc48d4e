"""The analysis choices a readout depends on, and their one serialised form each.

`Settings` is validated on construction. `to_dict`/`from_dict` are the JSON and pin form (every
field), `to_query`/`from_query` the URL form (only what differs from the default), so a
readout, a pin and a link always agree on what produced the figures.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from nsexp.errors import InputError, echo
from nsexp.stats.multiplicity import CORRECTIONS, Correction

StatsEngine = Literal["frequentist", "bayesian"]
STATS_ENGINES: tuple[StatsEngine, ...] = ("frequentist", "bayesian")
# The settings a link carries: everything a person can choose in the app.
QUERY_KEYS = ("alpha", "correction", "sequential", "cuped", "engine", "bootstrap")
# The bootstrap resamples a link may ask for (0: off): each value is a cached readout and seconds
# of CPU, so the app offers a few, not any number the CLI accepts (docs/deployment.md, "Limits").
BOOTSTRAP_CHOICES = (0, 1000, 2000, 5000, 10_000)
_DECIMAL = re.compile(r"0?\.\d{1,4}")  # plain decimals: 0.05, .01, 0.0001


@dataclass(frozen=True)
class Settings:
    """The analysis choices a readout depends on (hashable: caches key on it)."""

    alpha: float = 0.05
    correction: Correction = "holm"
    sequential: bool = False
    sequential_n: int | None = None
    cuped: bool | None = None
    engine: StatsEngine = "frequentist"
    bootstrap: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        """Refuse settings that cannot produce a readout, with the fix."""
        if self.engine not in STATS_ENGINES:
            raise InputError(
                f"engine = {self.engine!r} is not known",
                fix=f"use one of {', '.join(STATS_ENGINES)}",
            )
        if not _is_count(self.bootstrap) or not (
            self.bootstrap == 0 or 100 <= self.bootstrap <= 100_000
        ):
            raise InputError(
                f"bootstrap = {self.bootstrap!r} is not a number of resamples",
                fix="use 0 (off) or between 100 and 100000, e.g. 2000",
            )
        if self.sequential_n is not None and (
            not _is_count(self.sequential_n) or self.sequential_n < 2
        ):
            raise InputError(
                f"sequential_n = {self.sequential_n!r} is not a sample size",
                fix="give the planned units of a comparison (both arms), e.g. 20000",
            )
        if not isinstance(self.alpha, float | int) or not 0 < self.alpha < 0.5:
            raise InputError(
                f"alpha = {self.alpha!r} is not a significance level",
                fix="use a number between 0 and 0.5, e.g. 0.05",
            )
        if self.correction not in CORRECTIONS:
            raise InputError(
                f"correction = {self.correction!r} is not known",
                fix=f"use one of {', '.join(CORRECTIONS)}",
            )

    def to_dict(self) -> dict[str, Any]:
        """Every setting as plain data: the readout JSON's `settings` and a pin's."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Settings:
        """Settings from `to_dict` output (keys it does not know are left out)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_query(self) -> dict[str, str]:
        """The URL form: only the choices a link carries that differ from the defaults."""
        default = DEFAULT
        query: dict[str, str] = {}
        if self.alpha != default.alpha:
            query["alpha"] = f"{self.alpha:g}"
        if self.correction != default.correction:
            query["correction"] = self.correction
        if self.sequential:
            query["sequential"] = "true"
        if self.cuped is False:
            query["cuped"] = "false"
        if self.engine != default.engine:
            query["engine"] = self.engine
        if self.bootstrap:
            query["bootstrap"] = str(self.bootstrap)
        return query

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> tuple[Settings, dict[str, str]]:
        """Settings from a link's query parameters, and a message per parameter that was not
        understood (that parameter keeps its default): a bad link never stops a page."""
        values: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for key in QUERY_KEYS:
            text = query.get(key)
            if text is None:
                continue
            try:
                values[key] = _parse(key, text)
            except ValueError as exc:
                problems[key] = f"The link asks for {key} = {echo(text)}, {exc}"
        settings = cls()
        for key, value in values.items():
            try:
                settings = replace(settings, **{key: value})
            except InputError as exc:
                problems[key] = f"The link asks for {key} = {echo(query[key])}: {exc.message}"
        return settings, problems

    def without(self, *names: str) -> Settings:
        """These settings with the named fields back at their defaults."""
        return replace(self, **{n: getattr(DEFAULT, n) for n in names})


def _is_count(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _parse(key: str, text: str) -> Any:
    """One query value as its setting's type; ValueError says what was expected."""
    if key == "alpha":
        if not _DECIMAL.fullmatch(text) or not 0 < float(text) < 0.5:
            raise ValueError("which is not a significance level between 0 and 0.5 (e.g. 0.05)")
        return float(text)
    if key in ("sequential", "cuped"):
        if text not in ("true", "false"):
            raise ValueError("which is not true or false")
        on = text == "true"
        return on if key == "sequential" else (None if on else False)
    if key == "bootstrap":
        if text not in map(str, BOOTSTRAP_CHOICES):
            offered = ", ".join(map(str, BOOTSTRAP_CHOICES))
            raise ValueError(f"which is not one of the resamples offered ({offered})")
        return int(text)
    options = {"correction": CORRECTIONS, "engine": STATS_ENGINES}[key]
    if text not in options:
        raise ValueError(f"which is not one of {', '.join(options)}")
    return text


DEFAULT = Settings()
