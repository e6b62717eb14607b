"""Small labelled data sets on disk for the command-line tests.

``write_feature_table``: a feature table as sertk-extract writes it (path,
label, speaker, then feature columns), with three well separated classes
and a strong per-speaker offset. ``write_audio_corpus``: short synthetic
recordings of two "emotions" (a low, steady, quiet voice and a high, rising,
loud one) from four speakers, and their manifest.
"""

import numpy as np
import pandas as pd
import soundfile as sf
from conftest import SR, harmonic_tone

FEATURES = ["f0_semitone__mean", "f0_semitone__std", "f0_semitone__p20",
            "f0_semitone__p80", "f0_semitone__slope", "f0_semitone__cv"]


def write_feature_table(path, labels=("anger", "neutral", "sadness"),
                        n_speakers=4, per_class=6, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    rows = []
    centres = rng.normal(0, 3, size=(len(labels), len(FEATURES)))
    for s in range(n_speakers):
        offset = rng.normal(0, 5, size=len(FEATURES))
        for k, label in enumerate(labels):
            for i in range(per_class):
                values = centres[k] + rng.normal(size=len(FEATURES)) + offset
                rows.append([f"/corpus/s{s}_{label}_{i}.wav", label, f"s{s}",
                             *values])
    table = pd.DataFrame(rows, columns=["path", "label", "speaker", *FEATURES])
    table.to_csv(path, index=False)
    return table


def write_audio_corpus(folder, n_speakers=4, per_class=3, duration=0.4):
    """Write wavs and ``manifest.csv`` (relative paths) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    n = int(duration * SR)
    rows = []
    for s in range(n_speakers):
        base = 110.0 * (1.0 + 0.15 * s)  # each speaker a voice of their own
        for i in range(per_class):
            for label in ("sadness", "anger"):
                if label == "sadness":
                    f0, amp = np.full(n, base * (1 + 0.02 * i)), 0.1
                else:
                    f0 = np.linspace(1.8, 2.4, n) * base * (1 + 0.02 * i)
                    amp = 0.6
                name = f"s{s}_{label}_{i}.wav"
                sf.write(folder / name, harmonic_tone(f0, amplitude=amp), SR)
                rows.append((name, label, f"spk{s}"))
    manifest = folder / "manifest.csv"
    pd.DataFrame(rows, columns=["path", "label", "speaker"]).to_csv(
        manifest, index=False)
    return manifest
