"""A store clerk at the counter, in headless Chromium: the customer screen (web/customer, built into web/dist/customer)
as the studio serves it over the demo (the shoes story, Lena's care kit in her web cart the day after, and two
customers named Maria Schmidt), and the same files signing staff in as the deployed stack does."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from omnijourney_tools.studio.customer import SCREEN
from tests.browser.conftest import BUSY_MACHINE_MS
from tests.browser.studio import Studio, serious_violations

LENA = "cus_a14367a1756351d4aeae"
LENA_PHONE = "+49 0151 23456789"
SOCKS = "Suggest: Merino Running Socks"
# What a timestamp from the API looks like: none may reach the page's text.
RAW_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
MOST_TABS = 25
FIRST_SEARCH_SECONDS = 60


@pytest.fixture(scope="module")
def warm_studio(clean_studio: Studio) -> Studio:
    """The studio with its customer screen's backend started: the first search plays the demo story, which takes
    seconds on a busy machine, before any clerk's page waits for an answer."""
    told = httpx.get(f"{clean_studio.url}/customers/config.json").json()
    token = {told["csrf"]["header"]: told["csrf"]["token"]}
    search = f"{clean_studio.url}{told['api']}/search"
    httpx.post(search, json={"phone": LENA_PHONE}, headers=token, timeout=FIRST_SEARCH_SECONDS).raise_for_status()
    return clean_studio


def find(page: Page, studio: Studio, **fields: str) -> None:
    """The clerk opens the screen, fills in the fields named by their labels and presses Find."""
    page.goto(f"{studio.url}/customers")
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Find").click()


def tab_to(page: Page, target: Locator) -> None:
    """Tab, as a keyboard user does, until `target` has the focus."""
    for _ in range(MOST_TABS):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"{MOST_TABS} presses of Tab never reached {target}")


@pytest.fixture
def berlin_page(browser: Browser) -> Iterator[Page]:
    """A counter in Berlin: the browser's own time zone is the store's."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Berlin")
    opened = context.new_page()
    opened.set_default_timeout(BUSY_MACHINE_MS)
    yield opened
    context.close()


def test_a_clerk_finds_lena_by_phone_sees_her_web_cart_and_offer_code_and_marks_an_action_done(
    page: Page, warm_studio: Studio
) -> None:
    find(page, warm_studio, Phone=LENA_PHONE)

    expect(page.get_by_role("heading", name="Lena Fischer", exact=True)).to_be_focused()
    assert "23456789" not in page.url  # the phone went in the request's body, not the address
    cart = page.get_by_role("region", name="Cart")
    expect(cart).to_contain_text("From the web channel")
    expect(cart).to_contain_text("Shoe Care Kit")
    expect(page.get_by_role("region", name="Live offers")).to_contain_text(re.compile(r"CAREKIT-[0-9A-F]+"))
    expect(page.get_by_role("region", name="Recent orders").get_by_role("row")).to_contain_text(["Order", "pos"])
    actions = page.get_by_role("region", name="Next best actions").get_by_role("listitem")
    suggestion = actions.filter(has_text=SOCKS)
    expect(suggestion).to_have_count(1)
    listed = actions.count()  # the demo is shared with this module's other tests, which may mark another done

    done = suggestion.get_by_role("button", name="Done")
    expect(done).to_have_accessible_description(re.compile(SOCKS))
    done.click()

    expect(page.get_by_role("status")).to_have_text(re.compile(rf"^Marked done: .*{SOCKS}"))
    expect(page.get_by_role("heading", name="Next best actions")).to_be_focused()
    expect(actions.filter(has_text=SOCKS)).to_have_count(0)
    expect(actions).to_have_count(listed - 1)
    page.reload()  # recorded on her profile, not only gone from the page
    expect(page.get_by_role("heading", name=re.compile(LENA))).to_be_visible()
    expect(actions.filter(has_text=SOCKS)).to_have_count(0)
    expect(actions).to_have_count(listed - 1)


def test_money_and_times_are_in_the_shops_format_in_the_counters_time_zone(
    berlin_page: Page, warm_studio: Studio
) -> None:
    berlin_page.goto(f"{warm_studio.url}/customers/#/customers/{LENA}")

    orders = berlin_page.get_by_role("region", name="Recent orders")
    # Her order on the POS at 10:30:45 UTC, €129.95, written en-GB as config/shop.yaml says, in Berlin's time.
    order = orders.get_by_role("row").filter(has_text="5820009876543")
    expect(order).to_contain_text("4 Mar 2026, 11:30")
    expect(order).to_contain_text("€129.95")
    expect(berlin_page.get_by_role("region", name="Cart")).to_contain_text("Shoe Care Kit (CARE-KIT), €19.95")
    expect(berlin_page.get_by_role("region", name="Live offers")).to_contain_text("until 1 Jul 2026, 00:00")
    assert not RAW_TIMESTAMP.search(berlin_page.locator("main").inner_text())


def test_a_name_lists_both_customers_who_share_it_each_on_their_own(page: Page, warm_studio: Studio) -> None:
    find(page, warm_studio, **{"First name": "maria", "Last name": "SCHMIDT"})

    expect(page.get_by_role("heading", name="2 customers have this name")).to_be_focused()
    rows = page.get_by_role("region", name="2 customers have this name").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="maria.schmidt@example.com")).to_have_count(1)
    expect(rows.filter(has_text="m.schmidt@example.org")).to_have_count(1)

    rows.filter(has_text="m.schmidt@example.org").get_by_role("link", name="Maria Schmidt").click()
    expect(page.get_by_role("heading", name="Maria Schmidt", exact=True)).to_be_visible()
    expect(page.locator('[data-fact="email"]')).to_have_text("m.schmidt@example.org")
    page.go_back()  # the route is the address's hash: back returns to the list
    expect(rows).to_have_count(2)


def test_an_unknown_phone_or_customer_shows_not_found(page: Page, warm_studio: Studio) -> None:
    find(page, warm_studio, Phone="+49 151 99999999")
    expect(page.get_by_role("alert")).to_have_text("Not found: no customer has this phone.")

    page.goto(f"{warm_studio.url}/customers/#/customers/cus_nobody")
    expect(page.get_by_role("alert")).to_have_text("Not found: no customer cus_nobody")


def test_a_search_the_api_cannot_mean_says_why_without_asking_it(page: Page, warm_studio: Studio) -> None:
    searches: list[str] = []
    page.on("request", lambda request: searches.append(request.url) if "/staff/search" in request.url else None)

    find(page, warm_studio, **{"First name": "Maria"})
    expect(page.get_by_role("alert")).to_have_text("Enter both a first and a last name.")
    page.get_by_label("Phone", exact=True).fill("not a phone")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile(r"^Fill in one: a phone, an email"))

    page.get_by_label("First name", exact=True).fill("")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("alert")).to_have_text("Malformed payload: phone is not valid (not_a_phone)")
    assert len(searches) == 1


def test_a_change_without_the_pages_csrf_token_is_refused(warm_studio: Studio) -> None:
    done = httpx.post(f"{warm_studio.url}/customers/staff/customers/{LENA}/actions/any/done")
    search = httpx.post(f"{warm_studio.url}/customers/staff/search", json={"phone": LENA_PHONE})

    for refused in (done, search):
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert "X-CSRF-Token" in refused.json()["detail"]


@pytest.mark.parametrize("route", ["", f"#/customers/{LENA}"])
def test_axe_finds_no_serious_accessibility_violation_on_the_customer_screen(
    page: Page, warm_studio: Studio, route: str
) -> None:
    page.goto(f"{warm_studio.url}/customers/{route}")
    expect(page.locator("main")).to_have_attribute("aria-busy", "false")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    serious = serious_violations(page)
    assert not serious, "\n".join(serious)


def test_keyboard_only_a_clerk_finds_lena_and_marks_an_action_done(page: Page, warm_studio: Studio) -> None:
    page.goto(f"{warm_studio.url}/customers")
    phone = page.get_by_label("Phone", exact=True)
    expect(phone).to_be_visible()

    tab_to(page, phone)
    page.keyboard.type(LENA_PHONE)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Lena Fischer", exact=True)).to_be_focused()
    # The first action still listed: the demo is shared with this module's other tests, which mark one done.
    first = page.get_by_role("region", name="Next best actions").get_by_role("listitem").first
    action = first.locator("span").first.inner_text()
    tab_to(page, first.get_by_role("button", name="Done"))
    page.keyboard.press("Space")

    expect(page.get_by_role("status")).to_have_text(f"Marked done: {action}")
    expect(page.get_by_role("heading", name="Next best actions")).to_be_focused()


# Staff signing in as on the deployed stack: the same files, a config.json with `sign_in`, an OIDC issuer played by
# the test (its discovery document, authorize redirect and token endpoint), and the staff API played by the test too.
ISSUER = "https://issuer.test/pool"
CLIENT_ID = "staff-screen"
SIGNED_OUT = "https://issuer.test/logout?client_id=staff-screen"


def jwt_shaped(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


ACCESS_TOKEN = jwt_shaped({"sub": "clerk-7", "client_id": CLIENT_ID, "token_use": "access"})
ID_TOKEN = jwt_shaped({"iss": ISSUER, "sub": "clerk-7", "aud": CLIENT_ID, "exp": 4_102_444_800, "iat": 1_767_225_600})


@contextmanager
def screen_served(config: dict[str, Any]) -> Iterator[str]:
    """web/dist/customer and `config` (as it is when asked: it names the address the server is given) as
    config.json, on a local HTTP server of the test's own, as a static host (S3 behind CloudFront) serves them."""

    class Files(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(SCREEN), **kwargs)

        def do_GET(self) -> None:
            if urlsplit(self.path).path != "/config.json":
                super().do_GET()
                return
            body = json.dumps(config).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    if not (SCREEN / "index.html").is_file():
        pytest.fail(f"the customer screen is not built in {SCREEN}: run `make web`")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, name="static-host", daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class Issuer:
    """The user pool's OIDC endpoints, as page routes: what the screen asked of them."""

    def __init__(self, home: str) -> None:
        self.home = home
        self.authorized: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []

    def answer(self, route: Route) -> None:
        request = route.request
        url = urlsplit(request.url)
        cors = {"Access-Control-Allow-Origin": self.home}
        if url.path == "/pool/.well-known/openid-configuration":
            endpoints = {"authorization_endpoint": "https://issuer.test/oauth2/authorize"}
            endpoints |= {"token_endpoint": "https://issuer.test/oauth2/token", "jwks_uri": f"{ISSUER}/jwks.json"}
            route.fulfill(json={"issuer": ISSUER, **endpoints}, headers=cors)
        elif url.path == "/oauth2/authorize":
            asked = {key: values[0] for key, values in parse_qs(url.query).items()}
            self.authorized.append(asked)
            back = f"{asked['redirect_uri']}?{urlencode({'code': 'the-code', 'state': asked['state']})}"
            route.fulfill(status=302, headers={"Location": back})
        elif url.path == "/oauth2/token":
            self.token_requests.append({key: values[0] for key, values in parse_qs(request.post_data or "").items()})
            tokens = {"access_token": ACCESS_TOKEN, "id_token": ID_TOKEN, "token_type": "Bearer", "expires_in": 3600}
            route.fulfill(json=tokens, headers=cors)
        else:
            route.fulfill(status=200, content_type="text/html", body="<title>Signed out</title><p>Signed out.</p>")


def test_deployed_staff_sign_in_with_pkce_and_every_call_carries_their_token(page: Page) -> None:
    calls: list[dict[str, str]] = []

    def staff_api(route: Route) -> None:
        calls.append(route.request.headers | {"body": route.request.post_data or ""})
        if len(calls) == 1:
            route.fulfill(json={"customers": []})
            return
        # The token is refused once (revoked meanwhile), then the customer is gone.
        status, title, detail = (401, "Unauthorized", "revoked") if len(calls) == 2 else (404, "Not found", "gone")
        problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        route.fulfill(status=status, json=problem, headers={"Content-Type": "application/problem+json"})

    config: dict[str, Any] = {}
    with screen_served(config) as home:
        sign_in = {"authority": ISSUER, "client_id": CLIENT_ID, "redirect_uri": f"{home}/", "sign_out_url": SIGNED_OUT}
        config |= {"api": "/staff", "locale": "en-GB", "currency": "EUR", "sign_in": sign_in, "csrf": None}
        issuer = Issuer(home)
        page.route("https://issuer.test/**", issuer.answer)
        page.route(f"{home}/staff/**", staff_api)

        page.goto(f"{home}/")  # not signed in: to the user pool's sign-in, and back with a code

        phone = page.get_by_label("Phone", exact=True)
        expect(phone).to_be_visible()
        [asked] = issuer.authorized
        assert asked["client_id"] == CLIENT_ID
        assert asked["response_type"] == "code"
        assert asked["code_challenge_method"] == "S256"
        assert len(asked["code_challenge"]) == 43  # base64url of a SHA-256
        [exchanged] = issuer.token_requests
        assert exchanged["code"] == "the-code"
        assert exchanged["grant_type"] == "authorization_code"
        assert exchanged["code_verifier"]
        assert page.url == f"{home}/"  # the spent code is gone from the address

        phone.fill(LENA_PHONE)
        page.get_by_role("button", name="Find").click()
        expect(page.get_by_role("alert")).to_have_text("Not found: no customer has this phone.")
        assert calls[0]["authorization"] == f"Bearer {ACCESS_TOKEN}"
        assert json.loads(calls[0]["body"]) == {"phone": LENA_PHONE}

        page.goto(f"{home}/#/customers/{LENA}")  # the API answers 401: signed in again, back where they were
        expect(page.get_by_role("alert")).to_have_text("Not found: gone")
        assert page.url == f"{home}/#/customers/{LENA}"
        assert len(issuer.authorized) == 2
        assert [call["authorization"] for call in calls[1:]] == [f"Bearer {ACCESS_TOKEN}"] * 2

        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(SIGNED_OUT)
