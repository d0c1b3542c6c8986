"""Following a job live through its event stream (GET /v1/jobs/{id}/events), resuming where a dropped stream ended.

The stream sends `status` (the whole job first, then only what changed) and `metric` ({job_id, series}) events;
each event's id is the highest metric step sent, which `Last-Event-ID` gives back on reconnecting.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bnlab.client_errors import ClientError, Unreachable
from bnlab.sse import Event

if TYPE_CHECKING:
    from bnlab.client import ApiClient

FINISHED = ("succeeded", "failed", "cancelled")
STATUSES = ("queued", "running", *FINISHED)  # a job's (and a study's) statuses, in the order they come
RECONNECT_WAIT_S = 1.0
RECONNECTS = 30  # attempts in a row that bring no event before giving up


@dataclass
class JobState:
    """What the events said so far: the job as GET /v1/jobs/{id} shows it, and each metric's newest value."""

    job: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    metric_step: int = 0
    last_event_id: str | None = None
    received: int = 0

    def apply(self, event: Event) -> None:
        """Merge one event: a status event's fields into the job, a metric event's last points into the metrics."""
        self.received += 1
        self.last_event_id = event.id
        data = json.loads(event.data)
        if event.event == "status":
            self.job.update(data)
        elif event.event == "metric":
            for name, points in data["series"].items():
                if points:
                    step, self.metrics[name] = points[-1]
                    self.metric_step = max(self.metric_step, step)

    @property
    def finished(self) -> bool:
        """Whether the job has ended (the stream then ends once its last points are sent)."""
        return self.job.get("status") in FINISHED

    @property
    def total_steps(self) -> int | None:
        """The spec's training steps, once the first status event has brought the spec."""
        return self.job["spec"]["training"]["steps"] if "spec" in self.job else None

    @property
    def steps_done(self) -> int:
        """The furthest of the worker's progress (sent with its heartbeat) and the newest metric step."""
        progress = round(self.job.get("progress", 0) * (self.total_steps or 0))
        return max(progress, self.metric_step)


def follow_job(api: "ApiClient", job_id: str, on_event: Callable[[JobState], None]) -> JobState:
    """Every event of the job until it finishes, `on_event` after each; a stream lost after it worked is resumed."""
    state, fruitless = JobState(), 0
    while True:
        before = state.received
        try:
            return _stream_until_finished(api, job_id, state, on_event)
        except ClientError as error:
            fruitless = 0 if state.received > before else fruitless + 1
            # a first connection that fails ends the watch at once: the URL, the key or the id is wrong
            if not error.retryable or not state.received or fruitless >= RECONNECTS:
                raise
        time.sleep(RECONNECT_WAIT_S)


def _stream_until_finished(
    api: "ApiClient", job_id: str, state: JobState, on_event: Callable[[JobState], None]
) -> JobState:
    """One connection's events, after the last one received; a stream that ends before the job does is a drop."""
    for event in api.events(f"/v1/jobs/{job_id}/events", state.last_event_id):
        state.apply(event)
        on_event(state)
    if not state.finished:
        raise Unreachable(f"the event stream of job {job_id} keeps ending before the job does")
    return state
