"""One scenario on several processes, for the same report sooner.

Customers meet only through the identifiers their events share: identity resolution merges profiles that
share one, and everything else (journeys, guards, the ledger, offers) is kept per customer. So the lines
are grouped by the identifiers, event ids and customer ids they name, the groups are shared out among
processes, and each process plays its share, and every clock and schedule line, on a backend of its own.
The report is made from what every process found, the same as one process would make it.
"""

from __future__ import annotations

import multiprocessing
import pickle
import queue
import signal
import traceback
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from omnijourney.edge.sources import get_source
from omnijourney.identifiers import Identifier, IdentifierKind
from omnijourney.profiles.service import customer_id_for, identifier_keys
from omnijourney_tools.simulation.runner import Findings, Progress, delivery_of, play
from omnijourney_tools.simulation.scenario import AdvanceLine, DeliveryLine, EraseLine, LookupLine, ScenarioLine

# How often the parent looks whether a worker died without a word (killed, out of memory).
POLL_SECONDS = 1.0


class WorkerDied(RuntimeError):
    """A worker process ended without sending its findings or its error."""


def split(lines: Sequence[ScenarioLine], workers: int) -> list[list[ScenarioLine]]:
    """The lines in at most `workers` shares, no customer in two; lines that name no customer in every share.

    Each share ends at the scenario's last moment, so the waits that fall due before it fire in every share.
    """
    groups = _Groups()
    owners: list[str | None] = []
    for line in lines:
        keys = _keys(line)
        owners.append(groups.join(keys) if keys else None)
    sizes = Counter(groups.find(owner) for owner in owners if owner is not None)
    loads = [0] * min(workers, len(sizes))
    share_of: dict[str, int] = {}
    # Biggest groups first, each to the least loaded share; ties go by the group's key, so the split is deterministic.
    for group, size in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        least = loads.index(min(loads))
        share_of[group] = least
        loads[least] += size
    shares: list[list[ScenarioLine]] = [[] for _ in loads]
    for line, owner in zip(lines, owners, strict=True):
        for index in [share_of[groups.find(owner)]] if owner is not None else range(len(shares)):
            shares[index].append(line)
    if lines:
        last = lines[-1]
        for share in shares:
            if share[-1] is not last:
                share.append(AdvanceLine(number=last.number, at=last.at))
    return shares


def _keys(line: ScenarioLine) -> list[str]:
    """What ties a line to a customer: the identity keys, event ids and would-be customer ids of its events,
    or the identifier it looks up. Empty for lines of every customer (clock, schedule)."""

    if isinstance(line, DeliveryLine):
        keys = [f"line#{line.number}"]
        try:
            events = get_source(line.source).parse(delivery_of(line))
        except Exception:  # noqa: BLE001 - whatever the handlers make of it, they make it in any share: it joins no one
            return keys
        for event in events:
            keys += [*identifier_keys(event), f"event#{event.event_id}", f"customer#{customer_id_for(event)}"]
        return keys
    if isinstance(line, LookupLine | EraseLine):
        ((kind, value),) = (line.lookup if isinstance(line, LookupLine) else line.erase).items()
        if kind == "customer_id":
            return [f"customer#{value}"]
        identifier = Identifier.parse(IdentifierKind(kind), value)
        return [identifier.key if identifier is not None else f"line#{line.number}"]
    return []


class _Groups:
    """Union-find over keys: keys named together end up with one representative."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        root = self._parent.setdefault(key, key)
        while root != self._parent[root]:
            root = self._parent[root]
        while key != root:  # path compression
            self._parent[key], key = root, self._parent[key]
        return root

    def join(self, keys: Iterable[str]) -> str:
        roots = sorted({self.find(key) for key in keys})
        for other in roots[1:]:
            self._parent[other] = roots[0]
        return roots[0]


def play_apart(
    shares: Sequence[Sequence[ScenarioLine]], start: datetime | None, progress: Progress | None, *, facts: bool = False
) -> list[Findings]:
    """Each share played in a process of its own, at once; their findings in share order (with `facts`, the
    analytics records each wrote).

    A worker's error is raised here as it was raised there (a journey that does not compile is a ConfigError).
    """
    # Spawned, not forked: the caller may have threads (a test runner, a server) that a fork would copy mid-step.
    context = multiprocessing.get_context("spawn")
    outbox = context.Queue()
    # The lines go by queue, not as the processes' arguments: a worker that dies while starting cannot leave
    # the parent blocked on a full pipe. The queues are kept here: once started, a process lets go of its
    # arguments, and a queue collected before its worker opened it is gone.
    inboxes = [context.Queue() for _ in shares]
    workers = [
        context.Process(target=_play_share, args=(index, inbox, outbox), daemon=True)
        for index, inbox in enumerate(inboxes)
    ]
    for worker, inbox, share in zip(workers, inboxes, shares, strict=True):
        inbox.cancel_join_thread()
        inbox.put((list(share), start, facts))
        worker.start()
    found: dict[int, Findings] = {}
    # A line of every share's is done when the last share has played it.
    copies = Counter(line.number for share in shares for line in share)
    done, total = 0, len(copies)
    try:
        while len(found) < len(workers):
            try:
                kind, index, payload = outbox.get(timeout=POLL_SECONDS)
            except queue.Empty:
                dead = [worker for worker in workers if worker.exitcode not in (None, 0)]
                if dead:
                    raise WorkerDied(f"a simulation worker ended with exit code {dead[0].exitcode}") from None
                continue
            if kind == "line":
                number = shares[index][payload - 1].number
                copies[number] -= 1
                if copies[number] == 0:
                    done += 1
                    if progress:
                        progress(done, total)
            elif kind == "found":
                found[index] = payload
            else:
                raise payload
    finally:
        for worker in workers:
            if len(found) < len(workers):  # failed: the others' work is of no use
                worker.terminate()
            worker.join()
    return [found[index] for index in range(len(workers))]


def _play_share(index: int, inbox: Any, outbox: Any) -> None:
    # Ctrl-C reaches the whole process group: the parent stops the workers itself, without their tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lines, start, facts = inbox.get()
    try:
        findings = play(lines, start, lambda done, total: outbox.put(("line", index, done)), facts=facts)
    except Exception as error:  # noqa: BLE001 - every error goes to the parent, which raises it
        outbox.put(("failed", index, _portable(error)))
    else:
        outbox.put(("found", index, findings))


def _portable(error: Exception) -> Exception:
    """The error with the worker's traceback as a note; as text when the error does not survive pickling."""
    where = "in a simulation worker:\n" + "".join(traceback.format_tb(error.__traceback__))
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, just made
    except Exception:  # noqa: BLE001 - whatever stops pickling, the text still goes
        return RuntimeError(f"{type(error).__name__}: {error}\n{where}")
    error.add_note(where)
    return error
