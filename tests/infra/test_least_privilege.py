"""Least privilege, proven: every AWS call each function makes, recorded on moto while every shipped scenario plays and
the paths no scenario takes run (the staff screen, a wait_for answered, quarantine and its erasure, the daily audit),
is granted by the function's synthesized policy; and everything the policy grants was used, or is listed with its
reason in infra/findings.py (UNRECORDED_GRANTS)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from infra.findings import UNRECORDED_GRANTS
from infra.packaging import audit_statements
from omnijourney.analytics.athena import get_lake_settings
from omnijourney.platform import aws
from omnijourney.platform.settings import get_settings
from omnijourney.profiles import service
from omnijourney.profiles.model import Note, with_note
from omnijourney_tools.local import http_event
from omnijourney_tools.local.recording import Call, RecordingBackend
from omnijourney_tools.simulation.runner import Simulation
from omnijourney_tools.simulation.scenario import read
from tests.conftest import RECEIVED_AT, ROOT, delivery, sample, signed
from tests.infra.policies import Grant, Policies
from tests.infra.synthesized import STAGE
from tests.integration.conftest import Harness
from tests.integration.test_analytics_audit import SCHEDULED, SCORE, VIOLATIONS, seed
from tests.integration.test_customer_counter import by_name, sign_up
from tests.integration.test_quarantine_index import quarantine_broken_order
from tests.integration.test_staff_api import found, staff

FUNCTIONS = ("ingest", "profile", "profile_api", "staff_api", "journey_step", "journey_schedule", "analytics_audit")
# As the stack names them (infra/messaging.py, infra/analytics.py).
CONFIGURATION_SET = f"omnijourney-{STAGE}-messages"
WORKGROUP = f"omnijourney-{STAGE}-analytics"


@dataclass(frozen=True)
class Recording:
    calls: frozenset[Call]
    settings: dict[str, str]  # the local backend's OMNIJOURNEY_* settings: what names each resource


@contextmanager
def recording_backend(start: datetime) -> Iterator[RecordingBackend]:
    """The local backend, recording, with email sent through the configuration set as deployed."""
    with RecordingBackend(stage=STAGE, start=start) as backend:
        aws.client("sesv2").create_configuration_set(ConfigurationSetName=CONFIGURATION_SET)
        os.environ["OMNIJOURNEY_EMAIL_CONFIGURATION_SET"] = CONFIGURATION_SET
        get_settings.cache_clear()
        yield backend


def play_what_no_scenario_does(harness: Harness, metrics_dir: Path) -> None:
    """The staff screen and the profile API's other routes, a wait_for answered, deliveries and events quarantined and
    then erased (by the profile API, and by a HubSpot GDPR deletion), a HubSpot contact deleted, and the daily
    audit."""
    maria = sign_up(harness, 7390000000001, "maria.schmidt@example.com", "Maria", "Schmidt")
    assert found(harness, email="maria.schmidt@example.com") == [maria]
    assert found(harness, first_name="Maria", last_name="Schmidt") == [maria]
    assert by_name(harness, "Maria", "Schmidt") == [maria]
    for done in (f"/staff/customers/{maria}", f"/profiles/{maria}"):
        note = Note(channel="in_store", text=f"Offer the care kit ({done})", journey="post_purchase", at=RECEIVED_AT)
        service.amend(maria, lambda profile, note=note: with_note(profile, note))
        assert staff(harness, "GET", f"/staff/customers/{maria}")[0] == 200
        function = "staff_api" if done.startswith("/staff") else "profile_api"
        status, _ = harness.backend.call_http(
            function, http_event("POST", f"{done}/actions/{note.action_id}/done", headers={}, body=b"")
        )
        assert status == 202
        harness.backend.drain()

    # Lena signs up (the welcome series waits for her first look) and opens the welcome email: her run resumes.
    assert harness.deliver(signed(delivery("shopify", "customers_create")))[0] == 202
    harness.backend.clock.settle()
    harness.backend.publish_ses_event(sample("ses", "open"))
    harness.backend.drain()

    # Her broken order is quarantined, twice; an event DynamoDB can never take is quarantined by the profile function.
    for _ in range(2):
        quarantine_broken_order(harness, sample("shopify", "orders_create_pos"))
    poison = {"schema": "omnijourney.event/1", "event_id": "x"}
    aws.client("sqs").send_message(QueueUrl=harness.backend.queue_url, MessageBody=json.dumps(poison))
    harness.backend.drain()
    status, lena = harness.lookup(email="lena.fischer@example.com")
    assert status == 200, lena
    assert harness.erase(lena["customer_id"])[0] == 200

    # Lena again, as two HubSpot contacts, with a broken order quarantined: a rep deletes the duplicate contact (its
    # id is unlinked), then her GDPR deletion in HubSpot erases her, the quarantined order too (the profile function).
    duplicate = [{**event, "objectId": 5102, "eventId": 1102} for event in sample("hubspot", "contact_property_change")]
    for case, batch in (("contact_property_change", None), ("contact_property_change", duplicate)):
        hubspot(harness, case, batch)
    quarantine_broken_order(harness, sample("shopify", "orders_create_pos"))
    for case in ("contact_deletion", "contact_privacy_deletion"):
        hubspot(harness, case)
    assert harness.lookup(email="lena.fischer@example.com")[0] == 404

    # The monthly picks' schedule fires: its audience enters.
    assert harness.backend.call_function("journey_schedule", {"journey": "monthly_picks"})["started"]

    for metric, statement in audit_statements().items():
        (metrics_dir / f"{metric}.sql").write_text(statement, encoding="utf-8")
    os.environ |= {
        "OMNIJOURNEY_ATHENA_WORKGROUP": WORKGROUP,
        "OMNIJOURNEY_LAKE_DATABASE": f"omnijourney_{STAGE}",
        "OMNIJOURNEY_METRICS_DIR": str(metrics_dir),
    }
    get_lake_settings.cache_clear()
    aws.client("athena").create_work_group(Name=WORKGROUP, Configuration={"EnforceWorkGroupConfiguration": True})
    seed((SCORE, [["1.0"]]), (VIOLATIONS, []))
    harness.backend.call_function("analytics_audit", SCHEDULED)
    get_lake_settings.cache_clear()


def hubspot(harness: Harness, case: str, batch: list[dict[str, Any]] | None = None) -> None:
    """A HubSpot delivery, signed when it is sent (HubSpot's five minutes are counted on the journeys' clock)."""
    body = None if batch is None else json.dumps(batch).encode()
    item = signed(delivery("hubspot", case, body=body), at=harness.backend.clock.now())
    assert harness.deliver(item)[0] == 202


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    calls: set[Call] = set()
    for path in sorted((ROOT / "scenarios").glob("*.jsonl")):
        lines = read(path)
        with recording_backend(lines[0].at.astimezone(UTC)) as backend:
            Simulation(backend).run(lines)
            calls |= backend.recorder.calls
    with recording_backend(RECEIVED_AT) as backend:
        play_what_no_scenario_does(Harness(backend), tmp_path_factory.mktemp("metrics"))
        calls |= backend.recorder.calls
        settings = {name: value for name, value in os.environ.items() if name.startswith("OMNIJOURNEY_")}
    return Recording(frozenset(calls), settings)


@pytest.fixture(scope="module")
def policies(template: dict[str, Any], recorded: Recording) -> Policies:
    return Policies(template, recorded.settings)


def _template_name(function: str) -> str:
    return function.replace("_", "-")


def _excused(function: str, grant: Grant) -> str | None:
    """The reason infra/findings.py gives for a grant no recorded call uses, if it gives one."""
    return next(
        (
            reason
            for (who, action, resource), reason in UNRECORDED_GRANTS.items()
            if fnmatchcase(function, who)
            and fnmatchcase(grant.action, action)
            and fnmatchcase(grant.resource, resource)
        ),
        None,
    )


def test_every_function_was_recorded_at_work(recorded: Recording) -> None:
    assert {call.function for call in recorded.calls} == set(FUNCTIONS)


def test_every_call_a_function_makes_is_granted_by_its_policy(recorded: Recording, policies: Policies) -> None:
    denied = [
        call
        for call in sorted(recorded.calls)
        if not any(grant.covers(call.action, call.resource) for grant in policies.grants(_template_name(call.function)))
    ]
    assert not denied, "not granted:\n" + "\n".join(f"{c.function} {c.action} {c.resource}" for c in denied)


def test_every_permission_a_function_holds_was_used_or_is_excused_with_a_reason(
    recorded: Recording, policies: Policies
) -> None:
    unused = [
        (function, grant.action, grant.resource)
        for function in FUNCTIONS
        for grant in policies.grants(_template_name(function))
        if not any(grant.covers(call.action, call.resource) for call in recorded.calls if call.function == function)
        and _excused(function, grant) is None
    ]
    assert not unused, "never used, and no reason given:\n" + "\n".join(" ".join(held) for held in unused)


def test_every_excuse_still_excuses_a_permission_held(recorded: Recording, policies: Policies) -> None:
    """An exception whose permission is gone (or now recorded) must go too."""
    held_unused = [
        (function, grant)
        for function in FUNCTIONS
        for grant in policies.grants(_template_name(function))
        if not any(grant.covers(call.action, call.resource) for call in recorded.calls if call.function == function)
    ]
    stale = [
        excuse
        for excuse in UNRECORDED_GRANTS
        if not any(
            fnmatchcase(function, excuse[0])
            and fnmatchcase(grant.action, excuse[1])
            and fnmatchcase(grant.resource, excuse[2])
            for function, grant in held_unused
        )
    ]
    assert stale == []
