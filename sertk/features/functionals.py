"""Statistics that turn frame-level contours into utterance-level features.

Every functional ignores NaN frames (unvoiced, silent or otherwise undefined)
and is computed for many contours at once on a ``(n_contours, n_frames)``
matrix. A functional is NaN when its contour has too few valid frames: one
for the location statistics (mean, percentiles, min, max), two for the
others. ``skew`` and ``kurtosis`` are NaN for a constant contour, ``cv``
when the mean is 0, and the rising (falling) slope mean when no step rises
(falls).

=====================  ========================================================
name                   definition
=====================  ========================================================
``mean``               arithmetic mean
``std``                standard deviation (population, ``ddof=0``)
``cv``                 coefficient of variation, ``std / |mean|``
``p20``/``p50``/``p80``  20th, 50th, 80th percentile (linear interpolation)
``range_p20_p80``      ``p80 - p20``
``min``/``max``        extremes
``skew``               third standardised moment
``kurtosis``           fourth standardised moment minus 3 (excess)
``slope``              least-squares slope against time, unit per second
``rising_slope_mean``  mean of the positive frame-to-frame slopes, unit/s
``falling_slope_mean`` mean of the negative frame-to-frame slopes, unit/s
=====================  ========================================================

Frame-to-frame slopes use consecutive frames that are both valid.

Examples
--------
>>> import numpy as np
>>> x = np.array([[1.0, 2.0, np.nan, 4.0]])
>>> compute_functionals(x, 0.01, ["mean", "max"])["mean"]
array([2.33333333])
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..errors import ParameterError

__all__ = ["FUNCTIONALS", "compute_functionals"]

#: Functional name -> (short definition, how the unit changes).
FUNCTIONALS: dict[str, tuple[str, str]] = {
    "mean": ("arithmetic mean", "unit"),
    "std": ("standard deviation", "unit"),
    "cv": ("coefficient of variation std/|mean|", "ratio"),
    "p20": ("20th percentile", "unit"),
    "p50": ("median (50th percentile)", "unit"),
    "p80": ("80th percentile", "unit"),
    "range_p20_p80": ("80th minus 20th percentile", "unit"),
    "min": ("minimum", "unit"),
    "max": ("maximum", "unit"),
    "skew": ("skewness", "ratio"),
    "kurtosis": ("excess kurtosis", "ratio"),
    "slope": ("linear regression slope against time", "unit/s"),
    "rising_slope_mean": ("mean positive frame-to-frame slope", "unit/s"),
    "falling_slope_mean": ("mean negative frame-to-frame slope", "unit/s"),
    "step_std": ("standard deviation of the frame-to-frame slope", "unit/s"),
}


def _mean_where(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    count = keep.sum(axis=1)
    total = np.where(keep, x, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _moments(x: np.ndarray, keep: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise count, mean, deviations (0 where not kept) and population std.

    The std is NaN for rows with fewer than two kept values.
    """
    count = keep.sum(axis=1)
    mean = _mean_where(x, keep)
    dev = np.where(keep, x - mean[:, None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(count > 1, (dev * dev).sum(axis=1) / np.maximum(count, 1),
                       np.nan)
        return count, mean, dev, np.sqrt(var)


def _nan_percentiles(x: np.ndarray, n: np.ndarray, percents: Iterable[float]
                     ) -> list[np.ndarray]:
    """Row-wise percentiles ignoring NaN, as ``np.nanpercentile(..., axis=1)``.

    One sort of the whole matrix (NaN sort last) instead of one call a row.
    """
    ordered = np.sort(x, axis=1)
    rows = np.arange(x.shape[0])
    last = np.maximum(n - 1, 0)
    out = []
    for q in percents:
        position = last * (q / 100.0)
        below = np.floor(position).astype(int)
        above = np.minimum(below + 1, last)
        fraction = position - below
        low, high = ordered[rows, below], ordered[rows, above]
        value = low + (high - low) * fraction
        out.append(np.where(n > 0, value, np.nan))
    return out


def compute_functionals(
    contours: np.ndarray, hop_seconds: float, names: Iterable[str]
) -> dict[str, np.ndarray]:
    """Compute functionals of many contours at once, ignoring NaN frames.

    Parameters
    ----------
    contours : np.ndarray, shape (n_contours, n_frames)
        Frame values; NaN (or an infinite value) marks frames to leave out.
    hop_seconds : float > 0
        Time between frames, for the slopes.
    names : iterable of str
        Functionals wanted, from :data:`FUNCTIONALS`.

    Returns
    -------
    dict of str to np.ndarray, each shape (n_contours,)

    Raises
    ------
    ParameterError
        If a name is not a known functional.

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.arange(100.0)[None, :]
    >>> compute_functionals(ramp, 0.01, ["slope"])["slope"]
    array([100.])
    """
    names = list(names)
    unknown = [n for n in names if n not in FUNCTIONALS]
    if unknown:
        raise ParameterError(
            f"unknown functional(s) {unknown}; choose from {list(FUNCTIONALS)}"
        )
    x = np.asarray(contours, dtype=float)
    valid = np.isfinite(x)
    n, mean, dev, std = _moments(x, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        flat = ~(std > 1e-12 * np.maximum(np.abs(mean), 1.0))
        out: dict[str, np.ndarray] = {}
        if "mean" in names:
            out["mean"] = mean
        if "std" in names:
            out["std"] = std
        if "cv" in names:
            out["cv"] = np.where(np.abs(mean) > 0, std / np.abs(mean), np.nan)
        if "skew" in names or "kurtosis" in names:
            z = dev / np.where(flat, 1.0, std)[:, None]
            z2 = z * z
            safe_n = np.maximum(n, 1)
            if "skew" in names:
                out["skew"] = np.where(flat, np.nan, (z2 * z).sum(axis=1) / safe_n)
            if "kurtosis" in names:
                out["kurtosis"] = np.where(
                    flat, np.nan, (z2 * z2).sum(axis=1) / safe_n - 3.0
                )
        if {"p20", "p50", "p80", "range_p20_p80"} & set(names):
            finite = np.where(valid, x, np.nan)
            p20, p50, p80 = _nan_percentiles(finite, n, (20.0, 50.0, 80.0))
            for name, value in (("p20", p20), ("p50", p50), ("p80", p80),
                                ("range_p20_p80", p80 - p20)):
                if name in names:
                    out[name] = value
        if "min" in names:
            out["min"] = np.where(n > 0, np.where(valid, x, np.inf).min(axis=1), np.nan)
        if "max" in names:
            out["max"] = np.where(
                n > 0, np.where(valid, x, -np.inf).max(axis=1), np.nan
            )
        if "slope" in names:
            t = np.arange(x.shape[1]) * hop_seconds
            t_mean = _mean_where(np.broadcast_to(t, x.shape), valid)
            t_dev = np.where(valid, t[None, :] - t_mean[:, None], 0.0)
            denominator = (t_dev * t_dev).sum(axis=1)
            out["slope"] = np.where(
                (n > 1) & (denominator > 0),
                (t_dev * dev).sum(axis=1) / denominator,
                np.nan,
            )
        if {"rising_slope_mean", "falling_slope_mean", "step_std"} & set(names):
            steps = np.diff(np.where(valid, x, np.nan), axis=1) / hop_seconds
            if "rising_slope_mean" in names:
                out["rising_slope_mean"] = _mean_where(steps, steps > 0)
            if "falling_slope_mean" in names:
                out["falling_slope_mean"] = _mean_where(steps, steps < 0)
            if "step_std" in names:
                out["step_std"] = _moments(steps, np.isfinite(steps))[3]
    return {name: out[name] for name in names}
