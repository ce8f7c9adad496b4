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

from omnijourney_tools.studio.customer import SCREEN_FOLDER
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
    page.reload()  # recorded on her profile, not only gone from the page; and her name is on it, not only the search
    expect(page.get_by_role("heading", name="Lena Fischer", exact=True)).to_be_visible()
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
    # Her care kit offer: 5 EUR off, in the shop's format like every other amount.
    expect(berlin_page.get_by_role("region", name="Live offers")).to_contain_text(
        re.compile(r"CAREKIT-[0-9A-F]+: €5\.00 off on CARE-KIT, until 1 Jul 2026, 00:00")
    )
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
    expect(page.get_by_role("alert")).to_have_text(
        "This is not a phone number we can look up. Check the number and try again."
    )
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


# The same files on a static host, as the deployed stack serves them: a config.json (with `sign_in` or without), an
# OIDC issuer played by the test (its discovery document, authorize redirect and token endpoint), and the staff API
# played by the test too.
ISSUER = "https://issuer.test/pool"
CLIENT_ID = "staff-screen"
SIGNED_OUT = "https://issuer.test/logout?client_id=staff-screen"
SHOP = {"api": "/staff", "locale": "en-GB", "currency": "EUR", "csrf": None}
AN_HOUR_AND_MORE = "01:30:00"  # past an access token's hour, within the refresh token's shift


def jwt_shaped(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


ID_TOKEN = jwt_shaped({"iss": ISSUER, "sub": "clerk-7", "aud": CLIENT_ID, "exp": 4_102_444_800, "iat": 1_767_225_600})


@contextmanager
def screen_served(config: dict[str, Any]) -> Iterator[str]:
    """web/dist/customer and `config` (as it is when asked: it names the address the server is given) as
    config.json, on a local HTTP server of the test's own, as a static host (S3 behind CloudFront) serves them."""

    class Files(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(SCREEN_FOLDER), **kwargs)

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

    if not (SCREEN_FOLDER / "index.html").is_file():
        pytest.fail(f"the customer screen is not built in {SCREEN_FOLDER}: run `make web`")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, name="static-host", daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class Issuer:
    """The user pool's OIDC endpoints, as page routes: what the screen asked of them. Each token it issues is new;
    with `refresh` they come with a refresh token; with `refusing` the sign-in answers that error instead of a code."""

    def __init__(self, home: str, *, refresh: bool = False, refusing: str | None = None) -> None:
        self.home = home
        self.refresh = refresh
        self.refusing = refusing
        self.authorized: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.access_tokens: list[str] = []

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
            answer = {"error": self.refusing} if self.refusing else {"code": f"code-{len(self.authorized)}"}
            back = f"{asked['redirect_uri']}?{urlencode(answer | {'state': asked['state']})}"
            route.fulfill(status=302, headers={"Location": back})
        elif url.path == "/oauth2/token":
            self.token_requests.append({key: values[0] for key, values in parse_qs(request.post_data or "").items()})
            access = jwt_shaped({"sub": "clerk-7", "client_id": CLIENT_ID, "jti": f"access-{len(self.token_requests)}"})
            self.access_tokens.append(access)
            tokens = {"access_token": access, "id_token": ID_TOKEN, "token_type": "Bearer", "expires_in": 3600}
            route.fulfill(json=tokens | ({"refresh_token": "the-refresh-token"} if self.refresh else {}), headers=cors)
        else:
            route.fulfill(status=200, content_type="text/html", body="<title>Signed out</title><p>Signed out.</p>")


def signing_in(home: str) -> dict[str, Any]:
    """The config.json the stack deploys, for the screen at `home`."""
    sign_in = {"authority": ISSUER, "client_id": CLIENT_ID, "redirect_uri": f"{home}/", "sign_out_url": SIGNED_OUT}
    return SHOP | {"sign_in": sign_in}


def refused(route: Route, status: int, title: str, detail: str) -> None:
    problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    route.fulfill(status=status, json=problem, headers={"Content-Type": "application/problem+json"})


def test_deployed_staff_sign_in_with_pkce_and_every_call_carries_their_token(page: Page) -> None:
    calls: list[dict[str, str]] = []

    def staff_api(route: Route) -> None:
        calls.append(route.request.headers | {"body": route.request.post_data or ""})
        if len(calls) == 1:
            route.fulfill(json={"customers": []})
        elif len(calls) == 2:  # the token is refused (revoked meanwhile), and there is no refresh token
            refused(route, 401, "Unauthorized", "revoked")
        else:
            refused(route, 404, "Not found", "gone")

    config: dict[str, Any] = {}
    with screen_served(config) as home:
        config |= signing_in(home)
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
        # A shared counter computer: the user pool's sign-in cookie must not sign the next clerk in as the last one.
        assert asked["prompt"] == "login"
        [exchanged] = issuer.token_requests
        assert exchanged["code"] == "code-1"
        assert exchanged["grant_type"] == "authorization_code"
        assert exchanged["code_verifier"]
        assert page.url == f"{home}/"  # the spent code is gone from the address

        phone.fill(LENA_PHONE)
        page.get_by_role("button", name="Find").click()
        expect(page.get_by_role("alert")).to_have_text("Not found: no customer has this phone.")
        assert calls[0]["authorization"] == f"Bearer {issuer.access_tokens[0]}"
        assert json.loads(calls[0]["body"]) == {"phone": LENA_PHONE}

        page.goto(f"{home}/#/customers/{LENA}")  # the API answers 401: signed in again, back where they were
        expect(page.get_by_role("alert")).to_have_text("Not found: gone")
        assert page.url == f"{home}/#/customers/{LENA}"
        assert len(issuer.authorized) == 2
        first, second = issuer.access_tokens
        assert [call["authorization"] for call in calls[1:]] == [f"Bearer {first}", f"Bearer {second}"]

        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(SIGNED_OUT)


def test_an_expired_access_token_is_renewed_with_the_refresh_token_without_signing_in_again(page: Page) -> None:
    sent: list[str] = []
    expired: set[str] = set()

    def staff_api(route: Route) -> None:
        token = route.request.headers.get("authorization", "").removeprefix("Bearer ")
        sent.append(token)
        if token in expired:  # as API Gateway's JWT authorizer answers an expired token
            route.fulfill(status=401, json={"message": "Unauthorized"})
        else:
            route.fulfill(json={"customers": []})

    config: dict[str, Any] = {}
    with screen_served(config) as home:
        config |= signing_in(home)
        issuer = Issuer(home, refresh=True)
        page.route("https://issuer.test/**", issuer.answer)
        page.route(f"{home}/staff/**", staff_api)
        page.clock.install()
        page.goto(f"{home}/")
        phone = page.get_by_label("Phone", exact=True)
        expect(phone).to_be_visible()
        [signed_in_with] = issuer.access_tokens

        page.clock.fast_forward(AN_HOUR_AND_MORE)  # the tab was left open: the hour's access token has expired
        expired.add(signed_in_with)
        phone.fill(LENA_PHONE)
        page.get_by_role("button", name="Find").click()

        expect(page.get_by_role("alert")).to_have_text("Not found: no customer has this phone.")
        assert len(issuer.authorized) == 1  # no sign-in page: no password and authenticator code again
        assert sent[-1] in issuer.access_tokens[1:]  # a renewed token, from the refresh token
        renewal = issuer.token_requests[-1]
        assert (renewal["grant_type"], renewal["refresh_token"]) == ("refresh_token", "the-refresh-token")

        expired.update(issuer.access_tokens)
        page.clock.fast_forward(AN_HOUR_AND_MORE)
        page.reload()  # and on a reload: renewed again, still no sign-in page
        expect(phone).to_be_visible()
        phone.fill(LENA_PHONE)
        page.get_by_role("button", name="Find").click()
        expect(page.get_by_role("alert")).to_have_text("Not found: no customer has this phone.")
        assert len(issuer.authorized) == 1
        assert sent[-1] not in expired


def test_a_refused_sign_in_is_said_and_not_tried_again_in_a_loop(page: Page) -> None:
    config: dict[str, Any] = {}
    with screen_served(config) as home:
        config |= signing_in(home)
        issuer = Issuer(home, refusing="access_denied")
        page.route("https://issuer.test/**", issuer.answer)

        page.goto(f"{home}/#/customers/{LENA}")

        expect(page.get_by_role("alert")).to_have_text(
            "You are not signed in: the sign-in was cancelled or refused. Reload the page to sign in again."
        )
        assert len(issuer.authorized) == 1
        assert page.url == f"{home}/#/customers/{LENA}"  # the error is gone from the address, the route kept


def test_a_token_the_api_refuses_right_after_signing_in_is_said_not_answered_with_another_sign_in(
    page: Page,
) -> None:
    config: dict[str, Any] = {}
    with screen_served(config) as home:
        config |= signing_in(home)
        issuer = Issuer(home)
        page.route("https://issuer.test/**", issuer.answer)
        page.route(f"{home}/staff/**", lambda route: route.fulfill(status=401, json={"message": "Unauthorized"}))

        page.goto(f"{home}/#/customers/{LENA}")

        expect(page.get_by_role("alert")).to_have_text(re.compile(r"^The staff API does not accept your sign-in\."))
        assert len(issuer.authorized) == 1


def test_a_cart_and_an_offer_stored_without_some_details_read_as_plain_sentences(
    page: Page, warm_studio: Studio
) -> None:
    # Lena's page as the API answers it, with a cart stored before carts kept their channel and time, and an offer on
    # no product in particular.
    lena = httpx.get(f"{warm_studio.url}/customers/staff/customers/{LENA}").json()
    lena["cart"] |= {"channel": None, "updated_at": None}
    offer = next(offer for offer in lena["offers"] if offer["status"] == "live")
    offer["skus"] = []
    config: dict[str, Any] = {}
    with screen_served(config) as home:
        config |= SHOP | {"sign_in": None}
        page.route(f"{home}/staff/customers/**", lambda route: route.fulfill(json=lena))

        page.goto(f"{home}/#/customers/{LENA}")

        expect(page.get_by_role("heading", name="Lena Fischer", exact=True)).to_be_visible()
        cart = page.get_by_role("region", name="Cart")
        expect(cart).to_contain_text("Shoe Care Kit")
        expect(cart).not_to_contain_text("null")
        expect(cart).not_to_contain_text("1970")
        expect(page.get_by_role("region", name="Live offers")).to_contain_text(
            re.compile(rf"{offer['code']}: €5\.00 off, until \d+ \w+ 2026")
        )
