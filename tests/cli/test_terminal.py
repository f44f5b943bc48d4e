"""Issue 19 item 6: no label, name or variant in the data acts on the terminal. Every CLI output
(table, Markdown, JSON; readout, segments, tree, proxies, error lines) writes C0/C1 controls and
the bidirectional overrides as `\\u` escapes, and the JSON still reads back the original text."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import METRICS, CliRunner, make_units, write_frame

from nsexp.report.text import terminal_safe, terminal_safe_utf8

# retitle the window (OSC 0 ... BEL), clear the screen (CSI 2J), an 8-bit CSI (U+009B), a
# carriage return that would overwrite the line, and a right-to-left override and isolate
EVIL = "\x1b]0;pwned\x07\x1b[2J\u009b31m\r\u202eevil\u2066"
# what a terminal acts on: C0 but the line feed, DEL, C1, bidi embeddings/overrides/isolates
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def toml_tables(path: Path, top: str, tables: dict[str, dict[str, Any]]) -> None:
    """TOML tables whose strings carry control characters (as TOML's \\u escapes)."""
    lines = []
    for name, spec in tables.items():
        lines.append(f"[{top}.{json.dumps(name)}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in spec.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """Data whose experiment id, variant, segment value, metric label, name, owner and
    hypothesis all carry terminal controls."""
    frame = make_units(1, {"control": 300, "treat" + EVIL: 300}, experiment="exp" + EVIL)
    frame = frame.with_columns(
        platform=frame["unit_id"].str.slice(-1).replace_strict({"1": "ios" + EVIL}, default="web")
    )
    write_frame(frame, tmp_path / "exp.csv")
    metrics = {k: dict(v) for k, v in METRICS.items()}
    metrics["lessons"]["label"] = "Lessons" + EVIL
    metrics["clicks"]["label"] = "Clicks" + EVIL
    toml_tables(tmp_path / "metrics.toml", "metrics", metrics)
    info = {"name": "Name" + EVIL, "owner": "Owner" + EVIL, "hypothesis": "Because" + EVIL}
    toml_tables(tmp_path / "experiments.toml", "experiments", {"exp" + EVIL: info})
    return tmp_path


COMMANDS = (
    ("readout",),
    ("readout", "--segment", "platform"),
    ("tree",),
    ("proxies",),
)


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_no_control_reaches_the_terminal(
    hostile: Path, run_cli: CliRunner, command: tuple[str, ...], fmt: str
) -> None:
    code, out, err = run_cli(command[0], hostile, *command[1:], "--format", fmt)
    assert code == 0, err
    assert not RAW.search(out), RAW.findall(out)[:5]
    if command == ("readout",):  # the payload is in the output, escaped
        assert "\\u001b]0;pwned\\u0007" in out and "\\u202eevil" in out
        if fmt == "json":
            doc = json.loads(out)  # valid JSON, and it reads back the very same text
            experiment = doc["experiments"][0]
            assert experiment["experiment"] == "exp" + EVIL
            assert experiment["name"] == "Name" + EVIL
            assert experiment["variants"] == ["control", "treat" + EVIL]


def test_an_error_line_stays_one_inert_line(hostile: Path, run_cli: CliRunner) -> None:
    code, out, err = run_cli("readout", hostile, "--experiment", "x\n" + EVIL)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert not RAW.search(err)


def test_terminal_safe_escapes_exactly_the_controls() -> None:
    controls = [*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    for code in controls:
        char = chr(code)
        if char == "\n":
            assert terminal_safe(char) == "\n"
            assert terminal_safe(char, one_line=True) == "\\u000a"
            continue
        assert terminal_safe(char) == f"\\u{code:04x}"
        # as JSON, the escape reads back as the character
        assert json.loads(f'"{terminal_safe(char)}"') == char
    kept = 'Lessons ✓ −9.6% [−19.5%, +0.4%] α é 日本 \u200d ‘q’ \\ "'
    assert terminal_safe(kept) == kept


def test_terminal_safe_reads_controls_among_other_characters() -> None:
    # every neighbour of a control and every pair of safe characters, checked against the
    # character-by-character rule (the fast check deletes the ASCII bytes that need no escape)
    safe = ["a", "\n", "é", "α", "−", "\u2029", "\u2065", "\u206a", "日", "\U0001f600"]
    controls = ["\x1b", "\x7f", "\x85", "\x9b", "\u202e", "\u2066"]
    for left in safe:
        for right in safe:
            assert terminal_safe(left + right) == left + right
            for c in controls:
                expected = f"{left}\\u{ord(c):04x}{right}"
                assert terminal_safe(left + c + right) == expected
    assert terminal_safe("a\ud800b\x1b") == "a\ud800b\\u001b"  # a lone surrogate: no UTF-8
    assert terminal_safe("a\ud800b") == "a\ud800b"


def test_terminal_safe_utf8_is_the_safe_text_encoded() -> None:
    # the bytes the CLI writes straight to stdout: the terminal-safe text's UTF-8, every case
    safe = ["a", "\n", "é", "−", "\u2065", "日", "\U0001f600"]
    controls = ["", "\x1b", "\x7f", "\x85", "\x9b", "\u202e", "\u2066"]
    for left in safe:
        for c in controls:
            text = f"{left}{c}{left}"
            assert terminal_safe_utf8(text) == terminal_safe(text).encode()
            # a command's UTF-8 bytes (the readout's JSON) read the same, never decoded whole
            assert terminal_safe_utf8(text.encode()) == terminal_safe(text).encode()
    assert terminal_safe_utf8("a\ud800b") is None  # a lone surrogate has no UTF-8
