"""The API's docs in a real browser, offline: Swagger UI lists and tries the routes with a key; ReDoc renders."""

from importlib.metadata import version

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.slow

LIST_JOBS = "#operations-jobs-list_jobs_v1_jobs_get"  # Swagger UI's id for GET /v1/jobs: tag, then operation id


def list_jobs_operation(page: Page) -> Locator:
    """Swagger UI's block for GET /v1/jobs, once the page has rendered the schema."""
    page.goto("/docs")
    operation = page.locator(LIST_JOBS)
    expect(operation).to_contain_text("List your jobs")
    return operation


def authorize(page: Page, key: str) -> None:
    """Enter `key` for the ApiKey scheme as a person would: Authorize, the value, Authorize, Close."""
    page.locator(".auth-wrapper").get_by_role("button", name="Authorize").click()
    dialog = page.locator(".dialog-ux")
    scheme = dialog.locator(".auth-container", has=page.get_by_role("heading", name="ApiKey"))
    scheme.get_by_role("textbox").fill(key)
    scheme.get_by_role("button", name="Apply credentials").click()
    expect(scheme).to_contain_text("Authorized")
    scheme.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)


def try_it(operation: Locator) -> Locator:
    """Open the operation, press Try it out and Execute; the status code of the answer it shows."""
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    return operation.locator(".live-responses-table tbody .response-col_status")


def test_swagger_ui_lists_the_routes_and_tries_one_with_an_api_key(visit, service):
    operation = list_jobs_operation(visit.page)

    authorize(visit.page, service.key)
    status = try_it(operation)

    expect(status).to_have_text("200")
    expect(operation.locator(".live-responses-table")).to_contain_text('"items"')
    screenshot(visit.page, "docs")


def test_swagger_ui_without_a_key_shows_the_401(visit):
    operation = list_jobs_operation(visit.page)

    status = try_it(operation)

    expect(status).to_have_text("401")
    expect(operation.locator(".live-responses-table")).to_contain_text("unauthorized")


def test_redoc_renders_the_api(visit):
    visit.page.goto("/redoc")

    expect(visit.page.get_by_role("heading", name=f"bnlab ({version('bnlab')})")).to_be_visible()
    expect(visit.page.get_by_role("heading", name="List your jobs")).to_be_visible()
    expect(visit.page.get_by_text("API docs by Redocly")).to_be_visible()  # the sidebar whose logo the policy blocks
    screenshot(visit.page, "redoc")
