"""The one error type for bad input: it carries where the problem is and what to do about it."""

from __future__ import annotations

import os
import re
from pathlib import Path


def echo(value: object, limit: int = 40) -> str:
    """A value someone gave (a link's parameter, an id) quoted in a message, cut short so a huge
    one cannot flood the page or the terminal."""
    text = value if isinstance(value, str) else repr(value)
    cut = text if len(text) <= limit else text[:limit] + "…"
    return repr(cut) if isinstance(value, str) else cut


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

    def shown_under(self, *roots: str | Path) -> InputError:
        """The same error with server paths as a viewer of the app should see them: relative
        to the first of `roots` (the data directory on view, then the data root) that holds
        them, and any other absolute path in `file` cut to its file name. The CLI prints paths
        as given; the app shows every viewer this form instead (no server layout on a page)."""
        forms: list[tuple[str, str]] = []
        for root in roots:
            path = Path(root)
            for form in dict.fromkeys((str(path.resolve()), str(path.absolute()))):
                forms.append((form, path.resolve().name or form))
        forms.sort(key=lambda pair: len(pair[0]), reverse=True)  # the deepest root first

        def strip(text: str | None) -> str | None:
            if text is None:
                return None
            for form, name in forms:
                text = text.replace(form + os.sep, "")
                # the directory itself, wherever it is named: by its own name
                pattern = re.escape(form) + r"(?=$|[\s,:;)'\"])"
                text = re.sub(pattern, name.replace("\\", "\\\\"), text)
            return text

        file = strip(self.file)
        if file is not None:
            file = ", ".join(
                Path(part).name if Path(part).is_absolute() else part for part in file.split(", ")
            )
        return InputError(
            strip(self.problem) or "", file=file, column=self.column, fix=strip(self.fix)
        )
