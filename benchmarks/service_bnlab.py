"""bnlab's side of benchmarks/service_speed.py: each row's work done through the real service, over HTTP or, for
metric ingestion, through the worker's own write path (store.JobLease in a worker.HeldJob)."""

import random
import time
import uuid
from collections.abc import Callable
from datetime import datetime

import httpx
from job_listing import job_rows
from load import concurrent_ms, percentile, repeated_ms
from sqlalchemy import insert

from contracts.spec import JobSpec
from store import ApiKeyRepository, Job, JobRepository, SessionFactory, session_scope
from worker.held_job import HeldJob

POLL_S = 1.0  # seldom: a poll costs the API some CPU, which the jobs being watched would feel
FINISHED = {"succeeded", "failed", "cancelled"}
LIST_LIMIT = 200  # the API's largest page: how the jobs of one tag are watched


class Api:
    """bnlab's HTTP API for one owner: a new API key, and a client that sends it."""

    def __init__(self, base_url: str, factory: SessionFactory, name: str) -> None:
        """A key of a new owner, made in the database as `bnlab keys create` does."""
        with session_scope(factory) as session:
            key, self.key = ApiKeyRepository(session).create(name)
            self.owner = key.owner
        self.base_url = base_url
        self.client = self.new_client()

    def new_client(self) -> httpx.Client:
        """A client of its own (one per thread of a concurrent load)."""
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {self.key}"}, timeout=60)

    def submit(self, spec: dict, client: httpx.Client | None = None) -> str:
        """POST /v1/jobs; the new job's id."""
        response = (client or self.client).post("/v1/jobs", json=spec)
        response.raise_for_status()
        return response.json()["id"]

    def finished_jobs(self, tag: str, count: int, timeout_s: float) -> list[dict]:
        """Wait until the `count` jobs tagged `tag` have all ended; a job that did not succeed fails the benchmark."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            response = self.client.get("/v1/jobs", params={"tag": tag, "limit": LIST_LIMIT})
            response.raise_for_status()
            jobs = response.json()["items"]
            if len(jobs) == count and all(job["status"] in FINISHED for job in jobs):
                failed = [job for job in jobs if job["status"] != "succeeded"]
                if failed:
                    raise RuntimeError(f"a job did not succeed: {failed[0]['status']}: {failed[0]['error']}")
                return jobs
            time.sleep(POLL_S)
        raise TimeoutError(f"the jobs tagged {tag} did not finish within {timeout_s} s")


def tagged(specs: list[dict]) -> tuple[str, list[dict]]:
    """The specs with one new tag, by which their jobs are watched."""
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    return tag, [{**spec, "tags": [tag]} for spec in specs]


def worker_examples_per_s(api: Api, spec: dict, timeout_s: float) -> float:
    """One job through the worker (metric writes, heartbeats, checkpoints): its examples/s over the engine's loop."""
    tag, (spec,) = tagged([spec])
    api.submit(spec)
    (job,) = api.finished_jobs(tag, 1, timeout_s)
    summary = job["summary"]
    return summary["steps_done"] * job["spec"]["training"]["batch_size"] / summary["wall_time_s"]


def jobs_seconds(api: Api, specs: list[dict], timeout_s: float) -> float:
    """Seconds from the first job's creation to the last one's end, on whatever workers run now (the jobs' own
    timestamps, so that how often they are polled does not count)."""
    tag, specs = tagged(specs)
    for spec in specs:
        api.submit(spec)
    jobs = api.finished_jobs(tag, len(specs), timeout_s)
    first = min(datetime.fromisoformat(job["created_at"]) for job in jobs)
    return (max(datetime.fromisoformat(job["finished_at"]) for job in jobs) - first).total_seconds()


def ingest_points_per_s(factory: SessionFactory, owner: str, spec: dict, points: int, batch: int) -> tuple[float, str]:
    """Points/s through the worker's write path (a holder-checked transaction per batch); the job now holds them."""
    with session_scope(factory) as session:
        job_id = JobRepository(session).create(owner, JobSpec.model_validate(spec)).id
    held = HeldJob(factory, job_id, "benchmark", lease_s=3600)
    held.claim()
    started = time.perf_counter()
    for first in range(0, points, batch):
        rows = [("ingest", step, step * 1e-3) for step in range(first, min(first + batch, points))]
        held.write(lambda lease, rows=rows: lease.write_points(rows))
    return points / (time.perf_counter() - started), str(job_id)


def series_read_ms(api: Api, job_id: str, max_points: int, repeats: int) -> float:
    """Median ms of GET /v1/jobs/{id}/metrics for the ingested series, downsampled on the server."""
    params = {"names": "ingest", "max_points": max_points}

    def read() -> None:
        response = api.client.get(f"/v1/jobs/{job_id}/metrics", params=params)
        response.raise_for_status()
        assert len(response.json()["series"]["ingest"]) == max_points, "the series was not downsampled"

    return percentile(repeated_ms(read, repeats), 50)


def seed_jobs(factory: SessionFactory, owner: str, count: int) -> None:
    """`count` jobs of `owner` in one bulk insert (as benchmarks/job_listing.py seeds them)."""
    with session_scope(factory) as session:
        session.execute(insert(Job), job_rows(owner, count, random.Random(0)))


def list_ms(api: Api, repeats: int) -> float:
    """Median ms of GET /v1/jobs: the newest page (50 jobs) of the owner's."""

    def page() -> None:
        response = api.client.get("/v1/jobs")
        response.raise_for_status()
        assert len(response.json()["items"]) == 50, "the owner has no full page"

    return percentile(repeated_ms(page, repeats), 50)


def submit_ms(api: Api, spec: dict, clients: int, calls_each: int) -> tuple[float, float]:
    """p50 and p99 ms of POST /v1/jobs with `clients` clients submitting at once."""

    def make_client() -> Callable[[], str]:
        client = api.new_client()
        return lambda: api.submit(spec, client)

    samples = concurrent_ms(make_client, clients, calls_each)
    return percentile(samples, 50), percentile(samples, 99)
