"""`bnlab watch` resumes a dropped event stream after the last event it received (Last-Event-ID), on a fake API."""

import json

from fastapi import Request
from fastapi.responses import StreamingResponse

from tests.api.servers import serving_in_thread
from tests.bnlab.conftest import bnlab
from tests.bnlab.fake_api import KEY, fake_app

JOB_ID = "0b5e7c1a-0000-4000-8000-000000000001"
SPEC = {"name": "resumed", "training": {"steps": 100}}
SUMMARY = {"final_test_acc": 0.875, "steps_done": 100, "diverged": False}


def event(name: str, data: dict, event_id: int) -> str:
    """One server-sent event as the API writes it."""
    return f"event: {name}\ndata: {json.dumps(data)}\nid: {event_id}\n\n"


def first_connection() -> list[str]:
    """The job running, points up to step 50, then the stream ends before the job does (a server restart, say)."""
    job = {"id": JOB_ID, "name": "resumed", "status": "running", "progress": 0.5, "spec": SPEC, "error": None}
    metric = {"job_id": JOB_ID, "series": {"train_loss": [[50, 0.5]], "test_acc": [[50, 0.75]]}}
    return [": keep-alive\n\n", event("status", job, -1), event("metric", metric, 50)]


def second_connection() -> list[str]:
    """After Last-Event-ID 50: the job as it is now (finished), the points after step 50, then the end."""
    job = {"id": JOB_ID, "name": "resumed", "status": "succeeded", "progress": 1.0, "spec": SPEC, "error": None}
    metric = {"job_id": JOB_ID, "series": {"test_acc": [[100, 0.875]]}}
    return [event("status", {**job, "summary": SUMMARY}, 50), event("metric", metric, 100)]


def test_a_dropped_stream_is_resumed_after_the_last_event_id(env):
    app, asked = fake_app(), []

    @app.get("/v1/jobs/{job_id}/events")
    async def events(job_id: str, request: Request) -> StreamingResponse:
        """Records each connection's Last-Event-ID; the first connection ends early."""
        asked.append(request.headers.get("last-event-id"))
        chunks = first_connection() if len(asked) == 1 else second_connection()
        return StreamingResponse(iter(chunks), media_type="text/event-stream")

    with serving_in_thread(app) as url:
        result = bnlab("watch", JOB_ID, env={**env, "BNLAB_URL": url, "BNLAB_API_KEY": KEY})
    assert result.returncode == 0, result.stderr
    assert asked == [None, "50"]
    assert "succeeded" in result.stdout and "0.875" in result.stdout and "final_test_acc" in result.stdout
    assert "100/100" in result.stderr and "test_acc 0.8750" in result.stderr
