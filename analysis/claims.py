"""The seven claims about batch normalization, each judged from the data of its sections (docs/studies.md)."""

from typing import Any

from analysis.claims_batches import small_batches
from analysis.claims_mechanism import cost, covariate_shift, regularization
from analysis.claims_training import faster, higher_lr, initialization
from analysis.results import StudyResult

CLAIMS = (faster, higher_lr, initialization, regularization, cost, covariate_shift, small_batches)


def build_claims(result: StudyResult) -> list[dict[str, Any]]:
    """Every claim with its verdict for the `claims` preset; no claims for any other study."""
    return [claim(result) for claim in CLAIMS] if result.preset == "claims" else []
