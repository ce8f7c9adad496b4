"""`omnijourney import pinpoint endpoints` end to end on moto: an export file (gzipped, with a bad line) converted to a
scenario and simulated, imported twice, sent to a stage's queue with an interruption and a resume, and read from
S3."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from omnijourney.platform import aws
from omnijourney.profiles import store
from omnijourney_tools.cli import main
from omnijourney_tools.folders import definitions_from
from omnijourney_tools.local import LocalBackend
from omnijourney_tools.simulation import scenario
from omnijourney_tools.simulation.runner import Findings, Simulation
from omnijourney_tools.stage_queue import QueueSender, events_queue_name
from tests.conftest import RECEIVED_AT, ROOT
from tests.integration.events_queue import queued_events

EXPORT = ROOT / "tests" / "fixtures" / "pinpoint" / "endpoints" / "export.jsonl"
# A journey that starts at every identify (re_entry: always): an endpoint applied twice would start it twice.
WELCOME_JOURNEY = """\
journey: imported_welcome
description: Welcomes each customer an import brings over, at every identify (tests only).
re_entry: always
entry:
  event: identify
steps:
  - id: welcome
    send:
      channel: email
      template: imported_welcome_email
      category: transactional
"""
WELCOME_TEMPLATE = """\
channel: email
subject: "Welcome over, ${first_name}"
body: |
  Your account moved with you.
"""


def import_endpoints(*arguments: str | Path) -> int:
    return main(["import", "pinpoint", "endpoints", *map(str, arguments)])


@pytest.fixture
def gzipped_export(tmp_path: Path) -> Path:
    path = tmp_path / "endpoints.json.gz"
    path.write_bytes(gzip.compress(EXPORT.read_bytes()))
    return path


@pytest.fixture
def welcome_journeys(tmp_path: Path) -> Iterator[None]:
    folder = tmp_path / "journeys"
    (folder / "templates").mkdir(parents=True)
    (folder / "imported_welcome.yaml").write_text(WELCOME_JOURNEY)
    (folder / "templates" / "imported_welcome_email.yaml").write_text(WELCOME_TEMPLATE)
    with definitions_from(journeys_dir=folder):
        yield


def stored_profiles() -> dict[str, Any]:
    """Every live profile's stored item, as DynamoDB holds it."""
    return {record.customer_id: record.serialize() for record in store.ProfileRecord.scan() if not record.merged_into}


def test_a_gzipped_export_becomes_one_profile_per_user_with_addresses_consent_and_traits(
    tmp_path: Path, gzipped_export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "customers.jsonl"

    assert import_endpoints(gzipped_export, "--scenario", out, "--report", tmp_path / "pinpoint-import.md") == 0

    printed = capsys.readouterr()
    assert f"{gzipped_export}:7: the line is not JSON" in printed.err  # the truncated record, skipped
    assert "2 profile(s) by user id, from 6 endpoint(s) of 7 read" in printed.out
    assert "1 push token(s) of APNS: create the SNS platform endpoint" in printed.out
    assert "wang.xiulan" not in printed.out + printed.err  # counts and fields, no address
    lines = scenario.read(out)
    with LocalBackend(stage="test", start=lines[0].at) as backend:
        found = Simulation(backend).run(lines)
        traits = {record.profile.traits["first_name"]: record.profile.traits for record in store.ProfileRecord.scan()}

    assert [entry["status"] for entry in found.inputs] == [202] * 6
    by_user = {profile["identifiers"]["user_id"][0]: profile for profile in found.profiles}
    assert sorted(by_user) == ["example_user_1", "example_user_2"]
    wang, mateo = by_user["example_user_1"], by_user["example_user_2"]
    assert wang["identifiers"]["email"] == ["wang.xiulan@example.com"]
    assert wang["identifiers"]["phone"] == ["+12065550142"]
    assert wang["consent"] == {"email": "unknown", "sms": "unsubscribed", "push": "unknown"}  # SMS OptOut ALL
    assert mateo["identifiers"]["email"] == ["mateo.jackson@example.net"]  # INACTIVE: kept ...
    assert mateo["consent"]["email"] == "unknown"  # ... and no unsubscribe the customer never made
    assert "1 INACTIVE email or SMS address(es) kept" in printed.out
    assert "1 SMS endpoint(s) without an opt-in" in printed.out  # the other opted out
    assert "Not imported from any endpoint: CohortId," in printed.out  # metrics are imported (traits)
    assert (wang["first_name"], wang["timezone"], wang["locale"]) == ("Wang", "America/Los_Angeles", "en-US")
    assert traits["Wang"]["Interests"] == ["Technology", "Music", "Travel"]
    assert (traits["Mateo"]["Tier"], traits["Mateo"]["city"]) == ("gold", "Berlin")


def test_importing_the_same_export_twice_changes_nothing(
    tmp_path: Path, gzipped_export: Path, welcome_journeys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "customers.jsonl"
    report = tmp_path / "pinpoint-import.md"
    assert import_endpoints(gzipped_export, "--scenario", out, "--report", report) == 0
    written = out.read_bytes()

    assert import_endpoints(gzipped_export, "--scenario", out, "--report", report) == 0

    assert out.read_bytes() == written
    assert f"{out}: unchanged (6 line(s))" in capsys.readouterr().out
    lines = scenario.read(out)
    # The same records again a day after the last, as a second import of the same file sends them.
    later = lines[-1].at + timedelta(days=1)
    again = [line.model_copy(update={"at": later, "number": line.number + len(lines)}) for line in lines]
    with LocalBackend(stage="test", start=lines[0].at) as backend:
        simulation = Simulation(backend)
        first: Findings = simulation.run(lines)
        profiles = stored_profiles()
        second: Findings = simulation.run(again)

        assert stored_profiles() == profiles
    assert len(first.journeys) == 6  # one welcome per endpoint, as the journey re-enters at every identify
    assert second.journeys == first.journeys
    assert [entry["status"] for entry in second.inputs[len(lines) :]] == [202] * 6


def endpoint_records(count: int) -> list[str]:
    """`count` endpoints of as many users, each an EMAIL endpoint shaped as the fixture's first."""
    first = json.loads(EXPORT.read_text().splitlines()[0])
    found = []
    for number in range(1, count + 1):
        body = copy.deepcopy(first)
        body |= {"Id": f"endpoint_{number}", "Address": f"customer{number}@example.org"}
        body["User"] = {"UserId": f"user_{number}"}
        found.append(json.dumps(body))
    return found


class PowerCut(BaseException):
    """The machine stops mid-import."""


def test_an_import_to_a_stage_interrupted_and_run_again_sends_every_record_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "endpoints.json"
    export.write_text("\n".join(endpoint_records(25)) + "\n")
    checkpoint = tmp_path / "import.checkpoint"
    into_stage = ("--stage", "test", "--checkpoint", checkpoint, "--report", tmp_path / "r.md")
    send_batch = QueueSender._send
    calls = 0

    def cut_at_the_second_batch(sender: QueueSender, entries: dict[str, Any]) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise PowerCut
        return send_batch(sender, entries)

    with LocalBackend(stage="test", start=RECEIVED_AT) as backend:
        monkeypatch.setattr(QueueSender, "_send", cut_at_the_second_batch)
        with pytest.raises(PowerCut):
            import_endpoints(export, *into_stage)
        assert json.loads(checkpoint.read_text())["line"] == 10
        monkeypatch.setattr(QueueSender, "_send", send_batch)

        assert import_endpoints(export, *into_stage) == 0

        assert f"resuming after {export}:10" in capsys.readouterr().err
        assert not checkpoint.exists()
        sent = [event.event_id for event in queued_events(backend.queue_url)]
    assert len(sent) == 25
    assert len(set(sent)) == 25
    assert backend.queue_url.endswith(events_queue_name("test"))


def test_an_s3_export_is_read_object_by_object_in_key_order(tmp_path: Path) -> None:
    lines = EXPORT.read_text().splitlines()[:6]
    out, report = tmp_path / "customers.jsonl", tmp_path / "pinpoint-import.md"
    with LocalBackend(stage="test", start=RECEIVED_AT):
        s3 = aws.client("s3")
        s3.create_bucket(Bucket="pinpoint-exports")
        part_2 = gzip.compress("\n".join(lines[3:]).encode())
        s3.put_object(Bucket="pinpoint-exports", Key="exports/app/part-0002.gz", Body=part_2)
        s3.put_object(Bucket="pinpoint-exports", Key="exports/app/part-0001", Body="\n".join(lines[:3]).encode())
        s3.put_object(Bucket="pinpoint-exports", Key="elsewhere/part-0000", Body=lines[0].encode())

        assert import_endpoints("s3://pinpoint-exports/exports/app/", "--scenario", out, "--report", report) == 0

    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["body"]["Id"] for line in written] == [f"example_endpoint_{n}" for n in range(1, 7)]
    sections = report.read_text()
    assert "From `s3://pinpoint-exports/exports/app/part-0001`" in sections
    assert "From `s3://pinpoint-exports/exports/app/part-0002.gz`" in sections
