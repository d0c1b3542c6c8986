"""Getting jobs to the workers: the shared Celery app (broker) and the outbox that sends queued jobs (rule 12)."""

from dispatch.broker import TRAIN_TASK, enqueue, make_celery
from dispatch.outbox import Dispatcher

__all__ = ["TRAIN_TASK", "Dispatcher", "enqueue", "make_celery"]
