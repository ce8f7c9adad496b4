"""Each send step's templates as a sample customer reads them, in every language they have (what
`omnijourney templates preview` prints)."""

from __future__ import annotations

from dataclasses import dataclass

from omnijourney.journeys.language import Journey
from omnijourney.journeys.templates import TemplateCatalog
from omnijourney_tools.journeys.preview import SAMPLE_VIEW, Misuse, preview, profile_of

SAMPLE_CUSTOMER = "a sample customer (not a real profile)"


@dataclass(frozen=True)
class StepPreview:
    step: str
    channel: str
    template: str
    text: str  # every language, or why the template cannot be filled in


def step_previews(journey: Journey, catalog: TemplateCatalog) -> list[StepPreview]:
    """A preview per template of each send step (its `without_offer` template too), in the journey's order, from the
    templates the journey was checked with."""
    customer = (SAMPLE_CUSTOMER, profile_of(SAMPLE_VIEW))
    previews = []
    for step in journey.steps:
        if step.send is None:
            continue
        for template in filter(None, (step.send.template, step.send.without_offer)):
            try:
                text = preview(catalog, template, customer, None)
            except Misuse as misuse:
                text = str(misuse)
            previews.append(StepPreview(step.id, str(step.send.channel), template, text))
    return previews
