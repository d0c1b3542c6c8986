"""The dashboard in a real browser against a real `bnlab serve`: signing in, the jobs table, a job's page live
until it ends, cancel, compare, studies, a second owner's view, long series downsampled, a phone's width."""

import re
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from contracts.settings import Settings
from store import MetricRepository, session_scope, sessions_for
from tests.browser.conftest import PHONE, Visit, open_visit, screenshot
from tests.e2e.conftest import Service

pytestmark = pytest.mark.slow

FINISHED = ("succeeded", "failed", "cancelled")
LIVE_S = 180_000  # ms Playwright waits for a job to move on: a worker trains the jobs one at a time
LONG_SERIES = 100_000
BLOB = re.compile(r"^blob:")  # an image fetched with the key and shown from memory


def spec(name: str, steps: int, **model: object) -> dict:
    """A small MLP on spirals with activation statistics, so every kind of chart has something to draw."""
    return {
        "name": name,
        "tags": ["browser"],
        "dataset": {"name": "spirals"},
        "model": {"hidden": [16, 16], **model},
        "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
        "training": {"steps": steps, "batch_size": 32, "eval_every": 25, "track_activations": True},
    }


def submit(service: Service, body: dict, key: str | None = None) -> str:
    """A job submitted over the API, as a script would; its id."""
    with service.client(key) as client:
        answer = client.post("/v1/jobs", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def finished(service: Service, job_id: str) -> dict:
    """The job once it has ended (polled over the API)."""
    with service.client() as client:
        while (job := client.get(f"/v1/jobs/{job_id}").json())["status"] not in FINISHED:
            time.sleep(0.2)
    return job


def sign_in(page: Page, key: str) -> None:
    """Paste the key on the sign-in page and land on the jobs table."""
    page.goto("/ui/sign-in")
    page.fill("#key", key)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Jobs")


def status_of(page: Page):
    """The job or study status badge at the top of a page."""
    return page.locator(".heading .status")


def test_signing_in_keeps_the_key_in_the_tab_only(visit: Visit, service: Service):
    page = visit.page
    page.goto("/")
    expect(page).to_have_url(f"{service.url}/ui/sign-in")
    page.fill("#key", "bnl_not-a-key")
    page.click("button[type=submit]")
    expect(page.locator("#notice")).to_contain_text("not accepted")
    screenshot(page, "sign-in-rejected")
    sign_in(page, service.key)
    assert page.evaluate("sessionStorage.getItem('bnlab.key')") == service.key
    assert page.evaluate("localStorage.length") == 0 and page.context.cookies() == []
    assert not [url for url in visit.requested if service.key in url], "the key went into a URL"
    page.click("#sign-out")
    expect(page).to_have_url(f"{service.url}/ui/sign-in")
    assert page.evaluate("sessionStorage.getItem('bnlab.key')") is None
    page.goto("/ui/")
    expect(page).to_have_url(f"{service.url}/ui/sign-in")


def test_a_job_page_follows_the_job_live_and_cancel_stops_a_running_one(browser, visit: Visit, service: Service):
    blocker = submit(service, spec("browser-blocker", 200_000))
    follower = submit(service, spec("browser-live", 600, norm="batchnorm"))
    watching = visit.page
    sign_in(watching, service.key)
    watching.goto(f"/ui/jobs/{follower}")
    expect(status_of(watching)).to_have_text("queued")  # the one worker is busy with the blocker

    other = open_visit(browser, service.url)
    try:
        cancelling = other.page
        sign_in(cancelling, service.key)
        cancelling.goto(f"/ui/jobs/{blocker}")
        expect(status_of(cancelling)).to_have_text("running", timeout=LIVE_S)
        screenshot(cancelling, "job-running")
        cancelling.once("dialog", lambda dialog: dialog.accept())
        cancelling.click("#cancel")
        expect(status_of(cancelling)).to_have_text("cancelled", timeout=LIVE_S)
        expect(cancelling.locator("#delete")).to_be_visible()
    finally:
        other.close(service.url)

    expect(status_of(watching)).to_have_text("succeeded", timeout=LIVE_S)  # the same page load, moved by events
    expect(watching.locator("#job-progress")).to_have_attribute("value", "1")
    loss = watching.locator("figure.chart", has_text="Loss")
    expect(loss).to_have_attribute("data-points", "24")  # 600 steps, evaluated every 25
    band = watching.locator("figure.chart", has_text="band, p50 line").first
    assert int(band.get_attribute("data-points")) > 0
    expect(watching.locator("#summary")).to_contain_text("final_test_acc")
    loss.locator(".axis-toggle").click()
    expect(loss).to_have_attribute("data-axis", "log")
    expect(loss.locator("canvas")).to_have_count(1)  # drawn again on the log axis
    screenshot(watching, "job")


def test_the_jobs_table_filters_sorts_and_compares(visit: Visit, service: Service):
    ids = [submit(service, spec(f"browser-compare-{norm}", 100, norm=norm)) for norm in ("none", "batchnorm")]
    for job_id in ids:
        finished(service, job_id)
    page = visit.page
    sign_in(page, service.key)
    expect(page.locator("#jobs tbody tr", has_text="browser-compare-")).to_have_count(2)
    page.select_option("select[name=norm]", "none")
    expect(page.locator("#jobs tbody tr", has_text="browser-compare-batchnorm")).to_have_count(0)
    expect(page.locator("#jobs tbody tr", has_text="browser-compare-none")).to_have_count(1)
    assert "norm=none" in page.url
    page.select_option("select[name=norm]", "")
    page.click("th[data-sort=name]")
    expect(page.locator("th[data-sort=name]")).to_have_attribute("aria-sort", "descending")
    names = page.locator("#jobs tbody tr td:nth-child(2)").all_inner_texts()
    assert names == sorted(names, reverse=True)
    for job_id in ids:
        page.locator(f"tr[data-job-id='{job_id}'] input[type=checkbox]").check()
    screenshot(page, "jobs")
    page.click("#compare")
    expect(page.locator("h1")).to_have_text("Compare")
    chart = page.locator("figure.chart", has_text="test_acc").first
    expect(chart).to_have_attribute("data-points", "4")  # 100 steps, evaluated every 25
    expect(page.locator("#specs tr.differs", has_text="model.norm")).to_have_count(1)
    expect(page.locator("#specs tr.differs", has_text="model.hidden")).to_have_count(0)
    expect(page.locator("#summaries")).to_contain_text("final_test_acc")
    screenshot(page, "compare")


def test_a_second_owner_sees_none_of_the_first_owners_jobs(visit: Visit, service: Service, other_key: str):
    theirs = submit(service, spec("browser-first-owner", 50))
    page = visit.page
    sign_in(page, other_key)
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#jobs tbody tr")).to_have_count(0)
    page.goto(f"/ui/jobs/{theirs}")
    expect(page.locator("#notice")).to_contain_text(f"job {theirs} not found")
    expect(page.locator("#job")).to_be_hidden()
    screenshot(page, "other-owner")


def test_a_study_page_shows_its_grid_verdicts_and_plots(visit: Visit, service: Service):
    body = {"name": "browser-study", "base": spec("cell", 100), "grid": {"model.norm": ["none", "batchnorm"]}}
    with service.client() as client:
        answer = client.post("/v1/studies", json=body)
    assert answer.status_code == 201, answer.text
    study = answer.json()
    for cell in study["cells"]:
        for job_id in cell["job_ids"]:
            finished(service, str(job_id))
    page = visit.page
    sign_in(page, service.key)
    page.goto("/ui/studies")
    page.click("text=browser-study")
    expect(status_of(page)).to_have_text("succeeded")
    expect(page.locator("#cells tbody tr")).to_have_count(2)
    expect(page.locator("#results tbody tr")).to_have_count(2)
    expect(page.locator("#plots img").first).to_have_attribute("src", BLOB)
    for image in page.locator("#plots img").all():
        expect(image).to_have_attribute("src", BLOB)
        expect(image).not_to_have_js_property("naturalWidth", 0)  # decoded and drawn
    screenshot(page, "study")
    page.goto("/ui/studies")
    screenshot(page, "studies")


def test_a_100k_point_series_is_drawn_downsampled_to_the_chart(visit: Visit, service: Service):
    job_id = submit(service, spec("browser-long-series", 50))
    finished(service, job_id)
    sessions = sessions_for(Settings(data_dir=Path(service.env["BNLAB_DATA_DIR"])).resolved_database_url)
    points = (("long_series", step, float(step % 97)) for step in range(LONG_SERIES))
    with session_scope(sessions) as session:  # a series as long as a 100,000-step run logs at every step
        MetricRepository(session).upsert(uuid.UUID(job_id), points)
    page = visit.page
    sign_in(page, service.key)
    page.goto(f"/ui/jobs/{job_id}")
    chart = page.locator("figure.chart", has_text="long_series")
    expect(chart).to_have_attribute("data-first-step", "0")
    expect(chart).to_have_attribute("data-last-step", str(LONG_SERIES - 1))
    width = page.evaluate("el => el.clientWidth * devicePixelRatio", chart.element_handle())
    assert 2 <= int(chart.get_attribute("data-points")) <= width


def test_the_pages_fit_a_phone(browser, service: Service):
    visit = open_visit(browser, service.url, PHONE)
    try:
        sign_in(visit.page, service.key)
        expect(visit.page.locator("#jobs tbody tr").first).to_be_visible()  # the widest content: a full table
        overflow = visit.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        screenshot(visit.page, "jobs-phone")
    finally:
        visit.close(service.url)
    assert overflow <= 0, "the jobs page scrolls sideways on a phone"
