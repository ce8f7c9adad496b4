"""A virtual clock for moto's Step Functions executor: a journey that waits for days runs in milliseconds.

moto runs every execution on threads that wait with `threading.Event`, `Thread.join` and `time.sleep`. While a
`VirtualClock` is installed, those names in moto's Step Functions modules refer to versions that wait on the clock
instead, and the execution threads take turns: one runs at a time, and a waiting thread resumes only when its turn
is handed back. Time moves only when the caller advances it, and every run interleaves the threads the same way, so
handler calls, retry jitter and outcomes repeat exactly.

It patches moto internals, so it is tied to the moto version pinned in pyproject.toml (5.2.5).
"""

from __future__ import annotations

import contextlib
import datetime as datetime_module
import heapq
import importlib
import itertools
import pkgutil
import random
import sys
import threading
import time
from collections import deque
from datetime import datetime, timedelta, tzinfo
from functools import cache, partial
from types import ModuleType, TracebackType
from typing import Any, ClassVar, Self

from omnijourney.platform import clock as domain_clock

PARSER_PACKAGE = "moto.stepfunctions.parser"
# Real seconds settle() gives the executions before concluding one is stuck outside the clock.
SETTLE_TIMEOUT_SECONDS = 60.0


class _Abandoned(BaseException):
    """Raised in a parked thread when the clock is uninstalled; a BaseException so moto's handlers let it through."""


class _Waiter:
    """One parked thread. It runs again when the clock sets `go`; `result` is what its wait returns."""

    __slots__ = ("go", "result", "subscription", "woken")

    def __init__(self) -> None:
        self.go = threading.Event()
        self.result = False
        self.woken = False
        self.subscription: list[_Waiter] | None = None


class VirtualClock:
    """Virtual time for moto's Step Functions executions, and the turns their threads take.

    While installed (`with VirtualClock(start) as clock:`), StartExecution returns once the new execution waits for
    the first time. A wait ends when `advance_to` or `run_until_idle` reaches its due time, or when what it waits for
    happens; inputs from the caller's thread (SendTaskSuccess, SendTaskFailure, StopExecution) take effect at the next
    `settle()`, which both begin with. `omnijourney.clock.now()` reads this clock while it is installed. `seed` fixes
    the retry jitter. A clock is installed once; only one can be installed at a time.
    """

    _installed: ClassVar[VirtualClock | None] = None

    def __init__(self, start: datetime, *, seed: int = 0) -> None:
        _require_utc(start)
        self._now = start
        self._lock = threading.Lock()
        self._quiet = threading.Condition(self._lock)
        # (due, sequence, waiter): sequence numbers are handed out in the one running thread, so ties repeat exactly.
        self._timers: list[tuple[datetime, int, _Waiter]] = []
        self._sequence = itertools.count()
        self._ready: deque[_Waiter] = deque()
        self._parked: set[_Waiter] = set()
        self._running = False
        self._closed = False
        self._random = _SeededRandom(seed)
        self._patches: list[tuple[object, str, object]] = []
        self._previous_source: Any = None

    def now(self) -> datetime:
        """The virtual instant, timezone-aware UTC."""
        return self._now

    def settle(self) -> None:
        """Run the executions until every one of them is waiting on the clock, without moving time."""
        if self._in_turn_thread():
            raise RuntimeError("settle() called from an execution thread would wait for itself")
        with self._lock:
            if not self._running:
                self._pass_turn()
            if not self._quiet.wait_for(lambda: not self._running, SETTLE_TIMEOUT_SECONDS):
                raise RuntimeError(
                    f"the executions did not settle in {SETTLE_TIMEOUT_SECONDS:.0f} s of real time: "
                    "a thread is blocked on something the virtual clock does not control"
                )

    def advance_to(self, instant: datetime) -> None:
        """Fire every timer due up to and including `instant`, earliest first, settling after each; end at `instant`."""
        _require_utc(instant)
        if instant < self._now:
            raise ValueError(f"the clock is at {self._now.isoformat()} and cannot go back to {instant.isoformat()}")
        self.run_until_idle(instant)
        self._now = instant

    def run_until_idle(self, limit: datetime) -> None:
        """Fire timers while any is due by `limit`; the clock stays at the last one fired, where things went quiet."""
        _require_utc(limit)
        self.settle()
        while self._fire_next(limit):
            self.settle()

    def next_due(self) -> datetime | None:
        """When the earliest pending timer fires (None if nothing waits on the clock)."""
        with self._lock:
            earliest = self._earliest_timer()
            return earliest[0] if earliest else None

    def __enter__(self) -> VirtualClock:
        if VirtualClock._installed is not None or self._closed:
            # A second clock would find moto's names already replaced and patch nothing.
            raise RuntimeError("a VirtualClock is installed once, and one at a time")
        from jsonpath_ng.ext.parser import parse as parse_extended_path
        from jsonpath_ng.parser import parse as parse_path
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
        from moto.stepfunctions.parser.asl.utils import boto_client
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

        replacements: list[tuple[object, object]] = [
            (threading, _VirtualThreadingModule(self)),
            (time, _VirtualTimeModule(self)),
            (datetime_module, _VirtualDatetimeModule(self)),
            (threading.Thread, partial(_VirtualThread, self)),
            (threading.Event, partial(_VirtualEvent, self)),
            (random, self._random),
            (boto_client.boto_client_for, _reused_clients(boto_client.boto_client_for)),
            # jsonpath_ng builds a new PLY parser for every path it parses (~3 ms); a state's paths repeat.
            (parse_path, cache(parse_path)),
            (parse_extended_path, cache(parse_extended_path)),
        ]
        for module in _parser_modules():
            for name, value in list(vars(module).items()):
                for original, replacement in replacements:
                    if value is original:
                        self._patch(module, name, replacement)
        programs: dict[str, Any] = {}

        def evaluation_entrypoint(worker: Any) -> Any:
            # Parsing a definition with ANTLR takes ~20 ms, and so does a deep copy of a large parsed program.
            # Executions share one: evaluating a program does not change it (an execution keeps its state, retry
            # counts included, in its own Environment).
            definition = worker._evaluation_details.state_machine_details.definition
            if definition not in programs:
                programs[definition] = AmazonStateLanguageParser.parse(definition)[0]
            return programs[definition]

        self._patch(ExecutionWorker, "_get_evaluation_entrypoint", evaluation_entrypoint)
        self._previous_source = domain_clock._source
        domain_clock.use(self.now)
        VirtualClock._installed = self
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        with self._lock:
            # Executions still waiting end quietly instead of staying parked for the rest of the process.
            self._closed = True
            for waiter in self._parked:
                waiter.go.set()
            self._parked.clear()
        for owner, name, value in reversed(self._patches):
            setattr(owner, name, value)
        self._patches.clear()
        domain_clock.use(self._previous_source)
        VirtualClock._installed = None

    def _patch(self, owner: object, name: str, value: object) -> None:
        self._patches.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def _in_turn_thread(self) -> bool:
        current = threading.current_thread()
        return isinstance(current, _VirtualThread) and current._clock is self

    def _fire_next(self, limit: datetime) -> bool:
        """Move to the earliest timer due by `limit` and wake its thread; False if there is none."""
        with self._lock:
            earliest = self._earliest_timer()
            if earliest is None or earliest[0] > limit:
                return False
            due, _, waiter = heapq.heappop(self._timers)
            self._now = due
            self._wake(waiter, result=False)
            return True

    # The methods below expect self._lock to be held, except _park and _sleep, which block outside it.

    def _earliest_timer(self) -> tuple[datetime, int, _Waiter] | None:
        """The earliest timer still pending. A timer whose thread woke otherwise stays in the heap until it
        reaches the top, and is dropped there."""
        while self._timers and self._timers[0][2].woken:
            heapq.heappop(self._timers)
        return self._timers[0] if self._timers else None

    def _pass_turn(self) -> None:
        """The running thread is done for now: the next ready thread runs, or settle() learns all is quiet."""
        if self._closed:
            return
        if self._ready:
            waiter = self._ready.popleft()
            self._parked.discard(waiter)
            self._running = True
            waiter.go.set()
        else:
            self._running = False
            self._quiet.notify_all()

    def _wake(self, waiter: _Waiter, *, result: bool) -> None:
        if waiter.woken:
            return
        waiter.woken = True
        waiter.result = result
        if waiter.subscription is not None:
            waiter.subscription.remove(waiter)
            waiter.subscription = None
        self._ready.append(waiter)

    def _wake_all(self, waiters: list[_Waiter]) -> None:
        for waiter in list(waiters):
            self._wake(waiter, result=True)

    def _enqueue(self, waiter: _Waiter) -> None:
        waiter.woken = True
        self._parked.add(waiter)
        self._ready.append(waiter)

    def _register(self, subscription: list[_Waiter] | None, timeout: float | None) -> _Waiter:
        """Record the running thread's wait (ended by a wake on `subscription` or after `timeout` virtual seconds)
        and pass the turn on; `_park` then blocks until the turn comes back."""
        if not self._in_turn_thread():
            raise RuntimeError(
                "moto waited on the virtual clock outside an execution thread "
                "(StartSyncExecution, TestState and activity workers are not supported)"
            )
        if self._closed:
            raise _Abandoned
        waiter = _Waiter()
        if subscription is not None:
            subscription.append(waiter)
            waiter.subscription = subscription
        if timeout is not None:
            heapq.heappush(self._timers, (self._now + timedelta(seconds=timeout), next(self._sequence), waiter))
        self._parked.add(waiter)
        self._pass_turn()
        return waiter

    def _park(self, waiter: _Waiter) -> bool:
        waiter.go.wait()
        if self._closed:
            raise _Abandoned
        return waiter.result

    def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._lock:
            waiter = self._register(None, seconds)
        self._park(waiter)


class _VirtualThread(threading.Thread):
    """threading.Thread taking turns on the clock: it runs when handed the turn and passes it on when it ends."""

    def __init__(self, clock: VirtualClock, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock
        self._finished = _VirtualEvent(clock)
        self._turn = _Waiter()

    def start(self) -> None:
        from_outside = not self._clock._in_turn_thread()
        with self._clock._lock:
            self._clock._enqueue(self._turn)
        super().start()
        if from_outside:
            # StartExecution returns once the new execution is waiting, so the caller sees a settled world.
            self._clock.settle()

    def run(self) -> None:
        try:
            self._clock._park(self._turn)
            super().run()
        except _Abandoned:
            pass
        finally:
            with self._clock._lock:
                self._finished._set()
                self._clock._pass_turn()

    def join(self, timeout: float | None = None) -> None:
        self._finished.wait(timeout)

    def is_alive(self) -> bool:
        # After join() the real thread may still be unwinding; moto reads is_alive() as "the program timed out".
        return super().is_alive() and not self._finished.is_set()


class _VirtualEvent:
    """threading.Event on the clock. A set() wakes every waiter, even if clear() follows at once (moto pulses)."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._flag = False
        self._waiters: list[_Waiter] = []

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        with self._clock._lock:
            self._set()

    def clear(self) -> None:
        with self._clock._lock:
            self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        with self._clock._lock:
            if self._flag:
                return True
            if timeout is not None and timeout <= 0:
                return False
            waiter = self._clock._register(self._waiters, timeout)
        return self._clock._park(waiter)

    def _set(self) -> None:
        self._flag = True
        self._clock._wake_all(self._waiters)


class _VirtualThreadingModule:
    """The `threading` module as moto's Step Functions code sees it while the clock is installed."""

    def __init__(self, clock: VirtualClock) -> None:
        self.Thread = partial(_VirtualThread, clock)
        self.Event = partial(_VirtualEvent, clock)

    def __getattr__(self, name: str) -> Any:
        return getattr(threading, name)


class _VirtualTimeModule:
    """The `time` module as moto's Step Functions code sees it: Wait states and retry backoff use virtual time."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock

    def time(self) -> float:
        return self._clock.now().timestamp()

    def sleep(self, seconds: float) -> None:
        self._clock._sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class _VirtualDatetimeModule:
    """The `datetime` module as moto's Step Functions code sees it: execution dates, history events,
    `$$.Execution.StartTime`, `$$.State.EnteredTime` and Timestamp waits read virtual time."""

    def __init__(self, clock: VirtualClock) -> None:
        class VirtualDatetime(datetime):
            @classmethod
            def now(cls, tz: tzinfo | None = None) -> Self:
                # Naive now() is UTC, not local time: moto's Timestamp wait subtracts it from the state's UTC field.
                moment = clock.now().astimezone(tz) if tz is not None else clock.now().replace(tzinfo=None)
                return cls.combine(moment.date(), moment.timetz())

        self.datetime = VirtualDatetime

    def __getattr__(self, name: str) -> Any:
        return getattr(datetime_module, name)


class _SeededRandom(random.Random):
    """The `random` module for moto's Step Functions code: retry jitter and alias routing draw from a seeded stream.

    Threads take turns, so they draw in the same order on every run.
    """

    def Random(self, seed: int | None = None) -> random.Random:  # the module attribute States.MathRandom calls
        # Without a seed it would read the OS entropy pool.
        return random.Random(seed if seed is not None else self.getrandbits(64))  # noqa: S311 - repeatable on purpose


def _reused_clients(boto_client_for: Any) -> Any:
    """moto builds a boto3 client per Lambda call from boto3's shared session, which is slow and not thread-safe."""
    clients: dict[tuple[str, str], Any] = {}

    def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # Only the thread holding the turn calls this, so the dictionary needs no lock.
        if (region, service) not in clients:
            clients[region, service] = boto_client_for(
                region=region, service=service, state_credentials=state_credentials
            )
        return clients[region, service]

    return client_for


def _parser_modules() -> list[ModuleType]:
    """Every module of moto's Step Functions executor, imported now so none escapes the patching later."""
    package = importlib.import_module(PARSER_PACKAGE)
    for info in pkgutil.walk_packages(package.__path__, f"{PARSER_PACKAGE}.", onerror=lambda _: None):
        with contextlib.suppress(ImportError):  # a few import localstack, which moto itself never loads
            importlib.import_module(info.name)
    return [
        module
        for name, module in list(sys.modules.items())
        if name == PARSER_PACKAGE or name.startswith(f"{PARSER_PACKAGE}.")
    ]


def _require_utc(instant: datetime) -> None:
    if instant.utcoffset() != timedelta(0):
        raise ValueError(f"virtual time is timezone-aware UTC, got {instant.isoformat()}")
