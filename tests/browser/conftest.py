"""Headless Chromium (the distribution's, which `make test` installs) and a studio per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.studio import CHROMIUM, Studio, studio_over, working_copy

# The suite runs beside the others on two busy cores: a page may take seconds to answer, which is no failure.
BUSY_MACHINE_MS = 20_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"the browser tests need Chromium at {CHROMIUM}: `make test` installs it (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    with studio_over(working_copy(tmp_path_factory.mktemp("clone"))) as running:
        yield running


@pytest.fixture(scope="module")
def clean_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """The clone without its draft: a journey with errors stops a simulation, as it stops `omnijourney simulate`, and
    the customer screen, which runs on the studio's journeys."""
    with studio_over(working_copy(tmp_path_factory.mktemp("clone"), draft=False)) as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = browser.new_page(viewport={"width": 1400, "height": 1000})
    opened.set_default_timeout(BUSY_MACHINE_MS)
    expect.set_options(timeout=BUSY_MACHINE_MS)
    yield opened
    opened.close()
