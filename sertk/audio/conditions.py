"""Recording conditions: noise, telephone channels, codecs, rooms, clipping.

Pure functions on a signal and its sampling rate that make a clean
recording sound as if it had been made somewhere else: in noise (white,
pink, brown, babble, any noise recording), through a telephone channel
(300-3400 Hz at 8 kHz; G.711 mu-law or A-law; the GSM 06.10 full-rate
codec), in a reverberant room, too loud (clipped) or at another level.
They make the *condition copies* a classifier trains on (see
:mod:`sertk.models.augment`) and the degraded test audio of ``benchmarks/noise.py``.

Every function returns a new float64 array of the input's length at the
input's rate; those that draw anything take a :class:`numpy.random.Generator`,
so the same seed gives the same output. Codecs run through libsndfile
(``soundfile``) in memory: G.711 as the ``ULAW`` / ``ALAW`` WAV subtypes,
GSM 06.10 as ``GSM610`` (13 kbit/s). libsndfile here also writes Opus,
Vorbis and MP3, which are not offered: their bit rates are those of
music and VoIP, not of the telephone.

A condition is named by a short string (see :func:`check_condition` and
:data:`CONDITION_NAMES`): ``telephone``, ``mu-law``, ``a-law``, ``gsm``,
``reverb-0.6`` (RT60 in s), ``clip-12`` (dB of overdrive), ``gain-12`` /
``gain+6`` (dB), ``white-10``, ``pink-10``, ``brown-10``, ``babble-10``,
``folder-10`` (noise at that SNR in dB, ``folder`` from recordings of noise
the caller gives).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> t = np.arange(16000) / 16000
>>> x = 0.3 * np.sin(2 * np.pi * 200 * t)
>>> y = apply_condition(x, 16000, "white-10", rng)
>>> round(float(10 * np.log10(np.mean(x ** 2) / np.mean((y - x) ** 2))), 6)
10.0
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr
from scipy import signal as sps

from sertk.errors import ParameterError

__all__ = [
    "CONDITION_NAMES", "Condition", "active_power", "add_noise", "apply_condition",
    "babble", "brown_noise", "check_condition", "clip", "g711", "gain", "gsm",
    "pink_noise", "reverb", "room_response", "telephone", "white_noise",
]

#: Telephone pass band (ITU-T G.712), Hz, and the telephone sampling rate.
TELEPHONE_BAND = (300.0, 3400.0)
TELEPHONE_SR = 8000
#: Frames for :func:`active_power`: 25 ms every 10 ms; active within 30 dB
#: of the loudest frame.
ACTIVE_RANGE_DB = 30.0
#: Talkers summed into babble (inclusive range).
BABBLE_TALKERS = (4, 6)

#: The condition names :func:`check_condition` accepts; ``RT60``, ``DB`` and
#: ``SNR`` stand for numbers.
CONDITION_NAMES = (
    "telephone", "mu-law", "a-law", "gsm", "reverb-RT60", "clip-DB",
    "gain+DB", "gain-DB", "white-SNR", "pink-SNR", "brown-SNR", "babble-SNR",
    "folder-SNR",
)
_NOISES = ("white", "pink", "brown", "babble", "folder")
_NUMBER = r"(\d+(?:\.\d+)?)"
_PATTERNS = {
    "noise": re.compile(rf"({'|'.join(_NOISES)})-{_NUMBER}"),
    "reverb": re.compile(rf"reverb-{_NUMBER}"),
    "clip": re.compile(rf"clip-{_NUMBER}"),
    "gain": re.compile(rf"gain([+-]{_NUMBER})"),
}


def _check_signal(x: np.ndarray, sr: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ParameterError(f"a condition needs a 1-D signal, got shape {x.shape}")
    if isinstance(sr, bool) or not isinstance(sr, int | np.integer) or sr <= 0:
        raise ParameterError(f"sr must be a positive integer, got {sr!r}")
    return x


def active_power(x: np.ndarray, sr: int = 16000) -> float:
    """Return the mean power of a signal's active frames.

    Frames are 25 ms long every 10 ms; a frame is active when its power is
    within :data:`ACTIVE_RANGE_DB` dB of the loudest frame's. Speech power
    measured so ignores pauses, as SNRs of speech usually do.

    Parameters
    ----------
    x : ndarray of shape (n_samples,)
        The signal.
    sr : int > 0, default=16000
        Its sampling rate, Hz.

    Returns
    -------
    float
        0 for a silent signal.

    Examples
    --------
    >>> x = np.concatenate([np.zeros(16000), np.full(16000, 0.5)])
    >>> round(float(np.mean(x * x)), 3), round(active_power(x), 2)
    (0.125, 0.25)
    """
    x = _check_signal(x, sr)
    frame, hop = round(0.025 * sr), round(0.010 * sr)
    n = 1 + max(x.size - frame, 0) // hop
    frames = np.lib.stride_tricks.sliding_window_view(
        np.pad(x, (0, max(frame - x.size, 0))), frame)[: n * hop : hop]
    power = np.mean(frames * frames, axis=1)
    active = power >= power.max() * 10 ** (-ACTIVE_RANGE_DB / 10)
    return float(power[active].mean())


def add_noise(x: np.ndarray, noise: np.ndarray, snr_db: float,
              sr: int = 16000) -> np.ndarray:
    """Return ``x + g * noise``, ``g`` set for an SNR on active speech power.

    SNR = 10 log10(P_speech / P_noise), P_speech from :func:`active_power`,
    P_noise the mean power of the noise added.

    Parameters
    ----------
    x, noise : ndarray of shape (n_samples,)
        Speech and noise, of the same length.
    snr_db : float
        The SNR, dB.
    sr : int > 0, default=16000
        Sampling rate, Hz.

    Returns
    -------
    ndarray of shape (n_samples,)

    Raises
    ------
    ParameterError
        If the lengths differ or the noise is silent.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> speech, noise = np.full(16000, 0.1), rng.standard_normal(16000)
    >>> y = add_noise(speech, noise, 10.0)
    >>> round(float(10 * np.log10(0.01 / np.mean((y - speech) ** 2))), 6)
    10.0
    """
    x = _check_signal(x, sr)
    noise = np.asarray(noise, dtype=np.float64)
    if noise.shape != x.shape:
        raise ParameterError(
            f"noise has shape {noise.shape}, the signal {x.shape}")
    p_noise = float(np.mean(noise * noise))
    if not p_noise > 0:
        raise ParameterError("the noise is silent: no SNR can be set")
    return x + math.sqrt(active_power(x, sr) / p_noise / 10 ** (snr_db / 10)) * noise


def white_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``n`` samples of white Gaussian noise (unit variance).

    Examples
    --------
    >>> white_noise(4, np.random.default_rng(0)).shape
    (4,)
    """
    return rng.standard_normal(n)


def _coloured(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Gaussian noise whose power spectrum falls as ``1 / f**exponent``."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spectrum.size, dtype=np.float64)
    f[0] = 1.0  # keep the mean as white noise has it (about 0)
    y = np.fft.irfft(spectrum / f ** (exponent / 2), n)
    return y / y.std()


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``n`` samples of pink noise: power falls 3 dB an octave (1/f).

    Examples
    --------
    >>> round(float(pink_noise(16000, np.random.default_rng(0)).std()), 6)
    1.0
    """
    return _coloured(n, rng, 1.0)


def brown_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``n`` samples of brown noise: power falls 6 dB an octave (1/f²).

    Examples
    --------
    >>> round(float(brown_noise(16000, np.random.default_rng(0)).std()), 6)
    1.0
    """
    return _coloured(n, rng, 2.0)


def babble(sources: Sequence[np.ndarray], n: int, rng: np.random.Generator,
           sr: int = 16000) -> np.ndarray:
    """Return ``n`` samples of babble: other talkers' speech, summed.

    Each source is looped to ``n`` samples from a random start and brought
    to unit active power (:func:`active_power`) before the sum.

    Parameters
    ----------
    sources : sequence of ndarray
        Recordings of other talkers (never the speaker to be mixed with).
    n : int
        Samples wanted.
    rng : numpy.random.Generator
        Draws each source's start.
    sr : int > 0, default=16000
        Sampling rate of the sources, Hz.

    Returns
    -------
    ndarray of shape (n,)

    Raises
    ------
    ParameterError
        If no source is given, or one is silent.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> talkers = [rng.standard_normal(8000) for _ in range(4)]
    >>> babble(talkers, 16000, rng).shape
    (16000,)
    """
    if not len(sources):
        raise ParameterError("babble needs at least one recording of another talker")
    out = np.zeros(n)
    for source in sources:
        source = _check_signal(source, sr)
        power = active_power(source, sr)
        if not power > 0:
            raise ParameterError("a babble source is silent")
        looped = np.resize(np.roll(source, -int(rng.integers(source.size))), n)
        out += looped / math.sqrt(power)
    return out


def _resample(x: np.ndarray, sr_in: int, sr_out: int, n: int | None = None
              ) -> np.ndarray:
    y = x if sr_in == sr_out else soxr.resample(x, sr_in, sr_out, quality="HQ")
    if n is not None:
        y = np.resize(y, n) if y.size < n else y[:n]
    return np.asarray(y, dtype=np.float64)


def _band(x: np.ndarray, sr: int) -> np.ndarray:
    sos = sps.butter(6, TELEPHONE_BAND, btype="bandpass", fs=sr, output="sos")
    return sps.sosfilt(sos, x)


def telephone(x: np.ndarray, sr: int) -> np.ndarray:
    """Return the signal as a telephone line carries it: 300-3400 Hz at 8 kHz.

    Resampled to 8 kHz (:data:`TELEPHONE_SR`), band-passed to
    :data:`TELEPHONE_BAND` (6th-order Butterworth), and resampled back to ``sr``.

    Examples
    --------
    >>> t = np.arange(16000) / 16000
    >>> inside = telephone(np.sin(2 * np.pi * 1000 * t), 16000)
    >>> outside = telephone(np.sin(2 * np.pi * 6000 * t), 16000)
    >>> bool(np.std(outside[4000:]) < 1e-3 * np.std(inside[4000:]))
    True
    """
    x = _check_signal(x, sr)
    narrow = _band(_resample(x, sr, TELEPHONE_SR), TELEPHONE_SR)
    return _resample(narrow, TELEPHONE_SR, sr, x.size)


def _codec(narrow: np.ndarray, subtype: str) -> np.ndarray:
    """Round trip of a :data:`TELEPHONE_SR` signal through a libsndfile WAV subtype.

    The signal is scaled to a peak of 0.9 for the codec (whose range is
    full scale) and back after it.
    """
    peak = float(np.max(np.abs(narrow)))
    scale = 0.9 / peak if peak > 0 else 1.0
    buffer = io.BytesIO()
    sf.write(buffer, narrow * scale, TELEPHONE_SR, format="WAV", subtype=subtype)
    buffer.seek(0)
    decoded, _ = sf.read(buffer, dtype="float64")
    return decoded[: narrow.size] / scale


def g711(x: np.ndarray, sr: int, law: str = "mu") -> np.ndarray:
    """Return the signal through G.711 at 8 kHz: mu-law or A-law, 64 kbit/s.

    Resampled to 8 kHz, encoded to 8-bit mu-law or A-law and decoded by
    libsndfile (the ``ULAW`` / ``ALAW`` WAV subtypes), resampled back.

    Parameters
    ----------
    x : ndarray of shape (n_samples,)
        The signal.
    sr : int > 0
        Its sampling rate, Hz.
    law : {"mu", "a"}, default="mu"
        mu-law (North America, Japan) or A-law (elsewhere).

    Returns
    -------
    ndarray of shape (n_samples,)

    Examples
    --------
    >>> t = np.arange(8000) / 8000
    >>> x = 0.5 * np.sin(2 * np.pi * 440 * t)
    >>> bool(np.max(np.abs(g711(x, 8000) - x)) < 0.02)
    True
    """
    x = _check_signal(x, sr)
    if law not in ("mu", "a"):
        raise ParameterError(f"law={law!r} is not 'mu' or 'a'")
    decoded = _codec(_resample(x, sr, TELEPHONE_SR), "ULAW" if law == "mu" else "ALAW")
    return _resample(decoded, TELEPHONE_SR, sr, x.size)


def gsm(x: np.ndarray, sr: int) -> np.ndarray:
    """Return the signal through a GSM phone: band, 8 kHz, GSM 06.10 at 13 kbit/s.

    :func:`telephone`'s band at 8 kHz, then the GSM 06.10 full-rate codec
    (libsndfile's ``GSM610``) and back to ``sr``.

    Examples
    --------
    >>> t = np.arange(16000) / 16000
    >>> y = gsm(0.5 * np.sin(2 * np.pi * 440 * t), 16000)
    >>> y.shape
    (16000,)
    """
    x = _check_signal(x, sr)
    narrow = _band(_resample(x, sr, TELEPHONE_SR), TELEPHONE_SR)
    return _resample(_codec(narrow, "GSM610"), TELEPHONE_SR, sr, x.size)


def room_response(rt60: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Return a synthetic room impulse response with a given RT60.

    Gaussian noise under an exponential envelope whose energy falls 60 dB
    in ``rt60`` seconds (amplitude ``exp(-3 ln(10) t / rt60)``), ``rt60``
    long, with a direct sound as strong as the largest reflection at
    ``t = 0``; unit energy.

    Parameters
    ----------
    rt60 : float in (0, 3]
        Reverberation time, s.
    sr : int > 0
        Sampling rate, Hz.
    rng : numpy.random.Generator
        Draws the reflections.

    Returns
    -------
    ndarray of shape (round(rt60 * sr),)

    Examples
    --------
    >>> h = room_response(0.5, 16000, np.random.default_rng(0))
    >>> h.shape, round(float(np.sum(h ** 2)), 6)
    ((8000,), 1.0)
    """
    if isinstance(rt60, bool) or not isinstance(rt60, int | float) \
            or not 0 < rt60 <= 3:
        raise ParameterError(
            f"rt60 must be a number of seconds in (0, 3], got {rt60!r}")
    n = max(round(rt60 * sr), 2)
    t = np.arange(n) / sr
    h = rng.standard_normal(n) * np.exp(-3 * math.log(10) * t / rt60)
    h[0] = np.max(np.abs(h))
    return h / math.sqrt(np.sum(h * h))


def reverb(x: np.ndarray, sr: int, rt60: float, rng: np.random.Generator
           ) -> np.ndarray:
    """Return the signal as heard in a room of reverberation time ``rt60``.

    Convolved with :func:`room_response` (the tail cut at the signal's end),
    and brought back to the signal's active power.

    Examples
    --------
    >>> x = np.sin(2 * np.pi * 200 * np.arange(16000) / 16000)
    >>> reverb(x, 16000, 0.3, np.random.default_rng(0)).shape
    (16000,)
    """
    x = _check_signal(x, sr)
    y = sps.fftconvolve(x, room_response(rt60, sr, rng))[: x.size]
    before, after = active_power(x, sr), active_power(y, sr)
    return y * math.sqrt(before / after) if after > 0 else y


def clip(x: np.ndarray, sr: int, overdrive_db: float) -> np.ndarray:
    """Return the signal clipped as if recorded ``overdrive_db`` dB too loud.

    Samples beyond ``peak * 10 ** (-overdrive_db / 20)`` are cut to it (hard
    clipping); the level is left there, as a recorder leaves it.

    Examples
    --------
    >>> x = np.array([0.1, -1.0, 0.5, 1.0])
    >>> clip(x, 16000, 6.0206).round(3).tolist()
    [0.1, -0.5, 0.5, 0.5]
    """
    x = _check_signal(x, sr)
    limit = float(np.max(np.abs(x))) * 10 ** (-overdrive_db / 20)
    return np.clip(x, -limit, limit)


def gain(x: np.ndarray, sr: int, db: float) -> np.ndarray:
    """Return the signal ``db`` dB louder (negative: quieter), unclipped.

    Examples
    --------
    >>> gain(np.array([0.1, -0.2]), 16000, -20).round(6).tolist()
    [0.01, -0.02]
    """
    return _check_signal(x, sr) * 10 ** (db / 20)


@dataclass(frozen=True)
class Condition:
    """A parsed condition name (see :func:`check_condition`).

    Parameters
    ----------
    name : str
        The name, as given.
    kind : str
        ``telephone``, ``mu-law``, ``a-law``, ``gsm``, ``reverb``, ``clip``,
        ``gain`` or a noise (``white``, ``pink``, ``brown``, ``babble``,
        ``folder``).
    value : float or None
        RT60 (s), overdrive or gain (dB) or SNR (dB); None for the channels.
    """

    name: str
    kind: str
    value: float | None = None

    @property
    def is_noise(self) -> bool:
        """Whether the condition adds noise."""
        return self.kind in _NOISES


def check_condition(name: str) -> Condition:
    """Parse a condition name.

    Parameters
    ----------
    name : str
        One of :data:`CONDITION_NAMES`, numbers filled in: ``telephone``,
        ``mu-law``, ``a-law``, ``gsm``, ``reverb-0.6`` (RT60 in s, up to 3),
        ``clip-12`` (overdrive, dB, up to 40), ``gain+6`` / ``gain-12`` (dB,
        up to 40 either way), ``white-10``, ``pink-10``, ``brown-10``,
        ``babble-10``, ``folder-10`` (SNR, dB, up to 60).

    Returns
    -------
    Condition

    Raises
    ------
    ParameterError
        If the name is not one of these, listing them.

    Examples
    --------
    >>> check_condition("reverb-0.6")
    Condition(name='reverb-0.6', kind='reverb', value=0.6)
    """
    if not isinstance(name, str):
        raise ParameterError(f"a condition name must be a string, got {name!r}")
    if name in ("telephone", "mu-law", "a-law", "gsm"):
        return Condition(name, name)
    for kind, pattern in _PATTERNS.items():
        match = pattern.fullmatch(name)
        if not match:
            continue
        if kind == "noise":
            kind, value = match.group(1), float(match.group(2))
            limit = 60.0
        else:
            value = float(match.group(1))
            limit = {"reverb": 3.0, "clip": 40.0, "gain": 40.0}[kind]
        if abs(value) > limit or (kind == "reverb" and value == 0):
            break
        return Condition(name, kind, value)
    raise ParameterError(
        f"unknown condition {name!r}; conditions are {', '.join(CONDITION_NAMES)} "
        "(RT60 in s up to 3, e.g. reverb-0.6; DB in dB up to 40, e.g. clip-12, "
        "gain-12; SNR in dB up to 60, e.g. white-10)")


def apply_condition(x: np.ndarray, sr: int, name: str | Condition,
                    rng: np.random.Generator,
                    sources: Sequence[np.ndarray] = ()) -> np.ndarray:
    """Return a signal in a named condition.

    Parameters
    ----------
    x : ndarray of shape (n_samples,)
        The (clean) signal.
    sr : int > 0
        Its sampling rate, Hz.
    name : str or Condition
        See :func:`check_condition`.
    rng : numpy.random.Generator
        Draws noise, reflections and babble starts.
    sources : sequence of ndarray, optional
        At ``sr``: the talkers of ``babble-*`` (:func:`babble` sums them all;
        other speakers' recordings, never the speaker of ``x``), or, for
        ``folder-*``, noise recordings, of which one is drawn, looped from a
        random start.

    Returns
    -------
    ndarray of shape (n_samples,)

    Raises
    ------
    ParameterError
        If the name is unknown, or ``babble-*`` / ``folder-*`` get no sources.

    Examples
    --------
    >>> x = np.sin(2 * np.pi * 200 * np.arange(8000) / 8000)
    >>> apply_condition(x, 8000, "gain-6", np.random.default_rng(0)).max().round(3)
    np.float64(0.501)
    """
    c = name if isinstance(name, Condition) else check_condition(name)
    x = _check_signal(x, sr)
    if c.kind == "telephone":
        return telephone(x, sr)
    if c.kind in ("mu-law", "a-law"):
        return g711(x, sr, c.kind[:-4])
    if c.kind == "gsm":
        return gsm(x, sr)
    if c.kind == "reverb":
        return reverb(x, sr, c.value, rng)
    if c.kind == "clip":
        return clip(x, sr, c.value)
    if c.kind == "gain":
        return gain(x, sr, c.value)
    if c.kind == "white":
        noise = white_noise(x.size, rng)
    elif c.kind == "pink":
        noise = pink_noise(x.size, rng)
    elif c.kind == "brown":
        noise = brown_noise(x.size, rng)
    elif not len(sources):
        raise ParameterError(
            f"condition {c.name!r} needs recordings to draw from: other "
            "speakers' for babble, noise recordings for folder")
    elif c.kind == "babble":
        noise = babble(sources, x.size, rng, sr)
    else:
        source = _check_signal(sources[int(rng.integers(len(sources)))], sr)
        noise = np.resize(np.roll(source, -int(rng.integers(source.size))), x.size)
    return add_noise(x, noise, c.value, sr)
