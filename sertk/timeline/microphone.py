"""Audio from a microphone, through sounddevice (PortAudio): ``sertk[live]``.

sounddevice is an optional dependency (``pip install 'sertk[live]'``); it
needs the PortAudio library (``apt install libportaudio2`` on Debian and
Ubuntu; bundled in the wheels for Windows and macOS). Without either, or
without an input device, the functions here raise an
:class:`~sertk.errors.AudioError` saying so.

Examples
--------
>>> blocks = microphone(rate=16000)  # doctest: +SKIP
>>> next(blocks).shape  # doctest: +SKIP
(1600, 1)
"""

from __future__ import annotations

import queue
import warnings
from collections.abc import Iterator
from types import ModuleType

import numpy as np

from ..errors import AudioError

__all__ = ["input_devices", "microphone"]

_INSTALL = ("live input from a microphone needs the sounddevice package and the "
            "PortAudio library: pip install 'sertk[live]' (and on Debian or "
            "Ubuntu: apt install libportaudio2)")


def _sounddevice() -> ModuleType:
    """Import sounddevice, or say what to install."""
    try:
        import sounddevice
    except ImportError as exc:
        raise AudioError(f"{_INSTALL} ({exc})") from exc
    except OSError as exc:  # sounddevice is there, PortAudio is not
        raise AudioError(f"{_INSTALL} ({exc})") from exc
    return sounddevice


def input_devices() -> list[tuple[int, str, int, float]]:
    """List the devices that can record.

    Returns
    -------
    list of (index, name, input channels, default rate)
        The index is what ``--device`` and :func:`microphone` take.

    Raises
    ------
    AudioError
        If sounddevice or PortAudio is missing.
    """
    sd = _sounddevice()
    return [(i, str(d["name"]), int(d["max_input_channels"]),
             float(d["default_samplerate"]))
            for i, d in enumerate(sd.query_devices())
            if d["max_input_channels"] > 0]


def microphone(device: int | None = None, *, rate: int = 16000, channels: int = 1,
               block: float = 0.05) -> Iterator[np.ndarray]:
    """Open an input device; return an iterator of its blocks of audio.

    The device is opened at once (so a missing one is reported before any
    audio is awaited) and records while the iterator is consumed.

    Parameters
    ----------
    device : int, optional
        Device index (:func:`input_devices`); the default input device
        when omitted.
    rate : int > 0, default=16000
        Sampling rate asked of the device, in Hz.
    channels : int > 0, default=1
        Channels recorded.
    block : float > 0, default=0.05
        Seconds a block.

    Returns
    -------
    iterator of np.ndarray, shape (n, channels)
        ``float32`` samples, block by block, until the caller stops.

    Warns
    -----
    UserWarning
        When PortAudio reports that input was lost (the caller fell behind).

    Raises
    ------
    AudioError
        If sounddevice or PortAudio is missing, the device does not exist or
        cannot record at this rate and channel count.
    """
    sd = _sounddevice()
    blocks: queue.Queue[np.ndarray] = queue.Queue()
    lost: list[int] = []

    def callback(indata, frames, time, status):  # noqa: ARG001 - PortAudio's signature
        if status.input_overflow:
            lost.append(frames)
        blocks.put(indata.copy())

    try:
        recorder = sd.InputStream(device=device, samplerate=rate, channels=channels,
                                  dtype="float32", blocksize=int(block * rate),
                                  callback=callback)
    except (sd.PortAudioError, ValueError) as exc:
        which = "the default input device" if device is None else f"device {device}"
        raise AudioError(
            f"cannot record from {which} at {rate} Hz, {channels} channel(s) "
            f"({exc}); sertk-predict --list-devices lists the input devices"
        ) from exc
    return _record(recorder, blocks, lost)


def _record(recorder, blocks: queue.Queue, lost: list[int]) -> Iterator[np.ndarray]:
    with recorder:
        while True:
            yield blocks.get()
            if lost:
                warnings.warn("the microphone input overflowed (the analysis fell "
                              "behind): some audio was lost, so later times are "
                              "early", UserWarning, stacklevel=2)
                lost.clear()
