"""Property tests: random signals never break extraction; functionals match numpy.

Bounded (a few dozen examples each, no deadline) so the file runs in well
under a minute.
"""

import numpy as np
import pytest
import scipy.stats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sertk.audio.reading import MIN_DURATION
from sertk.features.extractor import extract_signal
from sertk.features.feature_sets import get_feature_set
from sertk.features.functionals import FUNCTIONALS, compute_functionals
from sertk.settings import AnalysisSettings

RATES = (8000, 16000, 22050, 44100, 48000)
DEFAULT_NAMES = get_feature_set("default").feature_names(
    AnalysisSettings().n_mfcc, AnalysisSettings().n_mels)


@st.composite
def signals(draw):
    """A signal at one of RATES, from MIN_DURATION to 3 s, with awkward parts.

    A base (noise, tone, chirp or nothing) at 1e-6 to 1 of full scale, maybe
    driven into clipping, plus DC, runs of digital silence and impulses.
    """
    sr = draw(st.sampled_from(RATES))
    n_min = int(np.ceil(MIN_DURATION * sr))
    n = draw(st.integers(n_min, sr) | st.integers(sr, 3 * sr))  # short or long
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t = np.arange(n) / sr
    kind = draw(st.sampled_from(["noise", "tone", "chirp", "zeros"]))
    if kind == "noise":
        x = rng.standard_normal(n)
    elif kind == "tone":
        f0 = rng.uniform(60, 700)
        x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8)
                if k * f0 < sr / 2)
    elif kind == "chirp":
        x = np.sin(2 * np.pi * (50 * t + rng.uniform(100, sr / 4) * t**2))
    else:
        x = np.zeros(n)
    peak = np.max(np.abs(x))
    x = x / peak if peak > 0 else x
    x = x * 10 ** draw(st.floats(-6, 0))
    if draw(st.booleans()):  # overdriven, then clipped
        x = np.clip(x * draw(st.floats(1, 100)), -1, 1)
    x = x + draw(st.sampled_from([0.0, 1e-3, -0.25, 0.9]))
    for _ in range(draw(st.integers(0, 3))):  # runs of digital silence
        start = draw(st.integers(0, n - 1))
        x[start:start + draw(st.integers(1, n))] = 0.0
    for _ in range(draw(st.integers(0, 3))):  # clicks
        x[draw(st.integers(0, n - 1))] = draw(st.sampled_from([-1.0, 1.0]))
    return x, sr


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(signals())
def test_random_signals_never_break_extraction(signal_and_rate):
    x, sr = signal_and_rate
    row = extract_signal(x, sr)  # the "default" feature set
    assert list(row.index) == DEFAULT_NAMES
    values = row.to_numpy()
    assert values.dtype == np.float64
    assert not np.isinf(values).any(), list(row.index[np.isinf(values)])


# Functionals -------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def contour_matrices(draw):
    """(n_contours, n_frames) matrices with NaN holes, some rows nearly empty."""
    n_rows = draw(st.integers(1, 4))
    n_frames = draw(st.integers(1, 60))
    x = draw(arrays(np.float64, (n_rows, n_frames), elements=finite))
    holes = draw(arrays(np.bool_, (n_rows, n_frames)))
    x[holes] = np.nan
    return x


def close(a, b, scale=1.0):
    return a == pytest.approx(b, rel=1e-7, abs=1e-9 * max(scale, 1.0))


@settings(max_examples=200, deadline=None)
@given(contour_matrices(), st.sampled_from([0.01, 0.005, 0.25]))
def test_functionals_equal_numpy_on_the_valid_frames(x, hop):
    out = compute_functionals(x, hop, FUNCTIONALS)
    for i, row in enumerate(x):
        valid = np.isfinite(row)
        v = row[valid]
        scale = float(np.max(np.abs(v))) if v.size else 1.0
        if v.size == 0:
            assert all(np.isnan(out[name][i]) for name in FUNCTIONALS)
            continue
        assert close(out["mean"][i], v.mean(), scale)
        for p in (20, 50, 80):
            assert close(out[f"p{p}"][i], np.percentile(v, p), scale)
        assert close(out["range_p20_p80"][i],
                     np.percentile(v, 80) - np.percentile(v, 20), scale)
        assert out["min"][i] == v.min() and out["max"][i] == v.max()
        if v.size < 2:
            for name in ("std", "slope", "skew", "kurtosis"):
                assert np.isnan(out[name][i]), name
            continue
        assert close(out["std"][i], v.std(), scale)
        t = np.flatnonzero(valid) * hop
        assert close(out["slope"][i], np.polyfit(t, v, 1)[0], scale / hop)
        steps = np.diff(row) / hop
        rising, falling = steps[steps > 0], steps[steps < 0]
        assert (np.isnan(out["rising_slope_mean"][i]) if rising.size == 0
                else close(out["rising_slope_mean"][i], rising.mean(), scale / hop))
        assert (np.isnan(out["falling_slope_mean"][i]) if falling.size == 0
                else close(out["falling_slope_mean"][i], falling.mean(), scale / hop))
        if v.std() > 1e-6 * max(scale, 1.0):
            assert close(out["skew"][i], scipy.stats.skew(v), 1e3)
            assert close(out["kurtosis"][i], scipy.stats.kurtosis(v), 1e3)
            if v.mean() != 0:
                assert close(out["cv"][i], v.std() / abs(v.mean()), 1e3)
        elif np.ptp(v) == 0:
            assert np.isnan(out["skew"][i]) and np.isnan(out["kurtosis"][i])


@settings(max_examples=100, deadline=None)
@given(contour_matrices())
def test_functionals_of_a_row_do_not_depend_on_the_other_rows(x):
    together = compute_functionals(x, 0.01, FUNCTIONALS)
    for i in range(x.shape[0]):
        alone = compute_functionals(x[i:i + 1], 0.01, FUNCTIONALS)
        for name in FUNCTIONALS:
            np.testing.assert_array_equal(alone[name], together[name][i:i + 1],
                                          err_msg=name)


@settings(max_examples=100, deadline=None)
@given(contour_matrices(), st.data())
def test_infinite_frames_are_left_out_like_nan(x, data):
    holes = np.isnan(x)
    with_inf = x.copy()
    with_inf[holes] = data.draw(arrays(np.float64, int(holes.sum()),
                                       elements=st.sampled_from([np.inf, -np.inf,
                                                                 np.nan])))
    expected = compute_functionals(x, 0.01, FUNCTIONALS)
    got = compute_functionals(with_inf, 0.01, FUNCTIONALS)
    for name in FUNCTIONALS:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
