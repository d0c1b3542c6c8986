"""Studies as their owner sees them: created with all their jobs in one transaction, listed, cancelled, deleted."""

import uuid
from collections import Counter
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from contracts.study import Section, StudyPlan, baseline_of
from store import states
from store.errors import StudyNotFinished
from store.models import FINISHED, Job, JobStatus, Study
from store.repositories.jobs import JobRepository
from store.repositories.keyset import order_of, paginate
from store.repositories.metrics import MetricRepository

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


class StudyListing(NamedTuple):
    """One page of studies and the cursor of the next (None on the last page)."""

    studies: list[Study]
    next_cursor: str | None


def study_status(counts: dict[str, int], cancel_requested: bool) -> str:
    """A study is as far as its jobs: queued until one starts, running while any is active, then how they ended."""
    active = sum(counts.get(status, 0) for status in ACTIVE)
    if active:
        started = sum(counts.values()) - counts.get(JobStatus.QUEUED, 0)
        return JobStatus.RUNNING if started else JobStatus.QUEUED
    if cancel_requested or counts.get(JobStatus.CANCELLED):
        return JobStatus.CANCELLED
    return JobStatus.FAILED if counts.get(JobStatus.FAILED) else JobStatus.SUCCEEDED


class StudyRepository:
    """Every query on studies takes the owner, so another tenant's study is simply not found."""

    def __init__(self, session: Session):
        self.session = session

    def create(self, owner: str, plan: StudyPlan, request: dict[str, Any]) -> Study:
        """The study row and one queued job per cell and seed, in the caller's transaction."""
        study = Study(
            owner=owner,
            name=plan.name,
            preset=plan.preset,
            scale=plan.scale,
            request=request,
            sections=[_section(section) for section in plan.sections],
            seeds=plan.seeds,
            cells=[{"section": cell.section, "values": cell.values} for cell in plan.cells],
        )
        self.session.add(study)
        self.session.flush()
        jobs = JobRepository(self.session)
        for index, cell in enumerate(plan.cells):
            for spec in cell.specs:
                jobs.create(owner, spec, study_id=study.id, study_cell=index)
        return study

    def get(self, owner: str, study_id: uuid.UUID) -> Study | None:
        """The owner's study, or None (also when it belongs to someone else)."""
        return self.session.scalar(select(Study).where(Study.id == study_id, Study.owner == owner))

    def jobs(self, study_id: uuid.UUID) -> list[Job]:
        """The study's jobs in cell order, then seed order."""
        query = select(Job).where(Job.study_id == study_id).order_by(Job.study_cell, Job.seed)
        return list(self.session.scalars(query))

    def counts(self, study_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
        """Jobs per status for each study (one grouped query for a whole page)."""
        query = (
            select(Job.study_id, Job.status, func.count())
            .where(Job.study_id.in_(study_ids))
            .group_by(Job.study_id, Job.status)
        )
        counts: dict[uuid.UUID, Counter] = {study_id: Counter() for study_id in study_ids}
        for study_id, status, count in self.session.execute(query):
            counts[study_id][status] = count
        return {study_id: dict(counter) for study_id, counter in counts.items()}

    def cancel(self, owner: str, study_id: uuid.UUID) -> Study | None:
        """Cancel every job not yet finished (queued ones at once, running ones by their flag); None if not found."""
        study = self.get(owner, study_id)
        if study is None:
            return None
        study.cancel_requested = True
        active = select(Job.id).where(Job.study_id == study_id, Job.status.in_(ACTIVE), ~Job.cancel_requested)
        for job_id in list(self.session.scalars(active)):
            states.request_cancel(self.session, job_id)
        self.session.flush()
        return study

    def delete(self, owner: str, study_id: uuid.UUID) -> bool:
        """Delete a study whose jobs have all finished, with them and their metrics; False if not found."""
        study = self.get(owner, study_id)
        if study is None:
            return False
        counts = self.counts([study_id])[study_id]
        unfinished = sum(count for status, count in counts.items() if status not in FINISHED)
        if unfinished:
            raise StudyNotFinished(study_id, unfinished)
        MetricRepository(self.session).delete_of(select(Job.id).where(Job.study_id == study_id))
        self.session.execute(delete(Job).where(Job.study_id == study_id))
        self.session.delete(study)
        self.session.flush()
        return True

    def list(self, owner: str, limit: int = 50, cursor: str | None = None) -> StudyListing:
        """The owner's studies, newest first; pass `next_cursor` back for the following page."""
        query = select(Study).where(Study.owner == owner)
        return StudyListing(*paginate(self.session, query, order_of(Study, "-created_at"), limit, cursor))


def _section(section: Section) -> dict[str, Any]:
    """A section as stored: its base, grid and the baseline its cells are compared with."""
    return {"name": section.name, "base": section.base, "grid": section.grid, "baseline": baseline_of(section)}
