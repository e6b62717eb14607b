"""The shared per-signal state of one analysis: computed once, used by all.

An :class:`Analysis` holds a signal and its settings and computes, lazily and
at most once, what several contour groups need: the Praat sound and pitch
objects, the power spectrum and its mel bands (librosa), the voiced and
active frame masks. Contour functions take an ``Analysis`` and return arrays
on its frame grid.

Praat (parselmouth) and librosa are imported where they are first called,
here and in the contour modules, not when they are imported: they cost a
process about 50 MB (Praat) and 150 MB or more (librosa, with numba and
llvmlite) of its own memory, which a process that only hands files to
workers (``sertk-extract``'s main process) does not need.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ...settings import AnalysisSettings
from ._librosa import load_librosa

if TYPE_CHECKING:
    import parselmouth

__all__ = ["Analysis", "align_to_grid", "centred_frames", "frame_signal"]

#: Frames within this many dB of the loudest are active whatever the noise
#: floor says (see :attr:`Analysis.active`).
LOUD_DB = 15.0
#: Percentile over time of a bin's smoothed power taken as its noise level.
NOISE_PERCENTILE = 10.0
#: Frames a bin's power is averaged over before the percentile is taken.
NOISE_SMOOTHING = 5


def centred_frames(x: np.ndarray, frame_length: int, hop_length: int
                   ) -> tuple[np.ndarray, int]:
    """Zero-pad a signal so that uncentred frames of it are centred on the grid.

    Frame ``i`` of ``librosa.util.frame(padded, frame_length=frame_length,
    hop_length=hop_length)`` (librosa's ``center=False``) is then centred on
    sample ``i * hop_length`` of ``x``, for even and odd lengths alike, and
    there are at least ``1 + x.size // hop_length`` of them; librosa's own
    ``center=True`` shifts odd-length frames by one sample and can give one
    frame fewer.

    Parameters
    ----------
    x : np.ndarray, shape (n,)
        The signal.
    frame_length : int > 0
        Samples a frame.
    hop_length : int > 0
        Samples between frame centres.

    Returns
    -------
    padded : np.ndarray, shape (n + 2 * (frame_length // 2) + frame_length,)
        The signal with zeros before and after.
    n_frames : int
        Frames on the grid, ``1 + n // hop_length``: use the first ``n_frames``.

    Examples
    --------
    >>> import numpy as np
    >>> padded, n_frames = centred_frames(np.arange(1.0, 11.0), 4, 5)
    >>> padded[:4], n_frames  # frame 0 is centred on sample 0 of x
    (array([0., 0., 1., 2.]), 3)
    """
    pad = frame_length // 2
    return np.pad(x, (pad, pad + frame_length)), 1 + x.size // hop_length


def frame_signal(x: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Cut a signal into centred frames (zero-padded at both ends), one a row.

    ``librosa.util.frame`` of the signal padded by :func:`centred_frames`.

    Parameters
    ----------
    x : np.ndarray, shape (n,)
        The signal.
    frame_length : int > 0
        Samples a frame.
    hop_length : int > 0
        Samples between frame centres.

    Returns
    -------
    np.ndarray, shape (1 + n // hop_length, frame_length)
        A read-only view; frame ``i`` is centred on sample ``i * hop_length``.

    Examples
    --------
    >>> import numpy as np
    >>> frame_signal(np.arange(10.0), 4, 5).shape
    (3, 4)
    """
    padded, n_frames = centred_frames(x, frame_length, hop_length)
    frames = load_librosa().util.frame(padded, frame_length=frame_length,
                                       hop_length=hop_length, axis=0)
    return frames[:n_frames]


def align_to_grid(times: np.ndarray, values: np.ndarray, n_frames: int,
                  hop_seconds: float) -> np.ndarray:
    """Place values measured at ``times`` onto the frame grid (nearest frame).

    Frames no measurement falls on are NaN.

    Parameters
    ----------
    times : np.ndarray, shape (m,)
        Measurement times in seconds.
    values : np.ndarray, shape (m,)
        The measurements.
    n_frames : int
        Length of the grid.
    hop_seconds : float > 0
        Grid spacing in seconds.

    Returns
    -------
    np.ndarray, shape (n_frames,)

    Examples
    --------
    >>> import numpy as np
    >>> align_to_grid(np.array([0.021]), np.array([5.0]), 4, 0.01)
    array([nan, nan,  5., nan])
    """
    out = np.full(n_frames, np.nan)
    # round halves up, past float noise: Praat's intensity frames fall half-way
    # between grid frames, and rounding halves to even would send two of
    # them to one frame and leave the next empty
    idx = np.floor(np.asarray(times) / hop_seconds + 0.5 + 1e-6).astype(int)
    keep = (idx >= 0) & (idx < n_frames)
    out[idx[keep]] = np.asarray(values, dtype=float)[keep]
    return out


@lru_cache(maxsize=8)
def _hann(win_length: int) -> np.ndarray:
    # Hann without its zero end points (as Matlab's hann): the window of
    # sertk's features since their first version; librosa's "hann" is the
    # periodic one, with a zero first point
    window = np.hanning(win_length + 2)[1:-1]
    window.flags.writeable = False
    return window


@lru_cache(maxsize=8)
def _mel_filters(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    filters = load_librosa().filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=0.0, fmax=sr / 2, htk=True,
        norm="slaney", dtype=np.float64)
    filters.flags.writeable = False
    return filters


class Analysis:
    """Lazily computed, shared intermediates of one signal's analysis.

    Parameters
    ----------
    signal : np.ndarray, shape (n,)
        Mono signal at ``settings.sr``, finite samples.
    settings : AnalysisSettings
        Analysis parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from sertk.settings import AnalysisSettings
    >>> sr = 16000
    >>> tone = 0.1 * np.sin(2 * np.pi * 200 * np.arange(sr) / sr)
    >>> a = Analysis(tone, AnalysisSettings())
    >>> a.n_frames
    101
    """

    def __init__(self, signal: np.ndarray, settings: AnalysisSettings):
        self.signal = signal
        self.settings = settings
        self.n_frames = 1 + signal.size // settings.hop_length

    @property
    def duration(self) -> float:
        """Signal duration in seconds."""
        return self.signal.size / self.settings.sr

    @cached_property
    def sound(self) -> parselmouth.Sound:
        """The signal as a Praat sound."""
        import parselmouth

        return parselmouth.Sound(self.signal, sampling_frequency=self.settings.sr)

    @cached_property
    def pitch(self) -> parselmouth.Pitch:
        """Praat autocorrelation pitch (``To Pitch (ac)``), one frame a hop."""
        s = self.settings
        return self.sound.to_pitch_ac(
            time_step=s.hop_seconds, pitch_floor=s.f0_min, pitch_ceiling=s.f0_max
        )

    @cached_property
    def f0_hz(self) -> np.ndarray:
        """F0 in Hz on the frame grid; NaN on unvoiced frames."""
        selected = self.pitch.selected_array
        f0 = np.where(selected["frequency"] > 0, selected["frequency"], np.nan)
        return align_to_grid(self.pitch.xs(), f0, self.n_frames,
                             self.settings.hop_seconds)

    @cached_property
    def pulses(self) -> parselmouth.Data:
        """Glottal pulses, Praat ``To PointProcess (cc)`` from sound and pitch."""
        from parselmouth.praat import call

        return call([self.sound, self.pitch], "To PointProcess (cc)")

    @cached_property
    def voiced(self) -> np.ndarray:
        """Boolean mask of voiced frames (Praat found a pitch)."""
        return np.isfinite(self.f0_hz)

    @cached_property
    def rms(self) -> np.ndarray:
        """RMS amplitude of each frame, over ``win_length`` samples.

        ``librosa.feature.rms`` of the frames centred on the grid.
        """
        s = self.settings
        padded, n_frames = centred_frames(self.signal, s.win_length, s.hop_length)
        rms = load_librosa().feature.rms(
            y=padded, frame_length=s.win_length, hop_length=s.hop_length,
            center=False, dtype=np.float64)
        return rms[0, :n_frames]

    @cached_property
    def rms_db(self) -> np.ndarray:
        """Frame RMS level in dB re full scale (-inf-safe: floored at -200)."""
        return 20 * np.log10(np.maximum(self.rms, 1e-10))

    @cached_property
    def active(self) -> np.ndarray:
        """Boolean mask of active (non-silent) frames; see AnalysisSettings.

        A frame is active when its level is within ``silence_db`` of the
        loudest frame's and above ``floor_dbfs`` and, unless
        ``noise_snr_db`` is None, when it also stands ``noise_snr_db`` above
        the :attr:`noise_floor` or within :data:`LOUD_DB` of the loudest frame
        (so that a recording without pauses, whose floor is its own level,
        keeps its frames).
        """
        s = self.settings
        level = self.rms_db
        loudest = level.max()
        active = (level > loudest - s.silence_db) & (level > s.floor_dbfs)
        if s.noise_snr_db is None:
            return active
        threshold = self.noise_floor * 10 ** (s.noise_snr_db / 10)
        above_noise = self.power.sum(axis=0) > threshold
        return active & (above_noise | (level > loudest - LOUD_DB))

    @cached_property
    def noise_floor(self) -> float:
        """Background noise power of a frame, on the scale of :attr:`power` summed.

        Each frequency bin's power is smoothed over :data:`NOISE_SMOOTHING`
        frames; the bin's noise is the :data:`NOISE_PERCENTILE` th percentile
        of that over time (a minimum-statistics estimate: speech rarely fills
        every frame of every bin), and the floor is the sum over bins.
        """
        power = self.power
        if power.shape[1] > NOISE_SMOOTHING:
            # the moving mean as a sum of shifted copies: the same sums, in
            # the same order, as a mean over sliding windows, in less time
            n = power.shape[1] - NOISE_SMOOTHING + 1
            smoothed = power[:, :n].copy()
            for shift in range(1, NOISE_SMOOTHING):
                smoothed += power[:, shift : shift + n]
            power = smoothed / NOISE_SMOOTHING
        return float(np.percentile(power, NOISE_PERCENTILE, axis=1).sum())

    @cached_property
    def power(self) -> np.ndarray:
        """Power spectrum, shape (n_fft // 2 + 1, n_frames), librosa's layout.

        ``|librosa.stft|**2`` of the frames centred on the grid (zero-padded
        at the ends), ``win_length``-sample Hann window (without its zero end
        points) centred in ``n_fft`` samples, complex128.
        """
        s = self.settings
        librosa = load_librosa()
        padded, n_frames = centred_frames(self.signal, s.n_fft, s.hop_length)
        spectrum = librosa.stft(
            padded, n_fft=s.n_fft, hop_length=s.hop_length, win_length=s.win_length,
            window=_hann(s.win_length), center=False, dtype=np.complex128)
        # C order: the frames of a bin side by side, as the contours read them
        return np.ascontiguousarray(librosa.util.abs2(spectrum[:, :n_frames]))

    @cached_property
    def frequencies(self) -> np.ndarray:
        """Centre frequency in Hz of each bin (row) of :attr:`power`."""
        s = self.settings
        return load_librosa().fft_frequencies(sr=s.sr, n_fft=s.n_fft)

    @cached_property
    def mel_power(self) -> np.ndarray:
        """Mel band power, shape (n_mels, n_frames).

        :attr:`power` weighted by ``librosa.filters.mel``: triangular filters
        on the HTK mel scale from 0 Hz to ``sr / 2``, of equal area (Slaney's
        normalisation), float64. This is ``librosa.feature.melspectrogram(
        S=power)`` without its ``np.einsum``, which took 50 times as long as
        the matrix product (numpy 2.4).
        """
        s = self.settings
        return _mel_filters(s.sr, s.n_fft, s.n_mels) @ self.power
