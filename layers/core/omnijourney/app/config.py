"""The shared definitions in config/ and journeys/, for callers that need all of them: tests, the CLI's
`--config DIR` override and the local backend.

Each part of the domain loads its own file through `platform.configfile` (identifiers.yaml in identifiers,
lifecycle.yaml in profiles.lifecycle, consistency.yaml and products.yaml in runtime.consistency, offers.yaml in
offers, webhooks.yaml in channels.targets, journeys/ in journeys.catalog), so no module below reaches up for its
definitions. This facade names them together and forgets them together.
"""

from __future__ import annotations

from omnijourney.channels.targets import outbound
from omnijourney.identifiers import forget_rules, identifier_rules
from omnijourney.journeys.catalog import journeys
from omnijourney.journeys.segments import segments
from omnijourney.journeys.templates import shop
from omnijourney.offers import offers
from omnijourney.platform.configfile import config_dir, journeys_dir
from omnijourney.profiles.lifecycle import lifecycle
from omnijourney.runtime.consistency import consistency, products

__all__ = [
    "clear",
    "config_dir",
    "consistency",
    "identifiers",
    "journeys",
    "journeys_dir",
    "lifecycle",
    "offers",
    "outbound",
    "products",
    "segments",
    "shop",
]

identifiers = identifier_rules


def clear() -> None:
    """Forget every loaded definition: the next use reads config/ and journeys/ again (tests, the local backend)."""
    for cached in (lifecycle, consistency, products, identifier_rules, journeys, offers, shop, segments, outbound):
        cached.cache_clear()
    forget_rules()
