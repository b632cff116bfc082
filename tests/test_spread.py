"""The one spread the tables report: sample standard deviation (n - 1)."""

import pytest

from xai_core.spread import mean_std, sample_std


def test_sample_std_divides_by_n_minus_one():
    assert sample_std([1.0, 2.0, 3.0, 4.0]) == pytest.approx((5 / 3) ** 0.5)  # squares 2.25 + 0.25 + 0.25 + 2.25 over 3


def test_a_single_value_has_no_spread():
    assert sample_std([0.7]) == 0.0 and mean_std([0.7]) == {"mean": 0.7, "std": 0.0}


def test_mean_std():
    assert mean_std([0.9, 0.8, 0.7]) == pytest.approx({"mean": 0.8, "std": 0.1})
