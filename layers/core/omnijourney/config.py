"""The shared definitions in config/: loaded once per process through this one loader."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from omnijourney.configfile import load
from omnijourney.identifiers import IdentifierRules, forget_rules
from omnijourney.settings import get_settings

# Each definition's model is imported when it is first loaded: the ingest function reads only identifiers.yaml.
if TYPE_CHECKING:
    from omnijourney.consistency import ConsistencyRules, ProductCatalog
    from omnijourney.journeys.catalog import JourneySet
    from omnijourney.lifecycle import LifecycleConfig
    from omnijourney.offers import OffersConfig

# In the repository, config/ and journeys/ sit at the root; the Lambda layer sets OMNIJOURNEY_CONFIG_DIR
# and OMNIJOURNEY_JOURNEYS_DIR.
_REPOSITORY_CONFIG = Path(__file__).resolve().parents[3] / "config"
_REPOSITORY_JOURNEYS = Path(__file__).resolve().parents[3] / "journeys"


def config_dir() -> Path:
    configured = get_settings().config_dir
    return Path(configured) if configured else _REPOSITORY_CONFIG


@lru_cache(maxsize=1)
def lifecycle() -> LifecycleConfig:
    from omnijourney.lifecycle import LifecycleConfig

    return load(config_dir() / "lifecycle.yaml", LifecycleConfig)


@lru_cache(maxsize=1)
def consistency() -> ConsistencyRules:
    from omnijourney.consistency import ConsistencyRules

    return load(config_dir() / "consistency.yaml", ConsistencyRules)


@lru_cache(maxsize=1)
def products() -> ProductCatalog:
    from omnijourney.consistency import ProductCatalog

    return load(config_dir() / "products.yaml", ProductCatalog)


@lru_cache(maxsize=1)
def identifiers() -> IdentifierRules:
    return load(config_dir() / "identifiers.yaml", IdentifierRules)


def journeys_dir() -> Path:
    configured = get_settings().journeys_dir
    return Path(configured) if configured else _REPOSITORY_JOURNEYS


@lru_cache(maxsize=1)
def journeys() -> JourneySet:
    """The published journeys and their templates, checked as `omnijourney journeys validate` checks them."""
    from omnijourney.journeys.catalog import load_journeys

    return load_journeys([journeys_dir()], lifecycle().names)


@lru_cache(maxsize=1)
def offers() -> OffersConfig:
    from omnijourney.offers import OffersConfig

    return load(config_dir() / "offers.yaml", OffersConfig)


def clear() -> None:
    """Forget every loaded definition: the next use reads config/ and journeys/ again (tests, the local backend)."""
    for cached in (lifecycle, consistency, products, identifiers, journeys, offers):
        cached.cache_clear()
    forget_rules()
