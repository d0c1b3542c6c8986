"""The web dashboard: pages served by the API process, drawing from the public /v1 API in the browser."""

from api.dashboard.assets import mount_assets
from api.dashboard.pages import router

__all__ = ["mount_assets", "router"]
