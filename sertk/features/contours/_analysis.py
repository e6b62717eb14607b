"""The shared per-signal state of one analysis: computed once, used by all.

An :class:`Analysis` holds a signal and its settings and computes, lazily and
at most once, what several contour groups need: the Praat sound and pitch
objects, the framed signal and its power spectrum, the voiced and active
frame masks. Contour functions take an ``Analysis`` and return arrays on its
frame grid.

Praat (parselmouth) is imported where it is first called, here and in the
contour modules, not when they are imported: loading it costs a process
about 50 MB of its own memory, which a process that only hands files to
workers (``sertk-extract``'s main process) does not need.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ...settings import AnalysisSettings

if TYPE_CHECKING:
    import parselmouth

__all__ = ["Analysis", "align_to_grid", "frame_signal", "mel_filterbank"]

#: Frames within this many dB of the loudest are active whatever the noise
#: floor says (see :attr:`Analysis.active`).
LOUD_DB = 15.0
#: Percentile over time of a bin's smoothed power taken as its noise level.
NOISE_PERCENTILE = 10.0
#: Frames a bin's power is averaged over before the percentile is taken.
NOISE_SMOOTHING = 5


def frame_signal(x: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Cut a signal into centred frames (zero-padded at both ends).

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
    n_frames = 1 + x.size // hop_length
    pad = frame_length // 2
    padded = np.pad(x, (pad, pad + frame_length))
    windows = np.lib.stride_tricks.sliding_window_view(padded, frame_length)
    return windows[: n_frames * hop_length : hop_length]


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


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular filters on the HTK mel scale from 0 Hz to ``sr / 2``.

    The mel scale is HTK's, ``m = 2595 log10(1 + f / 700)``. Band
    ``i`` rises from edge ``f[i]`` to ``f[i + 1]`` and falls to ``f[i + 2]``,
    the ``n_mels + 2`` edges being evenly spaced in mel; each triangle is
    scaled by ``2 / (f[i + 2] - f[i])`` so that all have the same area
    (Slaney's normalisation). These are the weights of
    ``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, htk=True)``,
    in float64 (librosa's default is float32).

    Parameters
    ----------
    sr : int > 0
        Sampling rate in Hz.
    n_fft : int > 0
        FFT size; the filters weigh its ``n_fft // 2 + 1`` bins.
    n_mels : int > 0
        Number of bands. Bands narrower than a bin (many bands, a short FFT)
        can be all zero.

    Returns
    -------
    np.ndarray, shape (n_mels, n_fft // 2 + 1)
        Filter weights, one band a row.

    Examples
    --------
    >>> import numpy as np
    >>> weights = mel_filterbank(16000, 512, 26)
    >>> weights.shape
    (26, 257)
    >>> int(np.argmax(weights[0]))  # band 1 peaks at 69 Hz, nearest bin 2 (62.5 Hz)
    2
    """
    bins = np.fft.rfftfreq(n_fft, 1 / sr)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2), n_mels + 2))
    width = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    rising = -ramps[:-2] / width[:-1, None]
    falling = ramps[2:] / width[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]


@lru_cache(maxsize=8)
def _mel_filters(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    return mel_filterbank(sr, n_fft, n_mels).T


@lru_cache(maxsize=8)
def _hann(win_length: int, n_fft: int) -> np.ndarray:
    window = np.zeros(n_fft)
    start = (n_fft - win_length) // 2
    window[start : start + win_length] = np.hanning(win_length + 2)[1:-1]
    return window


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
    def frames(self) -> np.ndarray:
        """The signal cut into ``n_fft``-sample frames, one a hop."""
        s = self.settings
        return frame_signal(self.signal, s.n_fft, s.hop_length)

    @cached_property
    def rms(self) -> np.ndarray:
        """RMS amplitude of each frame over the central ``win_length`` samples."""
        s = self.settings
        start = (s.n_fft - s.win_length) // 2
        core = self.frames[:, start : start + s.win_length]
        return np.sqrt(np.mean(core * core, axis=1))

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
        above_noise = self.power.sum(axis=1) > threshold
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
        if power.shape[0] > NOISE_SMOOTHING:
            windows = np.lib.stride_tricks.sliding_window_view(
                power, NOISE_SMOOTHING, axis=0)
            power = windows.mean(axis=-1)
        return float(np.percentile(power, NOISE_PERCENTILE, axis=0).sum())

    @cached_property
    def power(self) -> np.ndarray:
        """Power spectrum, shape (n_frames, n_fft // 2 + 1), Hann window."""
        s = self.settings
        spectrum = np.fft.rfft(self.frames * _hann(s.win_length, s.n_fft), axis=1)
        return spectrum.real**2 + spectrum.imag**2

    @cached_property
    def frequencies(self) -> np.ndarray:
        """Centre frequency in Hz of each bin of :attr:`power`."""
        s = self.settings
        return np.fft.rfftfreq(s.n_fft, 1 / s.sr)

    @cached_property
    def mel_power(self) -> np.ndarray:
        """Mel band power, shape (n_frames, n_mels) (HTK mel scale, 0 to sr/2)."""
        s = self.settings
        return self.power @ _mel_filters(s.sr, s.n_fft, s.n_mels)
