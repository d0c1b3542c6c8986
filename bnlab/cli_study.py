"""`bnlab study create|watch|report|list`: studies (grids of jobs over seeds, or a preset) on a running service.

A study is POST /v1/studies; GET /v1/studies/{id} shows its status, its counts of jobs by status and its cells;
its report is JSON (/report), a CSV of its jobs (/jobs.csv), HTML (/report.html) and the plots the JSON lists.
"""

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import tenacity
import typer
from rich.console import RenderableType
from rich.live import Live

from bnlab.client_errors import ClientError
from bnlab.client_options import DEFAULT_URL, Key, Url, connect
from bnlab.display import cell, console, table, timestamp
from bnlab.inputs import load_object
from bnlab.job_watch import FINISHED, RECONNECT_WAIT_S, RECONNECTS, STATUSES

if TYPE_CHECKING:
    from bnlab.client import ApiClient

POLL_S = 1.0
PLOT_FORMATS = ("png", "svg")

commands = typer.Typer(help="Studies: a grid of jobs over seeds, or a preset, and their report.")

StudyId = Annotated[str, typer.Argument(metavar="ID", help="a study id, as `bnlab study create` printed it")]


@commands.command()
def create(
    file: Annotated[
        Path | None, typer.Argument(metavar="FILE", help="a grid study as JSON (name, base, grid, seeds, ...)")
    ] = None,
    preset: Annotated[str | None, typer.Option(help="a preset study instead: claims or paper-fig1")] = None,
    scale: Annotated[float | None, typer.Option(help="with --preset: its size (default 1.0)", min=0)] = None,
    name: Annotated[str | None, typer.Option(help="the study's name (replaces the file's)")] = None,
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """Start a study from a grid file or a preset and print its id (its job count goes to stderr)."""
    study = connect(url, key).post("/v1/studies", study_body(file, preset, scale, name))
    print(study["id"], flush=True)
    hint = f"follow it with `bnlab study watch {study['id']}`"
    console(stderr=True).print(f"study {study['name']}: {study['jobs']} jobs; {hint}")


def study_body(file: Path | None, preset: str | None, scale: float | None, name: str | None) -> dict[str, Any]:
    """What POST /v1/studies gets: the file's study, or the preset at its scale; a --name replaces the name."""
    if (file is None) == (preset is None):
        sys.exit("error: pass either a study FILE or --preset NAME")
    if file is not None and scale is not None:
        sys.exit("error: --scale sizes a --preset; a study FILE sets its own steps and seeds")
    body = {"preset": preset, "scale": 1.0 if scale is None else scale} if file is None else load_object(file, "study")
    return body if name is None else {**body, "name": name}


@commands.command()
def watch(study_id: StudyId, url: Url = DEFAULT_URL, key: Key = None) -> None:
    """Show a study's cells live, with their jobs by status, until it finishes; exit 1 unless it succeeded."""
    api = connect(url, key)
    with Live(console=console(stderr=True), auto_refresh=False) as live:
        study = api.get(f"/v1/studies/{study_id}")  # a first poll that fails: the URL, key or id is wrong
        live.update(cells_table(study), refresh=True)
        while study["status"] not in FINISHED:
            time.sleep(POLL_S)
            study = poll(api, study_id)
            live.update(cells_table(study), refresh=True)
    print(f"study {study['id']} {study['status']}; its report: {api.url}/v1/studies/{study['id']}/report.html")
    print(f"download it with its plots and data: bnlab study report {study['id']} --out DIR")
    if study["status"] != "succeeded":
        sys.exit(f"error: study {study['id']} {study['status']} ({counted(study['counts'])})")


def poll(api: "ApiClient", study_id: str) -> dict[str, Any]:
    """The study now, asked again for a while when the API cannot answer (a restart, the database away)."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(RECONNECTS),
        wait=tenacity.wait_fixed(RECONNECT_WAIT_S),
        retry=tenacity.retry_if_exception(lambda error: isinstance(error, ClientError) and error.retryable),
        reraise=True,
    )
    return retrying(api.get, f"/v1/studies/{study_id}")


def cells_table(study: dict[str, Any]) -> RenderableType:
    """Each cell of the study with its jobs counted by status, and the whole study's counts last."""
    rows = [[one["section"], cell_values(one["values"]), *counts(one["counts"])] for one in study["cells"]]
    rows.append(["all", "", *counts(study["counts"])])
    title = f"study {study['name']} ({study['id']}): {study['status']}, {study['jobs']} jobs"
    return table(title, ["section", "cell", *STATUSES], rows)


def cell_values(values: dict[str, Any]) -> str:
    """A cell as the grid values it sets: `model.norm=none optimizer.lr=0.1`."""
    return " ".join(f"{field}={cell(value)}" for field, value in values.items())


def counts(by_status: dict[str, int]) -> list[int]:
    """Jobs per status, in the order of STATUSES (0 for a status none is in)."""
    return [by_status.get(status, 0) for status in STATUSES]


def counted(by_status: dict[str, int]) -> str:
    """Jobs by status in words: `10 succeeded, 2 failed`."""
    return ", ".join(f"{number} {status}" for status, number in zip(STATUSES, counts(by_status), strict=True) if number)


@commands.command()
def report(
    study_id: StudyId,
    out: Annotated[Path, typer.Option(help="folder to save the report in (created if missing)")],
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """Download a study's report into OUT (report.json, jobs.csv, report.html, every plot) and show its claims."""
    api, base = connect(url, key), f"/v1/studies/{study_id}"
    content = api.get(f"{base}/report")
    files = {
        "report.json": json.dumps(content, indent=2).encode(),
        "jobs.csv": api.download(f"{base}/jobs.csv"),
        "report.html": api.download(f"{base}/report.html"),
    }
    for plot in content.get("plots") or []:
        files.update({name: api.download(path) for name, path in plot_files(plot).items()})
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out / name).write_bytes(data)
    claims = content.get("claims") or []
    if claims:
        rows = ([claim["id"], claim["verdict"], claim.get("summary", "")] for claim in claims)
        title = "claims (their rules and evidence: report.html)"
        console().print(table(title, ["claim", "verdict", "finding"], rows, wrap=True))
    print("\n".join(str(out / name) for name in files))


def plot_files(plot: dict[str, Any]) -> dict[str, str]:
    """A listed plot's file names and API paths, refused if a name would write outside OUT or a path leave the API."""
    name = str(plot["name"])
    if Path(name).name != name or name in ("", ".", ".."):
        sys.exit(f"error: the report lists a plot named {name!r}, which is not a plain file name")
    paths = {f"{name}.{kind}": str(plot[kind]) for kind in PLOT_FORMATS}
    for path in paths.values():
        if not path.startswith("/v1/"):
            sys.exit(f"error: the report lists a plot at {path!r}, which is not an API path (/v1/...)")
    return paths


@commands.command("list")
def list_studies(
    limit: Annotated[int, typer.Option(help="at most this many, newest first", min=1, max=200)] = 20,
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """List your studies, newest first."""
    page = connect(url, key).get("/v1/studies", {"limit": limit})
    columns = ["id", "name", "preset", "status", "jobs", *STATUSES, "created"]
    console().print(table(None, columns, map(study_row, page["items"])) if page["items"] else "no studies")


def study_row(study: dict[str, Any]) -> list[Any]:
    """A study as one line of `bnlab study list`."""
    head = [study["id"], study["name"], study["preset"], study["status"], study["jobs"]]
    return [*head, *counts(study["counts"]), timestamp(study["created_at"])]
