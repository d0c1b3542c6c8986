"""The outbox's queries (rule 12): which queued jobs need a message on the broker, and recording that one was sent.

A job needs a message when none was ever sent, or when the last one was sent so long ago that the broker
may have lost it (a restart without persistence, a flush). Per owner, running jobs plus fresh messages are
kept within a share, so that one owner's burst waits in the database, not in front of everyone on the broker.
"""

import uuid
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from store.models import Job, JobStatus
from store.timestamps import utcnow


class Due(NamedTuple):
    """A job to send, and the device it needs (its training.device; None for a job stored before that field)."""

    id: uuid.UUID
    device: str | None


def due(session: Session, share: int, resend_after_s: float, owner: str | None = None) -> list[Due]:
    """Queued jobs to send now, oldest first within each owner's free share, owners interleaved."""
    stale = utcnow() - timedelta(seconds=resend_after_s)
    busy = _busy_by_owner(session, stale, owner)
    needing = or_(Job.dispatched_at.is_(None), Job.dispatched_at < stale)
    rank = func.row_number().over(partition_by=Job.owner, order_by=(Job.created_at, Job.id)).label("rank")
    device = Job.spec["training"]["device"].as_string().label("device")
    candidates = select(Job.id, Job.owner, device, rank).where(Job.status == JobStatus.QUEUED, needing)
    if owner is not None:
        candidates = candidates.where(Job.owner == owner)
    ranked = candidates.subquery()
    rows = session.execute(select(ranked).where(ranked.c.rank <= share).order_by(ranked.c.rank)).all()
    return [Due(row.id, row.device) for row in rows if row.rank <= share - busy.get(row.owner, 0)]


def _busy_by_owner(session: Session, stale: datetime, owner: str | None) -> dict[str, int]:
    """Per owner, the jobs that hold a share: running ones and queued ones whose message is fresh."""
    fresh = and_(Job.status == JobStatus.QUEUED, Job.dispatched_at >= stale)
    query = select(Job.owner, func.count()).where(or_(Job.status == JobStatus.RUNNING, fresh)).group_by(Job.owner)
    if owner is not None:
        query = query.where(Job.owner == owner)
    return dict(session.execute(query).all())


def mark_dispatched(session: Session, job_ids: list[uuid.UUID]) -> None:
    """Record that a message for each of these jobs is on the broker now (only while still queued)."""
    if job_ids:
        statement = update(Job).where(Job.id.in_(job_ids), Job.status == JobStatus.QUEUED)
        session.execute(statement.values(dispatched_at=utcnow()), execution_options={"synchronize_session": False})
