"""A clerk reads that a message may not have reached the customer: the customer screen (web/dist/customer) over the
staff API's real answer for Lena while her welcome email is unconfirmed (the function died after SES took it, and SES's
Send record has not come yet)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.studio import serious_violations
from tests.browser.test_studio_customer import SHOP, screen_served
from tests.integration.conftest import Harness
from tests.integration.test_pending_messages import crashing_after_the_send, welcome_sent
from tests.integration.test_staff_api import staff

UNCONFIRMED = "Messages not confirmed"


@pytest.fixture(scope="module")
def lenas_page() -> dict[str, Any]:
    """Her page as the staff API answers it, her welcome email unconfirmed."""
    with crashing_after_the_send() as backend, backend.send_records.held():
        lena = welcome_sent(backend)
        status, page = staff(Harness(backend), "GET", f"/staff/customers/{lena}")
    assert status == 200, page
    assert page["pending_messages"], "the welcome email should be unconfirmed"
    return page


def shown(page: Page, answer: dict[str, Any]) -> None:
    """The screen, served as the stack serves it, showing Lena's page as the staff API answered it."""
    config: dict[str, Any] = {}
    with screen_served(config) as home:
        config |= SHOP | {"sign_in": None}
        page.route(f"{home}/staff/customers/**", lambda route: route.fulfill(json=answer))
        page.goto(f"{home}/#/customers/{answer['customer_id']}")
        expect(page.get_by_role("heading", name="Lena Fischer", exact=True)).to_be_visible()


def test_a_clerk_reads_that_the_welcome_email_was_sent_but_never_confirmed(
    page: Page, lenas_page: dict[str, Any]
) -> None:
    shown(page, lenas_page)

    region = page.get_by_role("region", name=UNCONFIRMED)
    expect(region).to_contain_text("the customer may or may not have received them")
    # Sent when she signed up, at 18:12 UTC: in the shop's format, in the counter's time zone (whichever it is here).
    said = re.compile(r"^Email “welcome_email” from welcome_series: sent\? 2 Mar 2026, \d\d:12, not yet confirmed")
    expect(region.get_by_role("listitem")).to_have_text([said])
    expect(region.get_by_role("listitem")).to_have_text([re.compile(r", not yet confirmed by the provider\.$")])


def test_a_customer_whose_messages_were_all_confirmed_shows_no_such_list(
    page: Page, lenas_page: dict[str, Any]
) -> None:
    shown(page, lenas_page | {"pending_messages": []})

    expect(page.get_by_role("region", name="Cart")).to_be_visible()
    expect(page.get_by_role("region", name=UNCONFIRMED)).to_have_count(0)


def test_axe_finds_no_serious_accessibility_violation_with_unconfirmed_messages(
    page: Page, lenas_page: dict[str, Any]
) -> None:
    shown(page, lenas_page)

    expect(page.get_by_role("region", name=UNCONFIRMED)).to_be_visible()
    serious = serious_violations(page)
    assert not serious, "\n".join(serious)
