"""Stored ``default`` feature rows that later versions of sertk must reproduce.

:func:`reference_signals` names a few signals: synthetic ones made here (always
available) and EMO-DB recordings (when the corpus is found). Run this module to
(re)write ``tests/data/reference_default_rows.csv`` from the code as it is::

    SERTK_EMODB=/path/to/emodb PYTHONPATH=$PWD python tests/reference_rows.py
    ... python tests/reference_rows.py --add-columns   # new columns only

It was first written before librosa replaced sertk's hand-written mel filters,
DCT and deltas (issue 16); ``test_reference_rows.py`` checks that the rows
stay within a median relative difference of 1e-3 of it. Rewrite it only for
a change that is meant to move the values, and say so in the commit; the
rates of change (``<contour>_delta``) were added with ``--add-columns``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

TESTS = Path(__file__).resolve().parent
REFERENCE = TESTS / "data" / "reference_default_rows.csv"
#: EMO-DB files in the reference: four speakers, both genders, four emotions.
EMODB_FILES = ("wav/03a01Fa.wav", "wav/08b10Aa.wav", "wav/13b03Na.wav",
               "wav/16a04Tc.wav")
SYNTHETIC = ("vowel", "glide", "noisy_vowel")


def emodb_root() -> Path | None:
    """The EMO-DB folder ($SERTK_EMODB or ../shared/data/emodb), or None."""
    candidates = [Path(os.environ["SERTK_EMODB"])] if os.environ.get(
        "SERTK_EMODB") else []
    candidates.append(TESTS.parent.parent / "shared" / "data" / "emodb")
    return next((c for c in candidates if (c / "manifest.csv").is_file()), None)


def synthetic_signal(name: str) -> np.ndarray:
    """One of the synthetic reference signals (16 kHz), by name.

    ``vowel``: a 120 Hz vowel with pauses around it; ``glide``: a harmonic
    tone gliding 100 -> 300 Hz; ``noisy_vowel``: the vowel in seeded white
    noise at about 20 dB SNR.
    """
    from conftest import SR, harmonic_tone, synthetic_vowel

    pause = np.zeros(SR // 4)
    if name == "vowel":
        return np.concatenate([pause, synthetic_vowel(duration=1.0), pause])
    if name == "glide":
        return harmonic_tone(np.linspace(100.0, 300.0, int(1.5 * SR)))
    if name == "noisy_vowel":
        x = synthetic_vowel(f0=200.0, duration=1.2)
        noise = np.random.default_rng(16).uniform(-1.0, 1.0, x.size)
        return x + 0.1 * np.sqrt(np.mean(x * x) / np.mean(noise * noise)) * noise
    raise KeyError(name)


def reference_signals(include_emodb: bool = True
                      ) -> Iterator[tuple[str, np.ndarray, int]]:
    """Yield (name, signal, sampling rate) for every reference row available."""
    for name in SYNTHETIC:
        yield f"synthetic:{name}", synthetic_signal(name), 16000
    root = emodb_root() if include_emodb else None
    if root is not None:
        import soundfile as sf

        for path in EMODB_FILES:
            x, sr = sf.read(root / path, dtype="float64")
            yield f"emodb:{path}", x, sr


def main(argv: list[str]) -> int:
    """Write the reference rows from the current code; refuse without EMO-DB.

    With ``--add-columns``, only the columns the stored reference lacks (a
    set that gained columns) are taken from the current code; every stored
    value is kept, in the current column order.
    """
    import pandas as pd

    from sertk.features.extractor import extract_signal

    if emodb_root() is None:
        print("EMO-DB not found: set SERTK_EMODB", file=sys.stderr)
        return 1
    rows = {name: extract_signal(x, sr) for name, x, sr in reference_signals()}
    table = pd.DataFrame(rows).T
    table.index.name = "signal"
    if "--add-columns" in argv:
        stored = pd.read_csv(REFERENCE, index_col="signal")
        table.loc[:, stored.columns] = stored.loc[table.index]  # stored values win
    table.to_csv(REFERENCE, float_format="%.10g")
    print(f"wrote {REFERENCE} ({table.shape[0]} rows, {table.shape[1]} columns)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(TESTS))
    sys.exit(main(sys.argv[1:]))
