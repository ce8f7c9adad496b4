"""All journeys of a folder, checked together: one run reports every problem in every file."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from omnijourney.journeys.language import Journey
from omnijourney.journeys.segments import SegmentsConfig, segments
from omnijourney.journeys.templates import TemplateCatalog
from omnijourney.journeys.validation import check_journey, shop_problems
from omnijourney.offers import OffersConfig
from omnijourney.offers import offers as configured_offers
from omnijourney.platform.configfile import ConfigError, Problem, Severity, config_dir, journeys_dir
from omnijourney.profiles.lifecycle import lifecycle

TEMPLATES_FOLDER = "templates"


@dataclass(frozen=True)
class JourneySet:
    journeys: dict[str, Journey]
    templates: TemplateCatalog
    # What deploys but can never happen (a wait that can only time out, …): printed by `journeys validate`, an
    # error there with --strict; the runtime runs the journeys all the same.
    warnings: tuple[Problem, ...] = ()


def journey_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    return files


def load_journeys(
    paths: list[Path], stages: tuple[str, ...] | None = None, offers: OffersConfig | None = None
) -> JourneySet:
    """Every journey in `paths` (files or folders; templates from each journey's templates/ folder), checked
    against the lifecycle stages and the offers of config/ unless given."""
    if stages is None:
        stages = lifecycle().names
    if offers is None:
        offers = configured_offers()
    files = journey_files(paths)
    problems: list[Problem] = shop_problems(config_dir())  # errors and warnings, file by file
    try:
        shared_segments: SegmentsConfig | None = segments()
    except ConfigError as error:
        problems.extend(error.problems)
        shared_segments = None  # the journeys' own problems are still worth listing
    catalogs: dict[Path, TemplateCatalog] = {}
    journeys: dict[str, Journey] = {}
    for file in files:
        folder = file.parent / TEMPLATES_FOLDER
        if folder not in catalogs:
            catalogs[folder] = TemplateCatalog(folder)
            problems.extend(catalogs[folder].problems)
        try:
            journey, warnings = check_journey(file, catalogs[folder], stages, offers, shared_segments)
        except ConfigError as error:
            problems.extend(error.problems)
            continue
        journeys[journey.journey] = journey
        problems.extend(warnings)
    if any(problem.severity is Severity.error for problem in problems):
        raise ConfigError(problems)
    templates = next(iter(catalogs.values())) if catalogs else TemplateCatalog(Path(TEMPLATES_FOLDER))
    return JourneySet(journeys=journeys, templates=templates, warnings=tuple(problems))


@lru_cache(maxsize=1)
def journeys() -> JourneySet:
    """The published journeys and their templates, checked as `omnijourney journeys validate` checks them."""
    return load_journeys([journeys_dir()], lifecycle().names)
