"""A data-erasure request: the customer's journeys stop, their profile goes, their ledger forgets them.

The ledger keeps that a message went out and when (frequency caps and metrics need the count), but
not to which address nor what it said; journey runs keep their outcome, not what started them; the entries
journeys passed over go; so do the quarantined deliveries carrying any of their identifiers, every version.
docs/operations.md ("What erasure removes") lists what remains and why.
"""

from __future__ import annotations

from omnijourney.analytics import facts, stream
from omnijourney.app.crm_deals import forget_contacts
from omnijourney.platform import clock
from omnijourney.profiles import service, store
from omnijourney.vocabulary import Reason


def erase_customer(customer_id: str) -> list[str]:
    """Erase the customer `customer_id` names (and everyone merged into them); the customer ids erased. NotFound for
    nobody."""
    # A put that failed after an earlier erasure's delete left its facts collected here: its retry, which finds no
    # customer any more, puts them (docs/analytics.md, "How facts are written").
    stream.flush()
    return erase_profile(service.get(customer_id))


def erase_profile(record: store.ProfileRecord) -> list[str]:
    """Erase the customer of a live profile as just loaded (and everyone merged into them); the customer ids
    erased."""
    from omnijourney.edge import quarantine  # lazy: only an erasure reads the quarantine bucket's index

    # lazy: the journey runtime loads on an erasure, not at the profile API's cold start
    from omnijourney.runtime import ledger, runs
    from omnijourney.runtime.triggers import stop_runs  # lazy: as above: only an erasure stops runs

    stream.flush()  # as erase_customer's: what an earlier erasure collected goes first
    customer_ids = [record.customer_id, *record.profile.merged_from]
    their_runs = runs.of_customers(customer_ids)
    stop_runs(their_runs, runs.RunOutcome.stopped, Reason.customer_erased, clock.now())
    # The profile goes last: if anything before fails, the retried request still finds the customer.
    runs.forget_entries(their_runs)
    runs.forget_skipped(customer_ids)
    ledger.forget_recipients_and_texts(customer_ids)
    # Before the profile goes, which lists their deals.
    forget_contacts(record.profile)
    # Found by their identifiers, so before the identities go.
    quarantine.erase_carrying(store.all_identities(customer_ids, record.profile.identifier_keys))
    erased = store.erase(record)
    # Once the profile is gone, which makes it true: a failed delete fails the request before the lake hears of it,
    # and the retried request, which finds the customer, erases and puts it then.
    now = clock.now()
    stream.emit(*(facts.erasure_fact(erased_id, now) for erased_id in erased))
    stream.flush()
    return erased
