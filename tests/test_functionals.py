import numpy as np
import pytest
import scipy.stats

from sertk.errors import ParameterError
from sertk.features.functionals import FUNCTIONALS, compute_functionals


def test_matches_reference_statistics_ignoring_nan(rng):
    x = rng.normal(3.0, 2.0, size=(4, 300))
    x[:, ::7] = np.nan
    out = compute_functionals(x, 0.01, FUNCTIONALS)
    for i, row in enumerate(x):
        v = row[np.isfinite(row)]
        assert out["mean"][i] == pytest.approx(v.mean())
        assert out["std"][i] == pytest.approx(v.std())
        assert out["cv"][i] == pytest.approx(v.std() / abs(v.mean()))
        assert out["p20"][i] == pytest.approx(np.percentile(v, 20))
        assert out["p50"][i] == pytest.approx(np.median(v))
        assert out["range_p20_p80"][i] == pytest.approx(
            np.percentile(v, 80) - np.percentile(v, 20))
        assert out["min"][i] == v.min() and out["max"][i] == v.max()
        assert out["skew"][i] == pytest.approx(scipy.stats.skew(v))
        assert out["kurtosis"][i] == pytest.approx(scipy.stats.kurtosis(v))


def test_slopes_of_a_known_line():
    t = np.arange(200) * 0.01
    line = (5.0 - 3.0 * t)[None, :].copy()
    line[0, 50:60] = np.nan
    out = compute_functionals(line, 0.01, ["slope", "falling_slope_mean",
                                           "rising_slope_mean"])
    assert out["slope"][0] == pytest.approx(-3.0)
    assert out["falling_slope_mean"][0] == pytest.approx(-3.0)
    assert np.isnan(out["rising_slope_mean"][0])


def test_rising_and_falling_slopes_of_a_zigzag():
    zigzag = np.array([[0.0, 1.0, 0.0, 1.0, 0.0]])
    out = compute_functionals(zigzag, 0.5, ["rising_slope_mean", "falling_slope_mean"])
    assert out["rising_slope_mean"][0] == pytest.approx(2.0)
    assert out["falling_slope_mean"][0] == pytest.approx(-2.0)


def test_step_std_of_a_zigzag_and_across_gaps():
    # Steps +2, -2, +2, -2 (per second at 0.5 s a frame): std 2. A NaN frame
    # removes the two steps it touches; a ramp has constant steps: std 0.
    zigzag = np.array([[0.0, 1.0, 0.0, 1.0, 0.0],
                       [0.0, 1.0, np.nan, 3.0, 5.0],
                       [0.0, 1.0, 2.0, 3.0, 4.0]])
    out = compute_functionals(zigzag, 0.5, ["step_std"])["step_std"]
    np.testing.assert_allclose(out, [2.0, 1.0, 0.0])
    assert np.isnan(compute_functionals(np.array([[1.0, 2.0]]), 0.5,
                                        ["step_std"])["step_std"][0])


def test_empty_and_constant_contours_are_nan_where_documented():
    x = np.array([[np.nan] * 5, [2.0] * 5, [np.nan, 1.0, np.nan, np.nan, np.nan]])
    out = compute_functionals(x, 0.01, FUNCTIONALS)
    assert all(np.isnan(v[0]) for v in out.values())
    assert out["mean"][1] == 2.0 and out["std"][1] == 0.0
    assert np.isnan(out["skew"][1]) and np.isnan(out["kurtosis"][1])
    assert out["mean"][2] == 1.0 and out["p50"][2] == 1.0
    assert np.isnan(out["std"][2]) and np.isnan(out["slope"][2])


def test_output_follows_requested_order_and_rejects_unknown_names():
    out = compute_functionals(np.ones((1, 3)), 0.01, ["max", "mean"])
    assert list(out) == ["max", "mean"]
    with pytest.raises(ParameterError, match="unknown functional"):
        compute_functionals(np.ones((1, 3)), 0.01, ["average"])
