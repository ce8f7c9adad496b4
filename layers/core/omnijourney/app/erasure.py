"""A data-erasure request: the customer's journeys stop, their profile goes, their ledger forgets them.

The ledger keeps that a message went out and when (frequency caps and metrics need the count), but
not to which address; journey runs keep their outcome, not what started them.
"""

from __future__ import annotations

from omnijourney.platform import clock
from omnijourney.profiles import service, store


def erase_customer(customer_id: str) -> list[str]:
    """Erase the customer (and everyone merged into them); the customer ids erased."""
    # lazy: the journey runtime loads on an erasure, not at the profile API's cold start
    from omnijourney.runtime.records import (
        JourneyRunRecord,
        LedgerRecord,
        runs_of,
    )
    from omnijourney.runtime.triggers import stop_runs  # lazy: as above: only an erasure stops runs

    record = service.get(customer_id)
    customer_ids = [record.customer_id, *record.profile.merged_from]
    runs = runs_of(customer_ids)
    stop_runs(runs, "stopped", "customer_erased", clock.now())
    # The profile goes last: if anything before fails, the retried request still finds the customer.
    for run in runs:
        run.update(actions=[JourneyRunRecord.entry.set("{}")])
    for erased_id in customer_ids:
        for entry in LedgerRecord.query(erased_id):
            if entry.recipient is not None:
                entry.update(actions=[LedgerRecord.recipient.remove()])
    return store.erase(record)
