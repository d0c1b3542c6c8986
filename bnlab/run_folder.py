"""The files of a run folder of `bnlab train` (no torch: the command line may look at a folder before training)."""

SPEC = "spec.json"
METRICS_CSV = "metrics.csv"
METRICS_JSON = "metrics.json"
SUMMARY = "summary.json"
CHECKPOINT = "checkpoint.pt"
PARTIAL_CHECKPOINT = f"{CHECKPOINT}.partial"
