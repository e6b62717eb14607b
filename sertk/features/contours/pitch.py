"""Fundamental frequency and harmonicity from Praat's autocorrelation pitch.

F0 comes from Praat's ``To Pitch (ac)`` (Boersma 1993) with the floor and
ceiling of :class:`~sertk.settings.AnalysisSettings` and Praat's default
costs. Unvoiced frames are NaN. The harmonics-to-noise ratio is taken from
the same analysis: the normalised autocorrelation peak ``r`` of the chosen
candidate gives ``HNR = 10 log10(r / (1 - r))`` dB, which is how Praat's
``To Harmonicity (ac)`` defines it.

Examples
--------
>>> import numpy as np
>>> from sertk.features.contours import Analysis
>>> from sertk.settings import AnalysisSettings
>>> t = np.arange(16000) / 16000
>>> a = Analysis(0.3 * np.sin(2 * np.pi * 200 * t), AnalysisSettings())
>>> round(float(np.nanmedian(pitch_contours(a)["f0_hz"])))
200
"""

from __future__ import annotations

import numpy as np

from ._analysis import Analysis, align_to_grid

__all__ = ["SEMITONE_REFERENCE_HZ", "pitch_contours"]

#: Reference of the semitone scale (A0, as in openSMILE's eGeMAPS).
SEMITONE_REFERENCE_HZ = 27.5


def pitch_contours(analysis: Analysis) -> dict[str, np.ndarray]:
    """Return the F0 and HNR contours of an analysis.

    Parameters
    ----------
    analysis : Analysis
        The shared analysis of one signal.

    Returns
    -------
    dict of str to np.ndarray
        ``f0_hz`` (Hz), ``f0_semitone`` (semitones re 27.5 Hz) and ``hnr_db``
        (dB), each on the frame grid, NaN on unvoiced frames.
    """
    f0 = analysis.f0_hz
    strength = analysis.pitch.selected_array["strength"]
    r = np.clip(strength, 1e-6, 1 - 1e-6)
    hnr = np.where(analysis.pitch.selected_array["frequency"] > 0,
                   10 * np.log10(r / (1 - r)), np.nan)
    hnr = align_to_grid(analysis.pitch.xs(), hnr, analysis.n_frames,
                        analysis.settings.hop_seconds)
    return {
        "f0_hz": f0,
        "f0_semitone": 12 * np.log2(f0 / SEMITONE_REFERENCE_HZ),
        "hnr_db": hnr,
    }
