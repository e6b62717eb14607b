"""Low-level contours: frame-level F0, energy, formants, voice quality, spectra.

Each group is a pure function of an :class:`Analysis` (a signal, its settings
and the intermediates computed once and shared). *Contour* groups return
arrays on the frame grid (NaN where undefined); *descriptor* groups return
utterance-level values whose names are already feature columns.

Any contour defined on active or all frames also has two *voicing variants*,
``<contour>_voiced`` and ``<contour>_unvoiced``, which keep only its voiced
(or only its unvoiced) frames, and every named contour (not ``mfccNN``, whose
``mfccNN_delta`` librosa computes) has a *rate of change*,
``<contour>_delta``: ``(x[t + 1] - x[t - 1]) / (2 hop)`` in its unit a
second, NaN where either neighbour is (so a voiced-only contour changes only
inside voiced runs). :func:`contour_values` resolves both.

:data:`CONTOURS` and :data:`DESCRIPTORS` document every name: its group,
unit, the frames it is defined on and what it measures.

Examples
--------
>>> import numpy as np
>>> from sertk.settings import AnalysisSettings
>>> t = np.arange(16000) / 16000
>>> a = Analysis(0.3 * np.sin(2 * np.pi * 200 * t), AnalysisSettings())
>>> sorted(compute_group("pitch", a))
['f0_hz', 'f0_semitone', 'hnr_db']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...errors import ParameterError
from ._analysis import Analysis
from ._librosa import import_spectral
from .energy import energy_contours
from .formants import formant_contours
from .pitch import pitch_contours
from .spectral import spectral_contours
from .temporal import temporal_descriptors
from .voice_quality import harmonic_contours, perturbation_descriptors

__all__ = [
    "CONTOURS",
    "DESCRIPTORS",
    "DESCRIPTOR_GROUPS",
    "GROUPS",
    "RATE_UNIT_SUFFIX",
    "Analysis",
    "ContourInfo",
    "VOICING_VARIANTS",
    "compute_group",
    "contour_info",
    "contour_values",
    "import_spectral",
    "rate_of_change",
]


@dataclass(frozen=True)
class ContourInfo:
    """What a contour or descriptor is.

    Parameters
    ----------
    group : str
        The group (key of :data:`GROUPS`) that computes it.
    unit : str
        Its unit.
    frames : str
        Frames it is defined on: ``"voiced"``, ``"active"`` or ``"all"``
        (``"utterance"`` for descriptors).
    description : str
        What it measures and how.
    library : str
        The library that computes it: Praat (through parselmouth), librosa,
        or NumPy (on what those computed).
    """

    group: str
    unit: str
    frames: str
    description: str
    library: str


#: Group name -> function of an Analysis.
GROUPS: dict[str, Callable[[Analysis], dict]] = {
    "pitch": pitch_contours,
    "energy": energy_contours,
    "formants": formant_contours,
    "harmonics": harmonic_contours,
    "spectral": spectral_contours,
    "perturbation": perturbation_descriptors,
    "temporal": temporal_descriptors,
}

#: Groups that return utterance-level descriptors rather than contours.
DESCRIPTOR_GROUPS = ("perturbation", "temporal")

_PRAAT_PITCH = "Praat To Pitch (ac), floor f0_min, ceiling f0_max, 10 ms step"
_PRAAT = "Praat (parselmouth)"
_ON_STFT = "NumPy (on librosa's stft)"
_ON_PITCH = "NumPy (on Praat's voicing)"

#: Contour name -> ContourInfo (MFCC names are described by :func:`contour_info`).
CONTOURS: dict[str, ContourInfo] = {
    "f0_hz": ContourInfo("pitch", "Hz", "voiced",
                         f"Fundamental frequency; {_PRAAT_PITCH}", _PRAAT),
    "f0_semitone": ContourInfo("pitch", "semitones re 27.5 Hz", "voiced",
                               "F0 on a semitone scale, 12 log2(F0 / 27.5 Hz)",
                               _PRAAT),
    "hnr_db": ContourInfo("pitch", "dB", "voiced",
                          "Harmonics-to-noise ratio 10 log10(r / (1 - r)) from "
                          "the pitch analysis' autocorrelation peak r", _PRAAT),
    "intensity_db": ContourInfo("energy", "dB re 2e-5", "all",
                                "Praat To Intensity, minimum pitch f0_min, mean "
                                "kept; NaN on digital silence", _PRAAT),
    "rms_db": ContourInfo("energy", "dBFS", "all", "RMS level of the 25 ms frame",
                          "librosa (feature.rms)"),
    "loudness": ContourInfo("energy", "arbitrary (sone-like)", "all",
                            "Sum over mel bands of band power ** 0.3",
                            "librosa (feature.melspectrogram)"),
    "h1_h2": ContourInfo("harmonics", "dB", "voiced",
                         "First minus second harmonic level, 64 ms Hann spectrum, "
                         "uncorrected for formants",
                         "NumPy (FFT of librosa frames at Praat's F0)"),
    "spectral_centroid": ContourInfo("spectral", "Hz", "active",
                                     "Magnitude-weighted mean frequency",
                                     "librosa (feature.spectral_centroid)"),
    "spectral_rolloff": ContourInfo("spectral", "Hz", "active",
                                    "Frequency below which 85 % of the power lies",
                                    "librosa (feature.spectral_rolloff)"),
    "spectral_flatness": ContourInfo("spectral", "ratio", "active",
                                     "Geometric over arithmetic mean of the power",
                                     "librosa (feature.spectral_flatness)"),
    "spectral_flux": ContourInfo("spectral", "ratio", "active",
                                 "Squared change of the L1-normalised magnitude "
                                 "spectrum between frames", _ON_STFT),
    "spectral_slope_0_500": ContourInfo("spectral", "dB/kHz", "active",
                                        "Slope of the dB spectrum 0-500 Hz", _ON_STFT),
    "spectral_slope_500_1500": ContourInfo("spectral", "dB/kHz", "active",
                                           "Slope of the dB spectrum 500-1500 Hz",
                                           _ON_STFT),
    "alpha_ratio": ContourInfo("spectral", "dB", "active",
                               "Energy 1-5 kHz over energy 50 Hz-1 kHz", _ON_STFT),
    "hammarberg": ContourInfo("spectral", "dB", "active",
                              "Strongest peak 0-2 kHz minus strongest peak 2-5 kHz",
                              _ON_STFT),
    "zcr": ContourInfo("spectral", "1/s", "active",
                       "Zero crossings a second in the 25 ms frame",
                       "NumPy (the count of librosa.feature.zero_crossing_rate)"),
}
for _k in (1, 2, 3):
    CONTOURS[f"f{_k}_hz"] = ContourInfo(
        "formants", "Hz", "voiced",
        f"Formant F{_k} frequency; Praat To Formant (burg), ceiling max_formant, "
        "n_formants formants, 25 ms window", _PRAAT)
    CONTOURS[f"f{_k}_bw"] = ContourInfo(
        "formants", "Hz", "voiced", f"Formant F{_k} bandwidth; same analysis", _PRAAT)

_PRAAT_PULSES = "Praat To PointProcess (cc), periods 0.1-20 ms, factor 1.3"

#: Descriptor (feature column) -> ContourInfo.
DESCRIPTORS: dict[str, ContourInfo] = {
    "jitter__local": ContourInfo("perturbation", "ratio", "utterance",
                                 f"Praat Get jitter (local); {_PRAAT_PULSES}",
                                 _PRAAT),
    "shimmer__local": ContourInfo("perturbation", "ratio", "utterance",
                                  "Praat Get shimmer (local), amplitude factor 1.6",
                                  _PRAAT),
    "shimmer__local_db": ContourInfo("perturbation", "dB", "utterance",
                                     "Praat Get shimmer (local_dB)", _PRAAT),
    "duration__seconds": ContourInfo("temporal", "s", "utterance",
                                     "Duration of the analysed signal", "NumPy"),
    "voiced__fraction": ContourInfo("temporal", "ratio", "utterance",
                                    "Fraction of frames that are voiced", _ON_PITCH),
}
for _name, _what in (("voiced_segment", "runs of voiced frames"),
                     ("pause", "unvoiced runs between voiced segments")):
    DESCRIPTORS[f"{_name}__count"] = ContourInfo("temporal", "count", "utterance",
                                                 f"Number of {_what}", _ON_PITCH)
    DESCRIPTORS[f"{_name}__rate"] = ContourInfo("temporal", "1/s", "utterance",
                                                f"Number of {_what} a second",
                                                _ON_PITCH)
    DESCRIPTORS[f"{_name}__mean_length"] = ContourInfo("temporal", "s", "utterance",
                                                       f"Mean length of {_what}",
                                                       _ON_PITCH)
    DESCRIPTORS[f"{_name}__std_length"] = ContourInfo(
        "temporal", "s", "utterance", f"Standard deviation of the length of {_what}",
        _ON_PITCH)

_MFCC = re.compile(r"^mfcc(\d{2})(_delta)?$")
_MELBAND = re.compile(r"^melband(\d{2})$")

#: Suffixes that restrict a contour to voiced or unvoiced frames.
VOICING_VARIANTS = ("voiced", "unvoiced")
_DELTA = "_delta"
#: What a rate of change's unit adds to its contour's (``"Hz per s"``).
RATE_UNIT_SUFFIX = " per s"


def _split_variant(name: str) -> tuple[str, str | None]:
    base, _, variant = name.rpartition("_")
    if base and variant in VOICING_VARIANTS:
        return base, variant
    return name, None


def _rate_info(name: str) -> ContourInfo | None:
    base = name.removesuffix(_DELTA)
    info = CONTOURS.get(base) if base != name else None
    if info is None:
        return None
    return ContourInfo(info.group, info.unit + RATE_UNIT_SUFFIX, info.frames,
                       f"Rate of change of {base}, (x[t + 1] - x[t - 1]) / (2 hop), "
                       "NaN where either neighbour is",
                       info.library if info.library.startswith("NumPy")
                       else f"NumPy (on {info.library})")


def _base_info(name: str) -> ContourInfo | None:
    if name in CONTOURS:
        return CONTOURS[name]
    info = _rate_info(name)
    if info is not None:
        return info
    match = _MFCC.match(name)
    if match and int(match.group(1)) > 0:
        k = int(match.group(1))
        if match.group(2):
            return ContourInfo("spectral", "per frame", "active",
                               f"Regression delta (+/-2 frames) of MFCC {k}",
                               "librosa (feature.delta)")
        return ContourInfo("spectral", "dB (cepstral)", "active",
                           f"MFCC {k}: DCT-II of the log power in n_mels HTK mel bands",
                           "librosa (feature.mfcc)")
    match = _MELBAND.match(name)
    if match and int(match.group(1)) > 0:
        return ContourInfo("spectral", "dB", "active",
                           f"Log power of HTK mel band {int(match.group(1))}",
                           "librosa (feature.melspectrogram)")
    return None


def contour_info(name: str) -> ContourInfo:
    """Describe a contour or descriptor by name.

    Parameters
    ----------
    name : str
        A key of :data:`CONTOURS` or :data:`DESCRIPTORS`, ``mfccNN``,
        ``mfccNN_delta``, ``melbandNN``, the rate of change of a key of
        :data:`CONTOURS` (``loudness_delta``), or a voicing variant of a
        contour (``mfcc03_voiced``, ``loudness_unvoiced``).

    Returns
    -------
    ContourInfo

    Raises
    ------
    ParameterError
        If the name is unknown.

    Examples
    --------
    >>> contour_info("mfcc03").group
    'spectral'
    >>> contour_info("loudness_voiced").frames
    'voiced'
    >>> contour_info("f0_semitone_delta").unit
    'semitones re 27.5 Hz per s'
    """
    if name in DESCRIPTORS:
        return DESCRIPTORS[name]
    info = _base_info(name)
    if info is not None:
        return info
    base, variant = _split_variant(name)
    info = _base_info(base) if variant else None
    if info is not None and info.frames in ("active", "all"):
        frames = variant if info.frames == "all" else f"{variant} and {info.frames}"
        return ContourInfo(info.group, info.unit, frames,
                           f"{info.description}; {variant} frames only",
                           f"{info.library}; voicing by Praat")
    raise ParameterError(
        f"unknown contour {name!r}; known: {sorted(CONTOURS)}, their _delta rates, "
        f"mfccNN, mfccNN_delta, melbandNN, their _voiced/_unvoiced variants, and "
        f"descriptors "
        f"{sorted(DESCRIPTORS)}")


def contour_values(name: str, computed: dict[str, np.ndarray],
                   analysis: Analysis) -> np.ndarray:
    """Return a contour by name from its group's output, resolving variants.

    Parameters
    ----------
    name : str
        A contour name (see :func:`contour_info`).
    computed : dict of str to np.ndarray
        Contours computed by the groups so far.
    analysis : Analysis
        The analysis, for the voicing mask of variants.

    Returns
    -------
    np.ndarray, shape (analysis.n_frames,)

    Examples
    --------
    >>> import numpy as np
    >>> from sertk.settings import AnalysisSettings
    >>> a = Analysis(np.zeros(1600), AnalysisSettings())
    >>> contour_values("x_voiced", {"x": np.ones(a.n_frames)}, a)[:3]
    array([nan, nan, nan])
    >>> contour_values("x_delta", {"x": np.arange(a.n_frames) / 10}, a)[:3]
    array([nan, 10., 10.])
    """
    if name in computed:
        return computed[name]
    base, variant = _split_variant(name)
    if variant is None:
        base = name.removesuffix(_DELTA)
        return rate_of_change(computed[base], analysis.settings.hop_seconds)
    keep = analysis.voiced if variant == "voiced" else ~analysis.voiced
    return np.where(keep, contour_values(base, computed, analysis), np.nan)


def rate_of_change(values: np.ndarray, hop_seconds: float) -> np.ndarray:
    """Return a contour's centred rate of change, in its unit a second.

    Parameters
    ----------
    values : np.ndarray, shape (n_frames,)
        The contour, NaN where undefined.
    hop_seconds : float > 0
        Time between frames.

    Returns
    -------
    np.ndarray, shape (n_frames,)
        ``(values[t + 1] - values[t - 1]) / (2 hop_seconds)``; NaN at both
        ends and wherever either neighbour is NaN.

    Examples
    --------
    >>> rate_of_change(np.array([0.0, 1.0, 3.0, np.nan, 4.0]), 0.5)
    array([nan,  3., nan,  1., nan])
    """
    rate = np.full(values.shape, np.nan)
    rate[1:-1] = (values[2:] - values[:-2]) / (2 * hop_seconds)
    return rate


def compute_group(group: str, analysis: Analysis, frames: slice | None = None
                  ) -> dict[str, np.ndarray | float]:
    """Run one contour group on an analysis.

    Parameters
    ----------
    group : str
        A key of :data:`GROUPS`.
    analysis : Analysis
        The shared analysis of one signal.
    frames : slice, optional
        For descriptor groups (:data:`DESCRIPTOR_GROUPS`): the span of frames
        to describe, the whole signal when omitted. Contour groups always
        cover the whole signal and ignore it.

    Returns
    -------
    dict
        Contour name -> frame array, or descriptor column -> float.

    Raises
    ------
    ParameterError
        If the group is unknown.
    """
    try:
        function = GROUPS[group]
    except KeyError:
        raise ParameterError(
            f"unknown contour group {group!r}; choose from {list(GROUPS)}") from None
    if group in DESCRIPTOR_GROUPS:
        return function(analysis, frames)
    return function(analysis)
