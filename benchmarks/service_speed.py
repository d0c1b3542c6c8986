"""bnlab's service against MLflow doing the same work on the same machine, PostgreSQL and run: one table.

Rows (issue 11's goals): a job trained through the worker (metric writes, heartbeats, checkpoints) against the
bare engine in this process, MLflow's being the same engine logging through MLflow's client (log_batch, checkpoints
as artifacts); metric ingestion into PostgreSQL (the worker's write path; MLflow's log_batch into its tracking
server); POST /v1/jobs under concurrent clients (create_run); a 100,000-point series read downsampled on the
server (get_metric_history, which reads it whole); the newest page of an owner's 10,000 jobs (search_runs on an
experiment of 10,000 runs); small jobs on two worker processes against one (two engine processes against one).
A last row, the floor, is each server's health check under the submitters' load: the p99 that this machine and
this load generator (one process of client threads) leave any endpoint at all.
Every server is a real process (`bnlab api`, `bnlab worker`, `mlflow server`) on a database of its own, made on
the server of --postgres and dropped at the end; MLflow lives in .venv-mlflow, made on first use.
How to run: `.venv/bin/python benchmarks/service_speed.py` (PostgreSQL and Redis on 127.0.0.1; about 10 minutes).
"""

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
from load import concurrent_ms, percentile
from service_bnlab import (
    Api,
    ingest_points_per_s,
    jobs_seconds,
    list_ms,
    seed_jobs,
    series_read_ms,
    submit_ms,
    worker_examples_per_s,
)
from service_mlflow import Runner, side
from service_stack import (
    bnlab_api,
    bnlab_worker,
    free_port,
    fresh_database,
    mlflow_python,
    mlflow_server,
    own_redis_db,
    vacuum_analyze,
    with_driver,
)

from contracts.spec import CANONICAL_EXAMPLE, JobSpec
from store import sessions_for
from store.migrate import upgrade
from worker.engine import train

JOB_TIMEOUT_S = 600
STARTED = time.monotonic()


def say(text: str) -> None:
    """Progress on stderr, with the seconds since the start: the run takes minutes."""
    print(f"[{time.monotonic() - STARTED:5.0f} s] {text}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Row:
    """One line of the table: both figures, the goal, and which way is better."""

    name: str
    bnlab: float
    mlflow: float
    target: float
    higher_is_better: bool

    def met(self) -> bool:
        """bnlab reaches the target."""
        return self.bnlab >= self.target if self.higher_is_better else self.bnlab < self.target

    def ahead(self) -> bool:
        """bnlab does better than MLflow."""
        return self.bnlab > self.mlflow if self.higher_is_better else self.bnlab < self.mlflow


@dataclass
class Bench:
    """What every row needs: the two services, the data folder, bnlab's database and the settings."""

    args: argparse.Namespace
    folder: Path
    env: dict[str, str]
    api_url: str
    mlflow_uri: str
    python: str
    factory: object

    def log(self, name: str) -> Path:
        """Where a server's output goes (kept only for the run's error messages)."""
        return self.folder / f"{name}.log"

    @property
    def data_dir(self) -> Path:
        """The dataset cache every side reads from."""
        return self.folder / "data"


def job_spec(steps: int, checkpoint_every: int = 0, seed: int = 0) -> dict:
    """The canonical spec, shortened to `steps`, with checkpoints every `checkpoint_every` steps."""
    training = {**CANONICAL_EXAMPLE["training"], "steps": steps, "checkpoint_every": checkpoint_every, "seed": seed}
    return {**CANONICAL_EXAMPLE, "training": training}


def bare_examples_per_s(spec: dict, data_dir: Path) -> float:
    """The engine alone, in this process, with no reporter: the baseline of the worker row."""
    summary = train(JobSpec.model_validate(spec), data_dir=data_dir)
    return summary.steps_done * spec["training"]["batch_size"] / summary.wall_time_s


def spread(samples: list[float]) -> str:
    """The range of a row's repeats, printed beside its median."""
    return f"({min(samples):.0f}..{max(samples):.0f})"


def runners_seconds(runners: list[Runner], specs: list[dict]) -> float:
    """Seconds for the runners to train the specs, dealt out in turn, all at once."""
    started = time.perf_counter()
    for index, runner in enumerate(runners):
        runner.send(specs[index :: len(runners)])
    for runner in runners:
        runner.receive()
    return time.perf_counter() - started


def health_p99_ms(url: str, clients: int, calls_each: int) -> float:
    """p99 ms of a server's health check under the submitters' load (a warm-up round first): the floor that this
    machine and this load generator leave any endpoint, which POST /v1/jobs and create_run are measured above."""

    def make_client() -> Callable[[], object]:
        client = httpx.Client(timeout=60)
        return lambda: client.get(url).raise_for_status()

    concurrent_ms(make_client, clients, 2)
    return percentile(concurrent_ms(make_client, clients, calls_each), 99)


def worker_rows(bench: Bench) -> list[Row]:
    """The job through the worker against the bare engine, then small jobs on one worker process and on two."""
    args = bench.args
    spec, small = job_spec(args.steps, args.checkpoint_every), [job_spec(args.small_steps, seed=i) for i in range(8)]
    warm_up = job_spec(20)
    api = Api(bench.api_url, bench.factory, "worker rows")
    first = Runner(bench.python, bench.mlflow_uri, bench.data_dir)
    bare, bnlab, mlflow = [], [], []
    with bnlab_worker(bench.env, bench.log("worker-1")):
        say("worker row: warming up")
        bare_examples_per_s(warm_up, bench.data_dir)
        worker_examples_per_s(api, warm_up, JOB_TIMEOUT_S)
        first.examples_per_s(warm_up)
        for _ in range(args.repeats):  # alternating, so that a busy moment of the machine hits all three alike
            bare.append(bare_examples_per_s(spec, bench.data_dir))
            bnlab.append(worker_examples_per_s(api, spec, JOB_TIMEOUT_S))
            mlflow.append(first.examples_per_s(spec))
        say("small jobs on one worker")
        one = jobs_seconds(api, small, JOB_TIMEOUT_S), runners_seconds([first], small)
        with bnlab_worker(bench.env, bench.log("worker-2")):
            jobs_seconds(api, [warm_up, warm_up], JOB_TIMEOUT_S)
            second = Runner(bench.python, bench.mlflow_uri, bench.data_dir)
            second.examples_per_s(warm_up)
            say("small jobs on two workers")
            two = jobs_seconds(api, small, JOB_TIMEOUT_S), runners_seconds([first, second], small)
    for runner in (first, second):
        runner.close()
    base, through_bnlab, through_mlflow = (statistics.median(samples) for samples in (bare, bnlab, mlflow))
    print(f"examples/s, medians of {args.repeats}: bare engine {base:.0f} {spread(bare)}, "
          f"bnlab worker {through_bnlab:.0f} {spread(bnlab)}, "
          f"engine + MLflow client {through_mlflow:.0f} {spread(mlflow)}")  # fmt: skip
    print(f"{len(small)} small jobs: bnlab {one[0]:.1f} s on one worker, {two[0]:.1f} s on two; "
          f"MLflow {one[1]:.1f} s on one process, {two[1]:.1f} s on two")  # fmt: skip
    return [
        Row("worker job ex/s / bare engine's", through_bnlab / base, through_mlflow / base, 0.95, True),
        Row("small jobs: 2 workers' speed / 1's", one[0] / two[0], one[1] / two[1], 1.8, True),
    ]  # fmt: skip


def store_rows(bench: Bench, bnlab_db, mlflow_db) -> list[Row]:
    """Ingestion, the downsampled read of what was ingested, the job list, and submissions under load."""
    args, python, uri = bench.args, bench.python, bench.mlflow_uri
    ingest = Api(bench.api_url, bench.factory, "ingest")
    rate, job_id = ingest_points_per_s(bench.factory, ingest.owner, job_spec(100), args.points, args.batch)
    say("ingestion")
    theirs = side(python, uri, "ingest", points=args.points, batch=args.batch)
    say("seeding the listings")
    listing = Api(bench.api_url, bench.factory, "list")
    seed_jobs(bench.factory, listing.owner, args.jobs)
    experiment = side(python, uri, "seed-runs", runs=args.jobs)["experiment_id"]
    vacuum_analyze(bnlab_db), vacuum_analyze(mlflow_db)
    say("series reads and listings")
    read = series_read_ms(ingest, job_id, 1000, args.read_repeats)
    their_read = side(python, uri, "read", run_id=theirs["run_id"], key=theirs["key"], repeats=args.read_repeats)
    page = list_ms(listing, args.list_repeats)
    their_page = side(python, uri, "list", experiment_id=experiment, repeats=args.list_repeats)
    say("submissions")
    submit = Api(bench.api_url, bench.factory, "submit")
    submit_ms(submit, CANONICAL_EXAMPLE, args.clients, 2)  # warm-up: every client's connection made
    _, p99 = submit_ms(submit, CANONICAL_EXAMPLE, args.clients, args.calls_each)
    their_p99 = side(python, uri, "create", clients=args.clients, calls_each=args.calls_each)["p99_ms"]
    floor = health_p99_ms(f"{bench.api_url}/healthz", args.clients, args.calls_each)
    their_floor = health_p99_ms(f"{uri}/health", args.clients, args.calls_each)
    return [
        Row("ingest points/s into PostgreSQL", rate, theirs["points_per_s"], 50_000, higher_is_better=True),
        Row(f"POST /v1/jobs p99 ms, {args.clients} clients", p99, their_p99, 50, higher_is_better=False),
        Row(f"floor: health check p99 ms, {args.clients} cl.", floor, their_floor, 50, higher_is_better=False),
        Row(f"{args.points:,}-point series read p50 ms", read, their_read["p50_ms"], 100, higher_is_better=False),
        Row(f"job list p50 ms, {args.jobs:,} jobs", page, their_page["p50_ms"], 50, higher_is_better=False),
    ]


def print_table(rows: list[Row]) -> None:
    """The table: figures, goal, bnlab/MLflow, whether the goal is met and bnlab is ahead."""
    print(f"{'row':<40} {'bnlab':>10} {'MLflow':>10} {'target':>10} {'bnlab/MLflow':>13} {'met':>4} {'ahead':>6}")
    for row in rows:
        target = f"{'>=' if row.higher_is_better else '<'} {row.target:g}"
        print(
            f"{row.name:<40} {row.bnlab:10.2f} {row.mlflow:10.2f} {target:>10} {row.bnlab / row.mlflow:13.2f} "
            f"{'yes' if row.met() else 'NO':>4} {'yes' if row.ahead() else 'NO':>6}"
        )


def bnlab_env(database_url: str, redis_url: str, data_dir: Path, api_processes: int = 1) -> dict[str, str]:
    """The API's and workers' settings: this run's database and broker, limits no load of the benchmark reaches,
    and the clients' threads shared among the API's processes (their pools within PostgreSQL's 100 connections)."""
    return {
        "BNLAB_API_THREADS": str(max(8, 40 // api_processes)),
        "BNLAB_DATABASE_URL": database_url,
        "BNLAB_BROKER_URL": redis_url,
        "BNLAB_DATA_DIR": str(data_dir),
        "BNLAB_LEASE_S": "6",  # a heartbeat every 2 s: even the short jobs here renew their lease
        "BNLAB_MAX_ACTIVE_JOBS": "1000000",
        "BNLAB_MAX_SUBMISSIONS_PER_MINUTE": "1000000",
    }


def run(args: argparse.Namespace) -> list[Row]:
    """Make the databases, start both services, measure every row, stop and drop everything."""
    python = mlflow_python()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        redis_url = stack.enter_context(own_redis_db(args.redis))
        bnlab_db = stack.enter_context(fresh_database(args.postgres, "bnlab_bench"))
        mlflow_db = stack.enter_context(fresh_database(args.postgres, "mlflow_bench"))
        database_url = with_driver(bnlab_db, "postgresql+psycopg")
        upgrade(database_url)
        env = bnlab_env(database_url, redis_url, folder / "data", args.processes)
        api_port, mlflow_port = free_port(), free_port()
        bench = Bench(args, folder, env, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{mlflow_port}", python,
                      sessions_for(database_url))  # fmt: skip
        say("starting bnlab's API and MLflow's server")
        stack.enter_context(bnlab_api(api_port, env, bench.log("api"), args.processes))
        stack.enter_context(mlflow_server(mlflow_db, folder / "artifacts", mlflow_port, args.processes,
                                          bench.log("mlflow")))  # fmt: skip
        return worker_rows(bench) + store_rows(bench, bnlab_db, mlflow_db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a server and a user that may create databases (two are made, then dropped)",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/10", help="an empty Redis db: the broker")
    parser.add_argument("--steps", type=int, default=2000, help="steps of the worker row's job")
    parser.add_argument("--checkpoint-every", type=int, default=500, help="its checkpoints")
    parser.add_argument("--repeats", type=int, default=5, help="runs of the worker row's job per side (median)")
    parser.add_argument("--small-steps", type=int, default=600, help="steps of each of the 8 small jobs")
    parser.add_argument("--points", type=int, default=100_000, help="points ingested, then read back")
    parser.add_argument("--batch", type=int, default=1000, help="points per write (MLflow's log_batch limit)")
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs (runs) in the listing")
    parser.add_argument("--clients", type=int, default=32, help="concurrent submitters")
    parser.add_argument("--calls-each", type=int, default=20, help="submissions per client")
    parser.add_argument("--read-repeats", type=int, default=7)
    parser.add_argument("--list-repeats", type=int, default=30)
    parser.add_argument("--processes", type=int, default=4, help="processes of each server (bnlab api, mlflow server)")
    args = parser.parse_args()
    print_table(run(args))


if __name__ == "__main__":
    main()
