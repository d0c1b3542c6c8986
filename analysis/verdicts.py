"""One verdict rule for every claim: an interval of (arm - baseline), the side the claim predicts, a minimum effect.

supported: the interval excludes the null value on the claimed side and the estimate is at least the minimum effect
away from it; not_supported: the interval excludes it on the other side, or lies wholly within the minimum effect of
it (an effect too small to matter); inconclusive otherwise, and whenever the interval is missing (fewer than 2 runs).
"""

from typing import Any

SUPPORTED = "supported"
NOT_SUPPORTED = "not_supported"
INCONCLUSIVE = "inconclusive"


def judge(
    low: float | None, high: float | None, estimate: float | None, direction: int, minimum: float, null: float = 0.0
) -> str:
    """The verdict on a difference interval [low, high] whose no-effect value is `null` (0, or 1.05 for a ratio)."""
    if low is None or high is None or estimate is None:
        return INCONCLUSIVE
    low, high, estimate = low - null, high - null, estimate - null
    toward = low > 0 if direction > 0 else high < 0
    against = high < 0 if direction > 0 else low > 0
    if toward and abs(estimate) >= minimum:
        return SUPPORTED
    if against or (-minimum <= low and high <= minimum):
        return NOT_SUPPORTED
    return INCONCLUSIVE


def rule(quantity: str, direction: int, minimum: str = "", null: float = 0.0) -> str:
    """The rule of `judge` in words, `minimum` being the minimum effect in words with its number ("" for none)."""
    side, other = ("below", "above") if direction < 0 else ("above", "below")
    at_least = f" and the estimate is at least {minimum} {side} it" if minimum else ""
    small = f", or lies entirely within {minimum} of {null:g} (an effect too small to matter)" if minimum else ""
    return (
        f"supported when the 95% interval of {quantity} lies entirely {side} {null:g}{at_least}; "
        f"not supported when that interval lies entirely {other} {null:g}{small}; inconclusive otherwise "
        "(also when there are too few runs for an interval: fewer than 2 per arm)"
    )


def combine(verdicts: list[str]) -> str:
    """Several sections: supported only if every one is, not supported if any is not, inconclusive otherwise."""
    if verdicts and all(found == SUPPORTED for found in verdicts):
        return SUPPORTED
    return NOT_SUPPORTED if NOT_SUPPORTED in verdicts else INCONCLUSIVE


def interval_words(found: dict[str, Any]) -> str:
    """' (95% CI [low, high])' for a summary, or '' when it has no interval."""
    return "" if found.get("ci_low") is None else f" (95% CI [{found['ci_low']:.3g}, {found['ci_high']:.3g}])"


WORDS = {
    SUPPORTED: "The evidence supports the claim.",
    NOT_SUPPORTED: "The evidence goes against the claim.",
    INCONCLUSIVE: "The evidence is not strong enough either way.",
}


def make_claim(about: dict[str, Any], verdict: str, rule_words: str, evidence: dict[str, Any], finding: str) -> dict:
    """A claim of the report: `about` gives id, title, statement and plot names; the summary ends with the verdict."""
    return {
        "id": about["id"],
        "title": about["title"],
        "statement": about["statement"],
        "verdict": verdict,
        "rule": rule_words,
        "evidence": evidence,
        "summary": f"{finding} {WORDS[verdict]}".strip(),
        "plots": list(about["plots"]),
    }
