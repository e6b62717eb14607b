"""Raw PCM audio from a pipe, decoded as it arrives.

:func:`read_pcm` turns the bytes of a pipe (``arecord``, ``ffmpeg -f s16le``,
``sox -t raw``) into arrays of samples as soon as they arrive, keeping the
bytes of a sample or frame cut between two reads for the next one (below,
3 bytes a read: the second sample waits for the third read). Raw PCM
has no header to check, so what is read is looked at instead: a warning
(once) when it starts like an audio file's header or like text, or when the
stream ends mid-sample.

Examples
--------
>>> import io
>>> import numpy as np
>>> data = np.array([0, 16384, -16384, 32767], dtype="<i2").tobytes()
>>> [piece.tolist() for piece in read_pcm(io.BytesIO(data), read_size=3)]
[[[0]], [[16384], [-16384]], [[32767]]]
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from ..errors import ParameterError

__all__ = ["PCM_FORMATS", "read_pcm"]

#: Sample formats by name (as ffmpeg's ``-f`` names them).
PCM_FORMATS = {"s16le": np.dtype("<i2"), "f32le": np.dtype("<f4")}

#: File headers that raw PCM should not start with.
_HEADERS = {b"RIFF": "a WAV (RIFF)", b"RF64": "a WAV (RF64)", b"RIFX": "a WAV (RIFX)",
            b"FORM": "an AIFF", b"fLaC": "a FLAC", b"OggS": "an Ogg",
            b"ID3": "an MP3"}

#: Bytes looked at to tell whether a stream starts as text.
_TEXT_PROBE = 64


def _looks_like(head: bytes) -> str | None:
    """Say what the first bytes of a stream look like, when not like raw PCM."""
    for magic, kind in _HEADERS.items():
        if head.startswith(magic):
            return (f"starts like {kind} file: its header is read as samples; "
                    "send raw samples (e.g. sox in.wav -t raw -, or ffmpeg -i "
                    "in.wav -f s16le -)")
    probe = head[:_TEXT_PROBE]
    if len(probe) == _TEXT_PROBE and all(32 <= b < 127 or b in b"\t\r\n"
                                         for b in probe):
        return "looks like text, not raw audio samples"
    return None


def read_pcm(
    source: BinaryIO,
    *,
    channels: int = 1,
    fmt: str = "s16le",
    read_size: int = 65536,
    name: str = "standard input",
) -> Iterator[np.ndarray]:
    """Decode raw PCM from a binary file or pipe as it arrives.

    Each read returns what the pipe holds (up to ``read_size`` bytes), so
    samples are yielded as soon as they are written, not once a buffer
    fills.

    Parameters
    ----------
    source : binary file object
        ``sys.stdin.buffer``, a pipe, an open file; read with ``read1``
        where it has it, else ``read``.
    channels : int > 0, default=1
        Interleaved channels.
    fmt : {"s16le", "f32le"}, default="s16le"
        16-bit signed integers or 32-bit floats, little-endian.
    read_size : int > 0, default=65536
        Most bytes read at a time.
    name : str, default="standard input"
        Names the source in warnings.

    Yields
    ------
    np.ndarray, shape (n_frames, channels)
        The whole frames read (``int16`` or ``float32``); an incomplete
        frame is kept for the next read.

    Warns
    -----
    UserWarning
        When the stream starts like a file header (WAV, AIFF, FLAC, Ogg,
        MP3) or like text, and when it ends in the middle of a frame (the
        incomplete frame is dropped).

    Raises
    ------
    ParameterError
        If ``fmt``, ``channels`` or ``read_size`` is invalid.
    """
    if fmt not in PCM_FORMATS:
        raise ParameterError(f"fmt={fmt!r} must be one of {', '.join(PCM_FORMATS)}")
    if not (isinstance(channels, int) and channels > 0):
        raise ParameterError(f"channels={channels!r} must be a whole number > 0")
    if not (isinstance(read_size, int) and read_size > 0):
        raise ParameterError(f"read_size={read_size!r} must be a whole number > 0")
    dtype = PCM_FORMATS[fmt]
    frame = dtype.itemsize * channels
    read = getattr(source, "read1", source.read)
    carry = b""
    head = b""
    while True:
        data = read(read_size)
        if not data:
            break
        if head is not None:
            head += data
            if len(head) >= _TEXT_PROBE:
                what = _looks_like(head)
                if what:
                    warnings.warn(f"{name} {what}", UserWarning, stacklevel=2)
                head = None
        data = carry + data
        whole = len(data) // frame * frame
        carry = data[whole:]
        if whole:
            yield np.frombuffer(data[:whole], dtype=dtype).reshape(-1, channels)
    if head:
        what = _looks_like(head)
        if what:
            warnings.warn(f"{name} {what}", UserWarning, stacklevel=2)
    if carry:
        cut = "sample" if len(carry) < dtype.itemsize else "frame"
        warnings.warn(
            f"{name} ended in the middle of a {cut} ({len(carry)} bytes of a "
            f"{frame}-byte frame, dropped)",
            UserWarning, stacklevel=2)
