"""The dashboard's pages: HTML shells whose scripts read the public /v1 API with the key the browser keeps.

The server knows nothing of the user here: the key lives in the browser's session storage and travels only in
the Authorization header of the API calls, so a page itself never needs it (and never sees it in a URL or a log).
"""

from pathlib import Path
from typing import Any, get_args
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from contracts.spec import NormKind
from store import DEFAULT_JOB_SORT, JOB_SORTS, JobStatus

HERE = Path(__file__).parent
UPLOT = "vendor/uplot-1.6.32"
# The browser may load and connect only to this server; blobs are the plots and reports fetched with the key.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
DIRECTIONS = {False: "ascending", True: "descending"}


def sort_choices() -> list[tuple[str, str]]:
    """The list's sorts in words, the default first (so that a fresh form asks for it)."""
    ordered = sorted(JOB_SORTS, key=lambda sort: (sort != DEFAULT_JOB_SORT, sort.lstrip("-"), sort.startswith("-")))
    return [(sort, f"{sort.lstrip('-').replace('_', ' ')} {DIRECTIONS[sort.startswith('-')]}") for sort in ordered]


SORT_CHOICES = sort_choices()  # fixed for the life of the process
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


def page(request: Request, template: str, title: str, **context: Any) -> HTMLResponse:
    """One page of the dashboard, with the choices its filters offer."""
    choices = {"statuses": [s.value for s in JobStatus], "norms": list(get_args(NormKind)), "sorts": SORT_CHOICES}
    response = templates.TemplateResponse(
        request, template, {"title": title, "uplot": UPLOT, "choices": choices, **context}
    )
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("/")
async def home() -> RedirectResponse:
    """The dashboard is the service's front page."""
    return RedirectResponse("/ui/")


@router.get("/ui/sign-in")
async def sign_in(request: Request) -> HTMLResponse:
    """Paste an API key; it is kept for this browser session only."""
    return page(request, "sign_in.html", "Sign in")


@router.get("/ui/")
async def jobs(request: Request) -> HTMLResponse:
    """Your jobs: filters, sort, pages, and a selection to compare."""
    return page(request, "jobs.html", "Jobs")


@router.get("/ui/jobs/{job_id}")
async def job(request: Request, job_id: UUID) -> HTMLResponse:
    """One job, live while it trains."""
    return page(request, "job.html", "Job", job_id=job_id)


@router.get("/ui/compare")
async def compare(request: Request) -> HTMLResponse:
    """The jobs named in `?ids=` overlaid (ids are not secrets: a comparison's address can be shared)."""
    return page(request, "compare.html", "Compare")


@router.get("/ui/studies")
async def studies(request: Request) -> HTMLResponse:
    """Your studies."""
    return page(request, "studies.html", "Studies")


@router.get("/ui/studies/{study_id}")
async def study(request: Request, study_id: UUID) -> HTMLResponse:
    """One study: its grid, progress per cell, and its report."""
    return page(request, "study.html", "Study", study_id=study_id)
