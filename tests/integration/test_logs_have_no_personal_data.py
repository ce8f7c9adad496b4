"""No log line names a customer: the scenario corpus (rejections and junk identifiers included) played with the
functions logging at DEBUG, and every line written searched for the fixtures' emails, phones, names and ids.

What is captured is what a function would write on Lambda: every record of the functions' Powertools logger and of
the domain's loggers (`omnijourney.*`) at DEBUG, everything else (boto, moto, Powertools' own modules) at the root
logger's level, WARNING; and whatever reaches stdout or stderr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from starlette.types import Receive, Scope, Send

from omnijourney_tools.local import LocalBackend
from omnijourney_tools.serve.listener import ACCESS_LOGGER, AccessLog
from omnijourney_tools.simulation.runner import Simulation
from omnijourney_tools.simulation.scenario import DeliveryLine, ScenarioLine, read
from tests.conftest import ROOT, sample
from tests.integration.personal_data import needles

CORPUS = [
    "shoes",
    "rejected_inputs_change_nothing",
    "junk_identifiers_never_merge",
    "erased_customer_gets_nothing",
    "stop_by_sms_holds_the_cart_reminder",
    "native_zendesk_ticket",
]


class KeptLines(logging.Handler):
    """Every record as the functions write it: Powertools' JSON line, with the extra fields of
    `logger.warning(..., field=value)` and any exception."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        # Powertools' formatter: the functions' logger clears its handlers' formatter state on each invocation.
        self.setFormatter(LambdaPowertoolsFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> Iterator[KeptLines]:
    """Every record at DEBUG from the functions, through the root logger (Powertools' logger propagates to it).

    Powertools configures its logger once per process, so a backend started by an earlier test may have set it to
    ERROR: its level is set here, not only through POWERTOOLS_LOG_LEVEL."""
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    functions = logging.getLogger("omnijourney")
    level = functions.level
    functions.setLevel(logging.DEBUG)
    kept = KeptLines()
    logging.getLogger().addHandler(kept)
    try:
        yield kept
    finally:
        logging.getLogger().removeHandler(kept)
        functions.setLevel(level)


def play(lines: list[ScenarioLine]) -> list[ScenarioLine]:
    with LocalBackend(stage="test", start=lines[0].at) as backend:
        Simulation(backend).run(lines)
    return lines


def scenario(name: str) -> list[ScenarioLine]:
    return read(ROOT / "scenarios" / f"{name}.jsonl")


def values_where_they_do_not_belong() -> list[ScenarioLine]:
    """Signed deliveries refused for a value the refusal's detail quotes: Lena's address as a timestamp, her phone as
    a quantity (the channel's answer says what was wrong with what; the log must not)."""
    identify = sample("segment", "identify_app") | {"timestamp": "lena.fischer@example.com"}
    order = sample("shopify", "orders_create_pos")
    order["line_items"][0]["quantity"] = "+49 151 23456789"
    at = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
    return [
        DeliveryLine(number=1, at=at, source="segment", body=identify),
        DeliveryLine(number=2, at=at, source="shopify", headers={"X-Shopify-Topic": "orders/create"}, body=order),
    ]


def named_in(line: str, searched: set[str]) -> list[str]:
    """The searched values `line` holds as a whole word (a first name "Ana" is not in "Analytics")."""
    return [value for value in sorted(searched) if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", line)]


def test_no_log_line_of_the_scenario_corpus_names_a_customer(
    logged: KeptLines, capfd: pytest.CaptureFixture[str]
) -> None:
    searched: set[str] = set()
    for scenario_lines in [*map(scenario, CORPUS), values_where_they_do_not_belong()]:
        searched |= needles(play(scenario_lines))
    written = capfd.readouterr()
    log_lines = logged.lines + (written.out + written.err).splitlines()

    # What makes it hard: rejections and dropped identifiers are logged, with the function's own logger at DEBUG.
    assert any("delivery rejected" in line for line in log_lines)
    assert any("identifier dropped" in line for line in log_lines)
    assert logging.getLogger("omnijourney").getEffectiveLevel() == logging.DEBUG
    assert {"lena.fischer@example.com", "+4915123456789", "Lena", "Fischer", "test@test.com"} <= searched
    leaks = [f"{value}: {line[:300]}" for line in log_lines for value in named_in(line, searched)]
    assert leaks == [], "\n".join(leaks)


async def answered_ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def test_serve_logs_a_lookups_method_path_and_status_never_its_query() -> None:
    """`omnijourney serve`'s access log: a store's lookup by phone and email is `GET /profiles 200`."""
    kept = KeptLines()
    access = logging.getLogger(ACCESS_LOGGER)
    level = access.level
    access.addHandler(kept)
    access.setLevel(logging.INFO)  # as `serve` configures it

    async def look_up() -> int:
        transport = httpx.ASGITransport(app=AccessLog(answered_ok))
        async with httpx.AsyncClient(transport=transport, base_url="http://serve.local") as client:
            answer = await client.get("/profiles", params={"phone": "+49 151 23456789", "email": "lena@example.com"})
            return answer.status_code

    try:
        assert asyncio.run(look_up()) == 200
    finally:
        access.removeHandler(kept)
        access.setLevel(level)

    assert [json.loads(line)["message"] for line in kept.lines] == ["GET /profiles 200"]
