"""The `pinpoint` source and the import's check of each export line: EndpointResponse records, shaped as the AWS
documentation's export examples and botocore's model, into canonical events."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from omnijourney.edge.sources import get_source, webhook_source
from omnijourney.edge.sources.delivery import Delivery
from omnijourney.edge.sources.pinpoint import CHANNEL_TYPES, read_endpoint
from omnijourney.events import CanonicalEvent, ConsentChannel, ConsentStatus
from omnijourney.platform.errors import MalformedPayload, UnknownSource
from omnijourney_tools.pinpoint.endpoint_files import MAX_LINE_BYTES, ExportObject, export_objects
from omnijourney_tools.pinpoint.endpoints import BadRecord, endpoint_from
from omnijourney_tools.pinpoint.exports import pinpoint_model
from omnijourney_tools.simulation.scenario import ScenarioError, parse_lines
from tests.conftest import RECEIVED_AT, ROOT

EXPORT = ROOT / "tests" / "fixtures" / "pinpoint" / "endpoints" / "export.jsonl"


def records() -> list[dict[str, Any]]:
    """The fixture's records (its last line is truncated on purpose)."""
    found = []
    for line in EXPORT.read_text().splitlines():
        try:
            found.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return found


def record(number: int, **changes: Any) -> dict[str, Any]:
    """The fixture's record on line `number`, with top-level fields changed (None removes one)."""
    body = copy.deepcopy(records()[number - 1])
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def event_of(body: dict[str, Any]) -> CanonicalEvent:
    event = read_endpoint(body, RECEIVED_AT).event
    assert event is not None
    return event


def identifiers(event: CanonicalEvent) -> dict[str, str]:
    return {identifier.kind.value: identifier.value for identifier in event.identifiers}


def consent(event: CanonicalEvent) -> dict[ConsentChannel, ConsentStatus]:
    return {change.channel: change.status for change in event.consent}


def test_every_endpoint_of_one_user_carries_the_same_user_id() -> None:
    users = [identifiers(event_of(body)).get("user_id") for body in records()]

    assert users == ["example_user_1"] * 3 + ["example_user_2"] * 3


def test_email_and_sms_addresses_become_identifiers_and_phones_are_read_in_the_endpoints_country() -> None:
    assert identifiers(event_of(record(1)))["email"] == "wang.xiulan@example.com"
    assert identifiers(event_of(record(2)))["phone"] == "+12065550142"  # "2065550142", Location.Country US
    assert identifiers(event_of(record(5)))["phone"] == "+4915123456789"  # "015123456789", Location.Country DE


def test_opt_out_all_unsubscribes_that_channel_and_none_changes_no_consent() -> None:
    assert consent(event_of(record(2))) == {ConsentChannel.sms: ConsentStatus.unsubscribed}
    assert consent(event_of(record(5))) == {}
    opted_out_push = event_of(record(3, OptOut="ALL"))
    assert consent(opted_out_push) == {ConsentChannel.push: ConsentStatus.unsubscribed}


@pytest.mark.parametrize("number", [2, 3, 4])
def test_an_inactive_endpoint_keeps_its_address_and_changes_no_consent_the_customer_never_gave(number: int) -> None:
    event = event_of(record(number, EndpointStatus="INACTIVE", OptOut="NONE"))  # an SMS, an APNS and an EMAIL one

    assert consent(event) == {}
    if number == 4:
        assert identifiers(event)["email"] == "mateo.jackson@example.net"


def test_a_push_endpoints_token_is_reported_not_taken_for_an_identifier() -> None:
    body = record(3)
    endpoint = read_endpoint(body, RECEIVED_AT)

    assert endpoint.push_token
    assert endpoint.event is not None
    assert body["Address"] not in endpoint.event.to_message()


@pytest.mark.parametrize("channel_type", ["VOICE", "IN_APP", "CUSTOM"])
def test_an_endpoint_of_a_channel_omnijourney_lacks_brings_its_user_but_not_its_address(channel_type: str) -> None:
    body = record(2, ChannelType=channel_type)
    endpoint = read_endpoint(body, RECEIVED_AT)

    assert endpoint.event is not None
    assert identifiers(endpoint.event) == {"user_id": "example_user_1"}
    assert consent(endpoint.event) == {}  # its opt-out is of a channel omnijourney does not send on


def test_location_attributes_timezone_and_locale_become_traits_and_the_profiles_own_fields() -> None:
    body = record(1, Attributes={"Interests": ["Technology", "Music", "Travel"], "Tier": ["silver"], "Empty": []})
    body["User"]["UserAttributes"]["Tier"] = ["gold"]
    body["Metrics"] = {"purchases": 4.0, "sessions": 12}
    event = event_of(body)

    assert event.traits == {
        "country": "US",
        "city": "Seattle",
        "postal_code": "98109",
        "region": "WA",
        "Interests": ["Technology", "Music", "Travel"],  # several values: the list
        "Tier": "gold",  # one value: the value; the user's attribute wins over the endpoint's
        "first_name": "Wang",  # FirstName: the trait the profile's name is read from
        "last_name": "Xiulan",
        "Age": "39",
        "purchases": 4.0,  # metrics: numbers, as imported segments test them
        "sessions": 12,
    }
    assert (event.timezone, event.locale) == ("America/Los_Angeles", "en-US")


def test_the_same_version_of_an_endpoint_has_the_same_event_id_and_an_update_a_new_one() -> None:
    first = event_of(record(1))
    again = event_of(record(1, RequestId="another-export-job"))
    updated = event_of(record(1, EffectiveDate="2024-06-01T08:00:00Z"))

    assert first.event_id == again.event_id
    assert updated.event_id != first.event_id
    assert "example_endpoint_1" not in first.event_id  # a digest: endpoint ids may be addresses


def test_an_endpoint_with_no_user_id_and_no_email_or_phone_names_nobody() -> None:
    body = record(6, User=None)

    assert read_endpoint(body, RECEIVED_AT).event is None
    assert get_source("pinpoint").parse(Delivery("pinpoint", json.dumps(body).encode(), received_at=RECEIVED_AT)) == []


def test_a_placeholder_user_id_is_dropped_and_the_endpoint_comes_over_under_its_address() -> None:
    body = record(1, User={"UserId": "unknown"})

    assert identifiers(event_of(body)) == {"email": "wang.xiulan@example.com"}


def test_an_address_nobody_can_have_without_a_user_id_is_refused_naming_the_field_never_the_value() -> None:
    with pytest.raises(MalformedPayload) as refused:
        read_endpoint(record(1, Address="wang.xiulan-at-example.com", User=None), RECEIVED_AT)

    assert refused.value.field == "Address"
    assert "not_an_email" in refused.value.detail
    assert "wang" not in refused.value.detail


def test_with_a_user_id_an_invalid_address_is_left_off_and_the_user_comes_over() -> None:
    assert identifiers(event_of(record(5, Address="12"))) == {"user_id": "example_user_2"}


def test_the_sources_channel_types_are_pinpoints() -> None:
    assert set(pinpoint_model().shape_for("ChannelType").enum) == CHANNEL_TYPES


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ChannelType": "FAX"}, "ChannelType"),
        ({"ChannelType": None}, "ChannelType"),
        ({"OptOut": "SOME"}, "OptOut"),
        ({"EndpointStatus": "PAUSED"}, "EndpointStatus"),
        ({"EffectiveDate": "yesterday"}, "EffectiveDate"),
        ({"Metrics": {"purchases": "four"}}, "Metrics.purchases"),
    ],
)
def test_a_value_pinpoint_never_writes_is_refused_naming_its_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedPayload) as refused:
        read_endpoint(record(1, **changes), RECEIVED_AT)

    assert refused.value.field == field


def test_pinpoint_records_are_never_posted_as_webhooks() -> None:
    with pytest.raises(UnknownSource, match="import pinpoint"):
        webhook_source("pinpoint")


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        (b'{"ChannelType":"EMAIL","Address":"a@example.com","User":{"UserId":"u1"', "(the line)", "not JSON"),
        (b'["EMAIL"]', "(the line)", "should be a JSON object"),
        (b'{"ChannelType":"EMAIL","User":{"UserId":"u1"},"Colour":"red"}', "(the object)", "'Colour' is not a field"),
        (b'{"ChannelType":"EMAIL","User":{"UserId":"u1"},"Attributes":{"Tier":"gold"}}', "Attributes.Tier", "a list"),
        (b'{"ChannelType":"EMAIL","User":{"UserId":"u1"},"CohortId":7}', "CohortId", "text"),
    ],
)
def test_the_import_names_the_field_of_a_bad_line(line: bytes, field: str, words: str) -> None:
    with pytest.raises(BadRecord) as bad:
        endpoint_from(line, RECEIVED_AT)

    assert (bad.value.field, bad.value.status) == (field, 400)
    assert words in str(bad.value)


def test_an_attribute_beyond_what_a_profile_keeps_of_a_trait_is_refused_naming_it() -> None:
    body = record(1)
    body["User"]["UserAttributes"] = {"Notes": ["y" * 5000]}

    with pytest.raises(BadRecord) as bad:
        endpoint_from(json.dumps(body).encode(), RECEIVED_AT)

    assert (bad.value.field, bad.value.status) == ("traits.Notes", 400)
    assert str(bad.value) == "traits.Notes: is 5012 bytes as JSON; a profile keeps one trait of at most 4096"


def read_lines(found: ExportObject) -> list[tuple[int, bytes, str | None]]:
    with found.lines() as lines:
        return [(line.number, line.text, line.unreadable) for line in lines]


def test_a_gzipped_export_is_read_by_its_magic_whatever_its_name(tmp_path: Path) -> None:
    plain = EXPORT.read_bytes()
    (tmp_path / "part-0000").write_bytes(gzip.compress(plain))

    (found,) = export_objects(str(tmp_path / "part-0000"))

    assert [text for _, text, _ in read_lines(found)] == plain.rstrip(b"\n").split(b"\n")


def test_a_truncated_gzip_file_reports_the_line_where_it_breaks(tmp_path: Path) -> None:
    packed = gzip.compress(EXPORT.read_bytes())
    (tmp_path / "cut.gz").write_bytes(packed[: len(packed) // 2])

    (found,) = export_objects(str(tmp_path / "cut.gz"))
    read = read_lines(found)

    number, _, unreadable = read[-1]
    assert unreadable is not None
    assert "truncated" in unreadable
    assert number == len(read)


def test_a_runaway_line_is_reported_and_the_next_line_still_read(tmp_path: Path) -> None:
    (tmp_path / "export.json").write_bytes(b"{" + b" " * MAX_LINE_BYTES + b"}\n" + b'{"next": 1}\n')

    (found,) = export_objects(str(tmp_path / "export.json"))

    assert [(number, text, bool(unreadable)) for number, text, unreadable in read_lines(found)] == [
        (1, b"", True),
        (2, b'{"next": 1}', False),
    ]


def test_a_pinpoint_scenario_line_takes_no_signature_or_headers() -> None:
    line = json.dumps({"at": "2024-05-02T17:03:44Z", "source": "pinpoint", "body": record(1), "signature": "invalid"})

    with pytest.raises(ScenarioError, match="unsigned"):
        parse_lines(line)
