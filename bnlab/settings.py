"""The one settings class: every command and process reads its configuration from BNLAB_* variables."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Defaults give the embedded setup: everything lives under `data_dir`."""

    model_config = SettingsConfigDict(env_prefix="BNLAB_", extra="ignore")

    data_dir: Path = Field(Path("bnlab-data"), description="datasets, caches, checkpoints (and later the database)")
