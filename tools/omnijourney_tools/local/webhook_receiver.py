"""Where the outbound channels deliver locally: a webhook receiver that verifies each delivery's Standard Webhooks
signature with the `standardwebhooks` library and takes a `webhook-id` once, as the specification asks receivers to,
and a local HubSpot for sales tasks (omnijourney_tools.local.hubspot).

`install` points the journey-step function's `webhook` and `sales_task` adapters at them in process (the local
backend does, for `simulate`, `serve`, the demo and the tests: deterministic, no sockets; the configured URLs name the
target, nothing is dialled) and stores the signing secrets and HubSpot's token where config/webhooks.yaml says (SSM
or Secrets Manager, on moto). `deliver_over_http` then sends the webhooks to the configured URLs for real instead
(`omnijourney serve --deliver-webhooks`: a developer's own receiver). `LoopbackReceiver` serves the same receiver on
127.0.0.1 for such a server to dial (e2e tests, a target URL of http://127.0.0.1:<port>/...).
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import JsonValue
from standardwebhooks import Webhook, WebhookVerificationError

from omnijourney.channels import use_adapter
from omnijourney.channels.sales_task import SalesTaskAdapter
from omnijourney.channels.targets import SecretName, outbound
from omnijourney.channels.webhook import WebhookAdapter
from omnijourney.platform import aws
from omnijourney_tools.local.hubspot import LocalHubSpot

LOCAL_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"local-outbound-webhook-secret").decode()


@dataclass(frozen=True)
class Received:
    """One delivery a target took: which target (by the name sends use), its `webhook-id`, the verified payload."""

    target: str
    webhook_id: str
    payload: JsonValue


class WebhookReceiver:
    """Every target of config/webhooks.yaml at once: `answers` are statuses to give before accepting (a target that
    fails, e.g. [500, 500]); `deliveries` what it took, once per `webhook-id`; `webhook_ids` the `webhook-id` of
    every call, in order ("" for a call without one, which verification refuses)."""

    def __init__(self, secret: str = LOCAL_WEBHOOK_SECRET) -> None:
        self.secret = secret
        self.answers: list[int] = []
        self.webhook_ids: list[str] = []
        self.deliveries: list[Received] = []
        self._lock = threading.Lock()

    @property
    def attempts(self) -> int:
        """How many calls arrived, answered or refused."""
        return len(self.webhook_ids)

    def receive(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        webhook_id = {name.lower(): value for name, value in headers.items()}.get("webhook-id", "")
        with self._lock:
            self.webhook_ids.append(webhook_id)
            if self.answers:
                return self.answers.pop(0)
            try:
                payload = Webhook(self.secret).verify(body, headers)
            except WebhookVerificationError:
                return HTTPStatus.UNAUTHORIZED
            if all(delivery.webhook_id != webhook_id for delivery in self.deliveries):
                self.deliveries.append(Received(_target_named(url), webhook_id, payload))
            return HTTPStatus.NO_CONTENT

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        """The adapters' `Post`, in process."""
        return self.receive(url, body, headers)


def _target_named(url: str) -> str:
    """The target a delivery was sent to, by its URL."""
    return next((name for name, target in outbound().targets.items() if target.url == url), url)


def _no_pause(_: float) -> None:
    """Retries and rate limits wait on the journeys' clock locally: Step Functions' own backoff is simulated."""


def install(receiver: WebhookReceiver, hubspot: LocalHubSpot) -> None:
    """Send webhooks to `receiver` and sales tasks to `hubspot` (in process), with their secrets stored as
    config/webhooks.yaml names them; on moto, inside the local backend."""
    for target in outbound().targets.values():
        _store(target.secret, receiver.secret)
    tasks = outbound().sales_tasks
    if tasks is not None:
        _store(tasks.token, hubspot.token)

    def to_hubspot(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        status, _ = hubspot.answer("POST", url, headers, body)
        return int(status)

    use_adapter("webhook", WebhookAdapter(post=receiver.post, sleep=_no_pause))
    use_adapter("sales_task", SalesTaskAdapter(post=to_hubspot, sleep=_no_pause))


def uninstall() -> None:
    use_adapter("webhook", None)
    use_adapter("sales_task", None)


def deliver_over_http() -> None:
    """Send webhooks to the URLs of config/webhooks.yaml for real, signed with the secret `install` stored (what
    `omnijourney serve --deliver-webhooks` does). Retries within a step do not pause: the server runs a step under the
    lock every request waits for; Step Functions' own backoff, on the journeys' clock, still follows them."""
    use_adapter("webhook", WebhookAdapter(sleep=_no_pause))


def _store(secret: SecretName, value: str) -> None:
    if secret.ssm is not None:
        aws.client("ssm").put_parameter(Name=secret.name, Value=value, Type="SecureString", Overwrite=True)
    else:
        aws.client("secretsmanager").create_secret(Name=secret.name, SecretString=value)


class LoopbackReceiver:
    """`receiver` served on a free port of 127.0.0.1: `url` is the address to give a target."""

    def __init__(self, receiver: WebhookReceiver) -> None:
        self.receiver = receiver
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LoopbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            url = f"http://{self.headers.get('host', '')}{self.path}"
            status = receiver.receive(url, body, dict(self.headers.items()))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: a payload's path may carry a token, and the test reads `deliveries` instead."""

    return Handler
