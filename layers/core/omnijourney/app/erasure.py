"""A data-erasure request: the customer's journeys stop, their profile goes, their ledger forgets them.

The ledger keeps that a message went out and when (frequency caps and metrics need the count), but
not to which address nor what it said; journey runs keep their outcome, not what started them; the entries
journeys passed over go; so do the quarantined deliveries carrying any of their identifiers, every version.
docs/operations.md ("What erasure removes") lists what remains and why.
"""

from __future__ import annotations

from omnijourney.analytics import facts, stream
from omnijourney.platform import clock
from omnijourney.profiles import service, store
from omnijourney.vocabulary import Reason


def erase_customer(customer_id: str) -> list[str]:
    """Erase the customer (and everyone merged into them); the customer ids erased."""
    from omnijourney.edge import quarantine  # lazy: only an erasure reads the quarantine bucket's index

    # lazy: the journey runtime loads on an erasure, not at the profile API's cold start
    from omnijourney.runtime import ledger, runs
    from omnijourney.runtime.triggers import stop_runs  # lazy: as above: only an erasure stops runs

    record = service.get(customer_id)
    customer_ids = [record.customer_id, *record.profile.merged_from]
    their_runs = runs.of_customers(customer_ids)
    stop_runs(their_runs, runs.RunOutcome.stopped, Reason.customer_erased, clock.now())
    # The profile goes last: if anything before fails, the retried request still finds the customer.
    runs.forget_entries(their_runs)
    runs.forget_skipped(customer_ids)
    ledger.forget_recipients_and_texts(customer_ids)
    # Found by their identifiers, so before the identities go.
    quarantine.erase_carrying(store.all_identities(customer_ids, record.profile.identifier_keys))
    # Before the profile goes, for the same reason: a failed put fails the request, and its retry puts them again.
    now = clock.now()
    stream.emit(*(facts.erasure_fact(customer_id, now) for customer_id in customer_ids))
    stream.flush()
    return store.erase(record)
