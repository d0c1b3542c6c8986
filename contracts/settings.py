"""The one settings class: every command and process reads its configuration from BNLAB_* variables."""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Defaults give the embedded setup: everything lives under `data_dir`, no server needed."""

    model_config = SettingsConfigDict(env_prefix="BNLAB_", extra="ignore")

    data_dir: Path = Field(Path("bnlab-data"), description="datasets, caches, the SQLite files")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir")
    broker_url: str | None = Field(None, description="Celery broker URL; default a server-less one in data_dir")
    job_time_limit_s: int = Field(6 * 3600, ge=60, description="a job running longer is stopped and failed")
    lease_s: int = Field(60, ge=5, description="a running job whose worker stays silent this long is re-queued")
    max_attempts: int = Field(3, ge=1, description="a job that loses its worker this many times ends failed")
    max_job_threads: int = Field(
        os.cpu_count() or 1, ge=1, description="the most cores a job may use: training.processes x training.threads"
    )
    collective_timeout_s: float = Field(
        300, gt=0, description="a rank of a multi-process job silent this long in a collective ends the attempt"
    )
    redispatch_s: float = Field(
        600, ge=1, description="a queued job whose message was sent this long ago is sent again (a lost message)"
    )
    dispatch_per_owner: int = Field(
        4, ge=1, description="per owner, running jobs plus messages waiting on the broker (a fair share of workers)"
    )
    max_active_jobs: int = Field(1000, ge=1, description="per owner: queued plus running jobs")
    max_submissions_per_minute: int = Field(600, ge=1, description="per owner: jobs submitted in any 60 s")
    max_streams: int = Field(20, ge=1, description="per owner and API process: open event streams")
    api_threads: int = Field(
        32, ge=1, description="API requests using the database at once; the connection pool is sized to match"
    )
    metrics_token: str | None = Field(None, description="bearer token for GET /metrics; unset: /metrics is off")

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'bnlab.sqlite').resolve()}"

    @property
    def resolved_broker_url(self) -> str:
        """The configured broker, or kombu's SQLAlchemy transport on a SQLite file (no server)."""
        return self.broker_url or f"sqla+sqlite:///{(self.data_dir / 'broker.sqlite').resolve()}"

    @property
    def display_database_url(self) -> str:
        """The database URL to print in logs: its password hidden."""
        return redacted(self.resolved_database_url)

    @property
    def display_broker_url(self) -> str:
        """The broker URL to print in logs: its password hidden."""
        return redacted(self.resolved_broker_url)


def redacted(url: str) -> str:
    """`scheme://user:***@host/...`: a URL that can be shown without giving its password away."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
