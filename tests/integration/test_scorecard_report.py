"""`omnijourney metrics --html FILE` (the scorecard as one self-contained page for a marketer), `--athena --stage S`
(the same scorecard from a deployed stage's facts on Athena, on moto, whose answers are seeded: moto runs no SQL) and
the progress a long scorecard shows on a terminal.

tests/browser/test_scorecard_report.py opens the report in Chromium and runs axe on it."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import boto3
import pytest

from omnijourney.analytics.athena import lake_names
from omnijourney.app import config
from omnijourney.events import EventType
from omnijourney.journeys.language import ConversionRule, Holdout
from omnijourney.platform import aws
from omnijourney_tools.cli import main
from omnijourney_tools.local import REGION
from omnijourney_tools.scorecard.command import scope_of
from omnijourney_tools.scorecard.definitions import Definitions
from omnijourney_tools.scorecard.engine import DuckDbLake
from omnijourney_tools.scorecard.report import report_html
from omnijourney_tools.scorecard.scorecard import scorecard
from tests.integration.conftest import fake_aws
from tests.integration.test_analytics_audit import seed
from tests.integration.test_scorecard import BERLIN, at, event, message, order, run, shop_month, write_lake

STAGE = "test"


def shop_report(lake: Path) -> str:
    """The report of test_scorecard's shop month, where Dan's abandoned cart run was held out and he ordered anyway
    (a lift of -50 points, from three customers: not significant yet; Cleo, held out too, was erased since and is in no
    group)."""
    scope = dataclasses.replace(
        BERLIN, conversions={"abandoned_cart": ConversionRule(EventType.order_completed, (), 14)}
    )
    dan = [
        run("dan-start", at(1, 14), "cust-dan", "run_started", "web", run_group="holdout"),
        # His order's fact alone: no event of his is recorded, so he counts in no customer figure.
        order("o-6", at(2, 14), "cust-dan", "o-6", "35.00", ["SHOE-TRAIL-44"])[1],
    ]
    card = scorecard(
        DuckDbLake(write_lake(lake, shop_month() + dan)),
        scope,
        step_order={"abandoned_cart": ["cart_sms", "cart_email"]},
        holdouts={"abandoned_cart": Holdout(percent=10, minimum_detectable_effect=0.05)},
    )
    return report_html(card, scope, str(lake))


class PageText(HTMLParser):
    """What a reader sees of a page, whitespace collapsed, and each image's text alternative (role="img")."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.images: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if named.get("role") == "img":
            self.images.append(named.get("aria-label") or "")

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.texts).split())


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    return shop_report(tmp_path_factory.mktemp("lake"))


def test_the_report_says_every_section_in_words(report: str) -> None:
    text = PageText(report).text

    assert "Customers 2 Orders 4 Revenue 130.00 Lifetime value, on average 65.00" in text
    assert "repeat_customer 1 130.00 130.00" in text  # CLV by lifecycle stage: customers, revenue, average
    assert "app 1 130.00 130.00" in text  # by the channel customers first came from
    assert "25.0% of journey runs reached their goal on another channel" in text
    assert "0.33 — 8 violations among the 12 messages sent" in text
    assert "in_quiet_hours 1 a marketing text or push arrived in the customer's quiet hours" in text
    assert "4 runs entered (2 holdout, 2 treatment); 2 reached the goal; other ends: 1 stopped." in text
    assert "cart_sms 4 1 opted_out 1" in text  # sent, held and why, deferred
    assert (
        "Holdout lift of abandoned_cart: 50% of the 2 customers who got it ordered within 14 days of the split, 100% "
        "of the 1 in the holdout did: −50 points (95% CI −89 to +56, p = 0.652), not significant yet — about 6,684 "
        "more who get it and 742 more in the holdout needed to detect 5 points."
    ) in text
    assert "15 state transitions by the journeys' runs that ended: $0.0004 on Step Functions Standard" in text


def test_each_chart_is_an_image_whose_text_states_its_figures(report: str) -> None:
    images = PageText(report).images

    assert images == [
        "lifetime value by lifecycle stage: repeat_customer: 130.00 on average over 1 customer; visitor: 0.00 on "
        "average over 1 customer",
        "lifetime value by the channel customers came from: app: 130.00 on average over 1 customer; web: 0.00 on "
        "average over 1 customer",
        "funnel of abandoned_cart: 4 entered (2 holdout, 2 treatment); cart_sms: 4 sent, 1 held (opted_out); "
        "cart_email: 5 sent, 1 held (frequency_cap); store_note: 2 sent; 2 reached the goal",
        "funnel of win_back: 0 entered; come_back: 1 sent; 0 reached the goal",
        "holdout lift: abandoned_cart: −50 points, 95% interval −89 to +56",
    ]
    assert len(re.findall(r'role="img" aria-label="[^"]*"><svg', report)) == len(images)  # each drawn, inline


def test_the_report_fetches_nothing(report: str) -> None:
    assert "<script" not in report
    assert "<link" not in report
    assert "@import" not in report
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?!#)""", report)  # no source nor link, bar in-page anchors
    assert not re.search(r"url\(\s*['\"]?(?!#)", report)
    # The only addresses are the SVG namespaces the charts declare: names, never fetched.
    assert set(re.findall(r"https?://[^\s\"'<>)]+", report)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }


def test_html_writes_the_report_and_a_clean_record_reads_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = write_lake(
        tmp_path / "lake",
        [event("e-1", at(1, 10), "cust-ana", "page_viewed", "web"), message("m-1", at(2, 12), "cust-ana", "sent")],
    )
    file = tmp_path / "scorecard.html"

    assert main(["metrics", "--lake", str(lake), "--html", str(file)]) == 0

    assert f"Wrote the scorecard to {file}" in capsys.readouterr().out
    text = PageText(file.read_text(encoding="utf-8")).text
    assert "1.0 — every message agreed with what the customer had done." in text
    assert "Messages: 1 sent, 0 held back by the guards." in text
    assert main(["metrics", "--lake", str(lake), "--html", str(tmp_path / "no such folder" / "scorecard.html")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_json_and_html_are_one_or_the_other_and_athena_needs_a_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["metrics", "--lake", str(tmp_path), "--json", "--html", str(tmp_path / "r.html")])
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["metrics", "--lake", str(tmp_path), "--athena", "--stage", STAGE])
    assert "not allowed with argument" in capsys.readouterr().err
    assert main(["metrics", "--athena"]) == 2
    assert "--athena needs --stage S" in capsys.readouterr().err
    assert main(["metrics", "--lake", str(tmp_path), "--stage", STAGE]) == 2
    assert "only --athena queries" in capsys.readouterr().err


# Athena


@dataclasses.dataclass(frozen=True)
class Answers:
    """What DuckDB answered each statement of the shop month's scorecard, in the order the scorecard asked."""

    metrics: list[str]
    rows: list[list[dict[str, Any]]]


class Recording:
    """An engine that keeps every answer of the one it wraps."""

    def __init__(self, engine: DuckDbLake) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.answers: list[list[dict[str, Any]]] = []

    def run(self, sql: str) -> list[dict[str, Any]]:
        rows = self.engine.run(sql)
        self.answers.append(rows)
        return rows


@pytest.fixture(scope="module")
def shop_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lake(tmp_path_factory.mktemp("lake"), shop_month())


@pytest.fixture(scope="module")
def duckdb_answers(shop_lake: Path) -> Answers:
    recording, metrics = Recording(DuckDbLake(shop_lake)), []
    scorecard(recording, scope_of(config.journeys().journeys, None, None, None), progress=metrics.append)
    return Answers(metrics, recording.answers)


def seed_answers(answers: Answers) -> None:
    """Athena's answers are DuckDB's, as Athena writes them: text cells under typed columns."""
    seed(*(_athena_result(rows) for rows in answers.rows))


def _athena_result(rows: list[dict[str, Any]]) -> tuple[list[tuple[str, str]], list[list[str | None]]]:
    names = list(rows[0]) if rows else []
    kinds = [next((_athena_type(row[name]) for row in rows if row[name] is not None), "varchar") for name in names]
    return list(zip(names, kinds, strict=True)), [[_athena_text(row[name]) for name in names] for row in rows]


def _athena_type(value: Any) -> str:
    kinds = [(bool, "boolean"), (int, "bigint"), (float, "double"), (Decimal, "decimal(38,4)")]
    kinds += [(datetime, "timestamp(3)"), (str, "varchar")]
    return next(kind for python, kind in kinds if isinstance(value, python))


def _athena_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return str(value)


@pytest.fixture
def athena() -> Iterator[Any]:
    """moto's Athena with the workgroup the stack of stage `test` creates."""
    with fake_aws():
        client = boto3.client("athena", region_name=REGION)
        client.create_work_group(
            Name=lake_names(STAGE).workgroup, Configuration={"EnforceWorkGroupConfiguration": True}
        )
        yield client


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_athena_gives_the_scorecard_of_the_stages_facts_one_statement_per_metric(
    athena: Any, shop_lake: Path, duckdb_answers: Answers, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["metrics", "--lake", str(shop_lake), "--json"]) == 0
    from_duckdb = json.loads(capsys.readouterr().out)
    seed_answers(duckdb_answers)

    assert main(["metrics", "--athena", "--stage", STAGE, "--json"]) == 0

    printed = capsys.readouterr()
    assert json.loads(printed.out) == from_duckdb
    assert printed.err == ""
    names = lake_names(STAGE)
    assert (names.workgroup, names.database) == ("omnijourney-test-analytics", "omnijourney_test")
    ids = athena.list_query_executions(WorkGroup=names.workgroup)["QueryExecutionIds"]
    sent = [athena.get_query_execution(QueryExecutionId=id_)["QueryExecution"] for id_ in ids]
    scope, definitions = scope_of(config.journeys().journeys, None, None, None), Definitions()
    assert sorted(execution["Query"] for execution in sent) == sorted(
        definitions.statement(metric, scope, "trino") for metric in definitions.metrics
    )
    assert {(e["WorkGroup"], e["QueryExecutionContext"]["Database"]) for e in sent} == {
        (names.workgroup, names.database)
    }


def test_a_terminal_sees_each_metric_and_the_bytes_athena_scanned(
    athena: Any, duckdb_answers: Answers, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_answers(duckdb_answers)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    assert main(["metrics", "--athena", "--stage", STAGE]) == 0

    count = len(duckdb_answers.metrics)
    # Each line as the terminal shows it: its last rewrite.
    shown = [line.rsplit("\r\x1b[K", 1)[-1] for line in terminal.getvalue().removesuffix("\n").split("\n")]
    assert shown == [
        f"metric {k} of {count}: {metric}… 0 bytes scanned so far"  # moto's Athena scans nothing
        for k, metric in enumerate(duckdb_answers.metrics, start=1)
    ]
    words = capsys.readouterr().out
    assert words.startswith("Scorecard of Athena, database omnijourney_test in workgroup omnijourney-test-analytics")
    assert "Customers: 2, with 10 events and 4 orders; revenue 130.00." in words


def test_json_on_a_terminal_shows_no_progress(
    shop_lake: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    assert main(["metrics", "--lake", str(shop_lake), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["customers"] == 2
    assert terminal.getvalue() == ""
    assert main(["metrics", "--lake", str(shop_lake)]) == 0
    assert "metric 1 of " in terminal.getvalue()  # the same scorecard in words shows it


def test_without_aws_credentials_athena_is_refused_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    # Nowhere else to find any: no files, no instance metadata (nothing is asked of a network).
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    aws.client.cache_clear()
    aws.session.cache_clear()
    try:
        assert main(["metrics", "--athena", "--stage", "prod"]) == 2
    finally:
        aws.client.cache_clear()
        aws.session.cache_clear()

    refused = capsys.readouterr().err
    assert refused.startswith("no AWS credentials: ")
    assert "stage prod" in refused
