"""Train the models bundled with sertk and write their provenance.

Usage (from the repository root; rerun after any change to the features or
the classifier)::

    python scripts/train_default_model.py [--emodb DIR] [--ravdess DIR] [--n-jobs 2]

Steps: read all of EMO-DB and all of RAVDESS speech (each a corpus: its
own median/IQR statistics are kept by the model, ``fit(..., corpus=)``;
speaker ids prefixed by the corpus); extract the ``default`` feature set of
each recording and of its speed-perturbed copies (afresh, unless ``--cache
DIR`` names a cache to reuse); score ``EmotionClassifier(speaker_norm=False)``
speaker-independently under the strict protocol, each corpus on its own
(``--folds``: speaker-grouped K folds over both corpora's speakers, each
fold trained on every other speaker of both corpora and their copies;
``loso`` for leave-one-speaker-out, 34 fits), and, on the same folds, the
single-corpus models (``--compare``); train on all 1975 recordings and
their copies; write ``sertk/pretrained/default.joblib`` (the model, with the
report in its metadata) and ``default.json`` (the provenance, readable
without loading the model). The label set is the union of the corpora's
(9 classes); a class a corpus lacks is learnt from the other one. Then the
timeline model, from EMO-DB only as before: the speech windows of each
recording, cut as ``predict_timeline`` cuts them by default
(``sertk.timeline.window_features``), labelled as their recording, are
added to EMO-DB's rows; ``EmotionClassifier(speaker_norm=False,
speed_perturbation=None)`` on them is scored by leave-one-speaker-out on
the held-out speaker's windows (labelled as timelines label them: the most
probable class) and whole recordings, trained on all rows, and written to
``sertk/pretrained/timeline.joblib`` and ``timeline.json``
(``--timeline-output ""`` leaves them alone).

Why strict (no per-speaker normalisation): ``sertk-predict`` and
``load_model().predict(paths)`` usually see one recording of a speaker at a
time, so there are no speaker statistics to normalise with. A model trained
on per-speaker z-scores would then be shown pooled-scaled rows, unlike any
it was trained on; the strict model is trained exactly as it is used, and
``--adapt batch|speaker`` or ``--reference`` adapt it when more is known.

Licences: EMO-DB is free for research use; RAVDESS is CC BY-NC-SA 4.0, and
a model trained on it inherits those terms (the README says so).
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
from sklearn.model_selection import PredefinedSplit

from sertk.evaluation.protocols import evaluate
from sertk.features.extractor import FeatureExtractor
from sertk.features.tables import atomic_write_json
from sertk.io.datasets import read_emodb, read_ravdess
from sertk.io.model_files import DEFAULT_MODEL, TIMELINE_MODEL, load_model, save_model
from sertk.models.augment import speed_copies, with_copies
from sertk.models.classifier import EmotionClassifier, training_speeds
from sertk.timeline.windows import window_features

ROOT = Path(__file__).resolve().parents[1]
EMODB = ROOT.parent / "shared" / "data" / "emodb"
RAVDESS = ROOT.parent / "shared" / "data" / "ravdess"
WINDOW, HOP = 2.0, 0.5  # predict_timeline's defaults


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate and write the default model; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emodb", default=os.environ.get("SERTK_EMODB", EMODB),
                        help="EMO-DB folder (default: $SERTK_EMODB or %(default)s)")
    parser.add_argument("--ravdess", default=os.environ.get("SERTK_RAVDESS", RAVDESS),
                        help="RAVDESS folder (default: $SERTK_RAVDESS or "
                             "%(default)s)")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--folds", default="5",
                        help="speaker-grouped folds of the estimate, or 'loso' "
                             "(default: %(default)s)")
    parser.add_argument("--compare", action="store_true",
                        help="also score the single-corpus models on the same "
                             "folds")
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


def read_corpora(emodb: str | os.PathLike, ravdess: str | os.PathLike
                 ) -> pd.DataFrame:
    """Return both corpora's recordings: path, label, speaker, corpus.

    Speaker ids are prefixed by the corpus (``emodb/03``, ``ravdess/01``).
    """
    parts = []
    for name, table in (("emodb", read_emodb(emodb)),
                        ("ravdess", read_ravdess(ravdess))):
        parts.append(pd.DataFrame({
            "path": table["path"], "label": table["label"],
            "speaker": name + "/" + table["speaker"].astype(str), "corpus": name}))
    return pd.concat(parts, ignore_index=True)


def speaker_folds(speakers: np.ndarray, corpus: np.ndarray, folds: str) -> np.ndarray:
    """Return each row's test fold: every corpus's sorted speakers dealt in turn.

    With ``folds="loso"`` each speaker is a fold.
    """
    if folds == "loso":
        return pd.factorize(speakers, sort=True)[0]
    k = int(folds)
    fold = np.empty(len(speakers), dtype=int)
    for name in np.unique(corpus):
        for i, speaker in enumerate(sorted(set(speakers[corpus == name]))):
            fold[speakers == speaker] = i % k
    return fold


def per_corpus(report, corpus_of: dict) -> dict:
    """Return UAR, WAR and recall of each corpus's rows of a report."""
    from sklearn.metrics import recall_score

    out = {}
    which = np.array([corpus_of[s] for s in report.speakers])
    for name in np.unique(which):
        rows = which == name
        truth, guess = report.y_true[rows], report.y_pred[rows]
        labels = np.unique(truth)
        recall = recall_score(truth, guess, labels=labels, average=None)
        out[str(name)] = {
            "n": int(rows.sum()), "uar": round(float(np.mean(recall)), 4),
            "war": round(float(np.mean(truth == guess)), 4),
            "recall": {str(c): round(float(r), 4) for c, r in zip(labels, recall,
                                                                 strict=True)}}
    return out


def _train(args: argparse.Namespace, cache: str) -> int:
    started = time.perf_counter()
    corpus = read_corpora(args.emodb, args.ravdess)
    paths, y = corpus["path"].tolist(), corpus["label"].to_numpy()
    speakers, names = corpus["speaker"].to_numpy(), corpus["corpus"].to_numpy()
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
          f"{time.perf_counter() - started:.0f} s", flush=True)
    fold = speaker_folds(speakers, names, args.folds)
    splitter = PredefinedSplit(fold)
    scheme = ("leave-one-speaker-out" if args.folds == "loso" else
              f"speaker-grouped {args.folds}-fold (each corpus's sorted speakers "
              "dealt in turn)")
    corpus_of = dict(zip(speakers, names, strict=True))
    report = evaluate(X, y, speakers, estimator=clf, protocol="strict", cv=splitter,
                      augmented=copies, corpus=names, n_jobs=args.n_jobs,
                      progress=False)
    scores = per_corpus(report, corpus_of)
    print(report.summary())
    print("two-corpus model, each corpus:", scores, flush=True)
    single = {}
    if args.compare:
        for name in np.unique(names):
            rows = np.flatnonzero(names == name)
            one = evaluate(X.iloc[rows], y[rows], speakers[rows], estimator=clf,
                           protocol="strict", cv=PredefinedSplit(fold[rows]),
                           augmented=copies[rows], n_jobs=args.n_jobs,
                           progress=False)
            single[str(name)] = per_corpus(one, corpus_of)[str(name)]
            print(f"single-corpus model {name}, same folds:", single[str(name)],
                  flush=True)
    clf.fit(paths, y, speakers=speakers, augmented=copies, corpus=names)

    provenance = {
        "corpus": "EMO-DB (Berlin Database of Emotional Speech) and RAVDESS "
                  "speech (Ryerson Audio-Visual Database of Emotional Speech and "
                  "Song), each normalised with its own statistics",
        "licences": {"EMO-DB": "free for research use",
                     "RAVDESS": "CC BY-NC-SA 4.0 (attribution, non-commercial, "
                                "share-alike); this model inherits it"},
        "language": "German (EMO-DB), North-American English (RAVDESS)",
        "speech": "acted; EMO-DB: 10 actors reading 10 sentences; RAVDESS: 24 "
                  "actors, 2 sentences, 2 intensities",
        "n_files": len(paths),
        "n_files_per_corpus": {str(k): int(v) for k, v in
                               pd.Series(names).value_counts().sort_index().items()},
        "n_speakers": int(pd.Series(speakers).nunique()),
        "classes": sorted(map(str, clf.classes_)),
        "speaker_normalisation": False,
        "why_strict": "single recordings at prediction time have no speaker "
                      "batch to normalise with; trained as it is used",
    }
    output = Path(args.output)
    save_model(clf, output, cv_report=report.to_dict(), provenance=provenance)
    estimate = {
        "protocol": report.protocol,
        "cv": scheme,
        "uar": round(report.uar, 4),
        "war": round(report.war, 4),
        "macro_f1": round(report.macro_f1, 4),
        "per_corpus": scores,
    }
    if single:
        estimate["single_corpus_models_same_folds"] = single
    _write_json(output, training=provenance, n_augmented=clf.training_summary_[
        "n_augmented"], estimate_strict=estimate)
    print(f"wrote {output} ({output.stat().st_size / 1e3:.0f} kB) and "
          f"{output.with_suffix('.json').name} in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    if args.timeline_output:
        emodb = np.flatnonzero(names == "emodb")
        table = corpus.iloc[emodb].reset_index(drop=True)
        table["speaker"] = table["speaker"].str.removeprefix("emodb/")
        _train_timeline(args, table, X.iloc[emodb].reset_index(drop=True),
                        copies[emodb], {
                            "corpus": "EMO-DB (Berlin Database of Emotional Speech)",
                            "language": "German", "n_files": len(emodb),
                            "n_speakers": 10, "classes": sorted(set(y[emodb])),
                            "speaker_normalisation": False})
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
