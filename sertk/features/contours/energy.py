"""Energy contours: Praat intensity, frame RMS level and auditory loudness.

- ``intensity_db``: Praat ``To Intensity`` with minimum pitch ``f0_min``
  (window 3.2 / f0_min s, mean not subtracted), in dB re 2e-5, the signal
  taken as pascals: a full-scale sine is about 91 dB. Digitally silent frames
  (below -100 dB) are NaN.
- ``rms_db``: RMS level of the 25 ms frame, dB re full scale.
- ``loudness``: a simple auditory loudness, the sum over the mel bands of the
  band power raised to 0.3 (Stevens' power law), on all frames.

Examples
--------
>>> import numpy as np
>>> from sertk.features.contours import Analysis
>>> from sertk.settings import AnalysisSettings
>>> t = np.arange(16000) / 16000
>>> a = Analysis(np.sin(2 * np.pi * 200 * t), AnalysisSettings())
>>> round(float(np.nanmedian(energy_contours(a)["intensity_db"])))
91
"""

from __future__ import annotations

import numpy as np

from ._analysis import Analysis, align_to_grid

__all__ = ["energy_contours"]


def energy_contours(analysis: Analysis) -> dict[str, np.ndarray]:
    """Return the energy contours of an analysis.

    Parameters
    ----------
    analysis : Analysis
        The shared analysis of one signal.

    Returns
    -------
    dict of str to np.ndarray
        ``intensity_db`` (dB SPL), ``rms_db`` (dBFS), ``loudness`` (arbitrary
        units, 0 for silence), each on the frame grid.
    """
    s = analysis.settings
    intensity = analysis.sound.to_intensity(
        minimum_pitch=s.f0_min, time_step=s.hop_seconds, subtract_mean=False
    )
    values = intensity.values[0]
    values = np.where(values > -100, values, np.nan)
    return {
        "intensity_db": align_to_grid(intensity.xs(), values, analysis.n_frames,
                                      s.hop_seconds),
        "rms_db": analysis.rms_db,
        "loudness": np.sum(analysis.mel_power**0.3, axis=0),
    }
