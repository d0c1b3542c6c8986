"""The docs pages work offline: every asset they name is served by bnlab itself, with a Cache-Control header."""

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.testclient import TestClient

from api.headers import WithHeaders

ASSET_TYPES = {".js": {"text/javascript", "application/javascript"}, ".css": {"text/css"}, ".png": {"image/png"}}
PAGE_ASSETS = {"/docs": {".css", ".js", ".png"}, "/redoc": {".js", ".png"}}
REFERENCE = re.compile(r"""(?:src|href|spec-url)="([^"]+)"|url: '([^']+)'""")


def references(html: str) -> list[str]:
    """Every URL a docs page loads: its scripts, styles and icon, and the schema it renders."""
    return [attribute or script for attribute, script in REFERENCE.findall(html)]


@pytest.mark.parametrize("page", PAGE_ASSETS)
def test_a_docs_page_names_only_assets_of_this_host(client, page):
    response = client.get(page)

    assert response.status_code == 200
    for remote in ("http://", "https://", "//cdn"):
        assert remote not in response.text
    assert all(url.startswith("/") and not url.startswith("//") for url in references(response.text))
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("page", PAGE_ASSETS)
def test_every_asset_of_a_docs_page_is_served_with_its_type_and_cache_control(client, page):
    assets = [url for url in references(client.get(page).text) if Path(url).suffix in ASSET_TYPES]

    assert {Path(url).suffix for url in assets} == PAGE_ASSETS[page]
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].split(";")[0] in ASSET_TYPES[Path(url).suffix], url
        assert response.headers["cache-control"] == "public, max-age=86400", url
        assert len(response.content) > 0, url


@pytest.mark.parametrize("page", PAGE_ASSETS)
def test_the_schema_a_docs_page_renders_loads(client, page):
    [schema] = [url for url in references(client.get(page).text) if url.endswith(".json")]

    response = client.get(schema)

    assert response.status_code == 200
    assert response.json()["info"]["title"] == "bnlab"
    assert "/v1/jobs" in response.json()["paths"]


def test_a_revalidated_asset_keeps_its_cache_control_and_a_missing_one_gets_none(client):
    icon = client.get("/static/docs/favicon.png")

    unchanged = client.get("/static/docs/favicon.png", headers={"If-None-Match": icon.headers["etag"]})
    missing = client.get("/static/docs/missing.js")

    assert unchanged.status_code == 304
    assert unchanged.headers["cache-control"] == "public, max-age=86400"
    assert missing.status_code == 404
    assert "cache-control" not in missing.headers


def test_with_headers_gives_a_mount_of_files_its_cache_control(tmp_path):
    (tmp_path / "app.js").write_text("console.log('bnlab')")
    app = FastAPI()
    app.mount("/ui/assets", WithHeaders(StaticFiles(directory=tmp_path), {"Cache-Control": "no-cache"}))

    with TestClient(app) as client:
        served, missing = client.get("/ui/assets/app.js"), client.get("/ui/assets/gone.js")

    assert served.status_code == 200
    assert served.text == "console.log('bnlab')"
    assert served.headers["cache-control"] == "no-cache"
    assert missing.status_code == 404
    assert "cache-control" not in missing.headers
