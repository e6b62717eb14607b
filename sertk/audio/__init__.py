"""Audio in: read any libsndfile format, mix to mono, resample, blocks, segments.

The only folder that opens audio files; everything below it works on a
clean ``(signal, sr)`` pair. It imports only the shared ground
(:mod:`sertk.errors`), so worker processes can load it.

Examples
--------
>>> from sertk.audio import AUDIO_EXTENSIONS
>>> ".wav" in AUDIO_EXTENSIONS
True
"""

from sertk.audio.reading import (
    AUDIO_EXTENSIONS,
    MAX_DURATION,
    MIN_DURATION,
    audio_duration,
    find_audio_files,
    iter_blocks,
    load,
    prepare_signal,
)

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
