"""Cross-corpus: EMO-DB <-> RAVDESS with each adaptation mode, and small corpora.

Two studies, same classifier for every feature set:

1. **Cross-corpus.** Train on all of one corpus, test on all of the other,
   over the six labels both share (anger, disgust, fear, happiness,
   neutral, sadness; chance 0.167): EMO-DB -> RAVDESS, RAVDESS -> EMO-DB,
   and their mean (with two corpora, leave-one-corpus-out is these two
   runs). :func:`sertk.evaluation.protocols` with ``test=`` and ``protocol="strict"``
   (nothing about the test corpus is used in training), as
   ``sertk-evaluate --manifest A --test-manifest B --protocol strict
   --adapt MODE`` runs it; each adaptation mode at prediction (see
   :mod:`sertk.models.adaptation`): ``none`` (training statistics),
   ``batch`` (the test corpus z-scored by its own median and IQR) and
   ``speaker`` (each test speaker by its own). Rows: sertk ``default``
   and ``minimal``, without and with speed-perturbed copies of the training
   recordings (0.9, 1.1), openSMILE eGeMAPSv02 and ComParE_2016 without
   copies.
2. **Small corpora.** Four classes (anger, happiness, neutral, sadness), at
   most 100 recordings a class, 10 speakers: EMO-DB's ten, RAVDESS's actors
   01-10; strict leave-one-speaker-out. Does ``EmotionClassifier()`` on the
   976 ``default`` columns lose to its 114 ``minimal`` ones when recordings
   are few?

Features: the benchmark caches (``~/.cache/sertk-bench/``); ``minimal`` is
the ``default`` table's ``minimal`` columns (the same functionals of the
same contours). Classifier: ``EmotionClassifier()`` defaults
(``probability`` off, labels only).

Prints the tables and writes them to the ``crosscorpus`` section of
``docs/benchmarks.md``. Run from the repository root::

    python -m benchmarks.crosscorpus            # ~25 min on 2 cores, first run
    python -m benchmarks.crosscorpus --quick    # sertk rows only, no docs
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import (
    REPO,
    Corpus,
    benchmark_parser,
    command_line,
    corpus_or_exit,
    freeze_sertk,
    made_with,
    markdown_table,
    provenance,
    sertk_copies,
    sertk_features,
)
from benchmarks._opensmile import opensmile_features
from benchmarks._report import update_section

EMODB = REPO.parent / "shared" / "data" / "emodb" / "manifest.csv"
RAVDESS = REPO.parent / "shared" / "data" / "ravdess" / "manifest.csv"
MODES = ("none", "batch", "speaker")
#: (row name, feature source, with copies)
ROWS = (
    ("sertk `default`", "default", False),
    ("sertk `default`, copies", "default", True),
    ("sertk `minimal`", "minimal", False),
    ("sertk `minimal`, copies", "minimal", True),
    ("openSMILE eGeMAPSv02", "eGeMAPSv02", False),
    ("openSMILE ComParE_2016", "ComParE_2016", False),
)
SMALL_CLASSES = ("anger", "happiness", "neutral", "sadness")
SMALL_PER_CLASS = 100
SMALL_SPEAKERS = 10
N_JOBS = 1
#: ``--feature-cache``: a per-file feature cache folder shared with other runs.
_EXTRACTION: dict = {}


def _minimal_columns() -> list[str]:
    from sertk import FeatureExtractor

    return list(FeatureExtractor("minimal").fit().get_feature_names_out())


def features(corpus: Corpus, source: str, copies: bool
             ) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Return a corpus's feature table and its copies' (or None), cached."""
    if source in ("eGeMAPSv02", "ComParE_2016"):
        return opensmile_features(corpus.manifest, source, n_jobs=N_JOBS), None
    table = sertk_features(corpus, "default", n_jobs=N_JOBS, **_EXTRACTION)
    augmented = (sertk_copies(corpus, "default", n_jobs=N_JOBS, **_EXTRACTION)
                 if copies else None)
    if source == "minimal":
        columns = _minimal_columns()
        keep = [table.columns.get_loc(c) for c in columns]
        table = table[columns]
        augmented = None if augmented is None else augmented[:, :, keep]
    return table, augmented


def _shared(corpus: Corpus, labels: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.isin(corpus.labels, labels))


def cross_corpus(corpora: dict[str, Corpus], rows) -> tuple[list[list[str]], dict]:
    """Run study 1; return the table rows and the UARs ``{(row, train, mode): uar}``.

    Each model is fitted once and predicts the test corpus in each mode:
    what :func:`sertk.evaluation.protocols` does with ``test=``, ``protocol="strict"``
    and ``adapt=`` (training rows of the shared labels, the training
    speakers given to ``fit`` for the fallback's threshold only), without
    refitting for every mode.
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    from sertk import EmotionClassifier

    out, uars = [], {}
    names = list(corpora)
    pairs = [(names[0], names[1]), (names[1], names[0])]
    labels = np.intersect1d(*(np.unique(c.labels) for c in corpora.values()))
    for name, source, copies in rows:
        tables = {c: features(corpora[c], source, copies) for c in corpora}
        cells = {}
        for train, test in pairs:
            (X, augmented), (X_test, _) = tables[train], tables[test]
            a, b = corpora[train], corpora[test]
            rows_a, rows_b = _shared(a, labels), _shared(b, labels)
            started = time.perf_counter()
            model = EmotionClassifier(
                speaker_norm=False, probability=False,
                speed_perturbation="auto" if copies else None).fit(
                X.iloc[rows_a].reset_index(drop=True), a.labels[rows_a],
                speakers=a.speakers[rows_a],
                augmented=None if augmented is None else augmented[rows_a])
            fitted = time.perf_counter() - started
            y_true = b.labels[rows_b]
            for mode in MODES:
                y_pred = model.predict(X_test.iloc[rows_b].reset_index(drop=True),
                                       speakers=b.speakers[rows_b], adapt=mode)
                uar = balanced_accuracy_score(y_true, y_pred)
                cells[train, mode] = (uar, accuracy_score(y_true, y_pred))
                uars[name, train, mode] = uar
                print(f"  {name}: {train} -> {test}, adapt {mode}: UAR {uar:.3f} "
                      f"WAR {cells[train, mode][1]:.3f} (fit {fitted:.0f} s)",
                      flush=True)
        row = [name]
        for mode in MODES:
            row += [f"{cells[t, mode][0]:.3f} ({cells[t, mode][1]:.3f})"
                    for t, _ in pairs]
            row.append(f"{np.mean([cells[t, mode][0] for t, _ in pairs]):.3f}")
        out.append(row)
    return out, uars


def small_subset(corpus: Corpus) -> tuple[Corpus, np.ndarray]:
    """Four classes, at most 100 recordings a class, the first 10 speakers."""
    keep_speakers = sorted(set(corpus.speakers))[:SMALL_SPEAKERS]
    rows = np.flatnonzero(np.isin(corpus.labels, SMALL_CLASSES)
                          & np.isin(corpus.speakers, keep_speakers))
    chosen = []
    rng = np.random.default_rng(0)
    for label in SMALL_CLASSES:
        of = rows[corpus.labels[rows] == label]
        if of.size > SMALL_PER_CLASS:
            of = np.sort(rng.choice(of, SMALL_PER_CLASS, replace=False))
        chosen.append(of)
    chosen = np.sort(np.concatenate(chosen))
    return corpus, chosen


def small_study(corpora: dict[str, Corpus], rows) -> tuple[list[list[str]], dict]:
    """Run study 2: strict LOSO on each small subset."""
    from sertk import EmotionClassifier, evaluate

    out, uars = [], {}
    subsets = {c: small_subset(corpora[c]) for c in corpora}
    for name, source, copies in rows:
        row = [name]
        for c, (corpus, chosen) in subsets.items():
            X, augmented = features(corpus, source, copies)
            report = evaluate(
                X.iloc[chosen].reset_index(drop=True), corpus.labels[chosen],
                corpus.speakers[chosen],
                estimator=EmotionClassifier(
                    speed_perturbation="auto" if copies else None),
                protocol="strict", progress=False,
                augmented=None if augmented is None else augmented[chosen])
            uars[name, c] = report.uar
            row.append(f"{report.uar:.3f} ({report.war:.3f})")
            print(f"  small {c}: {name}: UAR {report.uar:.3f} WAR {report.war:.3f}",
                  flush=True)
        out.append(row)
    sizes = {c: (len(ch), len(set(co.speakers[ch]))) for c, (co, ch) in subsets.items()}
    return out, {"uars": uars, "sizes": sizes}


def report(cross: list, small: list, small_info: dict, command: str,
           seconds: float) -> str:
    """Return the Markdown section."""
    pairs = ("EMO-DB -> RAVDESS", "RAVDESS -> EMO-DB", "mean (LOCO)")
    header = ["features"] + [f"{p}, `{m}`" for m in MODES for p in pairs]
    sizes = ", ".join(f"{c}: {n} files, {s} speakers"
                      for c, (n, s) in small_info["sizes"].items())
    parts = [
        "Cross-corpus UAR (WAR) over the six labels EMO-DB and RAVDESS share "
        "(anger, disgust, fear, happiness, neutral, sadness; chance 0.167): "
        "trained on all of one corpus (its recordings of those labels), tested "
        "on all of the other; `mean (LOCO)` is the mean of the two directions, "
        "which are the leave-one-corpus-out runs of two corpora. Protocol "
        "*strict* for training (nothing about the test corpus); at prediction "
        "the adaptation mode of `sertk-evaluate --adapt` (`sertk.evaluate(..., "
        "adapt=)`): `none` uses the training statistics, `batch` z-scores the "
        "test corpus with its own median and IQR, `speaker` each test speaker "
        "with its own (rescaled to the training corpus's spread); see "
        "docs/adaptation.md. Classifier: `EmotionClassifier()` defaults for "
        "every feature set (`copies`: trained on speed-perturbed copies 0.9 and "
        "1.1 of the training recordings too, as its defaults do from audio; "
        "other rows `speed_perturbation=None`). `minimal` is the `default` "
        "table's 114 `minimal` columns.",
        "",
        markdown_table(header, cross),
        "",
        "Small corpora (issue 22, item 4): four classes (anger, happiness, "
        f"neutral, sadness), at most {SMALL_PER_CLASS} recordings a class "
        "(drawn with seed 0 where a class has more), the first "
        f"{SMALL_SPEAKERS} speakers ({sizes}); strict leave-one-speaker-out "
        "UAR (WAR), the same classifier.",
        "",
        markdown_table(["features", *small_info["sizes"]], small),
        "",
        provenance("opensmile", "scikit-learn"),
        "",
        made_with(command, seconds, "features"),
    ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(
        "crosscorpus", __doc__, manifest=False,
        quick="sertk rows only (no openSMILE), for a smoke run; nothing is "
        "written to the docs")
    parser.add_argument("--emodb", type=Path, default=EMODB,
                        help="EMO-DB's manifest (default: %(default)s)")
    parser.add_argument("--ravdess", type=Path, default=RAVDESS,
                        help="RAVDESS's manifest (default: %(default)s)")
    parser.add_argument("--feature-cache", metavar="DIR",
                        help="a FeatureExtractor cache folder to read sertk "
                        "features from on a benchmark-cache miss (runtime only: "
                        "the cache keys are unchanged)")
    args = parser.parse_args(argv)
    if args.feature_cache:
        _EXTRACTION["cache"] = args.feature_cache
    freeze_sertk()
    corpora = {"EMO-DB": corpus_or_exit(parser, args.emodb),
               "RAVDESS": corpus_or_exit(parser, args.ravdess)}
    command = command_line("benchmarks.crosscorpus",
                           sys.argv[1:] if argv is None else argv)
    print(f"command: {command}", flush=True)
    started = time.perf_counter()
    rows = [r for r in ROWS if not (args.quick and r[1] not in ("default", "minimal"))]
    cross, _ = cross_corpus(corpora, rows)
    small_rows = [r for r in rows if r[1] != "ComParE_2016"]
    small, info = small_study(corpora, small_rows)
    markdown = report(cross, small, info, command, time.perf_counter() - started)
    print("\n" + markdown)
    if not (args.quick or args.no_docs):
        page = update_section("crosscorpus", markdown, title="Cross-corpus")
        print(f"\nwritten to {page}")
    return 0


if __name__ == "__main__":
    from benchmarks.crosscorpus import main as _main

    sys.exit(_main())
