"""The studio's front end as `make web` builds it (web/build.mjs) into web/dist/: the editor's bundle, served at
/assets, and the customer screen, served at /customers/ (the same files the stack deploys)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

WEB_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"


class FrontEndMissing(Exception):
    """web/dist/ has not been built: the studio would serve pages without their scripts."""


def built(folder: Path, files: Iterable[str]) -> Path:
    """`folder`, once each of `files` is in it; FrontEndMissing, saying to run `make web`, otherwise."""
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise FrontEndMissing(
            f"the studio's front end is not built ({', '.join(missing)} missing in {folder}): run `make web`"
        )
    return folder
