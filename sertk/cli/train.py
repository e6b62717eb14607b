"""``sertk-train``: train an emotion classifier and save it as a model file.

Examples
--------
Shell usage::

    sertk-train --manifest corpus/manifest.csv -o model.joblib
    sertk-train --corpus emodb ../shared/data/emodb -o emodb.skops --evaluate
    sertk-train features.csv -o model.joblib --search --n-jobs 2

The recordings come from an audio manifest, a feature table written by
``sertk-extract`` (recognised by its feature columns or its
``.params.json``), or ``--corpus NAME ROOT``. A model trained on audio
predicts from audio files (``sertk-predict``); one trained on a feature
table expects the same feature columns.

By default the model is trained *without* per-speaker normalisation
(``--no-speaker-norm``): a model meant for new recordings usually meets one
file of a speaker at a time, and without a batch of that speaker's
recordings there are no statistics to normalise with; a model trained on
per-speaker z-scores would then see data unlike its training data.
``--speaker-norm`` suits models applied to many recordings of each speaker
at once (from Python, with ``predict(X, speakers=...)``).

``--evaluate`` first runs a speaker-independent cross-validation under the
matching protocol (strict, or speaker-normalised with ``--speaker-norm``)
and stores the report in the model file. ``--search`` chooses ``C`` and the
kernel (and the shrinkage, or whether to train on speed-perturbed copies,
when ``--shrinkage`` or ``--speed-perturbation`` gives alternatives, as in
``--speed-perturbation none auto``) by nested cross-validation (the inner
CV on each outer fold's training speakers), stores that nested report, then
trains on all the data with the parameters chosen in most outer folds.

Several corpora: give ``--manifest`` once a corpus (or a manifest with a
``corpus`` column, ``--corpus-column``): each corpus is z-scored with its
own median and IQR at training, so that ``--adapt`` can treat new
recordings the same way (``docs/adaptation.md``); speaker ids are made
unique a corpus. ``--label-map angry=anger,calm=neutral`` renames labels
first (a FROM label no corpus has is a usage error); a class one corpus
lacks is simply trained on the others' recordings of it::

    sertk-train --manifest emodb/manifest.csv --manifest ravdess/manifest.csv \
        --label-map calm=neutral -o two.skops

Exit status: 0 on success, 2 on a usage error or unreadable data.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import pandas as pd

from ..evaluation.protocols import evaluate
from ..files import claim_outputs
from ..io.model_files import save_model
from ..models.dimensions import STRONG_AROUSAL
from ._common import (
    EXIT_OK,
    add_output_options,
    make_parser,
    run,
    say,
    usage_error,
)
from ._data import (
    add_data_options,
    cache_folder,
    data_inputs,
    dimension_targets_of,
    extract_features,
    map_labels,
    read_labelled,
)
from ._model import (
    add_model_options,
    augment_settings,
    build_classifier,
    cv_value,
    most_chosen,
    param_grid,
    report_text,
    speed_factors,
)

__all__ = ["build_parser", "main"]

PROG = "sertk-train"


def build_parser() -> argparse.ArgumentParser:
    """Return the ``sertk-train`` argument parser.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> args = build_parser().parse_args(["m.csv", "-o", "model.joblib"])
    >>> args.table, args.speaker_norm, args.cv, args.projection
    ('m.csv', False, 'loso', 'lda')
    """
    parser = make_parser(
        PROG,
        "Train an emotion classifier on labelled recordings (an audio "
        "manifest, a feature table from sertk-extract, or a corpus) and save "
        "it as a model file.",
    )
    add_data_options(parser)
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="MODEL",
        help="model file to write: .joblib (a pickle: load only your own) or "
        ".skops (safe to share)",
    )
    parser.add_argument(
        "--speaker-norm",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="z-score features per speaker; off by default, since a model "
        "used on single new recordings has no speaker batch to normalise with",
    )
    add_model_options(parser)
    parser.add_argument(
        "--dimensions",
        action="store_true",
        help="also learn arousal and valence in [-1, 1]: from the manifest's "
        "arousal/valence columns where it has them, else from each label's "
        "point on Russell's circumplex (strong intensity raises arousal); "
        "sertk-predict then prints them",
    )
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="also cross-validate speaker-independently (the protocol matching "
        "--speaker-norm) and store the report in the model file",
    )
    parser.add_argument(
        "--cv",
        type=cv_value,
        default="loso",
        metavar="loso|K",
        help="cross-validation of --evaluate and --search: leave-one-speaker-"
        "out, or K speaker-grouped folds (default: %(default)s)",
    )
    add_output_options(parser)
    return parser


def _check_output(parser: argparse.ArgumentParser, output: str) -> None:
    if not output.lower().endswith((".joblib", ".skops")):
        usage_error(parser, f"the model file {output!r} must end in .joblib or .skops")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        usage_error(parser, f"the output folder {folder} does not exist; create it")


def _size(path: str) -> str:
    size = os.path.getsize(path)
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def _train(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    _check_output(parser, args.output)
    with claim_outputs({"-o": args.output}, data_inputs(args)):
        return _run(parser, args)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Train, the output checked and locked (see :func:`_train`)."""
    grid = param_grid(parser, args)
    speeds = speed_factors(parser, args, normalised=args.speaker_norm)
    augment = augment_settings(parser, args,
                               cross_validated=bool(args.evaluate or args.search))
    (data,) = map_labels(parser, args, read_labelled(parser, args))
    needs = [
        flag
        for flag, on in (
            ("--speaker-norm", args.speaker_norm),
            ("--evaluate", args.evaluate),
            ("--search", args.search),
        )
        if on
    ]
    if needs and data.speakers is None:
        usage_error(
            parser,
            f"{' and '.join(needs)} need speaker ids, but {data.source} has no "
            f"{args.speaker_column!r} column; name it with --speaker-column",
        )
    clf = build_classifier(args, speaker_norm=args.speaker_norm,
                           dimensions="circumplex" if args.dimensions else None)
    protocol = "speaker-normalised" if args.speaker_norm else "strict"
    say(args, f"{PROG}: {data.describe()}")
    with cache_folder(args) as cache:
        features = extract_features(data, args, cache, prog=PROG, speeds=speeds,
                                    augment=augment)
        targets = dimension_targets_of(features) if args.dimensions else None
        report, chosen = None, None
        if args.evaluate or grid is not None:
            report = evaluate(
                features.X,
                features.y,
                features.speakers,
                estimator=clf,
                protocol=protocol,
                cv=args.cv,
                param_grid=grid,
                augmented=features.augmented,
                corpus=features.corpus,
                n_jobs=args.n_jobs,
                progress=args.progress,
            )
            print(report_text(report))
            if grid is not None:
                chosen = most_chosen(report.folds)
                clf.set_params(**chosen)
                print(f"\nTraining on all data with {chosen} (chosen most often)")
        if data.X is None:  # audio: the model keeps its extractor
            clf.set_params(
                extractor_params={
                    "cache": cache,
                    "n_jobs": args.n_jobs,
                    "progress": args.progress,
                }
            )
            clf.fit(features.paths, features.y, speakers=features.speakers,
                    augmented=features.augmented, corpus=features.corpus,
                    dimension_targets=targets)
        else:
            clf.fit(features.X, features.y, speakers=features.speakers,
                    corpus=features.corpus, dimension_targets=targets)
    provenance = {
        "source": data.source,
        "feature_table_params": data.feature_params,
        "search": None if grid is None else {"grid": grid, "chosen": chosen},
    }
    save_model(
        clf,
        args.output,
        cv_report=None if report is None else report.to_dict(),
        provenance=provenance,
    )
    summary = clf.training_summary_
    print(
        f"Trained on {summary['n_files']} files, {summary['n_speakers'] or 'no'} "
        f"speakers, {len(clf.classes_)} classes ({', '.join(map(str, clf.classes_))}),"
        f" {summary['n_features']} features; speaker normalisation "
        f"{'on' if args.speaker_norm else 'off'}; C={clf.C}, kernel={clf.kernel}, "
        f"projection={clf.projection}"
    )
    if clf.fallback_columns_ is not None:
        print(f"Fallback for out-of-distribution recordings: "
              f"{len(clf.fallback_columns_)} features (threshold "
              f"{clf.novelty_threshold_:.1f}, the {100 * clf.novelty_quantile:g}th "
              "percentile of held-out speakers' distances)")
    if features.corpus is not None:
        counts = pd.Series(features.corpus).value_counts(sort=False)
        print("Corpora, each normalised with its own statistics: " + ", ".join(
            f"{k} ({v} files)" for k, v in counts.items()))
    if targets is not None:
        given = features.dimension_columns
        source = ("the manifest's arousal/valence columns where given, else "
                  if given is not None and {"arousal", "valence"} & set(given)
                  else "")
        print(f"Arousal and valence learned from {source}each label's point on "
              "Russell's circumplex (sertk.models.dimensions.CIRCUMPLEX)"
              + (f", strong intensity {STRONG_AROUSAL:+g} arousal" if given is not None
                 and "intensity" in given else ""))
    print(f"Saved {args.output} ({_size(args.output)})")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sertk-train``; see ``sertk-train --help``.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 on a usage error or unreadable data.

    Examples
    --------
    >>> main(["no/such/manifest.csv", "-o", "model.joblib"])  # message on stderr
    2
    """
    return run(build_parser(), argv, _train)


if __name__ == "__main__":
    sys.exit(main())
