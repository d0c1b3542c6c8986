"""The dashboard's scripts, styles and vendored library, served by bnlab itself under /ui/assets."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.headers import WithHeaders

ASSETS_DIR = Path(__file__).parent / "static"
VENDOR_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable"}  # their folder names their version
OWN_HEADERS = {"Cache-Control": "no-cache"}  # kept, but revalidated by ETag on each load: a new bnlab shows at once


def mount_assets(app: FastAPI) -> None:
    """Serve the assets: the vendored library cached for a year, the project's own files revalidated."""
    vendor = WithHeaders(StaticFiles(directory=ASSETS_DIR / "vendor"), VENDOR_HEADERS)
    app.mount("/ui/assets/vendor", vendor, name="ui-vendor")
    app.mount("/ui/assets", WithHeaders(StaticFiles(directory=ASSETS_DIR), OWN_HEADERS), name="ui-assets")
