"""The Celery app both sides share: the API and the dispatcher send "run job <id>", the worker runs it (rule 1).

No task code lives here, so the API process can enqueue without importing the worker (or torch).
"""

from uuid import UUID

from celery import Celery

from contracts.settings import Settings

TRAIN_TASK = "bnlab.train_job"


def make_celery(settings: Settings) -> Celery:
    """Long-job settings (rule 7): late acks, reject on worker loss, prefetch 1, a long visibility timeout."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = Celery("bnlab", broker=settings.resolved_broker_url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.job_time_limit_s + 60,
        task_soft_time_limit=settings.job_time_limit_s,
        broker_transport_options=_transport_options(settings),
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
    )
    return app


def _transport_options(settings: Settings) -> dict:
    """Redis redelivers an unacked task after the visibility timeout: it must outlast the longest job."""
    if settings.resolved_broker_url.startswith(("redis://", "rediss://")):
        return {"visibility_timeout": settings.job_time_limit_s + 3600}
    return {}


def enqueue(app: Celery, job_id: UUID) -> None:
    """Only the id travels; the database holds the job (call after the job's row is committed)."""
    app.send_task(TRAIN_TASK, args=[str(job_id)])
