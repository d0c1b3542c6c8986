"""A real browser (Debian's Chromium driven by Playwright) against a real `bnlab serve` with its worker.

Every request a page makes is recorded, and a test fails if any went to another host than the service
(a CDN asset would render a blank page offline); one that the page's own Content-Security-Policy stopped
in the browser never went anywhere. Screenshots go to test-artifacts/screenshots/.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, Request, sync_playwright

from tests.bnlab.conftest import bnlab
from tests.e2e.conftest import Service, embedded_service

CHROMIUM = "/usr/bin/chromium"  # Debian's (apt-get install chromium): Playwright cannot download its own here
ARTIFACTS = Path(os.environ.get("BNLAB_TEST_ARTIFACTS", "test-artifacts")) / "screenshots"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
LOCAL_SCHEMES = ("data", "blob")
CSP_BLOCKED = "csp"  # how Chromium names the failure of a request the page's policy refused


@dataclass
class Visit:
    """A page of one browser context, every URL that context requested, those its pages' policy blocked, and the
    uncaught script errors of its page."""

    page: Page
    requested: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def record_failure(self, request: Request) -> None:
        """Note a request that the page's Content-Security-Policy stopped before it left the browser."""
        if request.failure == CSP_BLOCKED:
            self.blocked.append(request.url)

    def foreign(self, base_url: str) -> list[str]:
        """The requests that went anywhere but the service."""
        home = urlsplit(base_url).netloc
        sent = [url for url in self.requested if url not in self.blocked]
        return [url for url in sent if urlsplit(url).scheme not in LOCAL_SCHEMES and urlsplit(url).netloc != home]

    def close(self, base_url: str) -> None:
        """End the visit; it must have requested nothing from another host and thrown no script error."""
        self.page.context.close()
        assert self.foreign(base_url) == [], "the page requested another host"
        assert self.errors == [], "a page script failed"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver, once per run."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Chromium, once per run."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`bnlab serve` on the embedded default with one worker, shared by the browser tests."""
    with embedded_service(tmp_path_factory.mktemp("browser-service")) as running:
        yield running


@pytest.fixture(scope="session")
def other_key(service: Service) -> str:
    """A second owner's key, made with the CLI as an operator would."""
    created = bnlab("keys", "create", "--name", "mallory", env=service.env)
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def open_visit(browser: Browser, base_url: str, viewport: dict[str, int] = LAPTOP) -> Visit:
    """A fresh browser context (its own session storage) whose requests are all recorded."""
    context = browser.new_context(viewport=viewport, base_url=base_url)
    visit = Visit(context.new_page())
    context.on("request", lambda request: visit.requested.append(request.url))
    context.on("requestfailed", visit.record_failure)
    visit.page.on("pageerror", lambda error: visit.errors.append(str(error)))
    return visit


@pytest.fixture
def visit(browser: Browser, service: Service) -> Iterator[Visit]:
    """A laptop-sized page on the service; the test fails if it requested another host or a script failed."""
    opened = open_visit(browser, service.url)
    yield opened
    opened.close(service.url)


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as test-artifacts/screenshots/<name>.png, for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path
