"""Sales tasks (`channel: sales_task`): a task in HubSpot for the contact's owner, associated with the contact, its
subject and body rendered from the step's template (POST /crm/v3/objects/tasks, plain HTTPS: HubSpot's own client
is too large for the layer).

The guards have already judged the task as any message (already bought on any channel, an open ticket, and as
config/webhooks.yaml says, consent and caps); `to` is the profile's HubSpot contact id. The owner is the contact's
`hubspot_owner_id` trait, read from the live profile; a contact without one gets an unassigned task, which HubSpot
lists for the whole team. HubSpot takes no idempotency key for a task, so, as for SES, a timeout retried can make a
second task and the ledger's message key is the guard.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta

from omnijourney.channels import OutgoingMessage, SendFailed
from omnijourney.channels.https import Pace, Post, attempt, post_over_https
from omnijourney.channels.targets import outbound
from omnijourney.platform import clock
from omnijourney.profiles import store

TASKS_PATH = "/crm/v3/objects/tasks"
OWNER_TRAIT = "hubspot_owner_id"
# HubSpot's own association type of a task to a contact (HUBSPOT_DEFINED).
TASK_TO_CONTACT = 204


def task_request(message: OutgoingMessage, owner: str | None, due_in_days: int) -> dict[str, object]:
    """The body HubSpot's CRM v3 API creates the task from."""
    properties = {
        "hs_timestamp": (clock.now() + timedelta(days=due_in_days)).isoformat().replace("+00:00", "Z"),
        "hs_task_subject": message.subject or message.journey,
        "hs_task_body": message.body,
        "hs_task_status": "NOT_STARTED",
        "hs_task_type": "TODO",
    }
    if owner:
        properties["hubspot_owner_id"] = owner
    association = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_TO_CONTACT}
    return {"properties": properties, "associations": [{"to": {"id": message.to}, "types": [association]}]}


class SalesTaskAdapter:
    def __init__(self, post: Post = post_over_https, sleep: Callable[[float], None] = time.sleep) -> None:
        self._post = post
        self._sleep = sleep
        self._pace = Pace(sleep)

    def send(self, message: OutgoingMessage) -> str:
        tasks = outbound().sales_tasks
        if tasks is None:
            raise SendFailed("not_configured", retryable=False, detail="config/webhooks.yaml has no sales_tasks")
        body = json.dumps(task_request(message, _owner(message.customer_id), tasks.due_in_days)).encode()
        token = tasks.token.read("HubSpot's access token")
        headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}

        def call() -> int:
            return self._post(f"{tasks.api_url.rstrip('/')}{TASKS_PATH}", body, headers, tasks.timeout_seconds)

        attempt("hubspot", tasks, call, sleep=self._sleep, pace=self._pace)
        return f"hubspot-task:{message.message_key}"


def _owner(customer_id: str) -> str | None:
    record = store.load(customer_id)
    owner = record.profile.traits.get(OWNER_TRAIT) if record else None
    return str(owner) if owner else None


ADAPTER = SalesTaskAdapter()
