"""Shared by the fault tests: a job that trains for a few seconds, the database as the test's source of truth."""

import os
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import httpx
from sqlalchemy import select

from contracts.settings import Settings
from store import FINISHED, Job, MetricRepository, SessionFactory, session_scope, sessions_for
from tests.worker.engine.conftest import WALL_CLOCK

METRICS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr", "grad_norm", *sorted(WALL_CLOCK))
T = TypeVar("T")


def clean_env() -> dict[str, str]:
    """This environment without its BNLAB_* variables: each test sets the ones its service gets."""
    return {key: value for key, value in os.environ.items() if not key.startswith("BNLAB_")}


def training_spec(name: str, steps: int = 3000, eval_every: int = 250) -> dict:
    """Seconds of training with checkpoints: long enough to be hit by a fault while running."""
    return {
        "name": name,
        "dataset": {"name": "spirals"},
        "model": {"hidden": [64, 64]},
        "optimizer": {"lr": 0.1, "momentum": 0.9},
        "training": {"steps": steps, "batch_size": 64, "eval_every": eval_every, "checkpoint_every": 500},
    }


def expected_points(spec: dict) -> set[tuple[str, int]]:
    """Every (name, step) a completed run of `spec` writes."""
    training = spec["training"]
    return {(name, step) for name in METRICS for step in range(training["eval_every"], training["steps"] + 1,
                                                                training["eval_every"])}  # fmt: skip


def sessions_of(env: dict[str, str]) -> SessionFactory:
    """The service's database, as its BNLAB_* variables name it."""
    settings = Settings(data_dir=Path(env["BNLAB_DATA_DIR"]), database_url=env.get("BNLAB_DATABASE_URL"))
    return sessions_for(settings.resolved_database_url)


def submit(client: httpx.Client, spec: dict) -> uuid.UUID:
    """POST /v1/jobs, which must accept it."""
    response = client.post("/v1/jobs", json=spec)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


def until(check: Callable[[], T], what: str, timeout: float = 240.0) -> T:
    """Poll `check` until it gives something truthy; database errors count as not yet (the fault may last)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception:
            result = None
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout} s")


def jobs(sessions: SessionFactory, ids: Iterable[uuid.UUID]) -> list[Job]:
    """The jobs' rows as they are now."""
    with session_scope(sessions) as session:
        return list(session.scalars(select(Job).where(Job.id.in_(list(ids)))))


def all_finished(sessions: SessionFactory, ids: list[uuid.UUID]) -> list[Job] | None:
    """The jobs once every one has a final status."""
    rows = jobs(sessions, ids)
    return rows if len(rows) == len(ids) and all(job.status in FINISHED for job in rows) else None


def points(sessions: SessionFactory, job_id: uuid.UUID) -> set[tuple[str, int]]:
    """The (name, step) of every metric point of a job."""
    with session_scope(sessions) as session:
        series = MetricRepository(session).series(job_id)
    return {(name, step) for name, values in series.items() for step, _ in values}
