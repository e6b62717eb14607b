"""Shared test fixtures (synthetic signals, a seeded rng, EMO-DB), and Ctrl-C."""

import os
import signal
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import lfilter

REPO = Path(__file__).resolve().parent.parent

#: Sampling rate of the synthetic signals (the analysis default).
SR = 16000


def pytest_configure(config):
    """Handle Ctrl-C as from a terminal, even in a run started ignoring it.

    A test run started in the background by a script (``pytest &``) inherits
    an ignored SIGINT, and so would every command a test starts: the tests
    that stop one with SIGINT, as a Ctrl-C does, would wait in vain. Python's
    own handler is reset to the default in the programs it starts.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def rng():
    """A seeded random generator."""
    return np.random.default_rng(0)


def harmonic_tone(f0, duration=1.0, n_harmonics=10, amplitude=0.3, sr=SR):
    """A harmonic tone at `f0` Hz (a number, or one value a sample).

    Harmonic k has amplitude 1/k; the sum is scaled to peak `amplitude`.
    """
    f0 = np.asarray(f0, dtype=float)
    n = f0.size if f0.ndim else int(round(duration * sr))
    f0 = np.broadcast_to(f0, (n,))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, n_harmonics + 1)
            if np.all(k * f0 < sr / 2))
    return amplitude * x / np.max(np.abs(x))


def synthetic_vowel(f0=120.0, formants=(700.0, 1200.0, 2600.0, 3500.0, 4500.0),
                    bandwidths=(80.0, 90.0, 120.0, 150.0, 200.0), duration=1.0,
                    amplitude=0.3):
    """A vowel-like signal: a glottal pulse train through formant resonators.

    Five resonances below 5 kHz by default, as in real speech and as Praat's
    Burg analysis (5 formants below 5500 Hz) assumes.
    """
    n = int(round(duration * SR))
    source = np.zeros(n)
    source[(np.arange(0, duration, 1 / f0) * SR).astype(int)] = 1.0
    source = lfilter([1.0], [1.0, -0.95], source)  # glottal roll-off
    x = source
    for frequency, bandwidth in zip(formants, bandwidths, strict=True):
        r = np.exp(-np.pi * bandwidth / SR)
        theta = 2 * np.pi * frequency / SR
        x = lfilter([1 - r], [1.0, -2 * r * np.cos(theta), r * r], x)
    return amplitude * x / np.max(np.abs(x))


@pytest.fixture
def write_wav(tmp_path):
    """Write a signal to ``tmp_path/name`` and return the path as a string."""

    def write(name, signal, sr=SR, subtype=None):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, signal, sr, subtype=subtype)
        return str(path)

    return write


@pytest.fixture(scope="session")
def emodb_root() -> Path:
    """The EMO-DB corpus folder (with manifest.csv), or skip the test.

    Looked for in $SERTK_EMODB, then in <repo>/../shared/data/emodb.
    """
    candidates = []
    if os.environ.get("SERTK_EMODB"):
        candidates.append(Path(os.environ["SERTK_EMODB"]))
    candidates.append(REPO.parent / "shared" / "data" / "emodb")
    for root in candidates:
        if (root / "manifest.csv").is_file():
            return root
    pytest.skip("EMO-DB not found: set SERTK_EMODB to the corpus folder (with "
                f"manifest.csv), or put it at {candidates[-1]}")


@pytest.fixture(scope="session")
def ravdess_root() -> Path:
    """The RAVDESS speech folder (with manifest.csv), or skip the test.

    Looked for in $SERTK_RAVDESS, then in <repo>/../shared/data/ravdess.
    """
    candidates = []
    if os.environ.get("SERTK_RAVDESS"):
        candidates.append(Path(os.environ["SERTK_RAVDESS"]))
    candidates.append(REPO.parent / "shared" / "data" / "ravdess")
    for root in candidates:
        if (root / "manifest.csv").is_file():
            return root
    pytest.skip("RAVDESS not found: set SERTK_RAVDESS to the corpus folder (with "
                f"manifest.csv), or put it at {candidates[-1]}")
