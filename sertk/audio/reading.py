"""Reading audio: any libsndfile format, mixed to mono, resampled, checked.

Everything below this module works on a clean ``(signal, sr)`` pair: a 1-D
``float64`` array of finite samples at the analysis rate. This is the only
module that opens audio files.

Examples
--------
>>> import numpy as np
>>> from sertk.audio.reading import prepare_signal
>>> stereo = np.zeros((2, 44100))
>>> prepare_signal(stereo, 44100, sr=16000).shape
(16000,)
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..errors import AudioError, ParameterError

__all__ = [
    "AUDIO_EXTENSIONS",
    "MAX_DURATION",
    "MIN_DURATION",
    "audio_duration",
    "find_audio_files",
    "iter_blocks",
    "load",
    "prepare_signal",
]

#: File name endings searched for when a folder is given (lower case).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au")

#: Shortest signal analysed, in seconds. Praat's pitch analysis needs several
#: periods of the lowest F0 in one window; below this nothing is reliable.
MIN_DURATION = 0.1

#: Longest signal analysed as one utterance, in seconds (five minutes). The
#: analysis holds the signal and all its contours in memory, about 2 MB a
#: second of audio with the "default" feature set (1.1 GB peak at 300 s), and
#: one row of statistics over minutes of speech averages its emotions away.
#: Longer files are refused before they are read: analyse segments of them
#: (``start``/``end``), read them block by block with :func:`iter_blocks`, or
#: pass ``max_duration=None`` to :func:`load` and :func:`prepare_signal`.
MAX_DURATION = 300.0


def _check_rate(sr: float) -> int:
    if not (isinstance(sr, (int, np.integer)) or float(sr).is_integer()) or sr <= 0:
        raise ParameterError(f"sr must be a positive whole number of Hz, got {sr!r}")
    return int(sr)


def _check_max_duration(
    duration: float, max_duration: float | None, path: str | None
) -> None:
    if max_duration is not None and duration > max_duration:
        raise AudioError(
            f"{duration:.1f} s is longer than the maximum of {max_duration:g} s "
            "analysed as one utterance (sertk.audio.reading.MAX_DURATION); analyse "
            "segments of it (start/end) or cut it into shorter files",
            path,
        )


def prepare_signal(
    signal: np.ndarray,
    sr_in: int,
    *,
    sr: int = 16000,
    path: str | None = None,
    min_duration: float = MIN_DURATION,
    max_duration: float | None = MAX_DURATION,
    speed: float = 1.0,
) -> np.ndarray:
    """Mix a signal to mono, resample it and check that it can be analysed.

    Parameters
    ----------
    signal : np.ndarray, shape (n_samples,) or (n_channels, n_samples)
        Samples, any real dtype. Integer dtypes are scaled to [-1, 1].
    sr_in : int > 0
        Sampling rate of ``signal`` in Hz.
    sr : int > 0, default=16000
        Analysis rate. Resampling uses soxr's high-quality filter.
    path : str, optional
        File the signal came from, named in error messages.
    min_duration : float >= 0, default=MIN_DURATION
        Shortest accepted duration in seconds.
    max_duration : float > 0 or None, default=MAX_DURATION
        Longest accepted duration in seconds; None for no limit.
    speed : float > 0, default=1.0
        Play the signal this many times as fast: it is resampled as if its
        rate were ``sr_in * speed`` (see
        :attr:`sertk.settings.AnalysisSettings.speed`). The duration limits
        apply to the signal as given.

    Returns
    -------
    np.ndarray, shape (n,)
        Mono ``float64`` signal at ``sr``.

    Raises
    ------
    AudioError
        If the signal is empty, shorter than ``min_duration``, longer than
        ``max_duration``, or holds NaN or infinite samples.
    ParameterError
        If a rate is not a positive whole number, or ``signal`` has more than
        two dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> bool(prepare_signal(np.ones(8000, dtype=np.int16), 8000).max() <= 1.0)
    True
    """
    sr_in = _check_rate(sr_in)
    sr = _check_rate(sr)
    if not (isinstance(speed, int | float) and math.isfinite(speed) and speed > 0):
        raise ParameterError(f"speed must be a positive number, got {speed!r}")
    x = np.asarray(signal)
    if x.ndim > 2:
        raise ParameterError(
            f"signal must be 1-D or (channels, samples), got shape {x.shape}"
        )
    if np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float64) / float(np.iinfo(x.dtype).max + 1)
    elif not np.issubdtype(x.dtype, np.floating):
        raise ParameterError(f"signal must be numeric, got dtype {x.dtype}")
    if x.ndim == 2:
        x = x.mean(axis=0) if x.shape[0] > 0 else x.reshape(-1)
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        raise AudioError("the audio is empty (no samples)", path)
    _check_max_duration(x.size / sr_in, max_duration, path)
    if not np.all(np.isfinite(x)):
        n_bad = int(np.count_nonzero(~np.isfinite(x)))
        raise AudioError(f"{n_bad} samples are NaN or infinite", path)
    duration = x.size / sr_in
    if duration < min_duration:
        raise AudioError(
            f"{duration * 1000:.0f} ms is shorter than the minimum of "
            f"{min_duration * 1000:.0f} ms",
            path,
        )
    if sr_in * speed != sr:
        x = soxr.resample(x, sr_in * speed, sr, quality="HQ")
    return x


def _open(path: str | os.PathLike) -> sf.SoundFile:
    name = os.fspath(path)
    if os.path.isdir(name):
        raise AudioError("is a folder, not an audio file", name)
    if not os.path.exists(name):
        reason = "broken symbolic link" if os.path.islink(name) else "no such file"
        raise AudioError(reason, name)
    if not os.path.isfile(name):
        raise AudioError("not a regular file (a pipe, socket or device)", name)
    if os.path.getsize(name) == 0:
        raise AudioError("the file is empty (0 bytes)", name)
    try:  # libsndfile says only "System error" when open fails: ask the OS
        os.close(os.open(name, os.O_RDONLY))
    except PermissionError as exc:
        raise AudioError("permission denied", name) from exc
    except OSError as exc:
        raise AudioError(f"cannot be opened ({exc.strerror})", name) from exc
    try:
        # As bytes, so names that are not valid UTF-8 open too.
        return sf.SoundFile(os.fsencode(name))
    except sf.LibsndfileError as exc:
        why = exc.error_string.rstrip(".")
        raise AudioError(f"not readable as audio ({why})", name) from exc
    except (RuntimeError, OSError) as exc:
        raise AudioError(f"not readable as audio ({exc})", name) from exc


def audio_duration(path: str | os.PathLike) -> float:
    """Return a file's duration in seconds, read from its header.

    Parameters
    ----------
    path : str or os.PathLike
        The audio file.

    Returns
    -------
    float
        Duration in seconds.

    Raises
    ------
    AudioError
        If the file cannot be opened as audio.
    """
    with _open(path) as f:
        return f.frames / f.samplerate


def _frames_range(
    f: sf.SoundFile, start: float | None, end: float | None, name: str
) -> tuple[int, int]:
    if any(b is not None and not np.isfinite(b) for b in (start, end)):
        raise ParameterError(
            f"segment start={start!r}, end={end!r} must be finite seconds; leave "
            "end out (None) to read to the end of the file"
        )
    if f.frames == 0:
        raise AudioError(
            "no audio samples in the file (a header alone, or a cut-off file)", name
        )
    first = 0 if start is None else int(round(start * f.samplerate))
    last = max(f.frames, first) if end is None else int(round(end * f.samplerate))
    if first < 0 or last < first:
        raise ParameterError(
            f"segment start={start!r}, end={end!r} must satisfy 0 <= start <= end"
        )
    if first >= f.frames:
        raise AudioError(
            f"segment starts at {start} s, after the end of the file "
            f"({f.frames / f.samplerate:.3f} s)",
            name,
        )
    return first, min(last, f.frames)


def load(
    path: str | os.PathLike,
    sr: int = 16000,
    *,
    start: float | None = None,
    end: float | None = None,
    min_duration: float = MIN_DURATION,
    max_duration: float | None = MAX_DURATION,
    speed: float = 1.0,
) -> np.ndarray:
    """Read an audio file as a mono signal at the analysis rate.

    Parameters
    ----------
    path : str or os.PathLike
        Any file libsndfile reads: WAV (any sample format), FLAC, OGG/Vorbis,
        MP3, AIFF, AU.
    sr : int > 0, default=16000
        Analysis rate in Hz; the file is resampled to it.
    start, end : float >= 0, optional
        Segment to read, in seconds from the start of the file.
    min_duration : float >= 0, default=MIN_DURATION
        Shortest accepted (segment) duration in seconds.
    max_duration : float > 0 or None, default=MAX_DURATION
        Longest accepted (segment) duration in seconds, checked against the
        header before anything is read; None for no limit.
    speed : float > 0, default=1.0
        Play the audio this many times as fast (see :func:`prepare_signal`).

    Returns
    -------
    np.ndarray, shape (n,)
        Mono ``float64`` samples in [-1, 1] at ``sr``.

    Raises
    ------
    AudioError
        If the file is missing, a folder, empty, not audio, unreadable,
        shorter than ``min_duration``, longer than ``max_duration``, or holds
        non-finite samples.
    ParameterError
        If ``sr`` or the segment bounds are invalid.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> tmp = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> sf.write(tmp, np.sin(np.arange(22050) * 0.1), 44100)
    >>> load(tmp).shape
    (8000,)
    """
    name = os.fspath(path)
    with _open(name) as f:
        first, last = _frames_range(f, start, end, name)
        _check_max_duration((last - first) / f.samplerate, max_duration, name)
        try:
            f.seek(first)
            data = f.read(last - first, dtype="float64", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(f"could not decode the audio ({exc})", name) from exc
        sr_in = f.samplerate
    return prepare_signal(
        data.T,
        sr_in,
        sr=sr,
        path=name,
        min_duration=min_duration,
        max_duration=max_duration,
        speed=speed,
    )


def iter_blocks(
    path: str | os.PathLike,
    block_duration: float,
    *,
    sr: int = 16000,
    overlap: float = 0.0,
) -> Iterator[tuple[float, np.ndarray]]:
    """Read a long file block by block, never holding all of it in memory.

    Parameters
    ----------
    path : str or os.PathLike
        The audio file.
    block_duration : float > 0
        Length of each block in seconds (the last one may be shorter).
    sr : int > 0, default=16000
        Analysis rate in Hz.
    overlap : float >= 0, default=0.0
        Seconds each block shares with the previous one.

    Yields
    ------
    start : float
        Start time of the block in seconds.
    block : np.ndarray
        Mono ``float64`` samples at ``sr``; blocks shorter than
        :data:`MIN_DURATION` at the end of the file are skipped.

    Raises
    ------
    AudioError
        If the file cannot be read.
    ParameterError
        If ``block_duration`` is not positive or ``overlap`` is not smaller
        than it.
    """
    if block_duration <= 0 or not 0 <= overlap < block_duration:
        raise ParameterError(
            f"need block_duration > 0 and 0 <= overlap < block_duration, got "
            f"{block_duration!r} and {overlap!r}"
        )
    name = os.fspath(path)
    with _open(name) as f:
        sr_in = f.samplerate
        block = int(round(block_duration * sr_in))
        overlap_frames = int(round(overlap * sr_in))
        try:
            blocks = f.blocks(
                blocksize=block, overlap=overlap_frames, dtype="float64", always_2d=True
            )
            for i, data in enumerate(blocks):
                start = i * (block - overlap_frames) / sr_in
                if data.shape[0] < MIN_DURATION * sr_in:
                    continue
                yield start, prepare_signal(data.T, sr_in, sr=sr, path=name)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(f"could not decode the audio ({exc})", name) from exc


def find_audio_files(
    inputs: str | os.PathLike | list[str | os.PathLike],
) -> list[str]:
    """List audio files from files and folders (folders searched recursively).

    Parameters
    ----------
    inputs : path or list of paths
        Files are kept as given (whatever their ending); folders are searched
        for files ending in one of :data:`AUDIO_EXTENSIONS`, case-insensitive.

    Returns
    -------
    list of str
        Paths, folder contents sorted, duplicates dropped, input order kept.

    Raises
    ------
    AudioError
        If an input does not exist.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    found: dict[str, None] = {}
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            for sub in sorted(p.rglob("*")):
                if sub.suffix.lower() in AUDIO_EXTENSIONS and not sub.is_dir():
                    found[str(sub)] = None
        elif p.exists() or p.is_symlink():
            found[str(p)] = None
        else:
            raise AudioError("no such file or folder", str(p))
    return list(found)
