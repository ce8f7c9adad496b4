"""The outbound channels without AWS: Standard Webhooks signing, what a target's answer means, config/webhooks.yaml
read with its mistakes at file:line, JSON payload templates, and the guards as a target's reach decides them."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from standardwebhooks import Webhook

from omnijourney.app import config
from omnijourney.channels import OutgoingMessage, SendFailed
from omnijourney.channels.https import NotDelivered, Pace, attempt, post_over_https
from omnijourney.channels.sales_task import SalesTaskAdapter
from omnijourney.channels.targets import STEP_BUDGET_SECONDS, OutboundConfig, WebhookTarget
from omnijourney.channels.webhook import WebhookAdapter, signed_headers
from omnijourney.identifiers import IdentifierKind
from omnijourney.journeys.language import Send
from omnijourney.journeys.templates import Template, TemplateCatalog
from omnijourney.platform.configfile import ConfigError, load
from omnijourney.platform.settings import get_settings
from omnijourney.profiles.model import Profile
from omnijourney.runtime import guards
from tests.conftest import ROOT, lena
from tests.unit.test_guards import AFTERNOON_IN_BERLIN, EVENING_IN_BERLIN, KNOWN_WITH_CART, OPTED_IN_TO_SMS, decide

# The Standard Webhooks specification's own test vector (its reference libraries test against it).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_AT = datetime.fromtimestamp(1614265330, UTC)
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
LOCAL_SECRET = "whsec_" + "bG9jYWwtb3JkZXItZGVzay1zZWNyZXQ="  # base64 of "local-order-desk-secret"

TARGETS = """\
targets:
  order_desk:
    url: https://orders.example.com/hooks/omnijourney?token=abc
    secret: {ssm: "/omnijourney/{stage}/webhook-targets/order_desk"}
    reaches_customer: false
  chat_gateway:
    url: https://chat.example.com/send
    secret: {secrets_manager: "omnijourney/{stage}/webhook-targets/chat_gateway"}
    consent_channel: sms
  warehouse:
    url: https://wms.example.com/hooks
    secret: {ssm: "/omnijourney/{stage}/webhook-targets/warehouse"}
sales_tasks:
  token: {ssm: "/omnijourney/{stage}/hubspot/private-app-token"}
  consent_channel: email
"""
ORDER_DESK = Send(channel="webhook", target="order_desk", template="order_desk_cart", category="marketing")
WAREHOUSE = ORDER_DESK.model_copy(update={"target": "warehouse"})
CHAT = Send(channel="webhook", target="chat_gateway", template="chat_cart", category="marketing", promotes="cart")
SALES_TASK = Send(channel="sales_task", template="b2b_cart_sales_task", category="marketing", promotes="cart")
FOUR_MARKETING_MESSAGES = [guards.Sent(AFTERNOON_IN_BERLIN - timedelta(days=1), "win_back", 10, "marketing")] * 4


@pytest.fixture
def targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The shipped config/ with two internal targets (one says so, one names no consent channel), one that reaches the
    customer by SMS (as its consent channel says), and sales tasks."""
    folder = tmp_path / "config"
    shutil.copytree(ROOT / "config", folder)
    (folder / "webhooks.yaml").write_text(TARGETS)
    monkeypatch.setenv("OMNIJOURNEY_CONFIG_DIR", str(folder))
    get_settings.cache_clear()
    config.clear()
    yield folder
    monkeypatch.delenv("OMNIJOURNEY_CONFIG_DIR")
    get_settings.cache_clear()
    config.clear()


def message(body: str = '{"cart_total":"129.95"}', to: str = "order_desk") -> OutgoingMessage:
    return OutgoingMessage(
        message_key="exec-7f3a#cart_to_desk#2026-03-02T19:12:00+00:00",
        customer_id="cus_lena",
        journey="b2b_cart_to_sales",
        step="cart_to_desk",
        channel="webhook",
        category="marketing",
        to=to,
        subject=None,
        body=body,
        unsubscribe_url=None,
    )


def test_a_webhook_is_signed_exactly_as_the_standard_webhooks_specification_signs_its_example() -> None:
    headers = signed_headers(SPEC_SECRET, SPEC_ID, SPEC_AT, SPEC_BODY)
    assert headers["webhook-signature"] == SPEC_SIGNATURE
    assert (headers["webhook-id"], headers["webhook-timestamp"]) == (SPEC_ID, "1614265330")


class Target:
    """A target that answers the given statuses in turn (an exception: no answer), recording what it was sent."""

    def __init__(self, *answers: int | type[OSError]) -> None:
        self.answers = list(answers)
        self.received: list[tuple[str, bytes, dict[str, str]]] = []
        self.pauses: list[float] = []

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        self.received.append((url, body, headers))
        answer = self.answers.pop(0)
        if isinstance(answer, int):
            return answer
        raise answer

    def adapter(self) -> WebhookAdapter:
        return WebhookAdapter(post=self.post, sleep=self.pauses.append)


@pytest.fixture
def secret(targets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The targets of TARGETS (none rate limited), each signing with LOCAL_SECRET."""
    monkeypatch.setattr("omnijourney.channels.targets.SecretName.read", lambda _, what: LOCAL_SECRET)


def test_a_target_that_answers_500_twice_then_200_gets_the_message_once_signed_with_one_id(secret: None) -> None:
    target = Target(500, 500, 200)

    provider_id = target.adapter().send(message())

    assert len(target.received) == 3
    assert target.pauses == [1.0, 2.0]
    ids = {headers["webhook-id"] for _, _, headers in target.received}
    assert ids == {message().message_key}
    _, body, headers = target.received[-1]
    assert Webhook(LOCAL_SECRET).verify(body, headers) == {"cart_total": "129.95"}
    assert provider_id == f"webhook:order_desk:{message().message_key}"


@pytest.mark.parametrize(
    ("answers", "reason"),
    [((503, 503, 503), "target_unavailable"), ((TimeoutError,) * 3, "timeout"), ((429, 429, 429), "throttled")],
)
def test_a_target_down_or_slow_through_every_attempt_leaves_the_send_to_step_functions_retry(
    secret: None, answers: tuple[int | type[OSError], ...], reason: str
) -> None:
    target = Target(*answers)
    with pytest.raises(SendFailed) as failed:
        target.adapter().send(message())
    assert (failed.value.reason, failed.value.retryable) == (reason, True)
    assert len(target.received) == 3


@pytest.mark.parametrize(("status", "reason"), [(400, "http_400"), (410, "http_410"), (301, "http_301")])
def test_a_target_refusing_the_message_is_recorded_as_permanent_after_one_call(
    secret: None, status: int, reason: str
) -> None:
    target = Target(status)
    with pytest.raises(SendFailed) as failed:
        target.adapter().send(message())
    assert (failed.value.reason, failed.value.retryable) == (reason, False)
    assert len(target.received) == 1


def test_a_send_to_a_target_no_longer_in_the_file_fails_for_good_without_a_call(secret: None) -> None:
    target = Target()
    with pytest.raises(SendFailed) as failed:
        target.adapter().send(message(to="gone_target"))
    assert (failed.value.reason, failed.value.retryable) == ("unknown_target", False)
    assert target.received == []


def test_a_rate_limited_target_waits_for_its_slot_between_calls() -> None:
    limited = WebhookTarget.model_validate(
        {"url": "https://a.example", "secret": {"ssm": "/s"}, "reaches_customer": False, "rate_limit_per_second": 2}
    )
    waited: list[float] = []
    pace = Pace(waited.append)
    for _ in range(3):
        attempt("a", limited, lambda _: 204, sleep=waited.append, pace=pace, resend_unanswered=True)
    assert len(waited) == 2
    assert all(0 < seconds <= 1.0 for seconds in waited)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "targets:\n  chat:\n    url: https://chat.example.com\n    secret: {ssm: /s}\n    reaches_customer: true\n",
            2,
            "consent_channel: sms",
        ),
        (
            "targets:\n  crm:\n    url: https://crm.example.com\n    secret: {ssm: /s}\n    reaches_customer: false\n"
            "    consent_channel: sms\n",
            2,
            "needs no consent_channel",
        ),
        (
            "sales_tasks:\n  token: {ssm: /s}\n",
            1,
            "consent_channel: sms",
        ),
        (
            "targets:\n  crm:\n    url: http://crm.example.com/hook\n    secret: {ssm: /s}\n"
            "    reaches_customer: false\n",
            3,
            "https://",
        ),
        (
            "targets:\n  crm:\n    url: https://crm.example.com\n    secret: {ssm: /s, secrets_manager: s}\n"
            "    reaches_customer: false\n",
            4,
            "give ssm or secrets_manager",
        ),
        (
            "targets:\n  crm:\n    url: https://crm.example.com\n    secret: {ssm: /s}\n    reaches_customer: false\n"
            "    timeout_seconds: 10\n    retries: 3\n",
            2,
            "a journey step has 25 s",
        ),
    ],
)
def test_a_mistake_in_webhooks_yaml_is_reported_in_plain_words_at_its_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = tmp_path / "webhooks.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load(path, OutboundConfig)
    (problem,) = error.value.problems
    assert f"webhooks.yaml:{line}:" in str(problem)
    assert words in str(problem)


def test_the_shipped_webhooks_file_loads() -> None:
    loaded = load(ROOT / "config" / "webhooks.yaml", OutboundConfig)
    assert not loaded.targets["order_desk"].reaches_customer
    assert loaded.sales_tasks is not None


def test_a_webhook_payload_is_json_whatever_the_customer_wrote_in_their_name() -> None:
    template = Template.model_validate(
        {"channel": "webhook", "json": {"name": "{{ first_name }}", "total": "{{ cart_total }}", "b2b": True}}
    )
    _, body = template.render({"first_name": 'Lena "Lee" \\ Fischer', "cart_total": "129.95"})
    assert json.loads(body) == {"name": 'Lena "Lee" \\ Fischer', "total": "129.95", "b2b": True}


def test_a_webhook_template_with_a_body_or_an_unknown_variable_is_refused_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "desk_text.yaml").write_text("channel: webhook\nbody: '{\"a\": 1}'\n")
    (tmp_path / "desk_typo.yaml").write_text("channel: webhook\njson:\n  customer:\n    name: '{{ frist_name }}'\n")
    problems = [str(problem) for problem in TemplateCatalog(tmp_path).problems]
    assert any("desk_text.yaml:1:" in text and "under `json:`" in text for text in problems)
    assert any("desk_typo.yaml:4:" in text and "did you mean 'first_name'" in text for text in problems)


def test_a_sales_task_in_german_is_refused_as_staff_read_the_shops_language(tmp_path: Path) -> None:
    (tmp_path / "call.yaml").write_text("channel: sales_task\nsubject: Call\nbody: Call {{ first_name }}\n")
    (tmp_path / "call.de.yaml").write_text("channel: sales_task\nsubject: Anruf\nbody: Anrufen\n")
    (problem,) = TemplateCatalog(tmp_path).problems
    assert "always written in the shop's language" in str(problem)


def with_hubspot_contact(profile: Profile) -> Profile:
    identifiers = profile.identifiers | {IdentifierKind.hubspot_contact_id: ("901",)}
    return profile.model_copy(update={"identifiers": identifiers})


@pytest.mark.parametrize("internal", [ORDER_DESK, WAREHOUSE])
def test_an_internal_target_is_sent_at_night_without_sms_consent_and_past_the_caps(
    targets: Path, internal: Send
) -> None:
    decision = decide(internal, lena(*KNOWN_WITH_CART), now=EVENING_IN_BERLIN, sent=FOUR_MARKETING_MESSAGES)
    assert (decision.status, decision.recipient) == ("send", internal.target)


def test_a_target_that_reaches_the_customer_by_sms_needs_their_sms_opt_in(targets: Path) -> None:
    decision = decide(CHAT, lena(*KNOWN_WITH_CART))
    assert (decision.status, decision.reason) == ("suppressed", "no_consent")


def test_a_target_that_reaches_the_customer_waits_for_their_morning_and_counts_in_the_caps(targets: Path) -> None:
    profile = lena(*OPTED_IN_TO_SMS, *KNOWN_WITH_CART)
    night = decide(CHAT, profile, now=EVENING_IN_BERLIN)
    capped = decide(CHAT, profile, sent=FOUR_MARKETING_MESSAGES)
    assert (night.status, night.reason) == ("deferred", "quiet_hours")
    assert (capped.status, capped.reason) == ("suppressed", "frequency_cap")


def test_an_internal_target_is_still_held_by_an_open_ticket(targets: Path) -> None:
    profile = lena(*KNOWN_WITH_CART, ("zendesk", "ticket_created"))
    decision = decide(ORDER_DESK, profile)
    assert (decision.status, decision.reason) == ("deferred", "open_ticket")


def test_a_sales_task_goes_to_the_hubspot_contact_and_needs_one(targets: Path) -> None:
    profile = lena(*KNOWN_WITH_CART)
    assert decide(SALES_TASK, profile).reason == "no_address"
    decision = decide(SALES_TASK, with_hubspot_contact(profile))
    assert (decision.status, decision.recipient, decision.products) == ("send", "901", ("SHOE-TRAIL-42",))


def test_no_sales_task_pitches_a_product_the_customer_bought_in_store(targets: Path) -> None:
    profile = with_hubspot_contact(lena(*KNOWN_WITH_CART, ("shopify", "orders_create_pos")))
    pitch = SALES_TASK.model_copy(update={"promotes": ["SHOE-TRAIL-42"]})
    decision = decide(pitch, profile)
    assert (decision.status, decision.reason) == ("suppressed", "already_purchased")


def test_a_sales_task_goes_to_the_newest_hubspot_contact_whatever_order_the_profile_learnt_them(targets: Path) -> None:
    profile = lena(*KNOWN_WITH_CART)
    for order in (("5101", "5999"), ("5999", "5101")):
        known = profile.model_copy(update={"identifiers": profile.identifiers | {"hubspot_contact_id": order}})
        assert decide(SALES_TASK, known).recipient == "5999"


class VirtualTime:
    """A monotonic clock that only the adapter's pauses, waits and calls move."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_rate_limit_wait_that_would_outlast_the_step_ends_it_for_step_functions_to_retry(secret: None) -> None:
    time = VirtualTime()
    target = Target(503, 503, 503)
    calls: list[tuple[float, float]] = []

    def slow_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        calls.append((time.now, timeout))
        time.sleep(timeout)  # no answer before the attempt's deadline
        return target.post(url, body, headers, timeout)

    slow = OutboundConfig.model_validate(
        {
            "targets": {
                "order_desk": {
                    "url": "https://a.example",
                    "secret": {"ssm": "/s"},
                    "reaches_customer": False,
                    "timeout_seconds": 5,
                    "retries": 2,
                    "rate_limit_per_second": 0.08,
                }
            }
        }
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("omnijourney.channels.webhook.outbound", lambda: slow)
        with pytest.raises(SendFailed) as failed:
            WebhookAdapter(post=slow_post, sleep=time.sleep, now=time).send(message())

    assert failed.value.retryable
    assert all(start + timeout <= STEP_BUDGET_SECONDS for start, timeout in calls)
    assert time.now <= STEP_BUDGET_SECONDS


class SlowDrip(BaseHTTPRequestHandler):
    """Answers a header line every 50 ms, for as long as the client listens (at most 20 s)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        with contextlib.suppress(OSError):
            for _ in range(400):
                self.wfile.write(b"X-Drip: a\r\n")
                self.wfile.flush()
                threading.Event().wait(0.05)
            self.wfile.write(b"\r\n")

    def log_message(self, format: str, *args: object) -> None:
        """Silent."""


def test_an_answer_that_drips_in_is_cut_at_the_attempts_timeout() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowDrip)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(TimeoutError):
            post_over_https(f"http://127.0.0.1:{server.server_address[1]}/hook", b"{}", {}, 0.5)
    finally:
        server.shutdown()
        server.server_close()


def test_a_target_nobody_listens_at_never_had_the_request() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(NotDelivered):
        post_over_https(f"http://127.0.0.1:{port}/hook", b"{}", {}, 1)


class HubSpotAnswers:
    """HubSpot's API answering the given statuses in turn (an exception: the answer lost), counting the POSTs."""

    def __init__(self, *answers: int | type[OSError]) -> None:
        self.answers = list(answers)
        self.bodies: list[dict[str, Any]] = []

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        self.bodies.append(json.loads(body))
        answer = self.answers.pop(0)
        if isinstance(answer, int):
            return answer
        raise answer


@pytest.fixture
def hubspot_contact(secret: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lena, HubSpot contact 901, in the profile store."""
    record = SimpleNamespace(profile=with_hubspot_contact(lena(*KNOWN_WITH_CART)))
    monkeypatch.setattr("omnijourney.channels.sales_task.store.load", lambda _: record)


def task(to: str = "901") -> OutgoingMessage:
    return replace(message(), channel="sales_task", to=to, subject="Call Lena", body="About the cart")


@pytest.mark.parametrize("lost", [TimeoutError, ConnectionResetError, 500, 502, 504])
def test_a_task_hubspot_may_have_created_is_never_posted_again(
    hubspot_contact: None, lost: int | type[OSError]
) -> None:
    hubspot = HubSpotAnswers(lost, 201, 201)
    with pytest.raises(SendFailed) as failed:
        SalesTaskAdapter(post=hubspot.post, sleep=lambda _: None).send(task())
    assert (failed.value.unconfirmed, failed.value.retryable) == (True, False)
    assert len(hubspot.bodies) == 1


@pytest.mark.parametrize("refused", [429, 408, NotDelivered])
def test_a_task_hubspot_surely_did_not_take_is_tried_again(hubspot_contact: None, refused: int | type[OSError]) -> None:
    hubspot = HubSpotAnswers(refused, 201)
    assert (
        SalesTaskAdapter(post=hubspot.post, sleep=lambda _: None).send(task()) == f"hubspot-task:{task().message_key}"
    )
    assert len(hubspot.bodies) == 2


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_hubspot_token_is_retried_as_configuration_not_the_customers_task_dropped(
    hubspot_contact: None, status: int
) -> None:
    with pytest.raises(SendFailed) as failed:
        SalesTaskAdapter(post=HubSpotAnswers(status).post, sleep=lambda _: None).send(task())
    assert (failed.value.reason, failed.value.retryable) == ("hubspot_not_authorized", True)
