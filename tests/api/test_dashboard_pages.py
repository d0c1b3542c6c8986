"""The dashboard's pages and assets over HTTP: served by bnlab itself, cached, confined to this host, and absent
from the API's schema (the browser tests in tests/browser/ drive them)."""

import re
from uuid import uuid4

import pytest

from store import JOB_SORTS

PAGES = ["/ui/", "/ui/sign-in", f"/ui/jobs/{uuid4()}", "/ui/compare?ids=a,b", "/ui/studies", f"/ui/studies/{uuid4()}"]
LOCAL_ASSET = re.compile(r'(?:src|href)="(/ui/assets/[^"]+)"')
MODULE_IMPORT = re.compile(r'from "\./([^"]+)"')


def test_the_front_page_is_the_dashboard(client):
    response = client.get("/", follow_redirects=False)

    assert response.status_code == 307 and response.headers["location"] == "/ui/"


@pytest.mark.parametrize("page", PAGES)
def test_a_page_loads_only_from_this_host(client, page):
    response = client.get(page)

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "http://" not in response.text and "https://" not in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert LOCAL_ASSET.findall(response.text), "the page names no asset"


def test_every_asset_and_module_a_page_loads_is_served_with_cache_control(client):
    pending = {url for page in PAGES for url in LOCAL_ASSET.findall(client.get(page).text)}
    served = set()
    while pending:
        url = pending.pop()
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] in ("no-cache", "public, max-age=31536000, immutable"), url
        served.add(url)
        if url.endswith(".js") and "/vendor/" not in url:
            pending |= {f"/ui/assets/{name}" for name in MODULE_IMPORT.findall(response.text)} - served
    assert "/ui/assets/charts.js" in served and any("uPlot.iife.min.js" in url for url in served)


def test_the_vendored_library_is_cached_for_good_and_the_own_files_revalidated(client):
    vendor = client.get("/ui/assets/vendor/uplot-1.6.32/uPlot.iife.min.js")
    own = client.get("/ui/assets/job.js")

    assert "immutable" in vendor.headers["cache-control"] and own.headers["cache-control"] == "no-cache"
    assert client.get("/ui/assets/job.js", headers={"If-None-Match": own.headers["etag"]}).status_code == 304


def test_a_missing_asset_is_a_404_that_no_browser_caches(client):
    response = client.get("/ui/assets/nothing.js")

    assert response.status_code == 404 and "cache-control" not in response.headers


def test_a_page_for_an_id_that_is_no_uuid_is_a_422(client):
    assert client.get("/ui/jobs/not-an-id").status_code == 422


def test_the_jobs_page_offers_every_sort_the_api_takes(client):
    offered = re.findall(r'<option value="(-?[a-z_]+)">', client.get("/ui/").text)

    assert sorted(offered) == sorted(JOB_SORTS) and offered[0] == "-created_at"  # the default comes first


def test_the_pages_are_not_in_the_api_schema(client):
    paths = client.get("/openapi.json").json()["paths"]

    assert not [path for path in paths if path == "/" or path.startswith("/ui")]
