"""What an owner's limits are measured on: jobs queued or running, and submissions in a recent window."""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import Job, JobStatus
from store.timestamps import utcnow

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


class QuotaRepository:
    """Counting queries on the (owner, status) and (owner, created_at, id) indexes; the API sets the limits."""

    def __init__(self, session: Session):
        self.session = session

    def active(self, owner: str) -> int:
        """The owner's jobs that are queued or running: what still waits for, or holds, a worker."""
        query = select(func.count()).select_from(Job).where(Job.owner == owner, Job.status.in_(ACTIVE))
        return self.session.scalar(query)

    def window_full_until(self, owner: str, limit: int, window_s: float) -> datetime | None:
        """When the owner may submit again if `limit` submissions already lie in the last `window_s` seconds:
        the moment the limit-th newest leaves the window; None when there is room now."""
        window = timedelta(seconds=window_s)
        newest = (
            select(Job.created_at)
            .where(Job.owner == owner, Job.created_at > utcnow() - window)
            .order_by(Job.created_at.desc())
            .offset(limit - 1)
            .limit(1)
        )
        oldest_counted = self.session.scalar(newest)
        return None if oldest_counted is None else oldest_counted + window
