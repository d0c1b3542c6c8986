"""Celery adapter (worker/) and the pure training engine (worker/engine/)."""
