"""What a run folder of `bnlab train` holds, and when starting a run in it would destroy a finished one (no torch)."""

import sys
from pathlib import Path

SPEC = "spec.json"
METRICS_CSV = "metrics.csv"
METRICS_JSON = "metrics.json"
SUMMARY = "summary.json"
CHECKPOINT = "checkpoint.pt"
PARTIAL_CHECKPOINT = f"{CHECKPOINT}.partial"
RUN_FILES = (SPEC, METRICS_CSV, METRICS_JSON, SUMMARY, CHECKPOINT, PARTIAL_CHECKPOINT)


def prepare(out: Path, resume: bool, force: bool) -> None:
    """Refuse to start afresh over a finished run unless forced; forced, remove that run's files (only them)."""
    if resume and force:
        sys.exit("error: --resume continues the run in OUT and --force replaces it: pass only one of them")
    if resume or not (out / SUMMARY).exists():
        return
    if not force:
        sys.exit(
            f"error: {out} already holds a finished run ({SUMMARY}): pass --force to start afresh, replacing it, "
            "or --resume to continue it from its checkpoint"
        )
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
