"""Every source parser against its own samples with one field replaced by anything JSON can say.

A signed body is the vendor's word, so whatever it holds must end as events that survive the queue or as one of the
documented 4xx errors (MalformedPayload, PayloadTooLarge, ...), which quarantine it: never an exception that answers
500 and has the vendor retry forever. Bounded and derandomised: a few seconds in all.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnijourney.edge.sources import get_source
from omnijourney.edge.sources.delivery import Delivery
from omnijourney.events import CanonicalEvent
from omnijourney.platform.errors import OmnijourneyError
from tests.conftest import EVENTS, delivery

EXAMPLES = 100


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\ud800",  # a lone surrogate: json.dumps writes it as the escape a vendor could send
        "a\udc00b",
        "\x00",
        "\u202e",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "1999-12-31T23:59:59Z",
        "2026-03-04T10:30:00",
        "2126-03-04T10:30:00Z",
        "2026-02-30T10:00:00Z",
        "NaN",
        "Infinity",
        "-1",
        "1e999",
        "x" * 40_000,
    ]
)
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**30, max_value=10**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | ODD_TEXT
)
JSONISH = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8) | ODD_TEXT, inner, max_size=3),
    max_leaves=8,
) | st.sampled_from([_deep(40), _deep(300), {"k": ["x" * 9_000]}, {str(key): key for key in range(120)}])


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value: the root, and each key and index below it."""
    found = [path]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found += _paths(item, (*path, key))
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = new
    return copy


def _cases(source: str) -> list[str]:
    return sorted(path.stem for path in (EVENTS / source).glob("*.json"))


def _survives_or_is_refused(item: Delivery) -> None:
    """The contract of `parse`: events that round-trip through the queue, or a 4xx domain error."""
    try:
        events = get_source(item.source).parse(item)
    except OmnijourneyError as error:
        status, events = error.status, []
    else:
        status = 202
    assert 400 <= status < 500 or status == 202, status
    for event in events:
        assert CanonicalEvent.from_message(event.to_message()) == event


MUTATION = settings(
    derandomize=True, max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.parametrize("source", ["segment", "shopify", "zendesk", "ses"])
@MUTATION
@given(data=st.data())
def test_a_json_sample_with_any_field_replaced_parses_or_is_a_4xx(source: str, data: st.DataObject) -> None:
    case = data.draw(st.sampled_from(_cases(source)), label="sample")
    original = json.loads((EVENTS / source / f"{case}.json").read_text())
    # SES records come wrapped in an SNS envelope, as a JSON string: the record is what is replaced into.
    envelope, original = (original, json.loads(original["Message"])) if _wrapped(original) else (None, original)
    path = data.draw(st.sampled_from(_paths(original)), label="path")
    mutated = _replaced(original, path, data.draw(JSONISH, label="value"))
    body = json.dumps(mutated if envelope is None else envelope | {"Message": json.dumps(mutated)}).encode()
    _survives_or_is_refused(delivery(source, case, body=body))


def _wrapped(sample: Any) -> bool:
    return isinstance(sample, dict) and str(sample.get("Message", "")).startswith("{")


@MUTATION
@given(data=st.data())
def test_a_twilio_form_with_any_parameter_replaced_parses_or_is_a_4xx(data: st.DataObject) -> None:
    case = data.draw(st.sampled_from(_cases("twilio")), label="sample")
    params: dict[str, Any] = json.loads((EVENTS / "twilio" / f"{case}.json").read_text())
    name = data.draw(st.sampled_from([*params, "Body", "OptOutType", "FromCountry"]), label="parameter")
    params[name] = data.draw(st.text(max_size=30) | ODD_TEXT, label="value")
    body = urlencode(params, encoding="utf-8", errors="surrogatepass").encode()
    _survives_or_is_refused(delivery("twilio", case, body=body))


@settings(derandomize=True, max_examples=EXAMPLES, deadline=None)
@given(
    source=st.sampled_from(["segment", "shopify", "zendesk", "ses", "twilio"]),
    body=st.binary(max_size=200)
    | st.sampled_from([b"[" * 5_000, b'{"a":' * 2_000, b'{"a": NaN}', b"1" * 5_000, b'"\\ud800"', b"\xed\xa0\x80"]),
)
def test_any_bytes_parse_or_are_a_4xx(source: str, body: bytes) -> None:
    case = _cases(source)[0]
    _survives_or_is_refused(delivery(source, case, body=body))
