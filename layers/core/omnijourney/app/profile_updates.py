"""The profile function's work: each queued event recorded on its profile exactly once.

A message that can never be recorded (it does not validate, or AWS refuses a request it makes: DynamoDB a profile
write past 400 KB or a key too long, Step Functions a journey's execution input past 256 KB; all of them
profiles.store.Refused) is quarantined with its reason and acknowledged: retrying it would fail the same way, and
the DLQ, whose redrive would too, is for failures that may pass (throttling, an outage)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from omnijourney.analytics import facts, stream
from omnijourney.analytics.facts import Fact
from omnijourney.events import SCHEMA, CanonicalEvent, EventType, correlation_id_of
from omnijourney.identifiers import SHARED_CRM_RECORDS
from omnijourney.platform import clock
from omnijourney.platform.errors import MalformedPayload, OmnijourneyError
from omnijourney.platform.settings import get_settings

if TYPE_CHECKING:
    from omnijourney.profiles.model import Profile
    from omnijourney.profiles.service import ProfileUpdate

# A CRM's deletions (app.removals): they erase or unlink customers rather than record anything on a profile.
REMOVALS = frozenset({EventType.erasure_requested, EventType.identifier_removed})
# A child of the functions' Powertools logger (service `omnijourney`), so its lines come out the same way.
logger = logging.getLogger(__name__)


def events_in(body: str) -> list[CanonicalEvent]:
    """The events in one queue message: a canonical event from ingest, or whatever SES published to SNS."""
    data = _from_ingest(body)
    if data is not None:
        try:
            return [CanonicalEvent.model_validate(data)]
        except ValidationError as error:
            fields = ", ".join(".".join(map(str, problem["loc"])) for problem in error.errors())
            raise MalformedPayload(f"not a valid canonical event: {fields}", field=fields) from error
    from omnijourney.edge.sources import get_source  # lazy: only SES notices (not canonical events) need a parser
    from omnijourney.edge.sources.delivery import Delivery  # lazy: as above

    events = get_source("ses").parse(Delivery(source="ses", body=body.encode(), received_at=clock.now()))
    # Not through ingest: the notice's own correlation id, from its events' ids (SES's message id).
    correlation_id = correlation_id_of("ses", [event.event_id for event in events])
    return [event.model_copy(update={"correlation_id": correlation_id}) for event in events]


def record(event: CanonicalEvent) -> dict[str, Any]:
    """Record one event on its profile; a duplicate (same event id) returns the first outcome unchanged."""
    return _idempotent_record()(event=event)


def handle_queue_message(body: str, follow: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
    """Each event's outcome; or, when the message can never be recorded, where it was quarantined and why.
    `follow` is told each event's correlation id before it is recorded (the handler's logs and traces carry it)."""
    from omnijourney.profiles.store import (
        Refused,  # lazy: pynamodb loads on the first message (Refused: every permanent refusal by AWS)
    )

    outcomes: list[dict[str, Any]] = []
    try:
        events = events_in(body)
        confirm_send(body)
        for event in events:
            follow(event.correlation)
            outcomes.append(record(event))
    except (MalformedPayload, Refused) as error:
        return [quarantined(body, error)]
    return outcomes


def confirm_send(body: str) -> None:
    """An SES record of a message SES accepted completes its ledger entry (docs/operations.md, "Sends"). Logged
    without the record: it names the recipient."""
    if _from_ingest(body) is not None:
        return
    from omnijourney.edge.sources.ses import send_receipt  # lazy: as events_in's parser
    from omnijourney.runtime import ledger  # lazy: pynamodb loads on the first record, not at cold start

    receipt = send_receipt(body.encode())
    if receipt is None:
        return
    entry = ledger.confirm_sent(receipt.customer_id, receipt.message_key_tag, receipt.ses_message_id)
    if entry is None:
        logger.warning(
            "SES %s record names no ledger entry", receipt.kind, extra={"ses_message_id": receipt.ses_message_id}
        )


def _from_ingest(body: str) -> dict[str, Any] | None:
    """The canonical event ingest queued, as JSON; None for what SES published."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return None  # not from ingest: with raw message delivery, SES's plain-text notices arrive as they are
    return data if isinstance(data, dict) and data.get("schema") == SCHEMA else None


def quarantined(body: str, error: OmnijourneyError) -> dict[str, Any]:
    from omnijourney.edge.quarantine import (
        quarantine_event,  # lazy: only a message that can never be recorded is quarantined
    )

    return {"quarantine_id": quarantine_event(body, error, clock.now()), "reason": error.title}


def recorded_facts(event: CanonicalEvent, update: ProfileUpdate) -> list[Fact]:
    """What recording `event` made true (docs/analytics.md): the event, the consents it set, its order, refund,
    ticket, the offers its order closed, and the merges it made (on a retry, every id the survivor holds); a deal's
    value is told by recorded_on_deal, for every copy of the deal."""
    customer_id, profile = update.customer_id, update.profile
    found = [facts.event_fact(event, customer_id, known=profile.is_known)]
    for change in event.consent:
        held = profile.consent.get(change.channel)
        stated = (change.status, change.at or event.occurred_at, event.source)
        if held is not None and (held.status, held.updated_at, held.source) == stated:
            found.append(facts.consent_fact(event, customer_id, change.channel.value, change.status.value))
    if event.order is not None:
        found.append(facts.order_fact(event, customer_id))
        closed = [offer for offer in profile.offers if offer.order_id == event.order.order_id]
        found += [
            facts.offer_redeemed_fact(customer_id, offer.code, offer.order_id, offer.redeemed_at or event.occurred_at)
            for offer in closed
        ]
    if event.refund is not None:
        found.append(facts.refund_fact(event, customer_id))
    if event.ticket is not None:
        found.append(facts.ticket_fact(event, customer_id))
    retried = not update.changed and event.event_id in profile.recent_events
    merged = profile.merged_from if retried else update.absorbed
    return found + facts.merge_facts(customer_id, merged, event.occurred_at)


def recorded_on_profile(event: CanonicalEvent, joined: Callable[[Profile], Profile] | None = None) -> dict[str, Any]:
    """Record the event on its customer's profile (with what `joined` adds to it in the same write), emit its facts
    and let the journeys react; the outcome."""
    from omnijourney.profiles.service import (
        record_event,  # lazy: profiles and pynamodb load on the first record, not at cold start
    )
    from omnijourney.runtime.segments import (  # lazy: the journey runtime loads on the first record
        history_properties,
        with_segments,
    )
    from omnijourney.runtime.triggers import react  # lazy: as above

    def derive(before: Profile | None, after: Profile, event: CanonicalEvent) -> Profile:
        # Segment membership is written with the event's own change.
        return with_segments(before, joined(after) if joined else after, event)

    # The history keeps what segments count.
    update = record_event(event, derive, history_properties(event))
    stream.emit(*recorded_facts(event, update))
    journeys = react(event, update)
    return {"customer_id": update.customer_id, "changed": update.changed, "merged": update.merged} | journeys.as_dict()


def recorded_on_deal(event: CanonicalEvent) -> list[dict[str, Any]]:
    """A CRM deal's event on its holder, then on the contacts it names, and the deal's copy on its other contacts
    (app.crm_deals); the outcomes of the contacts it names."""
    from omnijourney.app.crm_deals import deal_facts, shared  # lazy: only a CRM's deal events are shared

    deal = shared(event)
    outcomes = [recorded_on_profile(told, deal.joined) for told in deal.told]
    copies = deal.copied()
    if event.deal is not None:
        stream.emit(*(fact for copy in copies for fact in deal_facts(copy, event.deal.deal_id)))
    return outcomes


def outcome_of(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """One event's outcome over the profiles it was recorded on (a deal's contacts; usually one): the first
    customer, and what happened on any."""
    if len(outcomes) == 1:
        return outcomes[0]
    joined: dict[str, Any] = {
        "customer_id": outcomes[0]["customer_id"] if outcomes else None,
        "customer_ids": [outcome["customer_id"] for outcome in outcomes],
        "changed": any(outcome["changed"] for outcome in outcomes),
    }
    for key in ("merged", "started", "resumed", "stopped", "skipped"):
        joined[key] = [value for outcome in outcomes for value in outcome[key]]
    return joined


def register_context(context: Any) -> None:
    """Let idempotency expire an in-progress record when this invocation runs out of time."""
    _idempotency_config().register_lambda_context(context)


@lru_cache(maxsize=1)
def _idempotency_config() -> Any:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="event_id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=get_settings().idempotency_expiry_seconds,
    )


@lru_cache(maxsize=1)
def _idempotent_record() -> Callable[..., dict[str, Any]]:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

    from omnijourney.platform.aws import (
        client,  # lazy: boto3 loads on the first record, not at the profile function's cold start
    )

    persistence = DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table, boto3_client=client("dynamodb"))

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="event", config=_idempotency_config(), persistence_store=persistence
    )
    def recorded(event: CanonicalEvent) -> dict[str, Any]:
        if event.type in REMOVALS:
            from omnijourney.app.removals import removed  # lazy: only a CRM's deletion needs it

            return removed(event)
        from omnijourney.profiles.service import NamesErasedRecord  # lazy: as recorded_on_profile's

        try:
            if any(identifier.kind in SHARED_CRM_RECORDS for identifier in event.identifiers):
                outcomes = recorded_on_deal(event)
            else:
                outcomes = [recorded_on_profile(event)]
        except NamesErasedRecord:
            from omnijourney.app.removals import dropped_as_erased  # lazy: only a GDPR erasure's tombstone drops

            return dropped_as_erased()
        # Inside the idempotent unit: a failed put fails the event, and its retry writes the facts again.
        stream.flush()
        return outcome_of(outcomes)

    return recorded  # type: ignore[no-any-return]
