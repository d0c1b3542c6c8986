"""Intervals over seeds, every one from scipy.stats's t distribution, so a reader can redo each by hand.

`summarize` is a field's mean over a cell's runs; `contrast` a Welch t-interval of a sum of signed means (a
difference of two cells, or a difference of differences); `ratio` a delta-method interval of a ratio of means.
"""

import functools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import stats

LEVEL = 0.95


def number(value: Any) -> float | None:
    """A finite int or float as a float; None for anything else (missing, bool, string, NaN, infinity)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def numbers(values: Iterable[Any]) -> list[float]:
    """The finite numbers among the values, in order: a missing or non-finite value is no measurement."""
    return [x for x in map(number, values) if x is not None]


@functools.lru_cache(maxsize=1024)
def _critical(df: float) -> float:
    """t's two-sided 95% quantile for df degrees of freedom: a report asks for the same few df thousands of times."""
    return float(stats.t.ppf(0.5 + LEVEL / 2, df))


def _interval(center: float, se: float, df: float) -> tuple[float, float]:
    """The t-interval center ± t(df) · se (scipy.stats.t.interval's); a zero standard error is the point itself."""
    if se == 0 or not math.isfinite(df):
        return center, center
    half = _critical(df) * se
    return center - half, center + half


def summarize(values: Sequence[float]) -> dict[str, Any] | None:
    """Mean, sample std (ddof=1) and the 95% t-interval of the mean; n=1 is its own interval, n=0 is None."""
    n = len(values)
    if n == 0:
        return None
    mean = float(np.mean(values))
    std = float(np.std(values, ddof=1)) if n > 1 else 0.0
    low, high = _interval(mean, std / math.sqrt(n), n - 1) if n > 1 else (mean, mean)
    return {"mean": mean, "std": std, "n": n, "ci_low": low, "ci_high": high}


def _welch(variances: Sequence[float], sizes: Sequence[int]) -> tuple[float, float]:
    """Standard error and Welch-Satterthwaite degrees of freedom of a sum of independent means."""
    total = sum(variances)
    spread = sum(v * v / (n - 1) for v, n in zip(variances, sizes, strict=True))
    return math.sqrt(total), (total * total / spread if spread > 0 else math.inf)


def contrast(groups: Sequence[tuple[Sequence[float], float]]) -> dict[str, Any] | None:
    """Σ sign · mean(group) with its Welch 95% interval (null when a group has n<2); None when a group is empty."""
    if any(len(values) == 0 for values, _ in groups):
        return None
    estimate = sum(sign * float(np.mean(values)) for values, sign in groups)
    if any(len(values) < 2 for values, _ in groups):
        return {"estimate": estimate, "ci_low": None, "ci_high": None}
    variances = [sign * sign * float(np.var(values, ddof=1)) / len(values) for values, sign in groups]
    se, df = _welch(variances, [len(values) for values, _ in groups])
    low, high = _interval(estimate, se, df)
    return {"estimate": estimate, "ci_low": low, "ci_high": high}


def ratio(cell: Sequence[float], baseline: Sequence[float]) -> dict[str, Any] | None:
    """mean(cell)/mean(baseline), interval by the delta method: Var ≈ (Var(a) + r²·Var(b)) / mean(b)², Welch df."""
    if not cell or not baseline or float(np.mean(baseline)) == 0:
        return None
    mean_a, mean_b = float(np.mean(cell)), float(np.mean(baseline))
    r = mean_a / mean_b
    if len(cell) < 2 or len(baseline) < 2:
        return {"ratio": r, "ratio_ci_low": None, "ratio_ci_high": None}
    variances = [float(np.var(cell, ddof=1)) / len(cell), r * r * float(np.var(baseline, ddof=1)) / len(baseline)]
    se, df = _welch(variances, [len(cell), len(baseline)])
    low, high = _interval(r, se / abs(mean_b), df)
    return {"ratio": r, "ratio_ci_low": low, "ratio_ci_high": high}


def compare(cell: Sequence[float], baseline: Sequence[float]) -> dict[str, Any] | None:
    """A cell against its baseline: the difference of means (Welch) and their ratio; None when either is empty."""
    difference = contrast([(cell, 1.0), (baseline, -1.0)])
    if difference is None:
        return None
    found = ratio(cell, baseline) or {"ratio": None, "ratio_ci_low": None, "ratio_ci_high": None}
    return {
        "difference": difference["estimate"],
        "ci_low": difference["ci_low"],
        "ci_high": difference["ci_high"],
        **found,
    }
