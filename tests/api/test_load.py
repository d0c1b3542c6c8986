"""Real HTTP under load: 200 concurrent requests and 100 open event streams are all answered, and /healthz answers
meanwhile, while requests still wait (its time is printed, not asserted: a speed bound would fail on a busy
machine; the old per-request session held a connection while waiting for a thread, and threads
waited for connections: requests stalled until the pool timed out, and a sync /healthz waited with them)."""

import asyncio
import itertools
import time
from pathlib import Path
from uuid import UUID

import anyio.to_thread
import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from contracts.spec import CANONICAL_EXAMPLE, JobSpec
from store import ApiKeyRepository, JobRepository, SessionFactory, session_scope, states
from tests.api.servers import serving_in_process

OWNERS, STREAMS_EACH, REQUESTS = 20, 5, 200  # 100 streams: 5 per owner, under BNLAB_MAX_STREAMS (20)
DEADLINE_S = 240  # for everything the load does; a generous client timeout below it
CLIENT_TIMEOUT_S = 120


def _tenants(sessions: SessionFactory) -> list[tuple[dict[str, str], list[UUID], UUID]]:
    """Per owner: their headers, running jobs to follow, and a queued job to get."""
    tenants = []
    with session_scope(sessions) as session:
        for _ in range(OWNERS):
            key, plaintext = ApiKeyRepository(session).create("load")
            jobs = [JobRepository(session).create(key.owner, JobSpec()) for _ in range(STREAMS_EACH + 1)]
            for job in jobs[:STREAMS_EACH]:
                states.claim(session, job.id, "load-worker", lease_s=3600)
            tenants.append(
                ({"Authorization": f"Bearer {plaintext}"}, [job.id for job in jobs[:STREAMS_EACH]], jobs[-1].id)
            )
    return tenants


async def _follow(client: httpx.AsyncClient, path: str, headers: dict, opened: list, stop: asyncio.Event) -> int:
    """Open an event stream, wait for its first event, then keep it open until told to stop."""
    async with client.stream("GET", path, headers=headers) as response:
        if response.status_code == 200:
            async for line in response.aiter_lines():
                if line.startswith("event: status"):
                    break
            opened.append(path)
            await stop.wait()
        return response.status_code


def _requests(tenants) -> list[tuple[str, str, dict, dict | None]]:
    """REQUESTS requests over every owner: list, get and submit in turn."""
    kinds = itertools.cycle(["list", "get", "submit"])
    rounds = itertools.cycle(tenants)
    requests = []
    for kind, (headers, _, queued) in zip(kinds, itertools.islice(rounds, REQUESTS), strict=False):
        if kind == "list":
            requests.append(("GET", "/v1/jobs", headers, None))
        elif kind == "get":
            requests.append(("GET", f"/v1/jobs/{queued}", headers, None))
        else:
            requests.append(("POST", "/v1/jobs", headers, CANONICAL_EXAMPLE))
    return requests


def _timed_health(base: str) -> float:
    """Seconds one GET /healthz takes on a connection of its own (it must answer 200)."""
    start = time.perf_counter()
    response = httpx.get(f"{base}/healthz", timeout=CLIENT_TIMEOUT_S)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200
    return elapsed


async def _load(base: str, tenants) -> dict:
    """Open the streams, then fire the requests and time one /healthz while they run; everything bounded."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    stop, opened = asyncio.Event(), []
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=CLIENT_TIMEOUT_S) as client:
        streams = [
            asyncio.create_task(_follow(client, f"/v1/jobs/{job_id}/events", headers, opened, stop))
            for headers, running, _ in tenants
            for job_id in running
        ]
        try:
            while len(opened) < len(streams):
                assert not any(task.done() for task in streams), [task.result() for task in streams if task.done()]
                await asyncio.sleep(0.05)
            start = time.perf_counter()
            requests = [
                asyncio.create_task(client.request(method, path, headers=headers, json=body))
                for method, path, headers, body in _requests(tenants)
            ]
            await asyncio.sleep(0)  # let them start sending
            health_s = await asyncio.to_thread(_timed_health, base)
            pending = sum(not task.done() for task in requests)
            answers = await asyncio.gather(*requests)
            wall_s = time.perf_counter() - start
            still_open = len(opened) == len(streams) and not any(task.done() for task in streams)
        finally:
            stop.set()
            stream_statuses = await asyncio.gather(*streams, return_exceptions=True)
    return {
        "health_s": health_s,
        "pending_at_health": pending,
        "wall_s": wall_s,
        "statuses": sorted({answer.status_code for answer in answers}),
        "streams": sorted({str(status) for status in stream_statuses}),
        "still_open": still_open,
    }


@pytest.mark.slow
def test_200_requests_and_100_streams_are_answered_and_healthz_stays_fast(
    database_url, sessions, tmp_path: Path, capsys
):
    tenants = _tenants(sessions)
    settings = {"BNLAB_DATABASE_URL": database_url, "BNLAB_BROKER_URL": "memory://", "BNLAB_DATA_DIR": str(tmp_path)}

    with serving_in_process(settings, tmp_path / "api.log") as base:
        result = asyncio.run(asyncio.wait_for(_load(base, tenants), DEADLINE_S))

    with capsys.disabled():
        print(f"\n[{database_url.split(':')[0]}] {result}")
    assert result["statuses"] == [200, 201]  # every list and get 200, every submit 201: no 5xx, no 4xx
    assert result["streams"] == ["200"] and result["still_open"]
    assert result["pending_at_health"] > 0, "/healthz waited for the load to finish"


def test_the_thread_limit_is_api_threads_and_the_pool_has_a_connection_for_each(settings):
    app = create_app(settings.model_copy(update={"api_threads": 50}))

    with TestClient(app) as client:
        tokens = client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)

    assert tokens == 50
    assert app.state.sessions.kw["bind"].pool.size() > 50
