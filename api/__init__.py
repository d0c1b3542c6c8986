"""HTTP API (FastAPI): routes, schemas, auth and errors; never imports torch."""
