"""openSMILE reference features for the accuracy benchmarks, cached on disk.

The EMO-DB README's reference figures were made with openSMILE functionals
(``eGeMAPSv02``, ``ComParE_2016``) + StandardScaler + SVC. This module gives
the same features to sertk's :func:`sertk.evaluation.protocols.evaluate`, so our
protocols can be checked against those figures. Run it as a script for that
check::

    python -m benchmarks._opensmile --manifest /work/shared/data/emodb/manifest.csv

Features are cached under ``~/.cache/sertk-bench/`` (``$XDG_CACHE_HOME`` is
honoured), keyed by the manifest's resolved path and modification time, the
feature set, the openSMILE version and, for speed-perturbed copies, the speed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

import pandas as pd

FEATURE_SETS = ("eGeMAPSv02", "ComParE_2016")


def cache_dir() -> Path:
    """Return the benchmark cache folder (not created)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sertk-bench"


def load_manifest(manifest_path: str | os.PathLike) -> pd.DataFrame:
    """Read a manifest, with ``path`` resolved against its folder.

    Parameters
    ----------
    manifest_path : str or path-like
        CSV with at least ``path`` and ``label`` columns (``speaker`` too for
        speaker-independent evaluation); paths relative to its folder.

    Returns
    -------
    manifest : DataFrame
        All columns read as strings (speaker "03" stays "03"); ``path``
        absolute.
    """
    manifest_path = Path(manifest_path).resolve()
    manifest = pd.read_csv(manifest_path, dtype=str, keep_default_na=False)
    manifest["path"] = [
        str((manifest_path.parent / p).resolve()) for p in manifest["path"]
    ]
    return manifest


def _speed_copies(paths: list[str], speed: float, folder: Path) -> list[str]:
    """Write each file played at ``speed`` (as sertk analyses it) once; their paths.

    The copies are 16-kHz WAV files made by :func:`sertk.audio.reading.load`, the
    resampling sertk's own speed-perturbed copies go through.
    """
    import soundfile as sf

    from sertk.audio.reading import load

    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for i, path in enumerate(paths):
        copy = folder / f"{i:06d}-{Path(path).stem}.wav"
        if not copy.exists():
            partial = copy.with_suffix(".part.wav")
            sf.write(partial, load(path, 16000, speed=speed), 16000, subtype="FLOAT")
            partial.replace(copy)
        copies.append(str(copy))
    return copies


def opensmile_features(
    manifest_path: str | os.PathLike,
    feature_set: str = "eGeMAPSv02",
    n_jobs: int = 1,
    speed: float = 1.0,
) -> pd.DataFrame:
    """Return openSMILE functionals of every file of a manifest, cached.

    Parameters
    ----------
    manifest_path : str or path-like
        The corpus manifest (see :func:`load_manifest`).
    feature_set : {"eGeMAPSv02", "ComParE_2016"}, default="eGeMAPSv02"
        openSMILE feature set, functionals level (88 or 6373 columns).
    n_jobs : int, default=1
        openSMILE worker threads on a cache miss.
    speed : float, default=1.0
        Analyse each file played this many times as fast: the same
        speed-perturbed copies sertk's classifier trains on (see
        :mod:`sertk.models.augment`), written once to the cache folder.

    Returns
    -------
    features : DataFrame
        One row a manifest row, in manifest order, indexed by the resolved
        file path (index name ``path``).

    Raises
    ------
    ValueError
        If ``feature_set`` is not one of ``FEATURE_SETS``.
    """
    import opensmile

    if feature_set not in FEATURE_SETS:
        raise ValueError(f"feature_set={feature_set!r} is not one of {FEATURE_SETS}")
    manifest_path = Path(manifest_path).resolve()
    paths = load_manifest(manifest_path)["path"].tolist()
    stamp = f"{manifest_path}|{manifest_path.stat().st_mtime_ns}|{feature_set}|"
    stamp += opensmile.__version__ + ("" if speed == 1.0 else f"|speed={speed}")
    key = hashlib.sha1(stamp.encode()).hexdigest()[:16]
    stem = cache_dir() / f"{manifest_path.parent.name}-{feature_set}-{key}"
    audio = paths
    if speed != 1.0:
        audio = _speed_copies(paths, speed,
                              cache_dir() / f"{manifest_path.parent.name}-speed{speed}")
    for suffix, reader in ((".parquet", pd.read_parquet), (".pkl", pd.read_pickle)):
        if stem.with_suffix(suffix).exists():
            features = reader(stem.with_suffix(suffix))
            if features.index.tolist() == paths:
                return features

    smile = opensmile.Smile(
        feature_set=getattr(opensmile.FeatureSet, feature_set),
        feature_level=opensmile.FeatureLevel.Functionals,
        num_workers=n_jobs,
    )
    features = smile.process_files(audio)
    features.index = pd.Index(paths)
    features.index.name = "path"
    features = features.astype("float64")
    stem.parent.mkdir(parents=True, exist_ok=True)
    try:
        features.to_parquet(stem.with_suffix(".parquet"))
    except ImportError:  # no pyarrow / fastparquet
        features.to_pickle(stem.with_suffix(".pkl"))
    return features


def main(argv: list[str] | None = None) -> int:
    """Check sertk's evaluation protocols against the README's reference."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from sertk.evaluation.protocols import evaluate

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--manifest", default="/work/shared/data/emodb/manifest.csv")
    parser.add_argument("--feature-set", default="eGeMAPSv02", choices=FEATURE_SETS)
    parser.add_argument("--n-jobs", type=int, default=1)
    args = parser.parse_args(argv)

    manifest = load_manifest(args.manifest)
    start = time.perf_counter()
    X = opensmile_features(args.manifest, args.feature_set, n_jobs=args.n_jobs)
    print(f"features: {X.shape} in {time.perf_counter() - start:.1f} s")
    y, speakers = manifest["label"].to_numpy(), manifest["speaker"].to_numpy()
    given = sys.argv[1:] if argv is None else argv
    print("command: python -m benchmarks._opensmile " + " ".join(given))
    for protocol in ("speaker-normalised", "strict"):
        grid = {}
        for kernel in ("linear", "rbf"):
            for C in (0.01, 0.1, 1, 10):
                svc = SVC(kernel=kernel, C=C, class_weight="balanced")
                report = evaluate(
                    X,
                    y,
                    speakers,
                    estimator=make_pipeline(StandardScaler(), svc),
                    protocol=protocol,
                    n_jobs=args.n_jobs,
                    progress=False,
                )
                grid[(kernel, C)] = report
        (kernel, C), best = max(grid.items(), key=lambda kv: kv[1].uar)
        default = evaluate(
            X, y, speakers, protocol=protocol, n_jobs=args.n_jobs, progress=False
        )
        print(f"\n{protocol} (LOSO, {len(X)} files):")
        for (k, c), r in grid.items():
            print(f"  scaler+SVC {k:6s} C={c:<5}: UAR {r.uar:.3f}  WAR {r.war:.3f}")
        print(
            f"  best of grid (picked on the outer result): {kernel} C={C}: "
            f"UAR {best.uar:.3f}  WAR {best.war:.3f}"
        )
        print(
            f"  EmotionClassifier() defaults: UAR {default.uar:.3f}  "
            f"WAR {default.war:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
