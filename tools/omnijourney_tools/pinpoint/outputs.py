"""All or nothing: an import writes its files only once every object converted, so a refused record leaves no
half-imported folder behind; and it replaces only files an import wrote (they start with IMPORTED_MARK)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from omnijourney_tools.pinpoint.exports import ImportRefused

IMPORTED_MARK = "# Imported from Amazon Pinpoint by `omnijourney import pinpoint`"


class Outputs:
    """The files an import will write, held until `commit`."""

    def __init__(self, *, replace_any: bool = False) -> None:
        self._files: dict[Path, str] = {}
        self._replace_any = replace_any

    def add(self, path: Path, text: str, *, source: str, edits_existing: bool = False) -> None:
        """Hold `text` for `path`. A file there that no import wrote is refused (unless the command was told
        --force), except when `edits_existing` (the importer merged its part into that file's own text)."""
        if path in self._files:
            raise ImportRefused(source, f"two objects would both be written to {path}; rename one in Pinpoint's export")
        if path.exists() and not (edits_existing or self._replace_any or written_by_an_import(path)):
            raise ImportRefused(
                source, f"{path} exists and was not written by an import; move it away or pass --force to replace it"
            )
        self._files[path] = text

    @property
    def paths(self) -> list[Path]:
        return list(self._files)

    def commit(self) -> list[Path]:
        """Write every held file (each through a temporary file and a rename, so none is ever half written)."""
        written = []
        for path, text in self._files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and path.read_text(encoding="utf-8") == text:
                continue
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, path)
            written.append(path)
        return written


def written_by_an_import(path: Path) -> bool:
    """Whether an import wrote the file at `path` (its first line is IMPORTED_MARK)."""
    with path.open(encoding="utf-8", errors="replace") as file:
        return file.readline().startswith(IMPORTED_MARK)
