"""MLflow doing bnlab's work, for benchmarks/service_speed.py: run by .venv-mlflow's Python against a tracking server.

`mlflow_side.py TRACKING_URI COMMAND`: ingest, read, list and create time MLflow's client (log_batch,
get_metric_history, search_runs, create_run) and print their figures as one JSON line (seed-runs makes the
experiment that list pages through); log-server logs an
engine's metrics and checkpoints for benchmarks/mlflow_runner.py, one JSON request and answer per line.
Imports only mlflow and the standard library (and load.py beside it, stdlib only): bnlab is not installed here.
"""

import argparse
import json
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from load import answer, concurrent_ms, percentile, repeated_ms
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

MAX_BATCH = 1000  # the most metrics one log_batch takes
ANSWERS, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115 (MLflow prints "View run ... at" per run)


def experiment(client: MlflowClient, purpose: str) -> str:
    """A new experiment of its own for one measurement, so that no figure counts another's runs."""
    return client.create_experiment(f"{purpose}-{uuid.uuid4().hex[:8]}")


def metrics(points: list[list], timestamp: int) -> list[Metric]:
    """(name, step, value) triples as MLflow's metrics, all logged at one time, as an evaluation is."""
    return [Metric(name, value, timestamp, step) for name, step, value in points]


def ingest(client: MlflowClient, args: argparse.Namespace) -> dict:
    """Points/s of log_batch into one run, `batch` points a call: the series the read then reads back."""
    run_id = client.create_run(experiment(client, "ingest")).info.run_id
    started = time.perf_counter()
    for first in range(0, args.points, args.batch):
        batch = [["ingest", step, step * 1e-3] for step in range(first, min(first + args.batch, args.points))]
        client.log_batch(run_id, metrics=metrics(batch, int(time.time() * 1000)))
    return {"points_per_s": args.points / (time.perf_counter() - started), "run_id": run_id, "key": "ingest"}


def read(client: MlflowClient, args: argparse.Namespace) -> dict:
    """Median ms of reading the whole series back (get_metric_history: MLflow's client has no downsampling)."""
    points = len(client.get_metric_history(args.run_id, args.key))
    samples = repeated_ms(lambda: client.get_metric_history(args.run_id, args.key), args.repeats)
    return {"p50_ms": percentile(samples, 50), "points": points}


def seed_runs(client: MlflowClient, args: argparse.Namespace) -> dict:
    """An experiment holding `runs` runs, made with create_run from a few threads: the listing's experiment."""
    experiment_id = experiment(client, "list")
    with ThreadPoolExecutor(args.seed_threads) as pool:
        list(pool.map(lambda _: client.create_run(experiment_id), range(args.runs)))
    return {"experiment_id": experiment_id}


def listing(client: MlflowClient, args: argparse.Namespace) -> dict:
    """Median ms of the newest page (50 runs) of the seeded experiment, as search_runs returns it."""

    def page() -> None:
        found = client.search_runs([args.experiment_id], max_results=50, order_by=["attributes.start_time DESC"])
        assert len(found) == 50, "the experiment has no full page"

    return {"p50_ms": percentile(repeated_ms(page, args.repeats), 50)}


def create(client: MlflowClient, args: argparse.Namespace) -> dict:
    """p50 and p99 ms of create_run with `clients` clients calling at once."""
    experiment_id = experiment(client, "create")

    def make_client():
        own = MlflowClient(args.uri)
        return lambda: own.create_run(experiment_id, run_name="fig1-sigmoid-bn")

    samples = concurrent_ms(make_client, args.clients, args.calls_each)
    return {"p50_ms": percentile(samples, 50), "p99_ms": percentile(samples, 99), "calls": len(samples)}


class EngineLog:
    """One engine run after another, each an MLflow run: its metric batches, its checkpoints as artifacts."""

    def __init__(self, client: MlflowClient) -> None:
        """The runs go in an experiment of their own."""
        self.client, self.run_id = client, None
        self.experiment_id = experiment(client, "engine")

    def start(self, name: str) -> dict:
        """A new run for the next engine run."""
        self.run_id = self.client.create_run(self.experiment_id, run_name=name).info.run_id
        return {"run_id": self.run_id}

    def log(self, points: list[list]) -> dict:
        """One evaluation's points, in one log_batch."""
        self.client.log_batch(self.run_id, metrics=metrics(points, int(time.time() * 1000)))
        return {}

    def artifact(self, path: str) -> dict:
        """A checkpoint file, uploaded through the server (its proxied artifact store)."""
        self.client.log_artifact(self.run_id, path)
        return {}

    def end(self) -> dict:
        """The run finished."""
        self.client.set_terminated(self.run_id)
        return {}


def log_server(client: MlflowClient, _args: argparse.Namespace) -> dict:
    """Answer the runner's requests ({"op": start|log|artifact|end, ...}) until its stdin closes."""
    log = EngineLog(client)
    answer({"ready": True}, ANSWERS)
    for line in sys.stdin:
        request = json.loads(line)
        operation = getattr(log, request.pop("op"))
        answer(operation(**request), ANSWERS)
    return {"done": True}


COMMANDS = {
    "ingest": ingest,
    "read": read,
    "seed-runs": seed_runs,
    "list": listing,
    "create": create,
    "log-server": log_server,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uri", help="the tracking server, http://host:port")
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=MAX_BATCH)
    parser.add_argument("--run-id")
    parser.add_argument("--key")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--experiment-id")
    parser.add_argument("--seed-threads", type=int, default=8)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--calls-each", type=int, default=20)
    args = parser.parse_args()
    answer(COMMANDS[args.command](MlflowClient(args.uri), args), ANSWERS)


if __name__ == "__main__":
    main()
