"""A link's settings: the bootstrap resamples come from a small offered set, so a link cannot
ask for minutes of CPU or mint a cache entry per number; the CLI keeps any count it validates."""

from __future__ import annotations

import pytest

from nsexp.analysis.settings import BOOTSTRAP_CHOICES, Settings
from nsexp.errors import InputError


@pytest.mark.parametrize("resamples", BOOTSTRAP_CHOICES)
def test_offered_resamples_travel_in_a_link(resamples: int) -> None:
    settings, problems = Settings.from_query(Settings(bootstrap=resamples).to_query())
    assert (settings.bootstrap, problems) == (resamples, {})
    assert Settings.from_query({"bootstrap": str(resamples)})[0].bootstrap == resamples


@pytest.mark.parametrize("text", ["100000", "1001", "01000", "1e4", "-1000", "2000 ", "abc"])
def test_other_resamples_in_a_link_are_refused_and_keep_the_default(text: str) -> None:
    settings, problems = Settings.from_query({"bootstrap": text, "alpha": "0.1"})
    assert settings == Settings(alpha=0.1)
    assert problems == {
        "bootstrap": f"The link asks for bootstrap = {text!r}, which is not one of the "
        "resamples offered (0, 1000, 2000, 5000, 10000)"
    }


def test_the_cli_keeps_any_count_it_validates() -> None:
    assert Settings(bootstrap=100_000).bootstrap == 100_000
    with pytest.raises(InputError, match="not a number of resamples"):
        Settings(bootstrap=100_001)
