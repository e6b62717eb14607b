"""Temporal descriptors: duration, voicing and the rhythm of voiced segments.

A *voiced segment* is a run of consecutive voiced frames (Praat found a
pitch); a *pause* is a run of unvoiced frames between two voiced segments
(leading and trailing unvoiced stretches are not pauses). Lengths are in
seconds, rates in segments per second of the whole signal.

With no voiced frame, ``voiced__fraction`` and the counts are 0 and the
mean/std lengths are NaN.

Examples
--------
>>> import numpy as np
>>> from sertk.features.contours.temporal import runs
>>> runs(np.array([0, 1, 1, 0, 1], dtype=bool))
(array([2, 1]), array([1]))
"""

from __future__ import annotations

import numpy as np

from ._analysis import Analysis

__all__ = ["runs", "temporal_descriptors"]


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lengths (in frames) of the True runs, and of the False runs between them.

    Parameters
    ----------
    mask : np.ndarray of bool, shape (n,)

    Returns
    -------
    true_runs : np.ndarray of int
        Length of each run of True.
    gaps : np.ndarray of int
        Length of each run of False that has True on both sides.
    """
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    starts, ends = edges[::2], edges[1::2]
    return ends - starts, starts[1:] - ends[:-1]


def _stats(lengths: np.ndarray, hop: float) -> tuple[float, float]:
    if lengths.size == 0:
        return np.nan, np.nan
    seconds = lengths * hop
    return float(seconds.mean()), float(seconds.std())


def temporal_descriptors(analysis: Analysis, frames: slice | None = None
                         ) -> dict[str, float]:
    """Return the temporal descriptors of the signal, or of a span of frames.

    Parameters
    ----------
    analysis : Analysis
        The shared analysis of one signal.
    frames : slice, optional
        Frames ``[start, stop)`` of the span to describe; the whole signal
        when omitted.

    Returns
    -------
    dict of str to float
        ``duration__seconds``, ``voiced__fraction``, ``voiced_segment__count``,
        ``voiced_segment__rate``, ``voiced_segment__mean_length``,
        ``voiced_segment__std_length``, and the same four for ``pause``.
    """
    hop = analysis.settings.hop_seconds
    if frames is None:
        voiced, duration = analysis.voiced, analysis.duration
    else:
        voiced = analysis.voiced[frames]
        duration = max(voiced.size - 1, 0) * hop  # first to last frame centre
    segments, pauses = runs(voiced)
    out = {
        "duration__seconds": float(duration),
        "voiced__fraction": float(voiced.mean()) if voiced.size else np.nan,
    }
    for name, lengths in (("voiced_segment", segments), ("pause", pauses)):
        mean, std = _stats(lengths, hop)
        out[f"{name}__count"] = float(lengths.size)
        out[f"{name}__rate"] = lengths.size / duration if duration > 0 else np.nan
        out[f"{name}__mean_length"] = mean
        out[f"{name}__std_length"] = std
    return out
