"""`omnijourney import pinpoint templates`: Pinpoint's email, SMS and push templates (as get-email-template,
get-sms-template and get-push-template print them) become templates a journey sends and the preview renders, with
each variable a profile variable or named by the validator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from omnijourney.journeys.templates import TemplateCatalog
from omnijourney_tools.cli import main
from omnijourney_tools.folders import definitions_from
from omnijourney_tools.journeys.preview import preview, profile_of
from tests.conftest import ROOT
from tests.unit.pinpoint.importing import FIXTURES as PINPOINT_FIXTURES
from tests.unit.pinpoint.importing import copied_project, pinpoint_import

FIXTURES = PINPOINT_FIXTURES / "templates"
# What every template converts to without a variable the validator names.
RENDERED = ("welcome_email.json", "cart_reminder_html.json", "back_in_stock_push.json")
LENA: dict[str, Any] = {
    "customer_id": "cus_lena",
    "traits": {"first_name": "Lena", "LoyaltyTier": "gold", "city": "Hamburg", "Favorite Product": "Trail Runner"},
    "identifiers": {"email": ["lena@example.com"]},
    "timezone": "Europe/Berlin",
}
WELCOME_JOURNEY = """\
journey: pinpoint_welcome
entry: {event: identify}
steps:
  - id: welcome
    send: {channel: email, template: welcome_email, category: marketing}
  - id: cart
    send: {channel: email, template: cart_reminder, category: marketing}
  - id: back_in_stock
    send: {channel: push, template: back_in_stock, category: marketing}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A marketer's copy of the project's config/, and an empty journeys/ the imported templates go to."""
    return copied_project(tmp_path, with_journeys=False)


def _import(project: Path, *files: Path | str, out: Path | None = None) -> int:
    return pinpoint_import("templates", project, files, "--out", str(out or project / "journeys" / "templates"))


def _rendered(project: Path, name: str, view: dict[str, Any]) -> str:
    with definitions_from(config_dir=project / "config", journeys_dir=project / "journeys"):
        catalog = TemplateCatalog(project / "journeys" / "templates")
        return preview(catalog, name, ("Lena", profile_of(view)), None)


def test_every_template_type_renders_for_a_customer_with_pinpoints_variables_as_profile_variables(
    project: Path,
) -> None:
    assert _import(project, *RENDERED) == 0

    welcome = _rendered(project, "welcome_email", LENA)
    assert "Subject: Welcome, Lena" in welcome
    assert "Hi Lena," in welcome
    assert "You start at the gold tier." in welcome
    assert "We will write to lena@example.com from Hamburg." in welcome
    # Pinpoint's own unsubscribe page (with the endpoint id in it) became omnijourney's one-click link.
    assert "Unsubscribe: https://" in welcome
    assert "?customer=cus_lena" in welcome
    assert "example.com/unsubscribe?endpoint" not in welcome

    stranger = _rendered(project, "welcome_email", {"customer_id": "cus_new", "identifiers": {}})
    assert "Subject: Welcome, there" in stranger  # DefaultSubstitutions
    assert "Your first order earns you points." in stranger

    cart = _rendered(project, "cart_reminder", LENA)
    assert "Hello Lena, your cart is waiting." in cart
    assert "- Free returns\n- Pick up in store" in cart
    assert "Back to your cart: https://shop.example.com/cart" in cart
    assert "color: #333" not in cart

    push = _rendered(project, "back_in_stock", LENA)
    assert "Trail Runner is back in stock, Lena." in push


def test_imported_templates_pass_journeys_validate_when_a_journey_sends_them(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _import(project, *RENDERED) == 0
    (project / "journeys" / "pinpoint_welcome.yaml").write_text(WELCOME_JOURNEY, encoding="utf-8")
    capsys.readouterr()

    code = main(["journeys", "validate", str(project / "journeys"), "--config", str(project / "config")])

    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert "1 journey(s) valid: pinpoint_welcome" in out


def test_a_variable_without_an_equivalent_is_named_by_the_validator_and_reported(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _import(project, "order_sms.json") == 0
    (project / "journeys" / "shipped.yaml").write_text(
        "journey: shipped\nentry: {event: order_completed}\nsteps:\n"
        "  - id: shipped\n    send: {channel: sms, template: order_shipped, category: transactional}\n",
        encoding="utf-8",
    )
    capsys.readouterr()

    code = main(["journeys", "validate", str(project / "journeys"), "--config", str(project / "config")])

    err = capsys.readouterr().err
    assert code == 1
    template = project / "journeys" / "templates" / "order_shipped.yaml"
    assert f"{template}:4:1: body: {{{{ pinpoint_demographic_timezone }}}} is not a variable any profile" in err
    assert "{{ pinpoint_capitalize_attributes_store }} is not a variable any profile" in err
    report = (project / "pinpoint-import.md").read_text(encoding="utf-8")
    assert (
        "- [ ] `{{Demographic.Timezone}}`: no equivalent on the profile (its default was 'UTC'): left as "
        "`{{ pinpoint_demographic_timezone }}`, which `journeys validate` names"
    ) in report
    assert "- [ ] `{{capitalize Attributes.Store}}`: Handlebars helper with no equivalent" in report
    assert "| `{{User.UserAttributes.FirstName}}` | `{{ first_name }}` |" in report


def test_a_journey_naming_a_template_not_imported_is_told_which_is_missing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _import(project, "order_sms.json") == 0
    (project / "journeys" / "win_back.yaml").write_text(
        "journey: win_back\nentry: {stage: lapsed}\nsteps:\n"
        "  - id: come_back\n    send: {channel: email, template: win_back_offer, category: marketing}\n",
        encoding="utf-8",
    )
    capsys.readouterr()

    assert main(["journeys", "validate", str(project / "journeys"), "--config", str(project / "config")]) == 1

    assert "steps[0].send.template: no template 'win_back_offer' in templates/" in capsys.readouterr().err


def test_what_does_not_come_over_is_reported_for_each_template(project: Path) -> None:
    assert _import(project, "cart_reminder_html.json", "back_in_stock_push.json") == 0

    report = (project / "pinpoint-import.md").read_text(encoding="utf-8")
    for decision in (
        "- [ ] HtmlPart: omnijourney sends email as plain text",
        "- [ ] unsubscribe link: the text had none; the import added `Unsubscribe: {{ unsubscribe_url }}`",
        "- [ ] RecommenderId: no recommender in omnijourney",
        "- [ ] Headers (X-Campaign): not kept",
        "- [ ] Default.Title: not kept: omnijourney's push title is the shop's name",
        "- [ ] Default.Action/Url: not kept",
        "- [ ] APNS: not kept: omnijourney sends one body to every platform (Default's)",
        "- [ ] GCM: not kept",
    ):
        assert decision in report
    written = (project / "journeys" / "templates" / "cart_reminder.yaml").read_text(encoding="utf-8")
    assert written.startswith("# Imported from Amazon Pinpoint by `omnijourney import pinpoint`\n")


def test_importing_the_same_templates_again_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(project, *RENDERED) == 0
    before = {path.name: path.read_text(encoding="utf-8") for path in (project / "journeys" / "templates").iterdir()}
    capsys.readouterr()

    assert _import(project, *RENDERED) == 0

    assert "wrote 0 file(s), 3 unchanged" in capsys.readouterr().out
    after = {path.name: path.read_text(encoding="utf-8") for path in (project / "journeys" / "templates").iterdir()}
    assert after == before


def test_a_hand_written_template_of_the_same_name_is_not_replaced(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "journeys" / "templates", project / "journeys" / "templates")
    shipped = (project / "journeys" / "templates" / "welcome_email.yaml").read_text(encoding="utf-8")

    assert _import(project, "welcome_email.json", "order_sms.json") == 2

    err = capsys.readouterr().err
    assert "welcome_email.yaml exists and was not written by an import; move it away or pass --force" in err
    assert (project / "journeys" / "templates" / "welcome_email.yaml").read_text(encoding="utf-8") == shipped
    assert not (project / "journeys" / "templates" / "order_shipped.yaml").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"DefaultSubstitutions": "FirstName=there"},
            "template 'OrderShipped': DefaultSubstitutions: should be a JSON object of message variable → default "
            'value, e.g. {"User.UserAttributes.FirstName": "there"}',
        ),
        ({"Body": " "}, "template 'OrderShipped': Body: has no message text: a sms template needs Body"),
        ({"Body": 42}, "template 'OrderShipped': Body: should be text"),
    ],
)
def test_a_bad_template_is_refused_naming_file_record_and_field_and_nothing_is_written(
    project: Path, capsys: pytest.CaptureFixture[str], change: dict[str, object], message: str
) -> None:
    document = json.loads((FIXTURES / "order_sms.json").read_text(encoding="utf-8"))
    document["SMSTemplateResponse"] |= change
    bad = project / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")

    assert _import(project, FIXTURES / "welcome_email.json", bad) == 2

    assert capsys.readouterr().err == f"{bad}: {message}\nNothing was written.\n"
    assert not (project / "journeys" / "templates").exists()
    assert not (project / "pinpoint-import.md").exists()
