"""Analysis settings shared by every contour: one frozen, validated record.

The settings are everything that changes the numbers a feature extractor
produces; they are saved beside extracted features so a table can always be
reproduced.

Examples
--------
>>> from sertk.settings import AnalysisSettings
>>> s = AnalysisSettings(f0_min=60.0)
>>> s.hop_seconds
0.01
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass

from .errors import ParameterError

__all__ = ["AnalysisSettings", "show_progress"]


@dataclass(frozen=True)
class AnalysisSettings:
    """Frame grid and analysis parameters of the low-level contours.

    Parameters
    ----------
    sr : int > 0, default=16000
        Analysis sampling rate in Hz; audio is resampled to it.
    hop_length : int > 0, default=160
        Samples between frame centres (10 ms at 16 kHz). Every contour is
        reported on this grid: frame ``i`` is centred at ``i * hop_length / sr``.
    win_length : int > 0, default=400
        Spectral analysis window in samples (25 ms at 16 kHz, Hann).
    n_fft : int >= win_length, default=512
        FFT size of the spectral analysis.
    f0_min : float > 0, default=75.0
        Pitch floor in Hz (Praat's ``pitch floor``). 75 Hz suits adult male
        and female voices; use 50-60 Hz for very deep voices.
    f0_max : float > f0_min, default=600.0
        Pitch ceiling in Hz. 600 Hz covers aroused female speech; raise it
        to 800-1000 Hz for children.
    n_mfcc : int > 0, default=16
        Number of MFCCs (coefficients 1..n_mfcc; the 0th is left out).
    n_mels : int >= n_mfcc + 1, default=26
        Mel bands behind the MFCCs and the loudness contour.
    max_formant : float > 0, default=5500.0
        Praat Burg "formant ceiling" in Hz (5000 suits male, 5500 female
        voices).
    n_formants : float > 0, default=5.0
        Number of formants Praat's Burg analysis looks for below
        ``max_formant``; F1-F3 are reported.
    silence_db : float > 0, default=40.0
        A frame is *active* (speech or other sound) when its RMS level is
        within ``silence_db`` of the loudest frame and above
        ``floor_dbfs``. Spectral contours are summarised over active frames.
    floor_dbfs : float, default=-70.0
        Absolute RMS level (dB re full scale) below which a frame is silent.
    noise_snr_db : float or None, default=10.0
        An active frame must also stand ``noise_snr_db`` above the
        recording's background noise (its power against the noise floor,
        estimated per frequency bin as the 10th percentile over time), unless
        it is within 15 dB of the loudest frame. This keeps pauses filled with
        room or line noise out of the spectral statistics. ``None`` turns the
        test off.
    speed : float in [0.5, 2], default=1.0
        Play the audio ``speed`` times as fast before analysis: a resampling
        that divides the duration by ``speed`` and multiplies every frequency
        (F0, formants, the spectral envelope) by it, as a speaker with a
        higher or lower voice and a shorter or longer vocal tract would. 1.0
        analyses the audio as it is; other values make augmented training
        copies (Ko et al., 2015, "Audio augmentation for speech recognition";
        see ``speed_perturbation`` of :class:`~sertk.EmotionClassifier`).
    """

    sr: int = 16000
    hop_length: int = 160
    win_length: int = 400
    n_fft: int = 512
    f0_min: float = 75.0
    f0_max: float = 600.0
    n_mfcc: int = 16
    n_mels: int = 26
    max_formant: float = 5500.0
    n_formants: float = 5.0
    silence_db: float = 40.0
    floor_dbfs: float = -70.0
    noise_snr_db: float | None = 10.0
    speed: float = 1.0

    def __post_init__(self):
        positive = ("sr", "hop_length", "win_length", "n_fft", "f0_min", "f0_max",
                    "n_mfcc", "n_mels", "max_formant", "n_formants", "silence_db")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ParameterError(f"{name} must be a positive number, got {value!r}")
        if self.noise_snr_db is not None and not (
                isinstance(self.noise_snr_db, (int, float))
                and math.isfinite(self.noise_snr_db)):
            raise ParameterError(
                "noise_snr_db must be a finite number or None, "
                f"got {self.noise_snr_db!r}")
        if isinstance(self.speed, bool) or not (
                isinstance(self.speed, (int, float)) and 0.5 <= self.speed <= 2.0):
            raise ParameterError(
                f"speed must be a number from 0.5 to 2, got {self.speed!r}")
        if self.f0_max <= self.f0_min:
            raise ParameterError(
                f"f0_max ({self.f0_max}) must be above f0_min ({self.f0_min})"
            )
        if self.f0_max >= self.sr / 2:
            raise ParameterError(
                f"f0_max ({self.f0_max} Hz) must be below the Nyquist frequency "
                f"({self.sr / 2} Hz); raise sr or lower f0_max"
            )
        if self.n_fft < self.win_length:
            raise ParameterError(
                f"n_fft ({self.n_fft}) must be at least win_length ({self.win_length})"
            )
        if self.n_mels <= self.n_mfcc:
            raise ParameterError(
                f"n_mels ({self.n_mels}) must exceed n_mfcc ({self.n_mfcc})"
            )
        if self.max_formant * 2 > self.sr:
            raise ParameterError(
                f"max_formant ({self.max_formant} Hz) must be at most sr / 2 "
                f"({self.sr / 2} Hz)"
            )

    @property
    def hop_seconds(self) -> float:
        """Seconds between frames."""
        return self.hop_length / self.sr

    def to_dict(self) -> dict:
        """Return the settings as a plain, JSON-ready dict."""
        return dataclasses.asdict(self)


def show_progress(progress: bool | str) -> bool:
    """Resolve the run-time ``progress`` option every sertk call takes.

    Parameters
    ----------
    progress : bool or "auto"
        True or False; "auto" shows progress when stderr is a terminal.

    Returns
    -------
    bool

    Raises
    ------
    ParameterError
        If ``progress`` is not True, False or "auto".

    Examples
    --------
    >>> show_progress(False), show_progress(True)
    (False, True)
    """
    if isinstance(progress, str):
        if progress == "auto":
            return sys.stderr.isatty()
    elif progress in (True, False):  # numpy's bools too
        return bool(progress)
    raise ParameterError(f"progress={progress!r} is not True, False or 'auto'")
