"""Signed Segment deliveries through ingest λ → SQS → profile λ on the local (moto) backend, measured."""

from __future__ import annotations

import io
import json
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.metering import AwsMeter, CallClock, Usage
from omnijourney.edge.sources import get_source
from omnijourney.edge.sources.delivery import Delivery
from omnijourney.platform import aws
from omnijourney_tools.local import LOCAL_HOST, LOCAL_SECRETS, LocalBackend, http_event

EVENTS = Path(__file__).resolve().parents[1] / "events"
# Every service the domain asks omnijourney.aws.client for (grep 'client("'): each cached client gets the hooks.
FACTORY_SERVICES = ("dynamodb", "sqs", "sns", "s3", "ssm", "sesv2", "stepfunctions", "firehose")
# Deterministic, like the tests: every delivery is received at this virtual time.
RECEIVED_AT = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Post:
    """A signed webhook delivery, ready for the ingest function."""

    source: str
    body: bytes
    headers: dict[str, str]

    def event(self) -> dict[str, Any]:
        return http_event("POST", f"/webhooks/{self.source}", headers=self.headers, body=self.body)


@dataclass(frozen=True)
class Case:
    name: str
    post: Post
    # Delivered first and not measured: what the backend must already know for the case to mean what it says.
    given: tuple[Post, ...] = ()


def signed_post(source: str, case: str, headers: dict[str, str] | None = None, **changes: Any) -> Post:
    """events/<source>/<case>.json with some top-level fields changed, signed with the local backend's secret."""
    payload = json.loads((EVENTS / source / f"{case}.json").read_text()) | changes
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **(headers or {})}
    delivery = Delivery(source, body, headers, f"https://{LOCAL_HOST}/webhooks/{source}", RECEIVED_AT)
    return Post(source, body, headers | get_source(source).sign(delivery, LOCAL_SECRETS[source], RECEIVED_AT))


def post_to_ingest(backend: LocalBackend, post: Post) -> None:
    status, answer = backend.call_http("ingest", post.event())
    if status != 202:
        raise RuntimeError(f"ingest answered {status} to a {post.source} delivery: {answer}")


def cases() -> list[Case]:
    """In story order on one backend: each case relies on what the ones before it left."""
    visitor = json.loads((EVENTS / "segment" / "product_viewed.json").read_text())["anonymousId"]
    an_hour_ago = (RECEIVED_AT - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    shop_customer = signed_post("shopify", "customers_create", headers={"X-Shopify-Topic": "customers/create"})
    return [
        Case(
            "(a) first-time anonymous track, secret not cached",
            signed_post("segment", "product_viewed", anonymousId="visitor-warming-up", messageId="bench-cold"),
        ),
        Case("(a) first-time anonymous track", signed_post("segment", "product_viewed")),
        Case(
            "(b) repeat track, known profile",
            signed_post("segment", "page", anonymousId=visitor, messageId="bench-2", timestamp=an_hour_ago),
        ),
        # A second product view within 3 days puts the visitor in browsed_not_bought (config/segments.yaml): the
        # membership is written and the browse journey is weighed (skipped: no email yet), so it costs more.
        Case(
            "(b') second product view: enters a segment",
            signed_post("segment", "product_viewed", anonymousId=visitor, messageId="bench-3", timestamp=an_hour_ago),
        ),
        # The shop knows the email the app identifies with, and the web visitor is known: two profiles to merge.
        Case("(c) identify that merges 2 profiles", signed_post("segment", "identify_app"), given=(shop_customer,)),
    ]


def hooked_clients() -> list[Any]:
    """Every client the functions call AWS through: the shared factory, pynamodb's, Powertools' SSM provider's."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    from omnijourney.platform.tables import connection

    # get_parameter creates this same default provider on first use; creating it first lets us hook its client.
    provider = DEFAULT_PROVIDERS.setdefault("ssm", SSMProvider())
    factory = [aws.client(service) for service in FACTORY_SERVICES]
    return [*factory, connection().client, provider.client]


@contextmanager
def charged_to_profile_function(backend: LocalBackend, meter: AwsMeter) -> Iterator[None]:
    """Charge what the profile handler does to it; drain's own SQS calls stay with the event source mapping."""
    module = backend.handler("profile")
    handler: Callable[..., Any] = getattr(module, "lambda_handler")  # noqa: B009 - a module loaded from a path

    def measured(event: Any, context: Any) -> Any:
        with meter.measuring("profile"):
            return handler(event, context)

    setattr(module, "lambda_handler", measured)  # noqa: B010
    try:
        yield
    finally:
        setattr(module, "lambda_handler", handler)  # noqa: B010


def pipeline_costs() -> list[tuple[str, dict[str, Usage]]]:
    """Each case's usage by function (ingest, profile, event source mapping)."""
    results = []
    # On the events' clock: a repeat view an hour before RECEIVED_AT is within a segment's window, as it claims.
    with LocalBackend(stage="bench", start=RECEIVED_AT) as backend:
        # Sizes items before and after each write; not hooked, so its own calls are not counted.
        meter = AwsMeter(inspector=aws.session().client("dynamodb"))
        with meter.installed(hooked_clients()), charged_to_profile_function(backend, meter):
            for case in cases():
                for post in case.given:
                    post_to_ingest(backend, post)
                    backend.drain()
                meter.take()
                with meter.measuring("ingest"):
                    post_to_ingest(backend, case.post)
                backend.drain()
                results.append((case.name, meter.take()))
        _require_merge()
    return results


def _require_merge() -> None:
    from omnijourney.profiles.store import ProfileRecord

    if not any(record.merged_into for record in ProfileRecord.scan()):
        raise RuntimeError("the identify case merged nothing, so its figures would not mean what they say")


@dataclass(frozen=True)
class Throughput:
    events: int
    visitors: int
    ingest_seconds: float
    profile_seconds: float
    aws_calls: int
    seconds_in_aws_calls: float
    # Printed by the functions while the clock ran (see the report); kept off the bench's own output.
    stray_stdout_lines: int

    @property
    def total_seconds(self) -> float:
        return self.ingest_seconds + self.profile_seconds


def throughput(events: int = 500, visitors: int = 100) -> Throughput:
    """All events posted to ingest, then the queue drained by the profile function; wall time, nothing hooked
    but a clock around each AWS call."""
    posts = [
        signed_post(
            "segment", "product_viewed", messageId=f"bench-load-{index}", anonymousId=f"visitor-{index % visitors}"
        )
        for index in range(events)
    ]
    stray = io.StringIO()
    with LocalBackend(stage="bench-load") as backend, redirect_stdout(stray), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Powertools warns of empty metric sets after flushing them itself
        post_to_ingest(backend, signed_post("segment", "product_viewed", messageId="bench-load-warm-up"))
        backend.drain()
        calls = CallClock()
        with calls.installed(hooked_clients()):
            started = time.perf_counter()
            for post in posts:
                post_to_ingest(backend, post)
            ingested = time.perf_counter()
            processed = backend.drain()
            finished = time.perf_counter()
    if processed != events:
        raise RuntimeError(f"only {processed} of {events} events were processed")
    return Throughput(
        events,
        visitors,
        ingest_seconds=ingested - started,
        profile_seconds=finished - ingested,
        aws_calls=calls.count,
        seconds_in_aws_calls=calls.seconds,
        stray_stdout_lines=len(stray.getvalue().splitlines()),
    )
