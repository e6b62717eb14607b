"""Determinism: the same input gives the same bits, whatever the run.

Repeated in one process (no state leaks from one signal to the next), in
fresh processes with different hash seeds (no dependence on set order), and
through ``sertk-extract`` with one or two workers and a cold or warm cache:
byte-identical tables, errors and parameter files.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hostile import make_corpus, tone

from sertk.cli.extract import main
from sertk.features.extractor import FeatureExtractor, extract_signal
from sertk.settings import AnalysisSettings

REPO = Path(__file__).resolve().parent.parent
SR = 16000


def bits(values):
    """The exact bytes of float values (NaN payloads included)."""
    return np.ascontiguousarray(values, dtype=np.float64).tobytes()


def voice(seconds=0.8, f0=140.0, seed=0):
    """A tone with vibrato, noise and a pause: every contour has work."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))) / SR
    x = sum(0.8**k * np.sin(k * phase) for k in range(1, 12))
    x = 0.1 * x + 0.005 * rng.standard_normal(t.size)
    x[int(0.4 * SR):int(0.5 * SR)] = 0.0
    return x


def test_extract_signal_repeated_in_one_process_gives_the_same_bits():
    a, b = voice(), voice(f0=230.0, seed=1)
    first = bits(extract_signal(a, SR))
    # Other signals in between (another rate, other settings, silence) must
    # leave no trace in caches or in Praat's state.
    extract_signal(b, 44100)
    extract_signal(np.zeros(SR), SR, feature_set="minimal")
    extract_signal(b, SR, settings=AnalysisSettings(f0_min=50.0, n_mfcc=13))
    for _ in range(2):
        assert bits(extract_signal(a, SR)) == first
    assert bits(extract_signal(a.copy(), SR)) != bits(extract_signal(b, SR))


def test_transform_is_the_same_in_fresh_processes(tmp_path):
    paths = []
    for i, (f0, seconds) in enumerate([(120.0, 0.6), (210.0, 1.1), (330.0, 0.3)]):
        path = tmp_path / f"v{i}.wav"
        sf.write(path, voice(seconds, f0, seed=i), SR, subtype="FLOAT")
        paths.append(str(path))
    here = FeatureExtractor(progress=False).transform(paths)
    script = (
        "import sys, hashlib; from sertk.features.extractor import FeatureExtractor\n"
        "t = FeatureExtractor(progress=False).transform(sys.argv[1:])\n"
        "print(hashlib.sha256(t.to_numpy(dtype='float64').tobytes()).hexdigest(),"
        " list(t.columns) == list(FeatureExtractor().get_feature_names_out()))\n"
    )
    expected = f"{hashlib.sha256(bits(here.to_numpy())).hexdigest()} True"
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", script, *paths], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == expected, f"PYTHONHASHSEED={seed}"


@pytest.fixture(scope="module")
def corpus_folder(tmp_path_factory):
    """The hostile corpus (good and bad files) plus a few voices."""
    folder = tmp_path_factory.mktemp("corpus")
    make_corpus(folder / "hostile")
    for i in range(5):
        sf.write(folder / f"voice{i}.wav", voice(0.5 + 0.2 * i, 110.0 + 40 * i, i),
                 SR)
    sf.write(folder / "tone.wav", tone(0.4), SR)
    return folder


def run_extract(folder, out, *options):
    status = main([str(folder), "-o", str(out), "--feature-set", "minimal",
                   "--no-progress", "--quiet", *map(str, options)])
    assert status == 1  # the hostile files fail
    stem = str(out)[: -len(Path(out).suffix)]
    return {name: Path(stem + name).read_bytes()
            for name in (Path(out).suffix, ".errors.csv", ".params.json")}


def test_sertk_extract_output_is_byte_identical_across_runs(corpus_folder, tmp_path):
    first = run_extract(corpus_folder, tmp_path / "a.csv")
    assert first == run_extract(corpus_folder, tmp_path / "b.csv")
    assert first == run_extract(corpus_folder, tmp_path / "c.csv", "--n-jobs", "2")
    cache = tmp_path / "cache"
    assert first == run_extract(corpus_folder, tmp_path / "d.csv", "--cache", cache)
    assert first == run_extract(corpus_folder, tmp_path / "e.csv", "--cache", cache,
                                "--n-jobs", "2")  # from the cache this time
    assert json.loads(first[".params.json"])["n_inputs"] > 20


def test_parquet_output_is_byte_identical_across_runs(corpus_folder, tmp_path):
    one = run_extract(corpus_folder, tmp_path / "a.parquet")
    two = run_extract(corpus_folder, tmp_path / "b.parquet", "--n-jobs", "2")
    assert one == two
