"""The one error type for bad input: it carries where the problem is and what to do about it."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input a person can fix: names the file, the column or key, and the fix.

    The CLI prints it as one `error:` line and exits 2; the app shows it in an error element.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        column: str | None = None,
        fix: str | None = None,
    ) -> None:
        """Say what is wrong, and where: the file, the column or key, and the fix."""
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.column = column
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One line: `file: column 'x': problem; fix`."""
        parts = []
        if self.file:
            parts.append(self.file)
        if self.column:
            parts.append(f"column '{self.column}'")
        where = ": ".join(parts)
        text = f"{where}: {self.problem}" if where else self.problem
        if self.fix:
            text += f"; {self.fix}"
        return text
