"""The API's documentation pages, Swagger UI and ReDoc, which load nothing from another host.

fastapi_offline bundles their scripts, styles and icon, served here under /static/docs and cached by
browsers for a day. The pages' Content-Security-Policy keeps everything on this host: ReDoc's sidebar
asks for Redocly's logo from cdn.redoc.ly (Redocly/redoc#2108), which the browser then never fetches.
"""

from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from api.headers import add_headers

SWAGGER_UI = "/docs"
REDOC = "/redoc"
ASSETS = "/static/docs"
ASSET_HEADERS = {"Cache-Control": "public, max-age=86400"}  # they change only with fastapi_offline's version
SAME_ORIGIN_ONLY = {
    "Content-Security-Policy": "; ".join(
        (
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline'",  # Swagger UI starts from an inline script
            "style-src 'self' 'unsafe-inline'",  # ReDoc writes its styles into the page
            "img-src 'self' data:",
            "worker-src 'self' blob:",  # ReDoc searches in a worker made from a blob
        )
    )
}


def app_with_offline_docs(**options: Any) -> FastAPI:
    """A FastAPI app made with `options`, whose docs pages and their assets all come from bnlab itself."""
    app = FastAPIOffline(docs_url=SWAGGER_UI, redoc_url=REDOC, static_url=ASSETS, **options)
    add_headers(app, ASSETS, ASSET_HEADERS)
    for page in (SWAGGER_UI, REDOC):
        add_headers(app, page, SAME_ORIGIN_ONLY)
    return app
