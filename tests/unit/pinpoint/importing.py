"""Running `omnijourney import pinpoint <kind>` in tests: a copy of the project to import into, and the command on the
fixtures of tests/fixtures/pinpoint/<kind>/."""

from __future__ import annotations

import shutil
from pathlib import Path

from omnijourney_tools.cli import main
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "pinpoint"


def copied_project(folder: Path, *, with_journeys: bool = True) -> Path:
    """`folder` as a marketer's copy of the project: its config/ and journeys/ (or an empty journeys/)."""
    shutil.copytree(ROOT / "config", folder / "config")
    if with_journeys:
        shutil.copytree(ROOT / "journeys", folder / "journeys")
    else:
        (folder / "journeys").mkdir()
    return folder


def pinpoint_import(kind: str, project: Path, files: tuple[Path | str, ...], *options: str) -> int:
    """The import of `files` (a name: a fixture of that kind), its report in `project`; the command's status."""
    paths = [str(file if isinstance(file, Path) else FIXTURES / kind / file) for file in files]
    report = ("--report", str(project / "pinpoint-import.md"))
    return main(["import", "pinpoint", kind, *paths, *options, *report])
