"""Voice quality: jitter and shimmer (Praat point process) and H1-H2.

- ``jitter__local``: Praat ``Get jitter (local)`` over the glottal pulses of
  ``To PointProcess (cc)``: mean absolute difference of consecutive periods
  divided by the mean period (a ratio; 0.01 is 1 %). Period range
  0.1-20 ms, maximum period factor 1.3 (Praat's standard settings).
- ``shimmer__local`` and ``shimmer__local_db``: Praat ``Get shimmer (local)``
  and ``(local_dB)`` on the same pulses, maximum amplitude factor 1.6 (of
  the pulses' peak amplitudes, ``To AmplitudeTier (period)``, read once).
- ``h1_h2``: level difference in dB between the first two harmonics, read
  from a 64 ms Hann-windowed spectrum on voiced frames (strongest bin
  within +/-20 % of F0 and of 2 F0, refined by parabolic interpolation of
  the dB spectrum), not corrected for formants.

All are NaN where no voiced speech was found.

Examples
--------
>>> import numpy as np
>>> from sertk.features.contours import Analysis
>>> from sertk.settings import AnalysisSettings
>>> t = np.arange(16000) / 16000
>>> x = np.sin(2 * np.pi * 150 * t) + 0.25 * np.sin(2 * np.pi * 300 * t)
>>> a = Analysis(0.3 * x, AnalysisSettings())
>>> round(float(np.nanmedian(harmonic_contours(a)["h1_h2"])))
12
"""

from __future__ import annotations

import numpy as np

from ._analysis import Analysis, frame_signal

__all__ = ["harmonic_contours", "perturbation_descriptors"]

_PERIOD_FLOOR = 0.0001
_PERIOD_CEILING = 0.02
_MAX_PERIOD_FACTOR = 1.3
_MAX_AMPLITUDE_FACTOR = 1.6


def perturbation_descriptors(analysis: Analysis, frames: slice | None = None
                             ) -> dict[str, float]:
    """Return local jitter and shimmer of the signal, or of a span of frames.

    Parameters
    ----------
    analysis : Analysis
        The shared analysis of one signal.
    frames : slice, optional
        Frames ``[start, stop)`` of the span to describe; the whole signal
        when omitted. The glottal pulses are found once for the signal.

    Returns
    -------
    dict of str to float
        ``jitter__local`` (ratio), ``shimmer__local`` (ratio) and
        ``shimmer__local_db`` (dB); NaN when there are too few pulses.
    """
    import parselmouth
    from parselmouth.praat import call

    names = ("jitter__local", "shimmer__local", "shimmer__local_db")
    out = dict.fromkeys(names, np.nan)
    frames = frames or slice(None)
    if not analysis.voiced[frames].any():
        return out
    start, stop, _ = frames.indices(analysis.n_frames)
    hop = analysis.settings.hop_seconds
    span = (0.0, 0.0) if frames == slice(None) else (start * hop, stop * hop)
    periods = (_PERIOD_FLOOR, _PERIOD_CEILING, _MAX_PERIOD_FACTOR)
    try:
        pulses = analysis.pulses
        out["jitter__local"] = call(pulses, "Get jitter (local)", *span, *periods)
        # the peak amplitudes both shimmers read, measured once: what the
        # Sound + PointProcess "Get shimmer" commands each do inside
        peaks = call([analysis.sound, pulses], "To AmplitudeTier (period)", *span,
                     *periods)
        for name, command in (("shimmer__local", "Get shimmer (local)"),
                              ("shimmer__local_db", "Get shimmer (local_dB)")):
            out[name] = call(peaks, command, _PERIOD_FLOOR, _PERIOD_CEILING,
                             _MAX_AMPLITUDE_FACTOR)
    except parselmouth.PraatError:
        pass  # too few pulses: the values stay NaN, as documented
    return {k: float(v) if v is not None else np.nan for k, v in out.items()}


def _harmonic_peak_db(
    power_db: np.ndarray, freqs: np.ndarray, centre: np.ndarray
) -> np.ndarray:
    """Level of the strongest bin within +/-20 % of ``centre``.

    A parabola through the bin and its neighbours removes the window's
    scalloping loss.
    """
    band = (freqs[None, :] >= 0.8 * centre[:, None]) & (
        freqs[None, :] <= 1.2 * centre[:, None]
    )
    k = np.argmax(np.where(band, power_db, -np.inf), axis=1)
    k = np.clip(k, 1, power_db.shape[1] - 2)
    rows = np.arange(power_db.shape[0])
    a, b, c = power_db[rows, k - 1], power_db[rows, k], power_db[rows, k + 1]
    curvature = a - 2 * b + c
    safe = np.where(curvature < 0, curvature, -1.0)
    return np.where(curvature < 0, b - (a - c) ** 2 / (8 * safe), b)


def harmonic_contours(analysis: Analysis) -> dict[str, np.ndarray]:
    """Return the H1-H2 contour (dB) on voiced frames.

    Parameters
    ----------
    analysis : Analysis
        The shared analysis of one signal.

    Returns
    -------
    dict of str to np.ndarray
        ``h1_h2`` on the frame grid, NaN on unvoiced frames.
    """
    s = analysis.settings
    h1_h2 = np.full(analysis.n_frames, np.nan)
    voiced = np.flatnonzero(analysis.voiced)
    if voiced.size == 0:
        return {"h1_h2": h1_h2}
    n_fft = int(2 ** np.ceil(np.log2(0.064 * s.sr)))
    frames = frame_signal(analysis.signal, n_fft, s.hop_length)[voiced]
    f0 = analysis.f0_hz[voiced]
    freqs = np.fft.rfftfreq(n_fft, 1 / s.sr)
    # the bins a search can reach: up to 1.2 times the highest 2 F0, and the
    # parabola's neighbour above
    n_bins = min(freqs.size, int(np.searchsorted(freqs, 2.4 * f0.max())) + 2)
    spectrum = np.fft.rfft(frames * np.hanning(n_fft), axis=1)[:, :n_bins]
    power_db = 10 * np.log10(np.maximum(spectrum.real**2 + spectrum.imag**2, 1e-20))
    freqs = freqs[:n_bins]
    h1_h2[voiced] = _harmonic_peak_db(power_db, freqs, f0) - _harmonic_peak_db(
        power_db, freqs, 2 * f0
    )
    return {"h1_h2": h1_h2}
