"""The Pinpoint journey exports of tests/fixtures/pinpoint/journeys/ and a project folder to import them into, for the
journeys import's unit and round-trip tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from omnijourney_tools.cli import main
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "pinpoint" / "journeys"


def project(folder: Path) -> Path:
    """`folder` as a project: the shipped config/ with the segments `import pinpoint segments` would write, and a
    journeys/templates/ holding the templates the imported journeys send (as `import pinpoint templates` would)."""
    shutil.copytree(ROOT / "config", folder / "config")
    shutil.copy(FIXTURES / "config" / "segments.yaml", folder / "config" / "segments.yaml")
    shutil.copytree(FIXTURES / "templates", folder / "journeys" / "templates")
    return folder


def import_journeys(folder: Path, *exports: str) -> int:
    """`omnijourney import pinpoint journeys` of the fixtures into `folder`'s journeys/, with its config/."""
    files = [str(FIXTURES / export) for export in exports]
    return main(
        [
            *("import", "pinpoint", "journeys", *files),
            *("--out", str(folder / "journeys"), "--config", str(folder / "config")),
            *("--report", str(folder / "pinpoint-import.md")),
        ]
    )
