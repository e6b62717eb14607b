"""Train the models bundled with sertk and write their provenance.

Usage (from the repository root; rerun after any change to the features or
the classifier)::

    python scripts/train_default_model.py [--emodb DIR] [--ravdess DIR] [--n-jobs 2]
        [--cache DIR] [--conditions white-10,babble-10,...]

Steps: read all of EMO-DB and all of RAVDESS speech (each a corpus: its
own median/IQR statistics are kept by the model, ``fit(..., corpus=)``;
speaker ids prefixed by the corpus); extract the ``default`` feature set of
each recording, of its speed-perturbed copies and of its condition copy
(``augment=AUGMENT_MIX``: one copy of each recording in noise, on a
telephone channel or in a room, drawn per recording; babble made of other
speakers' recordings); give each recording its arousal and valence
(``dimensions="circumplex"``: its category's point, RAVDESS's ``strong``
intensity raising arousal, :func:`sertk.models.dimensions.dimension_targets`).

Then the speaker-independent estimate, *strict* protocol, on speaker-grouped
folds over both corpora (``--folds``: K folds, each corpus's sorted speakers
dealt in turn, or ``loso``): in each fold a model trained on every other
speaker of both corpora and their copies, the babble copies remade from
those training speakers only (:class:`sertk.models.augment.FoldCopies`), so
no held-out voice is ever heard in training. Each fold also trains the model
without condition copies (recordings and speed copies: the previous bundled
recipe), and both label the held-out recordings as they are and as they
sound in each of ``--conditions`` (test copies made with another seed). The
held-out recordings are scored per corpus: UAR and WAR of the labels,
concordance (CCC) of arousal and valence.

Then ``EmotionClassifier(speaker_norm=False, augment=AUGMENT_MIX,
dimensions="circumplex")`` is trained on all 1975 recordings and their
copies and written to ``sertk/pretrained/default.joblib`` (the estimate in
its metadata) and ``default.json`` (the provenance, readable without
loading the model). The label set is the union of the corpora's (9
classes); a class a corpus lacks is learnt from the other one.

Then the timeline model, trained the way timelines use it: the same rows
(recordings and all their copies) and the speech windows of each
recording, cut as ``predict_timeline`` cuts them by default
(``sertk.timeline.window_features``), labelled as their recording;
``EmotionClassifier(speaker_norm=False, speed_perturbation=None,
dimensions="circumplex")`` on them is scored on the same folds on the
held-out speakers' windows (labelled as timelines label them: the most
probable class) and whole recordings, trained on all rows, and written to
``sertk/pretrained/timeline.joblib`` and ``timeline.json``
(``--timeline-output ""`` leaves them alone, ``--output ""`` the default
model).

Why strict (no per-speaker normalisation): ``sertk-predict`` and
``load_model().predict(paths)`` usually see one recording of a speaker at a
time, so there are no speaker statistics to normalise with. A model trained
on per-speaker z-scores would then be shown pooled-scaled rows, unlike any
it was trained on; the strict model is trained exactly as it is used, and
``--adapt batch|speaker`` or ``--reference`` adapt it when more is known.

``--cache DIR`` keeps the per-file features (sertk's extraction cache) and
the copies and test copies this script makes (keyed by the sertk source
and the data), so a second run reuses them; without it everything is
extracted afresh in a temporary folder.

Licences: EMO-DB is free for research use; RAVDESS is CC BY-NC-SA 4.0, and
a model trained on it inherits those terms (the README says so).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone

from sertk.evaluation.protocols import ProtocolClassifier
from sertk.features.extractor import FeatureExtractor
from sertk.features.tables import atomic_write_json
from sertk.io.datasets import read_emodb, read_ravdess
from sertk.io.model_files import DEFAULT_MODEL, TIMELINE_MODEL, load_model, save_model
from sertk.models.augment import (
    AUGMENT_MIX,
    condition_copies,
    training_copies,
    training_speeds,
    with_copies,
)
from sertk.models.classifier import EmotionClassifier
from sertk.models.dimensions import DIMENSIONS, concordance, dimension_targets
from sertk.timeline.windows import window_features

ROOT = Path(__file__).resolve().parents[1]
EMODB = ROOT.parent / "shared" / "data" / "emodb"
RAVDESS = ROOT.parent / "shared" / "data" / "ravdess"
WINDOW, HOP = 2.0, 0.5  # predict_timeline's defaults
#: Test audio of the estimate: issue 21's target conditions.
CONDITIONS = "white-10,babble-10,telephone,mu-law,reverb-0.6"
TEST_SEED = 1000  # test copies: another seed than the training copies' (0)


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate and write the bundled models; return the exit status."""
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
    parser.add_argument("--conditions", default=CONDITIONS,
                        help="test conditions of the estimate, comma-separated "
                             "(default: %(default)s; '' for clean audio only)")
    parser.add_argument("--cache", default=None,
                        help="folder keeping features and copies between runs "
                             "(default: a temporary one)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N speakers of each corpus (a "
                             "trial run; never for the bundled files)")
    parser.add_argument("--output", default=str(DEFAULT_MODEL),
                        help="the default model (default: %(default)s); an "
                             "empty string skips it")
    parser.add_argument("--timeline-output", default=str(TIMELINE_MODEL),
                        help="the timeline model (default: %(default)s); an "
                             "empty string skips it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sertk-default-") as temporary:
        return _train(args, args.cache or temporary)


def read_corpora(emodb: str | os.PathLike, ravdess: str | os.PathLike
                 ) -> pd.DataFrame:
    """Return both corpora's recordings: path, label, speaker, corpus, intensity.

    Speaker ids are prefixed by the corpus (``emodb/03``, ``ravdess/01``);
    ``intensity`` is RAVDESS's (``normal``/``strong``), empty for EMO-DB.
    """
    parts = []
    for name, table in (("emodb", read_emodb(emodb)),
                        ("ravdess", read_ravdess(ravdess))):
        parts.append(pd.DataFrame({
            "path": table["path"], "label": table["label"],
            "speaker": name + "/" + table["speaker"].astype(str), "corpus": name,
            "intensity": table.get("intensity", pd.Series("", index=table.index))}))
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


def scores(truth: np.ndarray, guess: np.ndarray, corpus: np.ndarray,
           recall: bool = False) -> dict:
    """Return UAR and WAR (and each class's recall) of each corpus's rows."""
    out = {}
    for name in np.unique(corpus):
        rows = corpus == name
        t, g = truth[rows], guess[rows]
        recalls = {str(c): float(np.mean(g[t == c] == c)) for c in np.unique(t)}
        out[str(name)] = {"n": int(rows.sum()),
                          "uar": round(float(np.mean(list(recalls.values()))), 4),
                          "war": round(float(np.mean(t == g)), 4)}
        if recall:
            out[str(name)]["recall"] = {c: round(r, 4) for c, r in recalls.items()}
    return out


#: What the arrays this script keeps depend on: the analysis code (as
#: sertk's per-file cache digests it: never tables.py or _dask.py, which
#: extraction does not import) and the code that makes copies.
FEATURE_CODE = ("audio", "features", "settings.py", "errors.py", "models/augment.py")
NOT_FEATURE_CODE = ("features/tables.py", "features/_dask.py")
#: ... and, for the estimates, the code that fits and scores models,
MODEL_CODE = ("models", "evaluation")
#: ... and, for the timeline's windows, the code that cuts them.
WINDOW_CODE = ("timeline/windows.py",)


def _source_digest(parts: tuple[str, ...]) -> str:
    """Digest of library versions and the sertk source files under ``parts``."""
    import sertk

    libraries = {name: version(name) for name in (
        "numpy", "scipy", "scikit-learn", "librosa", "praat-parselmouth", "soxr",
        "soundfile")}
    digest = hashlib.sha256(json.dumps(libraries, sort_keys=True).encode())
    package = Path(sertk.__file__).resolve().parent
    for part in parts:
        files = sorted((package / part).rglob("*.py")) if (package / part).is_dir() \
            else [package / part]
        for path in files:
            if str(path.relative_to(package).as_posix()) in NOT_FEATURE_CODE:
                continue
            digest.update(str(path.relative_to(package)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


class _Store:
    """What this script computes, kept in a folder under a digest of its key.

    Arrays are keyed by the code of :data:`FEATURE_CODE` (and ``code``);
    the estimate by the models' and evaluation's code too.
    """

    def __init__(self, folder: str):
        self.folder = Path(folder) / "train_default_model"

    def _path(self, name: str, key: dict, code: tuple[str, ...], suffix: str) -> Path:
        text = json.dumps({**key, "source": _source_digest(FEATURE_CODE + code)},
                          sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        return self.folder / f"{name}-{digest}{suffix}"

    def __call__(self, name: str, key: dict, compute: Callable[[], np.ndarray],
                 code: tuple[str, ...] = ()) -> np.ndarray:
        path = self._path(name, key, code, ".npy")
        if path.exists():
            return np.load(path, allow_pickle=False)
        started = time.perf_counter()
        value = np.asarray(compute())
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial.npy")
        np.save(partial, value, allow_pickle=False)
        os.replace(partial, path)
        print(f"  {name}: {value.shape} in {time.perf_counter() - started:.0f} s",
              flush=True)
        return value

    def json(self, name: str, key: dict, compute: Callable[[], dict],
             code: tuple[str, ...] = ()) -> dict:
        """Return a JSON-able result, kept like the arrays."""
        path = self._path(name, key, code, ".json")
        if path.exists():
            return json.loads(path.read_text())
        value = compute()
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, value)
        return value


def _train(args: argparse.Namespace, cache_dir: str) -> int:
    started = time.perf_counter()
    corpus = read_corpora(args.emodb, args.ravdess)
    if args.limit:
        keep = corpus.groupby("corpus")["speaker"].transform(
            lambda s: s.isin(sorted(s.unique())[: args.limit]))
        corpus = corpus[keep].reset_index(drop=True)
    paths, y = corpus["path"].tolist(), corpus["label"].to_numpy()
    speakers, names = corpus["speaker"].to_numpy(), corpus["corpus"].to_numpy()
    targets = dimension_targets(y, intensity=corpus["intensity"].tolist())
    store = _Store(cache_dir)
    extractor = FeatureExtractor("default", n_jobs=args.n_jobs, cache=cache_dir,
                                 progress=False)
    X = extractor.transform(paths)
    clf = EmotionClassifier(
        feature_set="default", speaker_norm=False, augment=AUGMENT_MIX,
        dimensions="circumplex",
        extractor_params={"n_jobs": args.n_jobs, "cache": cache_dir})
    fold = speaker_folds(speakers, names, args.folds)
    copies = _copies(store, clf, extractor, paths, speakers, fold)
    print(f"features {X.shape}, copies {copies['all'].shape[1]} a recording, in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    scheme = ("leave-one-speaker-out" if args.folds == "loso" else
              f"speaker-grouped {args.folds}-fold (each corpus's sorted speakers "
              "dealt in turn)")
    provenance = _provenance(corpus)
    if args.output:
        _train_default(args, store, clf, extractor, X, corpus, targets, fold,
                       copies, scheme, provenance)
    if args.timeline_output:
        _train_timeline(args, store, corpus, X, copies, fold, targets, scheme,
                        provenance)
    return 0


def _train_default(args: argparse.Namespace, store: _Store, clf: EmotionClassifier,
                   extractor: FeatureExtractor, X: pd.DataFrame, corpus: pd.DataFrame,
                   targets: np.ndarray, fold: np.ndarray, copies: dict, scheme: str,
                   provenance: dict) -> None:
    """Score the default model's recipe, train it on everything and write it.

    The estimate's test audio: each recording in each of ``--conditions``.
    """
    started = time.perf_counter()
    paths, y = corpus["path"].tolist(), corpus["label"].to_numpy()
    speakers, names = corpus["speaker"].to_numpy(), corpus["corpus"].to_numpy()
    n_speeds = len(training_speeds(clf.speed_perturbation, normalised=False))
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    tests = {c: store(f"test-{c}", {"paths": paths, "speakers": speakers.tolist(),
                                    "condition": c, "seed": TEST_SEED},
                      lambda c=c: condition_copies(
                          extractor, paths, [c], speakers=speakers,
                          seed=TEST_SEED)[:, 0])
             for c in conditions}
    estimate = store.json(
        "estimate", {"paths": paths, "fold": fold.tolist(), "conditions": list(tests),
                     "classifier": repr(clf)},
        lambda: {"protocol": "strict", "cv": scheme, **_estimate(
            clf, X, y, speakers, names, targets, fold, copies, tests, n_speeds,
            args.n_jobs)},
        code=MODEL_CODE)
    print(json.dumps(estimate, indent=1), flush=True)
    clf.fit(paths, y, speakers=speakers, augmented=copies["all"], corpus=names,
            dimension_targets=targets)
    output = Path(args.output)
    save_model(clf, output, cv_report=estimate, provenance=provenance)
    _write_json(output, training=provenance,
                n_augmented=clf.training_summary_["n_augmented"],
                estimate_strict=estimate)
    print(f"wrote {output} ({output.stat().st_size / 1e3:.0f} kB) and "
          f"{output.with_suffix('.json').name} in "
          f"{time.perf_counter() - started:.0f} s", flush=True)


def _copies(store: _Store, clf: EmotionClassifier, extractor: FeatureExtractor,
            paths: list[str], speakers: np.ndarray, fold: np.ndarray) -> dict:
    """Return the training copies: of all recordings, and of each fold's.

    ``{"all": (n, n_copies, f), k: copies of the rows outside fold k}``;
    the copies that drew babble are made from the fold's training speakers
    (:class:`~sertk.models.augment.FoldCopies`, the copies ``sertk.evaluate``
    makes).
    """

    @cache
    def per_fold():
        return training_copies(clf.get_params(deep=False), extractor, paths,
                               normalised=False, speakers=speakers, per_fold=True)

    key = {"paths": paths, "speakers": speakers.tolist(), "augment": clf.augment,
           "speeds": clf.speed_perturbation, "seed": clf.random_state}
    out = {"all": store("copies-all", key,
                        lambda: per_fold()(np.arange(len(paths))))}
    for k in np.unique(fold):
        train = np.flatnonzero(fold != k)
        out[int(k)] = store(f"copies-fold{k}", {**key, "train": train.tolist()},
                            lambda train=train: per_fold()(train))
    return out


def _fit_fold(estimator: EmotionClassifier, X: pd.DataFrame, y: np.ndarray,
              speakers: np.ndarray, names: np.ndarray, targets: np.ndarray,
              train: np.ndarray, test: np.ndarray, copies: np.ndarray,
              tests: dict) -> tuple[dict, np.ndarray | None]:
    """Fit one fold's strict model; label its test rows in each condition.

    Returns the labels by condition ("clean" and ``tests``' names) and the
    test rows' arousal and valence (None for a model without dimensions).
    """
    model = ProtocolClassifier(estimator, protocol="strict")
    dims = estimator.dimensions is not None
    extra = {"dimension_targets": targets[train]} if dims else {}
    model.fit(X.iloc[train], y[train], speakers=speakers[train], augmented=copies,
              corpus=names[train], **extra)
    labels = {"clean": model.predict(X.iloc[test])}
    for c, T in tests.items():
        labels[c] = model.predict(pd.DataFrame(T[test], columns=X.columns))
    return labels, (model.estimator_.predict_dimensions(X.iloc[test]) if dims
                    else None)


def _estimate(clf: EmotionClassifier, X: pd.DataFrame, y: np.ndarray,
              speakers: np.ndarray, names: np.ndarray, targets: np.ndarray,
              fold: np.ndarray, copies: dict, tests: dict, n_speeds: int,
              n_jobs: int) -> dict:
    """Score the recipe, and the model without condition copies, fold by fold."""
    regimes = {"recipe": clf,
               "without_condition_copies": clone(clf).set_params(
                   augment=None, dimensions=None)}
    jobs, keys = [], []
    for k in np.unique(fold):
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        for regime, estimator in regimes.items():
            given = copies[int(k)] if regime == "recipe" else \
                copies[int(k)][:, :n_speeds]
            jobs.append(delayed(_fit_fold)(estimator, X, y, speakers, names, targets,
                                           train, test, given, tests))
            keys.append((regime, test))
    outputs = Parallel(n_jobs=n_jobs)(jobs)
    labels = {r: {c: np.empty(len(y), dtype=object) for c in ["clean", *tests]}
              for r in regimes}
    dims = np.full((len(y), len(DIMENSIONS)), np.nan)
    for (regime, test), (out, predicted) in zip(keys, outputs, strict=True):
        for c, guess in out.items():
            labels[regime][c][test] = guess
        if predicted is not None:
            dims[test] = predicted
    result = {
        "rows_scored_with": "adapt='none': each held-out recording z-scored with "
                            "the statistics of the training corpus it is nearest to",
        "uar_war_both_corpora": scores(y, labels["recipe"]["clean"],
                                       np.full(len(y), "both"))["both"],
        "per_corpus": scores(y, labels["recipe"]["clean"], names, recall=True),
        "dimensions_ccc": {
            str(name): {d: round(concordance(targets[names == name, i],
                                             dims[names == name, i]), 4)
                        for i, d in enumerate(DIMENSIONS)}
            for name in np.unique(names)},
        "without_condition_copies": scores(
            y, labels["without_condition_copies"]["clean"], names),
    }
    if tests:
        result["degraded_test_audio"] = {
            "test_copies": f"each held-out recording in the condition, seed "
                          f"{TEST_SEED}; babble from every other speaker",
            "uar": {c: {r: {n: s["uar"] for n, s in
                            scores(y, labels[r][c], names).items()}
                        for r in regimes} for c in tests}}
    return result


def _provenance(corpus: pd.DataFrame) -> dict:
    names = corpus["corpus"]
    return {
        "corpus": "EMO-DB (Berlin Database of Emotional Speech) and RAVDESS "
                  "speech (Ryerson Audio-Visual Database of Emotional Speech and "
                  "Song), each normalised with its own statistics",
        "licences": {"EMO-DB": "free for research use",
                     "RAVDESS": "CC BY-NC-SA 4.0 (attribution, non-commercial, "
                                "share-alike); this model inherits it"},
        "language": "German (EMO-DB), North-American English (RAVDESS)",
        "speech": "acted; EMO-DB: 10 actors reading 10 sentences; RAVDESS: 24 "
                  "actors, 2 sentences, 2 intensities",
        "n_files": len(corpus),
        "n_files_per_corpus": {str(k): int(v) for k, v in
                               names.value_counts().sort_index().items()},
        "n_speakers": int(corpus["speaker"].nunique()),
        "classes": sorted(map(str, corpus["label"].unique())),
        "speaker_normalisation": False,
        "why_strict": "single recordings at prediction time have no speaker "
                      "batch to normalise with; trained as it is used",
        "condition_copies": {"augment": list(AUGMENT_MIX), "seed": 0,
                             "babble": "4-6 recordings of other speakers"},
        "dimensions": "arousal and valence from each label's circumplex point "
                      "(sertk.models.dimensions.CIRCUMPLEX), RAVDESS's strong "
                      "intensity adding arousal",
    }


def _train_timeline(args: argparse.Namespace, store: _Store, corpus: pd.DataFrame,
                    X: pd.DataFrame, copies: dict, fold: np.ndarray,
                    targets: np.ndarray, scheme: str, provenance: dict) -> None:
    """Train, score and write the timeline model: recordings, copies and windows.

    Its rows are the default model's (each recording and all its copies)
    and the speech windows of each recording as
    :func:`sertk.timeline.windows.predict_timeline` cuts them with its defaults
    (:func:`sertk.timeline.windows.window_features`), labelled as their
    recording. Its estimate uses the same folds and per-fold copies as the
    default model's.
    """
    started = time.perf_counter()
    paths = corpus["path"].tolist()
    windows, source = _windows(store, paths, X.columns, args.n_jobs)
    print(f"timeline: {len(source)} windows in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    clf = EmotionClassifier(feature_set="default", speaker_norm=False,
                            speed_perturbation=None, dimensions="circumplex")
    estimate = store.json(
        "timeline-estimate", {"paths": paths, "fold": fold.tolist(),
                              "classifier": repr(clf)},
        lambda: {"protocol": "strict", "cv": scheme, **_timeline_estimate(
            clone(clf).set_params(dimensions=None), corpus, X, copies, windows,
            source, fold, args.n_jobs)},
        code=MODEL_CODE + WINDOW_CODE)
    print("timeline model:", json.dumps(estimate, indent=1), flush=True)
    rows, labels, voices, names, dims = _timeline_rows(
        corpus, X, copies["all"], windows, source, targets)
    clf.fit(rows, labels, speakers=voices, corpus=names, dimension_targets=dims)
    output = Path(args.timeline_output)
    training = {**provenance, "n_windows": len(source),
                "windows": {"window": WINDOW, "hop": HOP,
                            "made_with": "sertk.timeline.windows.window_features"}}
    save_model(clf, output, provenance={**training, "estimate": estimate})
    _write_json(output, training=training,
                n_rows=clf.training_summary_["n_files"], estimate_strict=estimate)
    print(f"wrote {output} ({output.stat().st_size / 1e3:.0f} kB) and "
          f"{output.with_suffix('.json').name} in "
          f"{time.perf_counter() - started:.0f} s", flush=True)


def _windows(store: _Store, paths: list[str], columns: pd.Index, n_jobs: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Return the speech windows' features and, for each, its recording's index."""

    def compute() -> np.ndarray:
        tables = Parallel(n_jobs=n_jobs)(
            delayed(window_features)(path, "default", window=WINDOW, hop=HOP,
                                     progress=False) for path in paths)
        source = np.concatenate([np.full(len(t), i) for i, t in enumerate(tables)])
        values = pd.concat(tables, ignore_index=True)[columns].to_numpy(float)
        return np.column_stack([source, values])

    table = store("windows", {"paths": paths, "window": WINDOW, "hop": HOP}, compute,
                  code=WINDOW_CODE)
    return table[:, 1:], table[:, 0].astype(int)


def _timeline_rows(corpus: pd.DataFrame, X: pd.DataFrame, copies: np.ndarray,
                   windows: np.ndarray, source: np.ndarray, targets: np.ndarray
                   ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray,
                              np.ndarray]:
    """Return the rows (recordings, copies, windows) and what each row carries.

    Its label, speaker, corpus and (arousal, valence), as its recording's.
    Copies that could not be analysed are left out, as ``fit`` leaves them.
    """
    y, speakers = corpus["label"].to_numpy(), corpus["speaker"].to_numpy()
    rows, _, _, of = with_copies(X, y, speakers, copies)
    of = np.concatenate([of, source])
    rows = pd.DataFrame(np.vstack([rows, windows]), columns=X.columns)
    return (rows, y[of], speakers[of], corpus["corpus"].to_numpy()[of],
            targets[of])


def _timeline_fold(clf: EmotionClassifier, corpus: pd.DataFrame, X: pd.DataFrame,
                   copies: np.ndarray, windows: np.ndarray, source: np.ndarray,
                   train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, ...]:
    """Fit on fold ``train``'s rows; label the test windows and recordings.

    Windows are labelled as timelines label them: the most probable class.
    """
    part = corpus.iloc[train].reset_index(drop=True)
    index = np.full(len(corpus), -1)
    index[train] = np.arange(train.size)
    mine = index[source] >= 0
    rows, labels, voices, names, _ = _timeline_rows(
        part, X.iloc[train].reset_index(drop=True), copies, windows[mine],
        index[source[mine]], np.zeros((train.size, 2)))
    clf.fit(rows, labels, speakers=voices, corpus=names)
    held = np.isin(source, test)
    on_windows = clf.classes_[clf.predict_proba(
        pd.DataFrame(windows[held], columns=X.columns)).argmax(axis=1)]
    return np.flatnonzero(held), on_windows, clf.predict(X.iloc[test])


def _timeline_estimate(clf: EmotionClassifier, corpus: pd.DataFrame, X: pd.DataFrame,
                       copies: dict, windows: np.ndarray, source: np.ndarray,
                       fold: np.ndarray, n_jobs: int) -> dict:
    """Strict fold figures of the timeline model on windows and on recordings."""
    y, names = corpus["label"].to_numpy(), corpus["corpus"].to_numpy()
    folds = np.unique(fold)
    outputs = Parallel(n_jobs=n_jobs)(
        delayed(_timeline_fold)(clone(clf), corpus, X, copies[int(k)], windows,
                                source, np.flatnonzero(fold != k),
                                np.flatnonzero(fold == k))
        for k in folds)
    on_windows = np.empty(len(source), dtype=object)
    on_recordings = np.empty(len(y), dtype=object)
    for k, (held, labelled, recordings) in zip(folds, outputs, strict=True):
        on_windows[held] = labelled
        on_recordings[fold == k] = recordings
    return {"windows": scores(y[source], on_windows, names[source]),
            "recordings": scores(y, on_recordings, names)}


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
