"""`--config DIR` and `--journeys DIR` of the commands: the folders the definitions are read from, for one command.

Settings and every loaded definition are read again inside and after it, so tests and tools can call `main()` many
times in one process, each with its own folders.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from omnijourney.app import config
from omnijourney.platform.settings import get_settings

FOLDER_SETTINGS = {"config": "OMNIJOURNEY_CONFIG_DIR", "journeys": "OMNIJOURNEY_JOURNEYS_DIR"}


@contextmanager
def definitions_from(*, config_dir: Path | None = None, journeys_dir: Path | None = None) -> Iterator[None]:
    """config/ (segments, offers, lifecycle, shop, consistency) and journeys/ read from these folders while inside."""
    given = {FOLDER_SETTINGS["config"]: config_dir, FOLDER_SETTINGS["journeys"]: journeys_dir}
    overrides = {name: str(folder.resolve()) for name, folder in given.items() if folder is not None}
    previous = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    _forget()
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _forget()


def _forget() -> None:
    get_settings.cache_clear()
    config.clear()
