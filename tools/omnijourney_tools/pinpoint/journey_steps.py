"""The steps a Pinpoint journey's activities become, as drafts: what each does, where it goes on to, and how it is
written once its place in the file is known (a step goes on to the following one unless it says `next`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from omnijourney_tools.pinpoint.conditions import Json

END_REASON = "end of the Pinpoint journey"


@dataclass(frozen=True)
class Draft:
    """One step: `then` is the step it goes on to when done (a wait_for's `on_event`), None when the step says where
    it goes itself (a branch, a split, an exit)."""

    step: Json
    comment: str
    then: str | None = None

    @property
    def id(self) -> str:
        return str(self.step["id"])

    @property
    def targets(self) -> set[str]:
        """The steps a branch, split or wait_for names."""
        action = {key: value for key, value in self.step.items() if key != "id"}
        return set(_names(action))

    @property
    def described(self) -> str:
        """What the step does, for the report: `send email template `welcome` (marketing)`."""
        step = self.step
        if "send" in step:
            send = step["send"]
            return f"send {send['channel']} template `{send['template']}` ({send['category']})"
        if "wait" in step:
            return f"wait {in_words(step['wait'])}"
        if "wait_for" in step:
            return f"wait_for {step['wait_for']['event']} up to {in_words(step['wait_for']['timeout'])}"
        if "branch" in step:
            return f"branch ({len(step['branch']['cases'])} case(s) and otherwise)"
        if "split" in step:
            return "split " + " / ".join(f"{group['percent']}%" for group in step["split"])
        return f"exit ({step['exit']})"

    def placed(self, following: str | None, end: str) -> Draft:
        """This step where it lands: `then` written out unless it is the following step (or the end, last)."""
        if self.then is None or self.then == following or (self.then == end and following is None):
            return self
        if "wait_for" in self.step:
            return replace(self, step={**self.step, "wait_for": {**self.step["wait_for"], "on_event": self.then}})
        return replace(self, step={**self.step, "next": self.then})


def _names(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ("goto", "otherwise", "on_timeout"):
                yield str(inner)
            else:
                yield from _names(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _names(inner)


def in_words(waited: Json) -> str:
    return ", ".join(f"{amount} {unit}" for unit, amount in waited.items())


def in_order(drafts: list[Draft], end: str) -> list[Draft]:
    """The steps in the file's order, each going on to the following step unless it says otherwise; the end step
    only when a path ends before the last step (the last one's path ends by going off the end)."""
    if any(draft.then == end for draft in drafts[:-1]) or any(end in draft.targets for draft in drafts):
        drafts = [*drafts, Draft({"id": end, "exit": END_REASON}, "where the journey's paths end")]
    followers = [draft.id for draft in drafts[1:]] + [None]
    return [draft.placed(following, end) for draft, following in zip(drafts, followers, strict=True)]
