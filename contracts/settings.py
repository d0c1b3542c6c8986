"""The one settings class: every command and process reads its configuration from BNLAB_* variables."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Defaults give the embedded setup: everything lives under `data_dir`, no server needed."""

    model_config = SettingsConfigDict(env_prefix="BNLAB_", extra="ignore")

    data_dir: Path = Field(Path("bnlab-data"), description="datasets, caches, checkpoints, the SQLite file")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir")
    broker_url: str | None = Field(None, description="Celery broker URL; default a server-less one in data_dir")
    job_time_limit_s: int = Field(6 * 3600, ge=60, description="a job running longer is stopped and failed")
    lease_s: int = Field(60, ge=5, description="a running job whose worker stays silent this long is re-queued")

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'bnlab.sqlite').resolve()}"

    @property
    def resolved_broker_url(self) -> str:
        """The configured broker, or kombu's SQLAlchemy transport on a SQLite file (no server)."""
        return self.broker_url or f"sqla+sqlite:///{(self.data_dir / 'broker.sqlite').resolve()}"
