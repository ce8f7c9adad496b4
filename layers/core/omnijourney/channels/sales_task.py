"""Sales tasks (`channel: sales_task`): a task in HubSpot for the contact's owner, associated with the contact, its
subject and body rendered from the step's template (POST /crm/v3/objects/tasks, plain HTTPS: HubSpot's own client
is too large for the layer).

The guards have already judged the task as any message (already bought on any channel, an open ticket, and as
config/webhooks.yaml says, consent and caps); `to` is the profile's HubSpot contact id to try first
(targets.contacts_to_try: on HubSpot's 404 for a contact merged away, the next). The owner is the contact's
`hubspot_owner_id` trait, read from the live profile; a contact without one gets an unassigned task, which HubSpot
lists for the whole team.

HubSpot takes no idempotency key for a task and creates one per POST, and its search is eventually consistent (a task
just made may not be found for seconds), so a search cannot tell whether an unanswered POST made one. Hence a POST
HubSpot may have taken (a timeout or a dropped connection after it went out, a 5xx) is never sent again: SendFailed
`unconfirmed`, the entry stays `pending` (docs/operations.md, "Sends"). A 401 or 403 is the token or its scopes, not
the customer: retryable, logged as an error for the operator.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from omnijourney.channels import OutgoingMessage, SendFailed
from omnijourney.channels.https import HttpsAdapter, attempt
from omnijourney.channels.targets import contacts_to_try, outbound
from omnijourney.platform import clock
from omnijourney.profiles import store
from omnijourney.profiles.model import OWNER_TRAIT, Profile

logger = logging.getLogger(__name__)

TASKS_PATH = "/crm/v3/objects/tasks"
# HubSpot's own association type of a task to a contact (HUBSPOT_DEFINED).
TASK_TO_CONTACT = 204
# HubSpot's answers that mean the configuration, not this task: an expired or revoked token, a missing scope.
_NOT_AUTHORIZED = frozenset({"http_401", "http_403"})
_NO_SUCH_CONTACT = "http_404"


def task_request(message: OutgoingMessage, owner: str | None, due_in_days: int, contact: str) -> dict[str, object]:
    """The body HubSpot's CRM v3 API creates the task from, associated with `contact`."""
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
    return {"properties": properties, "associations": [{"to": {"id": contact}, "types": [association]}]}


class SalesTaskAdapter(HttpsAdapter):
    def send(self, message: OutgoingMessage) -> str:
        tasks = outbound().sales_tasks
        if tasks is None:
            raise SendFailed("not_configured", retryable=False, detail="config/webhooks.yaml has no sales_tasks")
        record = store.load(message.customer_id)
        profile = record.profile if record else None
        token = tasks.token.read("HubSpot's access token")
        headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
        url = f"{tasks.api_url.rstrip('/')}{TASKS_PATH}"
        for contact in _contacts(message.to, profile):
            body = json.dumps(task_request(message, _owner(profile), tasks.due_in_days, contact)).encode()

            def call(timeout: float, body: bytes = body) -> int:
                return self._post(url, body, headers, timeout)

            try:
                attempt(
                    "hubspot", tasks, call, sleep=self._sleep, pace=self._pace, resend_unanswered=False, now=self._now
                )
            except SendFailed as failure:
                if failure.reason == _NO_SUCH_CONTACT:
                    # The message's key, not the contact id: that names the customer.
                    logger.info("HubSpot has no contact for %s (merged away?): trying the next", message.message_key)
                    continue
                if failure.reason in _NOT_AUTHORIZED:
                    # An operator's to put right, not a crash: logged without a traceback.
                    logger.error(  # noqa: TRY400
                        "HubSpot refused the private app's token (%s): renew it or grant its scopes", failure.reason
                    )
                    raise SendFailed("hubspot_not_authorized", retryable=True, detail=str(failure)) from failure
                raise
            return f"hubspot-task:{message.message_key}"
        raise SendFailed(_NO_SUCH_CONTACT, retryable=False, detail="HubSpot has none of the customer's contacts")


def _contacts(first: str, profile: Profile | None) -> list[str]:
    """`first` (the ledger's recipient), then the profile's other contacts in the order they are tried."""
    others = contacts_to_try(profile) if profile else []
    return [first, *(contact for contact in others if contact != first)]


def _owner(profile: Profile | None) -> str | None:
    owner = profile.traits.get(OWNER_TRAIT) if profile else None
    return str(owner) if owner else None


ADAPTER = SalesTaskAdapter()
