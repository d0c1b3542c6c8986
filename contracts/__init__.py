"""The contracts every part shares (the bottom layer): the job spec, its limits, the dataset catalogue, settings.

Pure pydantic: importable without torch, SQLAlchemy, FastAPI or Celery (docs/architecture.md, the layers).
"""
