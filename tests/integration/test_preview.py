"""`omnijourney templates preview`: what a customer would read, in each language, before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnijourney_tools import cli

ROOT = Path(__file__).resolve().parents[2]
SHOES = ROOT / "scenarios" / "shoes.jsonl"


def test_without_a_customer_every_language_is_shown_for_a_labelled_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["templates", "preview", "abandoned_cart_sms"]) == 0
    assert capsys.readouterr().out == (
        "── abandoned_cart_sms · sms · shop default · for a sample customer (not a real profile)\n"
        "omnijourney shop: your Trail Runner 42 is still in your cart. Finish here: "
        "https://shop.example.com/checkouts/sample Reply STOP to opt out.\n"
        "\n"
        "── abandoned_cart_sms · sms · de · for a sample customer (not a real profile)\n"
        "omnijourney shop: Trail Runner 42 liegt noch in deinem Warenkorb. Hier geht es weiter: "
        "https://shop.example.com/checkouts/sample Abmelden mit STOP.\n"
    )


def test_a_locale_shows_only_the_language_that_customer_reads(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["templates", "preview", "abandoned_cart_email", "--locale", "de-AT"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("── abandoned_cart_email · email · de · for a sample customer (not a real profile)\n")
    assert "Subject: Noch in deinem Warenkorb: Trail Runner 42\nHallo Ada,\n" in out
    assert "shop default" not in out
    assert "Hi Ada" not in out


def test_a_profile_from_the_profile_api_is_previewed_with_its_cart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    view = {
        "customer_id": "cus_lena",
        "identifiers": {"email": ["lena.fischer@example.com"]},
        "timezone": "Europe/Berlin",
        "locale": "en-US",
        "cart": {"items": [{"sku": "SOCK-MERINO-M", "name": "Merino Running Socks", "quantity": 2, "price": 14.5}]},
        "orders": [],
    }
    path = tmp_path / "lena.json"
    path.write_text(json.dumps(view))
    assert cli.main(["templates", "preview", "abandoned_cart_email", "--customer", str(path), "--locale", "en-US"]) == 0
    out = capsys.readouterr().out
    assert f"for customer cus_lena ({path})\nSubject: Still thinking about the Merino Running Socks?\n" in out
    assert "- 2× Merino Running Socks, €14.50\nTogether €29.00: " in out


def test_the_customer_of_a_scenario_line_is_the_one_it_is_about(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["templates", "preview", "abandoned_cart_email", "--scenario", str(SHOES), "--line", "3"]) == 0
    out = capsys.readouterr().out
    # The shoes customer's browser says de-DE: the German text is what she reads; the English one in English.
    assert "· de · for customer cus_" in out
    assert "- 1× Trail Runner 42, 129,95\xa0€\nZusammen 129,95\xa0€" in out
    assert "- 1× Trail Runner 42, €129.95\nTogether €129.95" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["abandoned_cart_mail"], "no template 'abandoned_cart_mail' in "),
        (
            ["abandoned_cart_email", "--scenario", str(SHOES), "--line", "99"],
            f"{SHOES} has lines 1 to 19; there is no line 99",
        ),
        (["abandoned_cart_email", "--line", "3"], "--line goes with --scenario"),
        (["abandoned_cart_email", "--scenario", str(SHOES)], "--scenario needs --line N"),
    ],
)
def test_misuse_is_said_in_plain_words_with_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["templates", "preview", *argv]) == 2
    assert message in capsys.readouterr().err


def _customer_in(tmp_path: Path, locale: str) -> Path:
    view = {
        "customer_id": "cus_lena",
        "identifiers": {"email": ["lena.fischer@example.com"]},
        "timezone": "Europe/Vienna",
        "locale": locale,
        "cart": {"items": [{"sku": "SOCK-MERINO-M", "name": "Merino Running Socks", "quantity": 2, "price": 14.5}]},
        "orders": [],
    }
    path = tmp_path / "lena.json"
    path.write_text(json.dumps(view))
    return path


def test_a_customers_own_locale_writes_the_money_of_the_language_they_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "note.yaml").write_text("channel: sms\nbody: 'Total {{ cart_value | money }}'\n")
    (tmp_path / "templates" / "note.de.yaml").write_text("channel: sms\nbody: 'Zusammen {{ cart_value | money }}'\n")
    customer = _customer_in(tmp_path, "de-AT")
    assert cli.main(["templates", "preview", "note", "--journeys", str(tmp_path), "--customer", str(customer)]) == 0
    out = capsys.readouterr().out
    # Austrian German puts the euro sign first, as a real send to her does; the English text stays English.
    assert "Zusammen € 29,00\n" in out
    assert "Total €29.00\n" in out


def test_a_template_that_cannot_be_filled_in_for_the_customer_is_said_plainly_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "note.yaml").write_text(
        "channel: sms\nbody: 'Last time {{ last_order_total | round }}'\n"
    )
    customer = _customer_in(tmp_path, "en")
    argv = ["templates", "preview", "note", "--journeys", str(tmp_path), "--customer", str(customer)]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert (
        "template 'note' (shop default) cannot be filled in for customer cus_lena "
        f"({tmp_path / 'lena.json'}): {{{{ last_order_total }}}} has no value for this customer (no orders yet, say); "
        "write {% if last_order_total %}…{% endif %} around what uses it."
    ) in captured.err
    assert "Traceback" not in captured.err


def test_a_scenarios_customer_is_greeted_by_name_as_the_journey_greets_her(capsys: pytest.CaptureFixture[str]) -> None:
    # Line 7: Shopify's checkouts/create for Lena, whose first name came with the customers/create of line 6. The
    # profile API shows no traits: the preview reads her stored profile, as a send does.
    argv = ["templates", "preview", "abandoned_cart_email", "--scenario", str(SHOES), "--line", "7", "--locale", "de"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Subject: Noch in deinem Warenkorb: Trail Runner 42\nHallo Lena,\n" in out


def test_a_profile_file_may_give_traits_and_is_told_when_a_name_it_would_show_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nameless = _customer_in(tmp_path, "de-DE")
    argv = ["templates", "preview", "abandoned_cart_email", "--customer", str(nameless), "--locale", "de"]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert "\nHallo,\n" in captured.out
    assert (
        f"note: customer cus_lena ({nameless}) has no first_name: the message reads as it would for such a customer; "
        'to preview with one, add "traits": {"first_name": "..."} to the profile file'
    ) in captured.err
    named = tmp_path / "named.json"
    named.write_text(json.dumps(json.loads(nameless.read_text()) | {"traits": {"first_name": "Lena"}}))
    argv = ["templates", "preview", "abandoned_cart_email", "--customer", str(named), "--locale", "de"]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert "\nHallo Lena,\n" in captured.out
    assert "note:" not in captured.err


def test_inside_a_marketers_own_folder_its_templates_are_previewed_and_it_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    templates = tmp_path / "journeys" / "templates"
    templates.mkdir(parents=True)
    (templates / "note.yaml").write_text("channel: sms\nbody: 'Hello from my copy'\n")
    # Another template's mistake does not keep this one from being previewed.
    (templates / "broken.yaml").write_text("channel: sms\nbody: '{{ product_name }}'\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["templates", "preview", "note"]) == 0
    captured = capsys.readouterr()
    assert "Hello from my copy\n" in captured.out
    assert f"templates from {templates}, config from " in captured.err
    assert "note: 1 problem(s) in other templates; `omnijourney journeys validate` lists them" in captured.err
    assert cli.main(["templates", "preview", "broken"]) == 1
    assert "(did you mean 'event.name'?)" in capsys.readouterr().err
