"""A study's report: JSON, the HTML page, the CSV of its jobs and its plots, all computed from the stored results.

Plots and the page are rendered on the server with matplotlib (headless, no pyplot), so a reader needs neither
JavaScript nor network access.
"""

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse

from analysis.csv_export import jobs_csv
from analysis.html import render_html
from analysis.plots import UnknownPlot
from analysis.report import build_report
from analysis.results import StudyResult
from api.deps import Owner, Sessions
from api.errors import ApiError
from api.plot_cache import PlotCache, fingerprint
from api.routes.responses import AUTHENTICATED, as_json
from api.routes.studies import ONE_STUDY, StudyId, owned_study
from api.study_results import study_result
from api.study_schemas import StudyReport
from store import read_scope

# Pinned to JSON: the page, the CSV and the plots answer errors in the one JSON shape, not in their own media type.
router = APIRouter(prefix="/v1/studies", tags=["studies"], responses=as_json({**AUTHENTICATED, **ONE_STUDY}))
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}
PlotName = Annotated[str, Path(max_length=200, description="a plot name from the report's `plots`")]


def load(sessions: Any, owner: str, study_id: UUID) -> StudyResult:
    """The caller's study and its results, read in one unit of work."""
    with read_scope(sessions) as session:
        return study_result(session, owned_study(session, owner, study_id))


def report_of(result: StudyResult) -> dict[str, Any]:
    """The report, its plots addressed under this study's URL."""
    return build_report(result, lambda name, fmt: f"/v1/studies/{result.study_id}/plots/{name}.{fmt}")


def plot_cache(request: Request) -> PlotCache:
    """The API process's plots."""
    return request.app.state.plots


@router.get("/{study_id}/report", summary="Get a study's report")
def get_report(study_id: StudyId, owner: Owner, sessions: Sessions) -> StudyReport:
    """Per cell, every summary field over seeds (n, mean, std, 95% interval), diverged and failed runs, the comparison
    with the baseline cell and mean curves with a band; for the claims preset, each claim's verdict and evidence.
    While jobs still run the report is `partial`."""
    return StudyReport.model_validate(report_of(load(sessions, owner, study_id)))


@router.get("/{study_id}/report.html", summary="Get a study's report as a page", response_class=HTMLResponse)
def get_report_page(study_id: StudyId, owner: Owner, sessions: Sessions, request: Request) -> HTMLResponse:
    """One self-contained page: the verdicts, tables, plots embedded and the specs; no script, nothing fetched."""
    report, plots = report_of(load(sessions, owner, study_id)), plot_cache(request)
    digest = fingerprint(report)
    return HTMLResponse(render_html(report, lambda name: plots.image(report, name, "png", digest)))


@router.get(
    "/{study_id}/jobs.csv",
    summary="Get a study's jobs as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per job"}},
)
def get_jobs_csv(study_id: StudyId, owner: Owner, sessions: Sessions) -> Response:
    """One row per job: its section, grid values, seed, status and every summary field."""
    result = load(sessions, owner, study_id)
    headers = {"Content-Disposition": f'attachment; filename="study-{study_id}-jobs.csv"'}
    return Response(jobs_csv(result), media_type="text/csv; charset=utf-8", headers=headers)


@router.get(
    "/{study_id}/plots/{plot}.{fmt}",
    summary="Get one plot of a study's report",
    response_class=Response,
    responses={200: {"content": {media: {} for media in MEDIA.values()}, "description": "the plot"}},
)
def get_plot(
    study_id: StudyId,
    plot: PlotName,
    fmt: Annotated[Literal["png", "svg"], Path(description="png (an image) or svg (a vector drawing)")],
    owner: Owner,
    sessions: Sessions,
    request: Request,
) -> Response:
    """A plot the report lists, drawn from the stored results (PNG or SVG); drawn once per report content."""
    report = report_of(load(sessions, owner, study_id))
    try:
        image = plot_cache(request).image(report, plot, fmt)
    except UnknownPlot:
        names = ", ".join(entry["name"] for entry in report["plots"]) or "none yet"
        raise ApiError(404, "plot_not_found", f"this study has no plot {plot!r}; its plots: {names}") from None
    return Response(image, media_type=MEDIA[fmt])
