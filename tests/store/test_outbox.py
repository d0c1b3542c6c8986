"""The outbox's queries: which queued jobs need a message, within each owner's share, owners interleaved."""

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from store import Job, JobStatus, outbox, states
from store.timestamps import utcnow

MakeJob = Callable[..., Job]
SHARE, RESEND_S = 4, 600


def due(session: Session, owner: str | None = None) -> list:
    """The jobs the dispatcher would send now."""
    return [job.id for job in outbox.due(session, SHARE, RESEND_S, owner)]


def sent_ago(session: Session, job: Job, seconds: float) -> None:
    """Pretend the job's message was sent `seconds` ago."""
    stamp = utcnow() - timedelta(seconds=seconds)
    session.execute(update(Job).where(Job.id == job.id).values(dispatched_at=stamp))


def test_a_new_job_is_due_until_its_message_is_recorded(session: Session, make_job: MakeJob):
    job = make_job()
    assert due(session) == [job.id]
    outbox.mark_dispatched(session, [job.id])
    assert session.get(Job, job.id, populate_existing=True).dispatched_at is not None
    assert due(session) == []


def test_a_message_sent_longer_ago_than_the_bound_is_sent_again(session: Session, make_job: MakeJob):
    fresh, lost = make_job(), make_job()
    sent_ago(session, fresh, RESEND_S - 60)
    sent_ago(session, lost, RESEND_S + 60)
    assert due(session) == [lost.id]


def test_only_queued_jobs_are_due_and_recorded(session: Session, make_job: MakeJob):
    running, cancelled, queued = make_job(), make_job(), make_job()
    states.claim(session, running.id, "w", lease_s=60)
    states.request_cancel(session, cancelled.id)
    assert due(session) == [queued.id]
    outbox.mark_dispatched(session, [running.id, cancelled.id])
    assert {session.get(Job, job.id, populate_existing=True).dispatched_at for job in (running, cancelled)} == {None}


def test_an_owner_gets_the_oldest_jobs_of_their_share(session: Session, make_job: MakeJob):
    jobs = [make_job("alice") for _ in range(SHARE + 2)]
    assert due(session) == [job.id for job in jobs[:SHARE]]


def test_running_jobs_and_fresh_messages_use_up_the_share(session: Session, make_job: MakeJob):
    running, waiting, *rest = [make_job("alice") for _ in range(SHARE + 2)]
    states.claim(session, running.id, "w", lease_s=60)
    outbox.mark_dispatched(session, [waiting.id])
    assert due(session) == [job.id for job in rest[: SHARE - 2]]
    assert session.get(Job, running.id).status == JobStatus.RUNNING


def test_owners_are_interleaved_so_a_burst_does_not_go_first(session: Session, make_job: MakeJob):
    burst = [make_job("alice") for _ in range(10)]
    late = make_job("bob")
    assert due(session)[:2] == [burst[0].id, late.id]
    assert due(session, owner="bob") == [late.id]


def test_each_due_job_says_the_device_it_needs(session: Session, make_job: MakeJob):
    jobs = {device: make_job(training={"device": device}) for device in ("cpu", "cuda", "auto")}
    old = make_job()
    spec = {**old.spec, "training": {k: v for k, v in old.spec["training"].items() if k != "device"}}
    session.execute(update(Job).where(Job.id == old.id).values(spec=spec))  # stored before the field existed
    devices = {job.id: job.device for job in outbox.due(session, SHARE, RESEND_S)}
    assert devices == {jobs["cpu"].id: "cpu", jobs["cuda"].id: "cuda", jobs["auto"].id: "auto", old.id: None}
