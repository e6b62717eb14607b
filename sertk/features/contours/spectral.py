"""Spectral shape from one shared short-time spectrum.

All contours here come from the power spectrum of :class:`Analysis` (25 ms
Hann window, 512-point FFT, 10 ms hop at 16 kHz) and are kept on *active*
frames only (see :class:`~sertk.settings.AnalysisSettings`); silent frames
are NaN. Definitions (``P`` power, ``|X|`` magnitude, ``f`` bin frequency):

- ``mfccNN``: MFCC ``NN`` (1..n_mfcc), DCT-II (orthonormal) of the log mel
  power (``n_mels`` HTK bands, Slaney's area normalisation), as librosa
  computes it with ``htk=True``; ``mfccNN_delta``:
  its regression delta over +/-2 frames (per frame).
- ``melbandNN``: log power of mel band ``NN`` (1..n_mels), dB re full scale.
- ``spectral_centroid``: sum(f |X|) / sum(|X|), Hz.
- ``spectral_rolloff``: frequency below which 85 % of the power lies, Hz.
- ``spectral_flatness``: geometric over arithmetic mean of P (0..1).
- ``spectral_flux``: squared difference of consecutive L1-normalised
  magnitude spectra.
- ``spectral_slope_0_500``, ``spectral_slope_500_1500``: least-squares slope
  of the dB spectrum over those bands, dB/kHz (as in eGeMAPS).
- ``alpha_ratio``: energy 1-5 kHz over energy 50 Hz-1 kHz, dB.
- ``hammarberg``: strongest peak 0-2 kHz minus strongest peak 2-5 kHz, dB.
- ``zcr``: zero crossings a second within the 25 ms frame.

Examples
--------
>>> import numpy as np
>>> from sertk.features.contours import Analysis
>>> from sertk.settings import AnalysisSettings
>>> t = np.arange(16000) / 16000
>>> a = Analysis(np.sin(2 * np.pi * 1000 * t), AnalysisSettings())
>>> round(float(np.nanmedian(spectral_contours(a)["spectral_centroid"])), -1)
1000.0
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ._analysis import Analysis

__all__ = ["dct_matrix", "delta", "spectral_contours"]

_EPS = 1e-12


@lru_cache(maxsize=8)
def dct_matrix(n: int) -> np.ndarray:
    """Return the orthonormal DCT-II matrix of size ``n``.

    ``D[k, j] = sqrt(2 / n) cos(pi k (2 j + 1) / (2 n))``, row 0 divided by
    ``sqrt(2)``; ``D @ x`` is ``scipy.fft.dct(x, type=2, norm="ortho")``.

    Parameters
    ----------
    n : int > 0
        Size.

    Returns
    -------
    np.ndarray, shape (n, n)
        Read-only (it is cached); ``D @ D.T`` is the identity.

    Examples
    --------
    >>> import numpy as np
    >>> d = dct_matrix(4)
    >>> bool(np.allclose(d @ d.T, np.eye(4)))
    True
    >>> np.round(d @ np.ones(4), 12) + 0.0  # a constant has only a 0th term
    array([2., 0., 0., 0.])
    """
    k = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    out = np.sqrt(2 / n) * np.cos(np.pi * k * (2 * j + 1) / (2 * n))
    out[0] /= np.sqrt(2)
    out.flags.writeable = False
    return out


def delta(x: np.ndarray, width: int = 2) -> np.ndarray:
    """Regression delta along the last axis, edges repeated.

    ``d[t] = sum_n n (x[t+n] - x[t-n]) / (2 sum_n n^2)`` for ``n = 1..width``.

    Parameters
    ----------
    x : np.ndarray, shape (..., n_frames)
        Contours.
    width : int > 0, default=2
        Frames on each side.

    Returns
    -------
    np.ndarray, same shape as ``x``

    Examples
    --------
    >>> import numpy as np
    >>> delta(np.arange(6.0))
    array([0.5, 0.8, 1. , 1. , 0.8, 0.5])
    """
    padded = np.concatenate(
        [np.repeat(x[..., :1], width, -1), x, np.repeat(x[..., -1:], width, -1)], -1)
    n = x.shape[-1]
    out = np.zeros_like(x, dtype=float)
    for k in range(1, width + 1):
        out += k * (padded[..., width + k : width + k + n]
                    - padded[..., width - k : width - k + n])
    return out / (2 * sum(k * k for k in range(1, width + 1)))


def _band(freqs: np.ndarray, low: float, high: float) -> np.ndarray:
    return (freqs >= low) & (freqs < high)


def _band_slope(power_db: np.ndarray, freqs: np.ndarray, low: float, high: float
                ) -> np.ndarray:
    band = _band(freqs, low, high)
    f = freqs[band] / 1000.0
    f = f - f.mean()
    y = power_db[:, band]
    return (y - y.mean(axis=1, keepdims=True)) @ f / np.sum(f * f)


def spectral_contours(analysis: Analysis) -> dict[str, np.ndarray]:
    """Return the spectral-shape contours of an analysis (active frames only).

    Parameters
    ----------
    analysis : Analysis
        The shared analysis of one signal.

    Returns
    -------
    dict of str to np.ndarray
        ``mfcc01``..``mfccNN``, ``mfcc01_delta``.., ``melband01``.., and the
        spectral measures
        listed in the module docstring, each on the frame grid.
    """
    s = analysis.settings
    power = analysis.power
    freqs = analysis.frequencies
    magnitude = np.sqrt(power)
    power_db = 10 * np.log10(power + _EPS)

    log_mel = 10 * np.log10(np.maximum(analysis.mel_power, 1e-10))
    mfcc = dct_matrix(s.n_mels)[1 : s.n_mfcc + 1] @ log_mel.T
    mfcc_delta = delta(mfcc)

    total_mag = magnitude.sum(axis=1) + _EPS
    normalised = magnitude / total_mag[:, None]
    flux = np.empty(analysis.n_frames)
    flux[0] = np.nan
    flux[1:] = np.sum(np.diff(normalised, axis=0) ** 2, axis=1)
    cumulative = np.cumsum(power, axis=1)
    rolloff = freqs[np.argmax(cumulative >= 0.85 * cumulative[:, -1:], axis=1)]
    flatness = np.exp(np.mean(np.log(power + _EPS), axis=1)) / (
        np.mean(power, axis=1) + _EPS)
    low = power[:, _band(freqs, 50, 1000)].sum(axis=1) + _EPS
    high = power[:, _band(freqs, 1000, 5000)].sum(axis=1) + _EPS
    peak_low = power_db[:, _band(freqs, 0, 2000)].max(axis=1)
    peak_high = power_db[:, _band(freqs, 2000, 5000)].max(axis=1)

    start = (s.n_fft - s.win_length) // 2
    core = analysis.frames[:, start : start + s.win_length]
    signs = np.signbit(core)
    zcr = np.count_nonzero(signs[:, 1:] != signs[:, :-1], axis=1) / (
        s.win_length / s.sr)

    out = {f"mfcc{k:02d}": mfcc[k - 1] for k in range(1, s.n_mfcc + 1)}
    out.update({f"melband{k:02d}": log_mel[:, k - 1].copy()
                for k in range(1, s.n_mels + 1)})
    out.update({f"mfcc{k:02d}_delta": mfcc_delta[k - 1]
                for k in range(1, s.n_mfcc + 1)})
    out.update({
        "spectral_centroid": (magnitude @ freqs) / total_mag,
        "spectral_rolloff": rolloff,
        "spectral_flatness": flatness,
        "spectral_flux": flux,
        "spectral_slope_0_500": _band_slope(power_db, freqs, 0, 500),
        "spectral_slope_500_1500": _band_slope(power_db, freqs, 500, 1500),
        "alpha_ratio": 10 * np.log10(high / low),
        "hammarberg": peak_low - peak_high,
        "zcr": zcr,
    })
    inactive = ~analysis.active
    for values in out.values():
        values[inactive] = np.nan
    return out
