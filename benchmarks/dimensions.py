"""Arousal and valence on EMO-DB and RAVDESS: sertk's features against openSMILE's.

Each corpus's recordings get (arousal, valence) targets from their labels'
points on Russell's circumplex (:data:`sertk.models.dimensions.CIRCUMPLEX`;
RAVDESS's ``strong`` intensity adds 0.25 to arousal), and every feature set
goes through the same regressor: ``EmotionClassifier(dimensions=
"circumplex", fallback=None, speed_perturbation=None)`` (median imputer,
scaler, shrinkage-LDA projection, one RBF SVR a dimension on the
projection, blended with a ridge on all scaled features when calibrated;
no fallback and no copies, so every set is treated alike).
Scores: Lin's concordance correlation coefficient (CCC) and Spearman's rho
over all recordings, pooled across folds (:func:`sertk.evaluate_dimensions`):

- within a corpus, leave one speaker out, *speaker-normalised* (``adapt
  speaker``: each speaker z-scored with their own recordings) and *strict*
  (``adapt none``);
- across corpora (train on all of one, test on all recordings of the
  other; one model a direction, trained without per-speaker normalisation),
  predicting with ``adapt`` ``none`` (training statistics), ``batch`` (the
  test corpus z-scored on itself) and ``speaker`` (each test speaker on
  their own): :mod:`sertk.models.adaptation`'s median / IQR statistics, as
  the categories' cross-corpus benchmark.

The regressor is *calibrated* (``dimension_folds=3``, the default: its
blend with the ridge chosen, and its mean and spread set, on held-out
training speakers) or not (the SVR alone; ``--calibration yes|no|both``);
rows say which.

ComParE_2016 is run only when named in ``--sets``: one fit of its
6373-dimensional LDA takes about 70 CPU-seconds here (a generalised
eigenproblem of that size), so a calibrated leave-one-speaker-out fold
(four fits) takes 4 to 5 minutes: 47 minutes a protocol on EMO-DB's 10
speakers, 93 on RAVDESS's 24. On a shared machine it is run one corpus
and protocol at a time (``--corpora``, ``--protocols``), or with ``--cv 3``
(three speaker-grouped folds a corpus) beside the other sets' 3-fold rows
of the same protocol and calibration. ``--save`` keeps a run's rows as
JSON (as they come) and ``--include`` adds saved rows to the section, so
the sets, corpora and protocols can be run apart. Where two runs made the
same row (set, calibration, data, protocol), the first shown wins: this
run's, then the files' in the order given; so a rerun after a change to a
set, listed first, replaces that set's older rows, and each file's note
names only the sets it still shows.

The runs behind the section are kept in ``benchmarks/results/dimensions/``
(see the README there), and its "Made with" line remakes it from them
(``--report-only`` reads no recordings). A new run is saved there and
listed first, so that its rows replace the older ones.

Run from the repository root::

    python -m benchmarks.dimensions --quick    # 4 speakers a corpus, smoke run
    python -m benchmarks.dimensions --sets ComParE_2016 --cv 3 \
        --protocols cross-corpus,strict --no-docs \
        --save benchmarks/results/dimensions/compare3.json
    python -m benchmarks.dimensions --sets default,eGeMAPSv02 --calibration both \
        --include benchmarks/results/dimensions/compare3.json
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import (
    REPO,
    _git,
    benchmark_parser,
    command_line,
    corpus_or_exit,
    feature_sets_or_exit,
    freeze_sertk,
    made_with,
    markdown_table,
    provenance,
    sertk_features,
)
from benchmarks._report import update_section

#: Corpus name -> (environment variable naming its folder, its folder name).
CORPORA = {"EMO-DB": ("SERTK_EMODB", "emodb"), "RAVDESS": ("SERTK_RAVDESS", "ravdess")}
ALL_SETS = ("default", "minimal", "eGeMAPSv02", "ComParE_2016")
DEFAULT_SETS = ("default", "eGeMAPSv02")
WITHIN = {"speaker-normalised": "speaker", "strict": "none"}
ACROSS = ("none", "batch", "speaker")
#: What a run scores: across the corpora, and within each by these protocols.
PROTOCOLS = ("cross-corpus", *WITHIN)
QUICK_SPEAKERS = 4
#: Issue 20's targets.
TARGETS = {"arousal_ccc": 0.75, "valence_ccc": 0.40, "cross_arousal_spearman": 0.60}
#: The commit from which calibrated models may use the nearest neighbours on
#: the projection (:class:`sertk.models.dimensions.CircumplexRegressor`).
NEIGHBOURS_COMMIT = "4ba9261"


@dataclass
class Row:
    """One evaluation's figures."""

    features: str
    data: str
    setting: str
    report: dict
    seconds: float
    commit: str = ""
    calibrated: bool = False  # rows saved before calibration existed were not

    def cells(self) -> list[str]:
        """Return the row's cells for the Markdown table."""
        a, v = self.report["arousal"], self.report["valence"]
        return [self.features, "yes" if self.calibrated else "no", self.data,
                self.setting, f"**{a['ccc']:.3f}**",
                f"{a['spearman']:.3f}", f"**{v['ccc']:.3f}**", f"{v['spearman']:.3f}",
                f"{self.seconds:.0f}"]


def load(name: str, full, corpus, feature_cache: Path | None = None) -> pd.DataFrame:
    """Return one feature set of the files of ``corpus``, a part of ``full``.

    The whole corpus's table is read from the benchmark cache (made on a
    miss, through the per-file ``feature_cache`` when given), so a smoke run
    on some speakers reuses it.
    """
    if name in ("default", "minimal"):
        return sertk_features(full, name, n_jobs=2, cache=feature_cache
                              ).loc[corpus.paths]
    from benchmarks._opensmile import opensmile_features

    return opensmile_features(full.manifest, name, n_jobs=2).loc[corpus.paths]


def targets(corpus) -> np.ndarray:
    """Circumplex targets of a corpus's recordings (intensity where it has one)."""
    from sertk.models.dimensions import dimension_targets

    table = pd.read_csv(corpus.manifest)
    table.index = [str((corpus.manifest.parent / p).resolve()) for p in table["path"]]
    intensity = (table["intensity"].reindex(corpus.paths).to_numpy()
                 if "intensity" in table else None)
    return dimension_targets(corpus.labels, intensity=intensity)


def model(calibrated: bool):
    """Return the regressor every feature set goes through.

    ``calibrated``: the output spread set on held-out training speakers
    (``dimension_folds=3``, three more projection fits a model), or not.
    The LDA shrinkage is Ledoit-Wolf's (``"auto"``) for every set: the
    classifier's default ``"cv"`` chooses it by inner folds for small
    tables only, which would treat ComParE_2016 unlike the others.
    """
    from sertk import EmotionClassifier

    return EmotionClassifier(dimensions="circumplex", fallback=None,
                             speed_perturbation=None, speaker_norm=False,
                             shrinkage="auto",
                             dimension_folds=3 if calibrated else None)


def run(sets, corpora, cv: str | int = "loso", feature_cache: Path | None = None,
        protocols: tuple[str, ...] = PROTOCOLS, on_row=None,
        calibrations: tuple[bool, ...] = (True,)) -> list[Row]:
    """Score every set across the two corpora and within each.

    ``corpora`` maps a name to (whole corpus, the part of it to use); ``cv``
    is "loso" or a number of speaker-grouped folds (within a corpus);
    ``protocols`` are some of :data:`PROTOCOLS`; ``on_row(rows)`` is called
    after each row (to save a long run's rows as they come); each row is
    run with each of ``calibrations`` (see :func:`model`).
    """
    from sertk import evaluate_dimensions

    rows = []

    def add(new: list[Row]) -> None:
        for row in new:
            rows.append(row)
            print(row.cells(), flush=True)
        if on_row is not None:
            on_row(rows)

    for name in sets:
        data = {c: (load(name, full, corpus, feature_cache), targets(corpus), corpus)
                for c, (full, corpus) in corpora.items()}
        names = list(data)
        for calibrated in calibrations:
            if "cross-corpus" in protocols:
                for train, test in ((names[0], names[1]), (names[1], names[0])):
                    add(across(name, (train, *data[train]), (test, *data[test]),
                               calibrated))
            for c, (X, T, corpus) in data.items():
                for protocol, adapt in WITHIN.items():
                    if protocol not in protocols:
                        continue
                    started = time.perf_counter()
                    report = evaluate_dimensions(
                        X, corpus.labels, corpus.speakers, estimator=model(calibrated),
                        targets=T, adapt=adapt, cv=cv)
                    folds = "LOSO" if cv == "loso" else f"{cv}-fold"
                    add([Row(name, c, f"{folds}, {protocol}", report,
                             time.perf_counter() - started, calibrated=calibrated)])
    return rows


def across(name: str, train: tuple, test: tuple, calibrated: bool) -> list[Row]:
    """Train on all of one corpus once; score the other in every ``adapt`` mode.

    What :func:`sertk.evaluate_dimensions` does with ``test=``, without
    refitting for each mode (the fit does not depend on it).
    """
    from sertk.evaluation.dimensions import scores

    (source, X, T, corpus), (target, Xt, Tt, ct) = train, test
    started = time.perf_counter()
    fitted = model(calibrated).set_params(probability=False).fit(
        X, corpus.labels, speakers=corpus.speakers, dimension_targets=T)
    fit_seconds = time.perf_counter() - started
    rows = []
    for adapt in ACROSS:
        started = time.perf_counter()
        predicted = fitted.predict_dimensions(Xt, speakers=ct.speakers, adapt=adapt)
        rows.append(Row(name, f"{source} -> {target}", f"adapt {adapt}",
                        scores(Tt, predicted),
                        fit_seconds + time.perf_counter() - started,
                        calibrated=calibrated))
    return rows


def regressor(row: Row) -> str:
    """Return which regressor made a row: rows of one are comparable."""
    if not row.calibrated:
        return "the SVR alone"
    if _has_neighbours(row.commit.removesuffix("+dirty")):
        return "the SVR or the neighbours, with a ridge"
    return "the SVR with a ridge"


@functools.cache
def _has_neighbours(commit: str) -> bool:
    """Whether ``commit`` is :data:`NEIGHBOURS_COMMIT` or after it."""
    since = _git("rev-parse", NEIGHBOURS_COMMIT)
    return bool(since) and _git("merge-base", since, commit) == since


def comparison(row: Row, dim: str, others: list[Row]) -> str:
    """Return how a ``default`` row's CCC compares with the best openSMILE set's.

    Only rows of the same data, protocol, calibration and regressor compare;
    a set whose rows of that data, protocol and calibration were all made
    through another regressor is named as not rerun, with its figure there.
    """
    value = row.report[dim]["ccc"]
    alike = [r for r in others
             if (r.data, r.setting, r.calibrated) == (row.data, row.setting,
                                                      row.calibrated)]
    same = [r for r in alike if regressor(r) == regressor(row)]
    parts = []
    if same:
        best = max(same, key=lambda r: r.report[dim]["ccc"])
        score = best.report[dim]["ccc"]
        parts.append(f"{'ahead of' if value > score else 'behind'} the best "
                     f"openSMILE set ({best.features} {score:.3f})")
    for name in sorted({r.features for r in alike} - {r.features for r in same}):
        earlier = max((r for r in alike if r.features == name),
                      key=lambda r: r.report[dim]["ccc"])
        parts.append(f"{name} not rerun through this regressor "
                     f"({earlier.report[dim]['ccc']:.3f} through {regressor(earlier)})")
    return "".join(f"; {part}" for part in parts)


def verdicts(rows: list[Row]) -> list[str]:
    """Return the issue's targets, met or not, on the sertk ``default`` rows.

    Each is compared with the openSMILE rows of the same data, protocol,
    calibration and regressor (:func:`comparison`).
    """
    lines = []
    mine = [r for r in rows if r.features == "default"]
    others = [r for r in rows if r.features not in ("default", "minimal")]
    for row in mine:
        data, setting, report = row.data, row.setting, row.report
        how = f"{data}, {setting}, {'' if row.calibrated else 'un'}calibrated"
        if "," in setting:  # within a corpus
            for dim, floor in (("arousal", TARGETS["arousal_ccc"]),
                               ("valence", TARGETS["valence_ccc"])):
                value = report[dim]["ccc"]
                ahead = comparison(row, dim, others)
                lines.append(f"- {how}: {dim} CCC {value:.3f} against >= {floor} "
                             f"({'met' if value >= floor else 'missed'} by "
                             f"{value - floor:+.3f}){ahead}")
        elif setting == "adapt batch":
            value = report["arousal"]["spearman"]
            floor = TARGETS["cross_arousal_spearman"]
            lines.append(f"- {how}: arousal Spearman {value:.3f} against >= {floor} "
                         f"({'met' if value >= floor else 'missed'} by "
                         f"{value - floor:+.3f})")
    return lines


def save(path: Path, rows: list[Row], command: str, seconds: float,
         finished: bool = False) -> None:
    """Write a run's rows (scores without predictions) and provenance as JSON."""
    kept = [{"features": r.features, "data": r.data, "setting": r.setting,
             "seconds": r.seconds, "commit": r.commit, "calibrated": r.calibrated,
             "report": {d: r.report[d] for d in ("arousal", "valence")}}
            for r in rows]
    path.write_text(json.dumps({"command": command, "seconds": seconds,
                                "finished": finished, "rows": kept}, indent=1))


def included(paths: list[Path]) -> list[tuple[dict, list[Row]]]:
    """Return the runs saved by earlier runs (``--save``): JSON and rows of each."""
    runs = []
    for path in paths:
        saved = json.loads(path.read_text())
        runs.append((saved, [Row(**r) for r in saved["rows"]]))
    return runs


def run_note(saved: dict, rows: list[Row]) -> str:
    """Return a line on a saved run, naming the sets of its shown ``rows``."""
    commits = sorted({r.commit for r in rows})
    stopped = "" if saved.get("finished", True) else (
        " (stopped after these rows, for lack of machine time)")
    return (f"Rows of {', '.join(sorted({r.features for r in rows}))} "
            f"with `{saved['command']}`{stopped}: "
            f"{saved['seconds'] / 60:.0f} min, sertk at {', '.join(commits)}.")


def unique(rows: list[Row]) -> list[Row]:
    """Return the rows in order, once for each set, calibration, data and protocol.

    Runs saved apart may repeat a row (a run stopped part-way through one
    whose rows another run also made); the code and features being the same,
    so are the figures.
    """
    seen, out = set(), []
    for row in rows:
        key = (row.features, row.calibrated, row.data, row.setting)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def report(rows: list[Row], command: str, seconds: float, quick: bool,
           notes: list[str] = ()) -> str:
    header = ["features", "calibrated", "data", "protocol", "arousal CCC", "arousal ρ",
              "valence CCC", "valence ρ", "s"]
    parts = [
        "Arousal and valence from each recording's category placed on Russell's "
        "circumplex (`sertk.models.dimensions.CIRCUMPLEX`; RAVDESS `strong` "
        "intensity +0.25 arousal). Every feature set through the same regressor, "
        "`EmotionClassifier(dimensions='circumplex', fallback=None, "
        "speed_perturbation=None, shrinkage='auto')` (per-speaker normalisation "
        "only in the "
        "speaker-normalised protocol): median imputer, scaler, shrinkage LDA on the "
        "categories, one RBF SVR a dimension on the projection; *calibrated* "
        "(`dimension_folds=3`, the default): for each dimension, the SVR or the "
        "nearest 10 or 30 training recordings in the projection, blended with a "
        "ridge on all scaled features (clipped to ±5 SD; which, its weight and "
        "the ridge penalty those whose held-out predictions correlate best with "
        "the targets), and the blend's output mean and spread set to the "
        "targets', all on held-out predictions of training speakers (3 "
        "speaker-grouped folds); *not*: the SVR alone. Calibrated rows made "
        "before the neighbours (sertk before 4ba9261) blend the SVR alone with "
        "the ridge. ComParE_2016 (6373 "
        "columns, about 70 CPU-s a projection fit, 4 to 5 minutes a "
        "calibrated fold) is run, for lack of machine time, only where its rows below "
        "are: leave one speaker out for some corpora and protocols, 3 "
        "speaker-grouped folds for others (the other sets have 3-fold rows of "
        "the same protocol and calibration beside it), and across corpora. CCC "
        "(Lin) and "
        "Spearman ρ over all recordings, pooled over folds. Within a corpus: "
        "leave one speaker out (or speaker-grouped folds where the protocol says "
        "so); cross-corpus: all of one corpus -> all of the other, one model a "
        "direction, predicting with `adapt` none / batch (the test corpus "
        "z-scored on itself, median / IQR) / speaker."
        + (" **Quick run: 4 speakers a corpus.**" if quick else ""),
        markdown_table(header, [r.cells() for r in rows], align="llll" + "r" * 5),
        "Targets (issue 20, sertk `default` rows):",
        "\n".join(verdicts(rows)),
        provenance("numpy", "scikit-learn", "opensmile"),
        made_with(command, seconds, cached="features"),
        *notes,
    ]
    return "\n\n".join(parts)


def provenance_commit() -> str:
    """Return the commit measured (``+dirty`` with edits in sertk/)."""
    from benchmarks._common import _frozen

    commit = _frozen.get("commit") or _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = _frozen["dirty"] if "dirty" in _frozen else _git(
        "status", "--porcelain", "--", "sertk")
    return commit + ("+dirty" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser("dimensions", __doc__, manifest=False,
                              quick=f"the first {QUICK_SPEAKERS} speakers of each "
                              "corpus, for a smoke run; nothing is written to the docs")
    for name, (variable, folder) in CORPORA.items():
        parser.add_argument(
            f"--{folder}", type=Path,
            default=Path(os.environ.get(variable, REPO.parent / "shared" / "data"
                                        / folder)),
            help=f"{name} folder with manifest.csv (default: ${variable} or "
            "../shared/data/%(dest)s beside the repository)")
    parser.add_argument("--sets", default=",".join(DEFAULT_SETS),
                        help="comma-separated feature sets (default: %(default)s; "
                        "ComParE_2016 takes hours)")
    parser.add_argument("--cv", default="loso",
                        type=lambda v: v if v == "loso" else int(v),
                        help="within a corpus: 'loso' or a number of speaker-grouped "
                        "folds (default: %(default)s)")
    parser.add_argument("--calibration", default="yes",
                        choices=("yes", "no", "both"),
                        help="output spread set on held-out training speakers "
                        "(dimension_folds=3; the default), not, or both rows")
    parser.add_argument("--protocols", default=",".join(PROTOCOLS),
                        help="comma-separated, some of %(default)s")
    parser.add_argument("--corpora", default=",".join(CORPORA),
                        help="comma-separated, some of %(default)s (cross-corpus "
                        "needs both)")
    parser.add_argument("--feature-cache", type=Path,
                        help="per-file sertk feature cache folder used on a "
                        "benchmark-cache miss (FeatureExtractor(cache=...))")
    parser.add_argument("--save", type=Path,
                        help="also write this run's rows to this JSON file")
    parser.add_argument("--include", type=Path, nargs="+", default=[],
                        help="add the rows of earlier runs' --save files to the report")
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing: write the section from the --include files")
    args = parser.parse_args(argv)
    if args.report_only and not args.include:
        parser.error("--report-only needs --include files")
    sets = [] if args.report_only else feature_sets_or_exit(parser, args.sets, ALL_SETS)
    chosen = args.corpora.split(",")
    if not set(chosen) <= set(CORPORA):
        parser.error(f"--corpora: choose from {', '.join(CORPORA)}")
    if "cross-corpus" in args.protocols.split(",") and len(set(chosen)) < 2:
        parser.error("the cross-corpus protocol needs both corpora; leave it out "
                     "of --protocols or name both in --corpora")
    freeze_sertk()
    corpora = {}
    for name, (_, folder) in CORPORA.items():
        if name not in chosen or args.report_only:  # a report needs no data
            continue
        corpus = corpus_or_exit(parser, getattr(args, folder) / "manifest.csv")
        corpora[name] = (corpus, corpus.first_speakers(QUICK_SPEAKERS)
                         if args.quick else corpus)
    command = command_line("benchmarks.dimensions",
                           sys.argv[1:] if argv is None else argv)
    print(f"command: {command}", flush=True)
    started = time.perf_counter()
    protocols = tuple(args.protocols.split(","))
    if not set(protocols) <= set(PROTOCOLS):
        parser.error(f"--protocols: choose from {', '.join(PROTOCOLS)}")
    commit = provenance_commit()

    def keep(rows: list[Row]) -> None:
        for row in rows:
            row.commit = commit
        if args.save:
            save(args.save, rows, command, time.perf_counter() - started)

    calibrations = {"yes": (True,), "no": (False,), "both": (True, False)}[
        args.calibration]
    rows = run(sets, corpora, args.cv, args.feature_cache, protocols, on_row=keep,
               calibrations=calibrations)
    seconds = time.perf_counter() - started
    if args.save:
        save(args.save, rows, command, seconds, finished=True)
    earlier = included(args.include)
    shown = unique(rows + [r for _, part in earlier for r in part])
    kept = {id(r) for r in shown}  # a row an earlier file gave is not shown twice
    notes = [run_note(saved, [r for r in part if id(r) in kept])
             for saved, part in earlier if any(id(r) in kept for r in part)]
    order = {name: i for i, name in enumerate(ALL_SETS)}
    table = sorted(shown, key=lambda r: (
        "->" in r.data, r.data, r.setting, not r.calibrated, order[r.features]))
    markdown = report(table, command, seconds, args.quick, notes)
    print("\n" + markdown)
    if not (args.quick or args.no_docs):
        page = update_section("dimensions", markdown,
                              title="Arousal and valence (EMO-DB, RAVDESS)")
        print(f"\nwritten to {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
