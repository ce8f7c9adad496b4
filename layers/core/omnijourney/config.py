"""The shared definitions in config/: loaded once per process through this one loader."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from omnijourney.configfile import load
from omnijourney.lifecycle import LifecycleConfig
from omnijourney.settings import get_settings

# In the repository, config/ sits at the root; the Lambda layer sets OMNIJOURNEY_CONFIG_DIR.
_REPOSITORY_CONFIG = Path(__file__).resolve().parents[3] / "config"


def config_dir() -> Path:
    configured = get_settings().config_dir
    return Path(configured) if configured else _REPOSITORY_CONFIG


@lru_cache(maxsize=1)
def lifecycle() -> LifecycleConfig:
    return load(config_dir() / "lifecycle.yaml", LifecycleConfig)
