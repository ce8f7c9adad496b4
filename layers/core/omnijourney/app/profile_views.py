"""The profile view the HTTP APIs answer with (the profile API's page and lookups, the staff API's page): the profile
as profiles.view shows it, with the customer's sends no provider has confirmed and the sales tasks journeys created
for them lately. The ledger is the runtime's, which the profiles package may not read, so the view is put together
here (docs/operations.md, "Sends"; docs/profile-api.md, "Sales tasks")."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from omnijourney.platform import clock
from omnijourney.vocabulary import MessageChannel

if TYPE_CHECKING:
    from omnijourney.profiles import store
    from omnijourney.runtime import ledger_records

# HubSpot's task completion is not subscribed, so whether a task is still open is not known here: the view lists the
# tasks journeys created within this window, which sales may have done since (HubSpot says).
SALES_TASKS_WITHIN = timedelta(days=30)


def customer(customer_id: str) -> dict[str, Any]:
    """The view of the customer with this id (or the one they were merged into); NotFound for nobody."""
    from omnijourney.profiles import service  # lazy: pynamodb loads on the first request, not at an API's cold start

    return _view_of(service.get(customer_id))


def look_up(query: Mapping[str, str]) -> dict[str, Any]:
    """`?phone=` | `?email=` | `?loyalty_id=`, exactly one of them: the view of the customer found."""
    from omnijourney.profiles import service  # lazy: as in customer()

    return _view_of(service.looked_up(query))


def named(first_name: str, last_name: str) -> dict[str, Any]:
    """Every customer with this first and last name, listed apart (a name links nobody)."""
    from omnijourney.profiles import service  # lazy: as in customer()

    return service.named(first_name, last_name)


def search(wanted: Mapping[str, str | None]) -> dict[str, Any]:
    """The customers a staff search finds: by phone, email, loyalty id, or first and last name."""
    from omnijourney.profiles import service  # lazy: as in customer()

    return service.search(wanted)


def _view_of(record: store.ProfileRecord) -> dict[str, Any]:
    """The view as of now, with the newest activity, the unconfirmed sends and the recent sales tasks across the
    customer and everyone merged into them (a message sent before a merge stays under the id it was sent to)."""
    from omnijourney.profiles import service  # lazy: as in customer()
    from omnijourney.runtime import ledger_records  # lazy: as in customer()

    # One query of each id's ledger partition: a filter would read (and bill) the whole partition as much.
    entries = [
        entry
        for customer_id in (record.customer_id, *record.profile.merged_from)
        for entry in ledger_records.entries(customer_id)
    ]
    pending = [entry.as_pending() for entry in entries if entry.status == ledger_records.LedgerStatus.pending]
    view = service.view_of(record, pending_messages=pending)
    view["sales_tasks"] = sales_tasks(record, entries, clock.now())
    return view


def sales_tasks(
    record: store.ProfileRecord, entries: list[ledger_records.LedgerRecord], now: datetime
) -> list[dict[str, Any]]:
    """The tasks journeys created in HubSpot for the customer's owner within SALES_TASKS_WITHIN, newest first: each
    with its journey, step, template, subject (as HubSpot shows it; null where the ledger kept no text) and the
    contact's owner now, whom the adapter assigned it to unless the contact changed hands since (null: unassigned)."""
    from omnijourney.profiles.model import OWNER_TRAIT  # lazy: as in customer()
    from omnijourney.runtime.ledger_records import LedgerStatus  # lazy: as in customer()

    owner = record.profile.traits.get(OWNER_TRAIT)
    since = now - SALES_TASKS_WITHIN
    created = [
        entry
        for entry in entries
        if entry.status == LedgerStatus.sent and entry.channel == MessageChannel.sales_task and entry.at >= since
    ]
    return [
        {
            "at": entry.at.isoformat(),
            "journey": entry.journey,
            "step": entry.step,
            "template": entry.template,
            "subject": json.loads(entry.text)["subject"] if entry.text else None,
            "owner": str(owner) if owner else None,
        }
        for entry in sorted(created, key=lambda entry: (entry.at, entry.message_key), reverse=True)
    ]
