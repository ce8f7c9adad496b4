"""All journeys of a folder, checked together: one run reports every problem in every file."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from omnijourney.journeys.contract import EntryKeeps, entry_keeps
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

    @cached_property
    def entry_keeps(self) -> dict[str, EntryKeeps]:
        """What each journey keeps of the event that starts it: worked out once per loaded set, not on every event
        the profile function records."""
        return {name: entry_keeps(journey, self.templates) for name, journey in self.journeys.items()}


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
    checked: list[Problem] = []  # the journeys' own, listed after their templates'
    for file in files:
        folder = file.parent / TEMPLATES_FOLDER
        if folder not in catalogs:
            catalogs[folder] = TemplateCatalog(folder)
        try:
            journey, warnings = check_journey(file, catalogs[folder], stages, offers, shared_segments)
        except ConfigError as error:
            checked.extend(error.problems)
            continue
        journeys[journey.journey] = journey
        checked.extend(warnings)
    # A folder is checked whole; journeys named one by one only with the templates they use, so a marketer checking
    # their journey is not stopped by another's template (validating the folder, as CI does, lists every problem).
    whole = any(path.is_dir() for path in paths)
    used = {name for journey in journeys.values() for name in _templates_of(journey)}
    for catalog in catalogs.values():
        problems.extend(problem for problem in catalog.problems if whole or _template_named(problem) in used)
    problems.extend(checked)
    if any(problem.severity is Severity.error for problem in problems):
        raise ConfigError(problems)
    templates = next(iter(catalogs.values())) if catalogs else TemplateCatalog(Path(TEMPLATES_FOLDER))
    return JourneySet(journeys=journeys, templates=templates, warnings=tuple(problems))


@lru_cache(maxsize=1)
def journeys() -> JourneySet:
    """The published journeys and their templates, checked as `omnijourney journeys validate` checks them."""
    return load_journeys([journeys_dir()], lifecycle().names)


def _templates_of(journey: Journey) -> set[str]:
    return {
        name for step in journey.steps if step.send for name in (step.send.template, step.send.without_offer) if name
    }


def _template_named(problem: Problem) -> str:
    """The template a problem of a template file is about: `win_back_email.de.yaml` → win_back_email."""
    return Path(problem.path).name.split(".", 1)[0]
