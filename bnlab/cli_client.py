"""`bnlab submit`, `watch`, `compare`, `jobs`: your jobs on a running service, over HTTP like any client.

Ids go to stdout (`ID=$(bnlab submit spec.json)`), tables of results too; progress and hints go to stderr.
"""

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bnlab.client_options import DEFAULT_URL, Key, Url, connect
from bnlab.display import StepProgress, console, table, timestamp
from bnlab.inputs import SpecFile, load_spec
from bnlab.job_watch import JobState, follow_job

if TYPE_CHECKING:
    from bnlab.client import ApiClient

PANEL = "Client (a running service, over HTTP)"

commands = typer.Typer()

JobId = Annotated[str, typer.Argument(metavar="ID", help="a job id, as `bnlab submit` printed it", show_default=False)]


@commands.command(rich_help_panel=PANEL)
def submit(
    spec_file: SpecFile,
    name: Annotated[
        str | None, typer.Option(help="the job's name (default: the spec's, else the file's stem)", show_default=False)
    ] = None,
    watch: Annotated[bool, typer.Option("--watch", help="then follow it live, as `bnlab watch` does")] = False,
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """Submit a spec (checked here first, as `bnlab train` checks it) and print the job's id."""
    spec = load_spec(spec_file, name)
    api = connect(url, key)
    job = api.post("/v1/jobs", {**spec.model_dump(mode="json"), "name": spec.name or spec_file.stem})
    print(job["id"], flush=True)
    if watch:
        watch_job(api, job["id"])
    else:
        console(stderr=True).print(f"{job['name']}: {job['status']}; follow it with `bnlab watch {job['id']}`")


@commands.command(rich_help_panel=PANEL)
def watch(job_id: JobId, url: Url = DEFAULT_URL, key: Key = None) -> None:
    """Follow a job live (steps, newest metrics) until it ends, then print its summary; exit 1 unless it succeeded."""
    watch_job(connect(url, key), job_id)


def watch_job(api: "ApiClient", job_id: str) -> None:
    """The live bar while the job runs, its summary once it ends, and an error unless it succeeded."""
    bar = StepProgress(f"job {job_id[:8]}", None)

    def show(state: JobState) -> None:
        """Each event moves the bar and refreshes the metrics beside it."""
        bar.update(done=state.steps_done, total=state.total_steps, metrics=state.metrics, label=state.job.get("name"))

    try:
        job = follow_job(api, job_id, show).job
    finally:
        bar.close()
    if job["summary"]:
        known = [(field, value) for field, value in job["summary"].items() if value is not None]
        console().print(table(f"job {job['id']} ({job['name']}): {job['status']}", ["summary", "value"], known))
    if job["status"] != "succeeded":
        sys.exit(f"error: job {job['id']} {job['status']}" + (f": {job['error']}" if job["error"] else ""))


@commands.command(rich_help_panel=PANEL)
def compare(
    job_ids: Annotated[list[str], typer.Argument(metavar="ID...", help="2 to 10 of your job ids", show_default=False)],
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """Compare jobs: their summaries side by side, and the spec fields that differ."""
    compared = connect(url, key).get("/v1/compare", {"ids": ",".join(job_ids)})
    jobs = compared["jobs"]
    heads = [f"{job['name'] or '-'} ({job['id'][:8]})" for job in jobs]
    summaries = [job["summary"] or {} for job in jobs]
    fields = dict.fromkeys(field for summary in summaries for field in summary)
    rows = [["status", *(job["status"] for job in jobs)], *([f, *(s.get(f) for s in summaries)] for f in fields)]
    screen = console()
    screen.print(table("summaries", ["", *heads], rows))
    differences = [[difference["field"], *difference["values"]] for difference in compared["spec_differences"]]
    screen.print(table("spec differences", ["field", *heads], differences) if differences else "the specs are equal")


# Sorts by a spec field the table would not show: (section, field) in the spec, shown as a column of its own.
SORTED_SPEC_FIELDS = {"lr": ("optimizer", "lr"), "batch_size": ("training", "batch_size"), "seed": ("training", "seed")}


@commands.command("jobs", rich_help_panel=PANEL)
def list_jobs(
    status: Annotated[
        str | None, typer.Option(help="only jobs in this status (queued, running, succeeded, ...)", show_default=False)
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            help="the order: created_at, name, status, lr, batch_size, seed or progress, ascending; "
            "a leading - reverses it (-lr: the largest learning rate first)"
        ),
    ] = "-created_at",
    limit: Annotated[int, typer.Option(help="at most this many", min=1, max=200)] = 20,
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """List your jobs, newest first or in the order --sort names."""
    page = connect(url, key).get("/v1/jobs", {"status": status, "sort": sort, "limit": limit})
    sorted_by = sort.removeprefix("-")
    field = SORTED_SPEC_FIELDS.get(sorted_by)
    columns = ["id", "name", "status", "progress", "norm", *([sorted_by] if field else []), "final_test_acc", "created"]
    rows = [job_row(job, field) for job in page["items"]]
    console().print(table(None, columns, rows) if rows else "no jobs")


def job_row(job: dict[str, Any], field: tuple[str, str] | None) -> list[Any]:
    """A job as one line of `bnlab jobs`, with the spec field (section, name) it is sorted by, if any."""
    summary, spec = job["summary"] or {}, job["spec"]
    head = [job["id"], job["name"], job["status"], f"{job['progress']:.0%}", spec["model"]["norm"]]
    sorted_by = [spec[field[0]][field[1]]] if field else []
    return [*head, *sorted_by, summary.get("final_test_acc"), timestamp(job["created_at"])]
