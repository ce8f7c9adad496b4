"""What a scenario run ended with, in the terms the chaos promise is about, and the differences between two runs.

Compared: every live customer's profile view, the recorded events (each customer's history), the messages the
providers accepted (read from moto's SES and SNS, the channel fakes), the ledger's outcome per message key, and each
journey run's outcome and path. Messages and ledger entries are named by execution and step without the visit: a
visit is named by the time the step was entered, and a Task retried after a fault runs seconds later on the virtual
clock, so a wait planned from it ends at another instant. For the same reason an offer's code (derived from the
moment it was issued, to be the same on every retry of one issue) and its issue and expiry times are masked, in the
profiles and in the messages' text, and so are a staff note's time and the action id derived from it (when its Task
ran); every other time on a profile is an event's own. A ledger entry left `pending` where the fault-free run has
`sent` is the named window (the provider took the message and the ledger write failed or never came): not sent
twice, so it compares as sent, and is listed apart.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from unittest import mock

from moto.sesv2.responses import SESV2Response

from omnijourney.runtime import ledger_records
from omnijourney.runtime.ledger_records import LedgerStatus
from omnijourney_tools.local import ACCOUNT, REGION, LocalBackend
from omnijourney_tools.simulation.runner import Findings

Accepted = tuple[str, str, str, str]  # channel, execution#step ("" when no ledger entry names it), to, text
Entry = tuple[str, str, str | None]  # execution#step, status, reason
# How the email adapter writes a ledger key into an SES tag (channels/email.py).
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Outcome:
    profiles: dict[str, Any]
    events: dict[str, list[str]]
    accepted: Counter[Accepted]
    ledger: Counter[Entry]
    journeys: dict[str, tuple[str, tuple[str, ...]]]  # execution → outcome, path
    dead_letters: list[str]
    # Ledger entries left `pending` (compared as sent): the provider took their message, the ledger never heard.
    pending: list[str]

    def differences(self, expected: Outcome) -> list[str]:
        """In words, everything this run has that `expected` has not, and the other way round."""
        found = []
        for customer in sorted(set(self.profiles) | set(expected.profiles)):
            if self.profiles.get(customer) != expected.profiles.get(customer):
                found.append(
                    f"profile {customer} differs: {_diff(expected.profiles.get(customer), self.profiles.get(customer))}"
                )
        for customer in sorted(set(self.events) | set(expected.events)):
            lost = Counter(expected.events.get(customer, [])) - Counter(self.events.get(customer, []))
            extra = Counter(self.events.get(customer, [])) - Counter(expected.events.get(customer, []))
            found += [f"event lost: {customer} {event}" for event in sorted(lost.elements())]
            found += [f"event recorded that should not be: {customer} {event}" for event in sorted(extra.elements())]
        for message in sorted((self.accepted - expected.accepted).elements()):
            found.append(f"message sent twice (or never meant): {_said(message)}")
        for message in sorted((expected.accepted - self.accepted).elements()):
            found.append(f"message not sent: {_said(message)}")
        found += [f"ledger entry missing: {entry}" for entry in sorted((expected.ledger - self.ledger).elements())]
        found += [f"ledger entry not expected: {entry}" for entry in sorted((self.ledger - expected.ledger).elements())]
        for execution in sorted(set(self.journeys) | set(expected.journeys)):
            if self.journeys.get(execution) != expected.journeys.get(execution):
                found.append(
                    f"journey run {execution}: {expected.journeys.get(execution)} became {self.journeys.get(execution)}"
                )
        found += [f"event in the DLQ: {json.loads(body).get('event_id', body[:80])}" for body in self.dead_letters]
        return found


def outcome_of(findings: Findings, backend: LocalBackend, emailed: list[dict[str, Any]]) -> Outcome:
    entries = list(ledger_records.every_entry())
    steps = {entry.message_key: _step_of(entry.message_key) for entry in entries}
    codes = {json.loads(entry.offer)["code"] for entry in entries if entry.offer}
    return Outcome(
        profiles={profile["customer_id"]: _timing_masked(profile) for profile in findings.profiles},
        events={
            customer: [f"{event['at']} {event['type']} {event['channel']}" for event in events]
            for customer, events in findings.activity.items()
        },
        accepted=Counter(
            {
                (channel, step, to, _masked(text, codes)): count
                for (channel, step, to, text), count in accepted_messages(entries, emailed).items()
            }
        ),
        # A pending entry compares as sent: its message went out once (window() lists them).
        ledger=Counter(
            (
                steps[entry.message_key],
                LedgerStatus.sent if entry.status == LedgerStatus.pending else entry.status,
                entry.reason,
            )
            for entry in entries
        ),
        journeys={run["execution"]: (run["outcome"], tuple(run.get("path", ()))) for run in findings.journeys},
        dead_letters=backend.dead_letters(),
        pending=sorted(steps[entry.message_key] for entry in entries if entry.status == LedgerStatus.pending),
    )


def accepted_messages(entries: list[ledger_records.LedgerRecord], emailed: list[dict[str, Any]]) -> Counter[Accepted]:
    """Every message the providers took: emails by the ledger key they carry as a tag, texts and pushes by the ledger
    entry that holds their provider message id, or a text by the pending entry to its number (a send the ledger never
    recorded has none)."""
    from moto.sns.models import sns_backends

    by_provider_id = {entry.provider_id: _step_of(entry.message_key) for entry in entries if entry.provider_id}
    by_tag = {_TAG_UNSAFE.sub("_", entry.message_key)[:256]: _step_of(entry.message_key) for entry in entries}
    accepted: Counter[Accepted] = Counter()
    for email in emailed:
        step = by_tag.get(email["message_key"], "")
        accepted["email", step, email["to"], f"{email['subject']}\n{email['body']}"] += 1
    # A pending entry has no provider id: a text to its recipient that no other entry claims is its message.
    pending = [entry for entry in entries if entry.status == LedgerStatus.pending and not entry.provider_id]
    sns = sns_backends[ACCOUNT][REGION]
    for message_id, (phone, text) in sns.sms_messages.items():
        owner = None if message_id in by_provider_id else next((e for e in pending if e.recipient == phone), None)
        pending = [entry for entry in pending if entry is not owner]
        step = by_provider_id.get(message_id) or ("" if owner is None else _step_of(owner.message_key))
        accepted["sms", step, phone, text] += 1
    for endpoint in sns.platform_endpoints.values():
        for message_id, text in endpoint.messages.items():
            accepted["push", by_provider_id.get(message_id, ""), endpoint.arn, text] += 1
    return accepted


class EmailsAccepted:
    """SES v2 as moto runs it, recording each email it takes with its `message_key` tag (moto keeps no tags)."""

    def __init__(self) -> None:
        self.emails: list[dict[str, Any]] = []

    def install(self) -> Any:
        send_email = SESV2Response.send_email
        emails = self.emails

        def recorded(response: SESV2Response) -> str:
            answer = send_email(response)
            request = json.loads(response.body)
            tags = {tag["Name"]: tag["Value"] for tag in request.get("EmailTags", [])}
            simple = request["Content"]["Simple"]
            emails.append(
                {
                    "message_key": tags.get("message_key", ""),
                    "to": ",".join(request["Destination"].get("ToAddresses", [])),
                    "subject": simple["Subject"]["Data"],
                    "body": simple["Body"]["Text"]["Data"],
                }
            )
            return answer

        return mock.patch.object(SESV2Response, "send_email", recorded)


def _timing_masked(profile: dict[str, Any]) -> dict[str, Any]:
    masked = [
        offer | {"code": "<code>", "issued_at": "<at>", "expires_at": "<at>"} for offer in profile.get("offers", [])
    ]
    actions = [action | {"action_id": "<id>", "at": "<at>"} for action in profile.get("next_best_actions", [])]
    return profile | {"offers": masked, "next_best_actions": actions}


def _masked(text: str, codes: set[str]) -> str:
    for code in codes:
        text = text.replace(code, "<offer code>")
    return text


def _step_of(message_key: str) -> str:
    """`<execution>#<step>#<visit>` → `<execution>#<step>`."""
    return message_key.rsplit("#", 1)[0]


def _said(message: Accepted) -> str:
    channel, key, to, text = message
    return f"{channel} {key or '(no ledger entry)'} to {to}: {text[:60]!r}"


def _diff(before: Any, after: Any) -> str:
    if not isinstance(before, dict) or not isinstance(after, dict):
        return f"{before!r} became {after!r}"
    keys = sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))
    return "; ".join(f"{key}: {before.get(key)!r} became {after.get(key)!r}" for key in keys)
