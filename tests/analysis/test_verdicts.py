"""The one verdict rule: the claimed side, the other side, a negligible effect, and everything in between."""

import pytest

from analysis.verdicts import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, combine, judge, rule


@pytest.mark.parametrize(
    ("low", "high", "estimate", "expected"),
    [
        (-30.0, -10.0, -20.0, SUPPORTED),  # below 0, at least 5 below
        (-4.0, -1.0, -2.5, NOT_SUPPORTED),  # below 0 but wholly within ±5: too small to matter
        (-8.0, -1.0, -4.5, INCONCLUSIVE),  # below 0, estimate under 5, interval beyond it
        (1.0, 9.0, 5.0, NOT_SUPPORTED),  # the other side
        (-3.0, 3.0, 0.0, NOT_SUPPORTED),  # within ±5
        (-12.0, 3.0, -4.0, INCONCLUSIVE),  # straddles 0 and reaches beyond 5
        (None, None, -20.0, INCONCLUSIVE),  # no interval
    ],
)
def test_a_claim_that_predicts_a_decrease(low, high, estimate, expected):
    assert judge(low, high, estimate, -1, 5.0) == expected


def test_a_ratio_judged_against_a_null_of_one_point_zero_five():
    assert judge(1.2, 1.6, 1.4, 1, 0.0, null=1.05) == SUPPORTED
    assert judge(0.9, 1.04, 0.97, 1, 0.0, null=1.05) == NOT_SUPPORTED
    assert judge(1.0, 1.3, 1.15, 1, 0.0, null=1.05) == INCONCLUSIVE


def test_sections_combine_into_one_verdict():
    assert combine([SUPPORTED, SUPPORTED]) == SUPPORTED
    assert combine([SUPPORTED, NOT_SUPPORTED]) == NOT_SUPPORTED
    assert combine([SUPPORTED, INCONCLUSIVE]) == INCONCLUSIVE
    assert combine([]) == INCONCLUSIVE


def test_the_rule_in_words_names_its_numbers():
    words = rule("BN's minus none's steps", -1, "10% of none's mean")
    assert "entirely below 0" in words and "at least 10% of none's mean below it" in words
    assert "too small to matter" in words
    assert "too small" not in rule("the ratio", 1, "", 1.05) and "above 1.05" in rule("the ratio", 1, "", 1.05)
