"""Formant frequencies and bandwidths F1-F3 from Praat's Burg analysis.

The signal is first resampled to twice the formant ceiling with soxr (Praat
does the same inside ``To Formant (burg)``, more slowly), then analysed with
``To Formant (burg)``: ``n_formants`` formants below ``max_formant``, a
25 ms window, pre-emphasis from 50 Hz, one analysis frame every two hops
(20 ms at the defaults, which halves the cost of the slowest contour), read
on the 10 ms grid by Praat's linear interpolation. Values are kept on
voiced frames only, where formants are meaningful; elsewhere NaN.

Praat analyses every frame, but skips one whose window holds only zeros, and
a frame's formants depend only on the samples in its window (and, through
the pre-emphasis, on the sample before it). So the samples no voiced read
can reach are set to zero first (:func:`keep_near`): the formants read are
the same, and the unvoiced stretches cost next to nothing.

Examples
--------
>>> import numpy as np
>>> from sertk.features.contours import Analysis
>>> from sertk.settings import AnalysisSettings
>>> rng = np.random.default_rng(0)
>>> a = Analysis(0.1 * rng.standard_normal(8000), AnalysisSettings())
>>> sorted(formant_contours(a))[:3]
['f1_bw', 'f1_hz', 'f2_bw']
"""

from __future__ import annotations

import numpy as np
import soxr

from ._analysis import Analysis

__all__ = ["N_REPORTED", "formant_contours", "keep_near"]

#: Formants reported (F1..F3).
N_REPORTED = 3
#: Praat's "window length" of the Burg analysis: half its Gaussian window, s.
_HALF_WINDOW = 0.025


def keep_near(x: np.ndarray, sr: int, times: np.ndarray, reach: float
              ) -> np.ndarray:
    """Return ``x`` with zeros wherever no time of ``times`` is within ``reach``.

    Parameters
    ----------
    x : np.ndarray, shape (n,)
        The signal.
    sr : int
        Its sampling rate in Hz.
    times : np.ndarray
        Times in seconds from the first sample.
    reach : float
        Seconds either side of each time whose samples are kept.

    Returns
    -------
    np.ndarray, shape (n,)
        A copy of ``x``, zero outside the kept stretches.

    Examples
    --------
    >>> keep_near(np.ones(10), 10, np.array([0.5]), 0.2).tolist()
    [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    """
    n = x.size
    first = np.clip(np.floor((times - reach) * sr).astype(int), 0, n)
    after = np.clip(np.floor((times + reach) * sr).astype(int) + 1, 0, n)
    starts_minus_ends = (np.bincount(first, minlength=n + 1)
                         - np.bincount(after, minlength=n + 1))
    return np.where(np.cumsum(starts_minus_ends)[:n] > 0, x, 0.0)


def formant_contours(analysis: Analysis) -> dict[str, np.ndarray]:
    """Return F1-F3 frequency and bandwidth contours (Hz) on voiced frames.

    Parameters
    ----------
    analysis : Analysis
        The shared analysis of one signal.

    Returns
    -------
    dict of str to np.ndarray
        ``f1_hz``, ``f2_hz``, ``f3_hz``, ``f1_bw``, ``f2_bw``, ``f3_bw``.
    """
    import parselmouth

    s = analysis.settings
    out = {f"f{k}_{kind}": np.full(analysis.n_frames, np.nan)
           for k in range(1, N_REPORTED + 1) for kind in ("hz", "bw")}
    voiced = np.flatnonzero(analysis.voiced)
    if voiced.size == 0:
        return out
    target_sr = int(round(2 * s.max_formant))
    x = analysis.signal
    if target_sr != s.sr:
        x = soxr.resample(x, s.sr, target_sr, quality="HQ")
    times = voiced * s.hop_seconds
    time_step = 2 * s.hop_seconds
    # a read interpolates the two frames around it, whose windows reach
    # _HALF_WINDOW further, and the pre-emphasis one sample before that
    x = keep_near(x, target_sr, times, time_step + _HALF_WINDOW + 2 / target_sr)
    sound = parselmouth.Sound(x, sampling_frequency=target_sr)
    formant = sound.to_formant_burg(
        time_step=time_step,
        max_number_of_formants=s.n_formants,
        maximum_formant=s.max_formant,
        window_length=_HALF_WINDOW,
        pre_emphasis_from=50.0,
    )
    for k in range(1, N_REPORTED + 1):
        out[f"f{k}_hz"][voiced] = [formant.get_value_at_time(k, t) for t in times]
        out[f"f{k}_bw"][voiced] = [formant.get_bandwidth_at_time(k, t) for t in times]
    return out
