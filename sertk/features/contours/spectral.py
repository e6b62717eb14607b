"""Spectral shape from one shared short-time spectrum (librosa and NumPy).

All contours here (but ``zcr``) come from the power spectrum of
:class:`Analysis` (``librosa.stft``: 25 ms Hann window, 512-point FFT, 10 ms
hop at 16 kHz) and are kept on *active* frames only (see
:class:`~sertk.settings.AnalysisSettings`); silent frames are NaN. Measures
of one frame are computed on the active frames alone; those that read
neighbouring frames (deltas, flux) on all of them.
Definitions (``P`` power, ``|X|`` magnitude, ``f`` bin frequency), with the
library that computes each:

- ``mfccNN``: MFCC ``NN`` (1..n_mfcc), DCT-II (orthonormal) of the log mel
  power (``n_mels`` HTK bands, Slaney's area normalisation):
  ``librosa.feature.mfcc(S=...)`` of the ``melbandNN``; ``mfccNN_delta``:
  its regression delta over +/-2 frames (per frame), edges repeated,
  ``librosa.feature.delta(width=5, mode="nearest")``.
- ``melbandNN``: log power of mel band ``NN`` (1..n_mels), dB re full scale:
  ``librosa.power_to_db`` of ``librosa.feature.melspectrogram(S=P)``.
- ``spectral_centroid``: sum(f |X|) / sum(|X|), Hz;
  ``librosa.feature.spectral_centroid(S=|X|)``.
- ``spectral_rolloff``: frequency below which 85 % of the power lies, Hz;
  ``librosa.feature.spectral_rolloff(S=P)``.
- ``spectral_flatness``: geometric over arithmetic mean of P (0..1);
  ``librosa.feature.spectral_flatness(S=P, power=1)``.
- ``zcr``: zero crossings a second within the 25 ms frame, counted with
  NumPy (the sign changes between consecutive samples of the frame, as
  ``librosa.feature.zero_crossing_rate(threshold=0)`` counts them, times the
  sampling rate over the frame length): a count on the waveform, not a
  spectral measure, for which librosa's strided-frame version took ten times
  as long.
- ``spectral_flux``: squared difference of consecutive L1-normalised
  magnitude spectra (NumPy).
- ``spectral_slope_0_500``, ``spectral_slope_500_1500``: least-squares slope
  of the dB spectrum over those bands, dB/kHz (as in eGeMAPS; NumPy).
- ``alpha_ratio``: energy 1-5 kHz over energy 50 Hz-1 kHz, dB (NumPy).
- ``hammarberg``: strongest peak 0-2 kHz minus strongest peak 2-5 kHz, dB
  (NumPy).

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

import numpy as np

from ._analysis import Analysis, centred_frames
from ._librosa import load_librosa

__all__ = ["spectral_contours"]

_EPS = 1e-12
#: Contours of one frame's spectrum each, computed on the active frames alone.
_OF_A_FRAME = ("spectral_centroid", "spectral_rolloff", "spectral_flatness",
               "spectral_slope_0_500", "spectral_slope_500_1500", "alpha_ratio",
               "hammarberg")


def _band(freqs: np.ndarray, low: float, high: float) -> np.ndarray:
    return (freqs >= low) & (freqs < high)


def _band_slope(power_db: np.ndarray, freqs: np.ndarray, low: float, high: float
                ) -> np.ndarray:
    band = _band(freqs, low, high)
    f = freqs[band] / 1000.0
    f = f - f.mean()
    y = power_db[band]
    return f @ (y - y.mean(axis=0)) / np.sum(f * f)


def _flux(magnitude: np.ndarray) -> np.ndarray:
    """Squared difference of consecutive L1-normalised spectra (NaN first)."""
    normalised = magnitude / (magnitude.sum(axis=0) + _EPS)
    flux = np.empty(magnitude.shape[1])
    flux[0] = np.nan
    flux[1:] = np.sum(np.diff(normalised, axis=1) ** 2, axis=0)
    return flux


def _zero_crossing_rate(x: np.ndarray, frame_length: int, hop_length: int,
                        n_frames: int) -> np.ndarray:
    """Sign changes a sample within each frame centred on the grid.

    Zero counts as positive, so a change is a step between a negative sample
    and one that is not, inside the frame (the step into its first sample is
    the previous frame's): ``librosa.feature.zero_crossing_rate(threshold=0,
    center=False)`` of :func:`centred_frames`, as a cumulative count.
    """
    padded, _ = centred_frames(x, frame_length, hop_length)
    negative = padded < 0
    changes = np.zeros(padded.size, dtype=np.int64)
    np.cumsum(negative[1:] != negative[:-1], out=changes[1:])
    starts = np.arange(n_frames) * hop_length
    return (changes[starts + frame_length - 1] - changes[starts]) / frame_length


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
    librosa = load_librosa()
    feature = librosa.feature
    active = analysis.active
    freqs = analysis.frequencies
    all_magnitudes = np.sqrt(analysis.power)

    log_mel = librosa.power_to_db(analysis.mel_power, ref=1.0, amin=1e-10,
                                  top_db=None)
    mfcc = feature.mfcc(S=log_mel, n_mfcc=s.n_mfcc + 1, dct_type=2, norm="ortho",
                        lifter=0)[1:]
    mfcc_delta = feature.delta(mfcc, width=5, order=1, axis=-1, mode="nearest")

    out = {f"mfcc{k:02d}": mfcc[k - 1] for k in range(1, s.n_mfcc + 1)}
    out.update({f"melband{k:02d}": log_mel[k - 1]
                for k in range(1, s.n_mels + 1)})
    out.update({f"mfcc{k:02d}_delta": mfcc_delta[k - 1]
                for k in range(1, s.n_mfcc + 1)})
    out["spectral_flux"] = _flux(all_magnitudes)
    out["zcr"] = _zero_crossing_rate(analysis.signal, s.win_length, s.hop_length,
                                     analysis.n_frames) * s.sr
    inactive = ~active
    for values in out.values():
        values[inactive] = np.nan
    if not active.any():
        out.update({name: np.full(analysis.n_frames, np.nan) for name in _OF_A_FRAME})
        return out
    power = analysis.power[:, active]
    magnitude = all_magnitudes[:, active]
    power_db = 10 * np.log10(power + _EPS)
    low = power[_band(freqs, 50, 1000)].sum(axis=0) + _EPS
    high = power[_band(freqs, 1000, 5000)].sum(axis=0) + _EPS
    peak_low = power_db[_band(freqs, 0, 2000)].max(axis=0)
    peak_high = power_db[_band(freqs, 2000, 5000)].max(axis=0)
    of_active_frames = {
        "spectral_centroid": feature.spectral_centroid(S=magnitude, freq=freqs)[0],
        "spectral_rolloff": feature.spectral_rolloff(
            S=power, freq=freqs, roll_percent=0.85)[0],
        # offset, not floored, by _EPS: bins with next to no power (between
        # a synthetic tone's harmonics) weigh in as they always have
        "spectral_flatness": feature.spectral_flatness(
            S=power + _EPS, power=1.0, amin=_EPS)[0],
        "spectral_slope_0_500": _band_slope(power_db, freqs, 0, 500),
        "spectral_slope_500_1500": _band_slope(power_db, freqs, 500, 1500),
        "alpha_ratio": 10 * np.log10(high / low),
        "hammarberg": peak_low - peak_high,
    }
    for name, values in of_active_frames.items():
        out[name] = np.full(analysis.n_frames, np.nan)
        out[name][active] = values
    return out
