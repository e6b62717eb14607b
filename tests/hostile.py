"""A corpus of files that break naive audio code, made on the fly.

:func:`make_corpus` writes every case into a folder and returns a
:class:`Case` for each: where it is, and what sertk must make of it (a
feature row, or an error whose reason contains a given phrase; for a row,
an emotion or, for a file without speech, the label ``silence``). Nothing
is stored in the repository; the whole corpus is a few MB.
"""

from __future__ import annotations

import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000


@dataclass(frozen=True)
class Case:
    """One hostile input and the outcome sertk owes it.

    Parameters
    ----------
    name : str
        Short id, used as the pytest id.
    path : str
        The file (or whatever sits at that name).
    reason : str or None
        None when the file must give a feature row; otherwise a phrase the
        error reason must contain.
    speech : bool
        Whether a file that gives a row holds speech: a prediction names
        an emotion for it, and labels one without speech ``silence``.
    """

    name: str
    path: str
    reason: str | None = None
    speech: bool = True

    @property
    def ok(self) -> bool:
        """Whether the case must give a feature row."""
        return self.reason is None


def tone(seconds: float = 0.5, sr: int = SR, f0: float = 180.0) -> np.ndarray:
    """A harmonic tone with a little noise, peak about 0.3."""
    t = np.arange(int(round(seconds * sr))) / sr
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))
    noise = np.random.default_rng(0).standard_normal(t.size)
    return 0.15 * x / 2.3 + 0.003 * noise


def two_class_clips(folder: Path) -> tuple[list[str], list[str]]:
    """Write 12 short clips, 6 quiet low ``sadness`` and 6 loud high ``anger``.

    Enough to train the small audio models the hostile tests load and save.
    """
    rng = np.random.default_rng(0)
    paths, labels = [], []
    for label, f0, level in (("sadness", 100.0, 0.05), ("anger", 260.0, 0.5)):
        for i in range(6):
            path = folder / f"{label}{i}.wav"
            sf.write(path, level * tone(0.4, SR, f0 * rng.uniform(0.9, 1.1)), SR)
            paths.append(str(path))
            labels.append(label)
    return paths, labels


def _write(path: Path, signal: np.ndarray, sr: int = SR, subtype: str | None = None):
    sf.write(path, signal, sr, subtype=subtype)
    return path


def _truncated(path: Path, keep: float = 0.5) -> Path:
    _write(path, tone(1.0))
    size = path.stat().st_size
    with open(path, "r+b") as handle:  # a WAV header still says 1 s
        handle.truncate(44 + int((size - 44) * keep))
    return path


def _non_finite(path: Path, value: float) -> Path:
    x = tone(0.5)
    x[1000:1010] = value
    return _write(path, x, subtype="FLOAT")


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _socket(path: Path) -> Path:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))  # the socket file outlives the closed socket
    return path


def make_corpus(folder: str | os.PathLike) -> list[Case]:
    """Write the hostile corpus into `folder` (created if missing).

    Parameters
    ----------
    folder : str or os.PathLike
        Where to write; should be empty.

    Returns
    -------
    list of Case
        Every case, in a fixed order. A file without read permission is
        included only when not running as root (root reads it anyway).
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(name: str, path: Path, reason: str | None = None, *,
            speech: bool = True) -> None:
        cases.append(Case(name, str(path), reason, speech))

    (root / "empty.wav").write_bytes(b"")
    add("zero_bytes", root / "empty.wav", "empty")
    add("header_only", _write(root / "header_only.wav", np.zeros(0)), "no audio")
    add("truncated", _truncated(root / "truncated.wav"))
    # Cut-off compressed files: libsndfile's own words for them vary with
    # its version, so any error reason will do ("").
    add("truncated_flac", _truncated(root / "truncated.flac"), "")
    add("truncated_ogg", _truncated(root / "truncated.ogg"), "")
    (root / "text.wav").write_text("RIFF? no, just some text pretending\n")
    add("text_as_wav", root / "text.wav", "not readable as audio")
    (root / "x.wav").mkdir()
    add("folder_as_wav", root / "x.wav", "is a folder")
    # No speech: nothing above -70 dBFS, or loud but no voiced frame.
    add("silence", _write(root / "silence.wav", np.zeros(SR)), speech=False)
    add("dc", _write(root / "dc.wav", np.full(SR, 0.5)), speech=False)
    hiss = 1e-5 * np.random.default_rng(1).standard_normal(SR)  # -100 dBFS
    add("faint_hiss", _write(root / "faint_hiss.wav", hiss, subtype="FLOAT"),
        speech=False)
    square = np.clip(4 * np.sign(np.sin(2 * np.pi * 150 * np.arange(SR) / SR)), -1, 1)
    add("clipped_square", _write(root / "square.wav", square))
    add("10ms", _write(root / "10ms.wav", tone(0.01)), "shorter than the minimum")
    add("50ms", _write(root / "50ms.wav", tone(0.05)), "shorter than the minimum")
    for sr in (8000, 44100, 96000):
        add(f"{sr}Hz", _write(root / f"rate_{sr}.wav", tone(0.5, sr), sr))
    six = np.column_stack([tone(0.5) * (k + 1) / 6 for k in range(6)])
    add("6_channels", _write(root / "six_channels.wav", six))
    for subtype in ("PCM_24", "FLOAT", "DOUBLE"):
        add(subtype, _write(root / f"{subtype}.wav", tone(0.5), subtype=subtype))
    loud = root / "float_beyond_full_scale.wav"
    add("float_beyond_full_scale", _write(loud, 1000 * tone(0.5), subtype="FLOAT"))
    add("nan_samples", _non_finite(root / "nan.wav", np.nan), "NaN or infinite")
    add("inf_samples", _non_finite(root / "inf.wav", np.inf), "NaN or infinite")
    for name, file_name in (
        ("spaces", "with  some spaces .wav"),
        ("quotes", "quo\"te's.wav"),
        ("comma", "a,b;c.wav"),
        ("non_ascii", "ünïcødé 語音 😀.wav"),
        ("newline", "line\nbreak.wav"),
        ("leading_dash", "-o.wav"),
    ):
        add(name, _write(root / file_name, tone(0.3)))
    undecodable = Path(os.fsdecode(bytes(root) + b"/latin1-\xe9t\xe9.wav"))
    os.rename(_write(root / "latin1.wav", tone(0.3)), undecodable)
    add("non_utf8_name", undecodable)
    (root / "dangling.wav").symlink_to(root / "gone.wav")
    add("broken_symlink", root / "dangling.wav", "broken symbolic link")
    add("fifo", _fifo(root / "fifo.wav"), "not a regular file")
    add("socket", _socket(root / "socket.wav"), "not a regular file")
    if os.geteuid() != 0:
        locked = _write(root / "locked.wav", tone(0.3))
        locked.chmod(0)
        add("no_read_permission", locked, "permission denied")
    return cases


def unlock(cases: list[Case]) -> None:
    """Give back read permission, so pytest can clean the folder up."""
    for case in cases:
        path = Path(case.path)
        if path.is_file() and not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IRUSR | stat.S_IWUSR)


def write_long(path: str | os.PathLike, seconds: float = 3600.0, sr: int = 8000) -> str:
    """Write a long 16-bit WAV cheaply: a 10 s pattern, block after block.

    Never holds more than the pattern in memory (an hour at 8 kHz is 58 MB
    on disk).
    """
    pattern = tone(10.0, sr)
    pattern[: sr // 2] = 0.0  # a pause each 10 s
    n_blocks, rest = divmod(int(round(seconds * sr)), pattern.size)
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as f:
        for _ in range(n_blocks):
            f.write(pattern)
        f.write(pattern[:rest])
    return os.fspath(path)
