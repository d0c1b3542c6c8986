"""What an owner's limits are measured on: jobs queued or running, and submissions in a recent window."""

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import Session

from store.models import Job, JobStatus
from store.timestamps import utcnow

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


class Usage(NamedTuple):
    """An owner's jobs queued or running, and when their submission window has room again (None: now)."""

    active: int
    window_full_until: datetime | None


class QuotaRepository:
    """Counting queries on the (owner, status) and (owner, created_at, id) indexes; the API sets the limits."""

    def __init__(self, session: Session):
        self.session = session

    def usage(self, owner: str, limit: int, window_s: float) -> Usage:
        """Both measures in one query (one round trip per submission): the active jobs, and, if `limit`
        submissions already lie in the last `window_s` seconds, the moment the limit-th newest leaves the window."""
        window = timedelta(seconds=window_s)
        active, oldest_counted = self.session.execute(
            select(_active(owner), _limit_th_newest(owner, limit, utcnow() - window))
        ).one()
        return Usage(active, None if oldest_counted is None else oldest_counted + window)


def _active(owner: str) -> ScalarSelect:
    """The owner's jobs that are queued or running: what still waits for, or holds, a worker."""
    return select(func.count()).select_from(Job).where(Job.owner == owner, Job.status.in_(ACTIVE)).scalar_subquery()


def _limit_th_newest(owner: str, limit: int, since: datetime) -> ScalarSelect:
    """When the owner's limit-th newest submission since `since` was made (NULL when there are fewer)."""
    newest = select(Job.created_at).where(Job.owner == owner, Job.created_at > since)
    return newest.order_by(Job.created_at.desc()).offset(limit - 1).limit(1).scalar_subquery()
