"""Train the models bundled with sertk and write their provenance.

Usage (from the repository root; rerun after any change to the features or
the classifier)::

    python scripts/train_default_model.py [--emodb ../shared/data/emodb] [--n-jobs 2]

Steps: read all of EMO-DB; extract the ``default`` feature set of each
recording and of its speed-perturbed copies (afresh, unless ``--cache DIR``
names a cache to reuse); evaluate ``EmotionClassifier(speaker_norm=False)``
by leave-one-speaker-out under the strict protocol, each fold trained on its
training speakers' copies too; train the same classifier on all 535
recordings and their copies; write
``sertk/pretrained/default.joblib`` (the model, with the LOSO report in its
metadata) and ``sertk/pretrained/default.json`` (the provenance, readable
without loading the model). Then the timeline model: the speech windows of
each recording, cut as ``predict_timeline`` cuts them by default
(``sertk.timeline.windows.window_features``), labelled as their recording, are added
to the same rows; ``EmotionClassifier(speaker_norm=False,
speed_perturbation=None)`` on them is scored by leave-one-speaker-out on the
held-out speaker's windows (labelled as timelines label them: the most
probable class) and whole recordings, trained on all rows, and written to
``sertk/pretrained/timeline.joblib`` and ``timeline.json``.

Why strict (no per-speaker normalisation): ``sertk-predict`` and
``load_model().predict(paths)`` usually see one recording of a speaker at a
time, so there are no speaker statistics to normalise with. A model trained
on per-speaker z-scores would then be shown pooled-scaled rows, unlike any
it was trained on; the strict model is trained exactly as it is used.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score

from sertk.evaluation.protocols import evaluate
from sertk.features.extractor import FeatureExtractor
from sertk.features.tables import atomic_write_json
from sertk.io.datasets import read_emodb
from sertk.io.model_files import DEFAULT_MODEL, TIMELINE_MODEL, load_model, save_model
from sertk.models.augment import speed_copies, with_copies
from sertk.models.classifier import EmotionClassifier, training_speeds
from sertk.timeline.windows import window_features

ROOT = Path(__file__).resolve().parents[1]
EMODB = ROOT.parent / "shared" / "data" / "emodb"
WINDOW, HOP = 2.0, 0.5  # predict_timeline's defaults


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate and write the default model; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emodb", default=os.environ.get("SERTK_EMODB", EMODB),
                        help="EMO-DB folder (default: $SERTK_EMODB or %(default)s)")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--cache", default=None,
                        help="feature cache folder (default: a temporary one, so "
                             "the features come from the code as it is now)")
    parser.add_argument("--output", default=str(DEFAULT_MODEL))
    parser.add_argument("--timeline-output", default=str(TIMELINE_MODEL),
                        help="the timeline model (default: %(default)s); an "
                             "empty string skips it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sertk-default-") as temporary:
        return _train(args, args.cache or temporary)


def _train(args: argparse.Namespace, cache: str) -> int:
    started = time.perf_counter()
    corpus = read_emodb(args.emodb)
    paths, y, speakers = corpus["path"].tolist(), corpus["label"], corpus["speaker"]
    extractor = FeatureExtractor("default", n_jobs=args.n_jobs, cache=cache)
    X = extractor.transform(paths)
    clf = EmotionClassifier(
        feature_set="default",
        speaker_norm=False,
        extractor_params={"n_jobs": args.n_jobs, "cache": cache},
    )
    speeds = training_speeds(clf.speed_perturbation, normalised=False)
    copies = speed_copies(extractor, paths, speeds)
    print(f"features: {X.shape}, copies at speeds {speeds} in "
          f"{time.perf_counter() - started:.0f} s")
    report = evaluate(X, y, speakers, estimator=clf, protocol="strict", cv="loso",
                      augmented=copies, n_jobs=args.n_jobs, progress=False)
    print(report.summary())
    clf.fit(paths, y, speakers=speakers, augmented=copies)

    provenance = {
        "corpus": "EMO-DB (Berlin Database of Emotional Speech)",
        "language": "German",
        "speech": "acted; 10 actors (5 female, 5 male) reading 10 neutral sentences",
        "n_files": len(paths),
        "n_speakers": int(speakers.nunique()),
        "classes": sorted(map(str, clf.classes_)),
        "speaker_normalisation": False,
        "why_strict": "single recordings at prediction time have no speaker "
                      "batch to normalise with; trained as it is used",
    }
    output = Path(args.output)
    save_model(clf, output, cv_report=report.to_dict(), provenance=provenance)
    _write_json(output, training=provenance, n_augmented=clf.training_summary_[
        "n_augmented"], loso_strict={
            "protocol": report.protocol,
            "cv": report.cv,
            "uar": round(report.uar, 4),
            "war": round(report.war, 4),
            "macro_f1": round(report.macro_f1, 4),
            "recall": {k: round(v, 4) for k, v in report.recall.items()},
        })
    print(f"wrote {output} ({output.stat().st_size / 1e3:.0f} kB) and "
          f"{output.with_suffix('.json').name} in "
          f"{time.perf_counter() - started:.0f} s")
    if args.timeline_output:
        _train_timeline(args, corpus, X, copies, provenance)
    return 0


def _train_timeline(args: argparse.Namespace, corpus: pd.DataFrame,
                    X: pd.DataFrame, copies: np.ndarray, provenance: dict) -> None:
    """Train, score and write the timeline model: recordings, copies and windows.

    Its rows are the default model's (each recording and its speed-perturbed
    copies) and the speech windows of each recording as
    :func:`sertk.timeline.windows.predict_timeline` cuts them with its defaults
    (:func:`sertk.timeline.windows.window_features`), labelled as their recording.
    """
    started = time.perf_counter()
    rows, labels, speakers, source = _timeline_rows(corpus, X, copies, args.n_jobs)
    n_windows = len(source)
    print(f"timeline rows: {len(X)} recordings, {copies.shape[1] * len(X)} "
          f"copies, {n_windows} windows, in {time.perf_counter() - started:.0f} s")
    clf = EmotionClassifier(feature_set="default", speaker_norm=False,
                            speed_perturbation=None)
    loso = _timeline_loso(clf, rows, labels, speakers, len(X), source, args.n_jobs)
    print(f"timeline model, LOSO strict: windows UAR {loso['windows']['uar']:.3f} "
          f"(WAR {loso['windows']['war']:.3f}); whole recordings UAR "
          f"{loso['recordings']['uar']:.3f}")
    clf.fit(rows, labels, speakers=speakers)
    output = Path(args.timeline_output)
    training = {**provenance, "n_windows": n_windows,
                "windows": {"window": WINDOW, "hop": HOP,
                            "made_with": "sertk.timeline.windows.window_features"}}
    save_model(clf, output, provenance={**training, "loso": loso})
    _write_json(output, training=training,
                n_rows=clf.training_summary_["n_files"], loso_strict=loso)
    print(f"wrote {output} ({output.stat().st_size / 1e3:.0f} kB) and "
          f"{output.with_suffix('.json').name} in "
          f"{time.perf_counter() - started:.0f} s")


def _timeline_rows(corpus: pd.DataFrame, X: pd.DataFrame, copies: np.ndarray,
                   n_jobs: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray,
                                         np.ndarray]:
    """Return the rows (recordings, copies, windows), their labels and speakers.

    And, for each window (the last rows), the index of its recording.
    Copies that could not be analysed are left out, as ``fit`` leaves them.
    """
    y, speakers = corpus["label"].to_numpy(), corpus["speaker"].to_numpy()
    tables = Parallel(n_jobs=n_jobs)(
        delayed(window_features)(path, "default", window=WINDOW, hop=HOP,
                                 progress=False) for path in corpus["path"])
    source = np.concatenate([np.full(len(t), i) for i, t in enumerate(tables)])
    windows = pd.concat(tables, ignore_index=True)[X.columns]
    rows, labels, voices, _ = with_copies(X, y, speakers, copies)
    rows = pd.DataFrame(np.vstack([rows, windows]), columns=X.columns)
    return (rows, np.concatenate([labels, y[source]]),
            np.concatenate([voices, speakers[source]]), source)


def _timeline_loso(clf: EmotionClassifier, rows: pd.DataFrame, labels: np.ndarray,
                   speakers: np.ndarray, n_files: int, source: np.ndarray,
                   n_jobs: int) -> dict:
    """Leave-one-speaker-out figures of ``clf`` on windows and on recordings.

    The first ``n_files`` rows are the recordings, the last ``len(source)``
    their windows.
    """
    recordings = np.arange(n_files)
    windows = np.arange(len(rows) - len(source), len(rows))
    predicted = np.empty(len(rows), dtype=object)
    folds = Parallel(n_jobs=n_jobs)(
        delayed(_held_out)(clone(clf), rows, labels, speakers, speaker,
                           windows[speakers[windows] == speaker],
                           recordings[speakers[recordings] == speaker])
        for speaker in np.unique(speakers))
    for indices, labelled in folds:
        predicted[indices] = labelled

    def figures(indices: np.ndarray) -> dict:
        truth, guess = labels[indices], predicted[indices]
        return {"n": int(indices.size),
                "uar": round(balanced_accuracy_score(truth, guess), 4),
                "war": round(float(np.mean(truth == guess)), 4)}

    return {"protocol": "strict",
            "cv": f"leave-one-speaker-out ({np.unique(speakers).size} folds)",
            "windows": figures(windows), "recordings": figures(recordings)}


def _held_out(clf: EmotionClassifier, rows: pd.DataFrame, labels: np.ndarray,
              speakers: np.ndarray, speaker: str, windows: np.ndarray,
              recordings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit without ``speaker``; label its windows (as timelines do) and recordings.

    Returns the indices of those rows and their labels.
    """
    clf.fit(rows[speakers != speaker], labels[speakers != speaker],
            speakers=speakers[speakers != speaker])
    on_windows = clf.classes_[clf.predict_proba(rows.iloc[windows]).argmax(axis=1)]
    on_recordings = clf.predict(rows.iloc[recordings])
    return (np.concatenate([windows, recordings]),
            np.concatenate([on_windows, on_recordings]))


def _write_json(output: Path, **fields) -> None:
    """Write the provenance of the model file ``output`` beside it, as JSON.

    The file's name, SHA-256, size, and its metadata's creation time,
    versions, features, parameters and class counts, then ``fields``.
    """
    info = load_model(output).model_info_
    atomic_write_json(output.with_suffix(".json"), {
        "model": output.name,
        "sha256": hashlib.sha256(output.read_bytes()).hexdigest(),
        "size_bytes": output.stat().st_size,
        "created": info["created"],
        "versions": info["versions"],
        "feature_set": info["params"]["feature_set"],
        "n_features": info["features"]["n_features"],
        "params": info["params"],
        "class_counts": info["training_summary"]["class_counts"],
        **fields,
        "command": "python scripts/train_default_model.py",
    })


if __name__ == "__main__":
    sys.exit(main())
