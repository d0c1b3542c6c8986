"""The Celery app both sides share: the API and the dispatcher send "run job <id>", the worker runs it (rule 1).

No task code lives here, so the API process can enqueue without importing the worker (or torch).
"""

from functools import cache
from uuid import UUID

from celery import Celery
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from contracts.queues import DEFAULT_QUEUE
from contracts.settings import Settings

TRAIN_TASK = "bnlab.train_job"


def make_celery(settings: Settings) -> Celery:
    """Long-job settings (rule 7): late acks, reject on worker loss, prefetch 1, a long visibility timeout."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = Celery("bnlab")
    app.conf.update(
        **_broker(settings.resolved_broker_url),
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=DEFAULT_QUEUE,
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


def _broker(url: str) -> dict:
    """Celery's broker settings for `url`: a `sqla+` URL goes to the embedded transport (dispatch/embedded.py)."""
    if url.startswith("sqla+"):
        return {"broker_url": url.removeprefix("sqla+"), "broker_transport": "dispatch.embedded:EmbeddedTransport"}
    return {"broker_url": url}


def enqueue(app: Celery, job_id: UUID, queue: str = DEFAULT_QUEUE) -> None:
    """Only the id travels, on the queue of the device the job needs; the database holds the job (call after the
    job's row is committed)."""
    app.send_task(TRAIN_TASK, args=[str(job_id)], queue=queue)


def purge_consumed(settings: Settings) -> int:
    """Delete the messages kombu's SQLAlchemy transport has handed out: it only hides them, so its table grows forever.

    A hidden message is done with: an unacknowledged one lives in the consumer's memory and is put back as a new
    row if its worker is lost. Redis deletes what it hands out, so there is nothing to do there.
    """
    url = settings.resolved_broker_url
    if not url.startswith("sqla+"):
        return 0
    engine = _broker_engine(url.removeprefix("sqla+"))
    try:
        with engine.begin() as connection:
            return connection.execute(
                text("DELETE FROM kombu_message WHERE visible = :hidden"), {"hidden": False}
            ).rowcount
    except OperationalError:  # no message was ever sent, so kombu has not made its table yet
        return 0


@cache
def _broker_engine(url: str) -> Engine:
    """One engine per process on the broker's own database, waiting for kombu's locks instead of failing."""
    return create_engine(url, connect_args={"timeout": 15} if url.startswith("sqlite") else {})
