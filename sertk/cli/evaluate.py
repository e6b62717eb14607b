"""``sertk-evaluate``: speaker-independent evaluation of the emotion classifier.

Examples
--------
Shell usage::

    sertk-evaluate --manifest emodb/manifest.csv --report r.json --plot cm.png
    sertk-evaluate features.csv --protocol both --cv 5 --search --n-jobs 2
    sertk-evaluate --corpus emodb emodb/ --test-manifest ravdess.csv --protocol strict

Trains and tests the classifier ``sertk-train`` would build, by
leave-one-speaker-out (``--cv loso``, the default) or K speaker-grouped
folds: no speaker is ever in both training and test. It prints the UAR
(unweighted average recall, the headline figure), WAR (accuracy), macro-F1,
per-class figures, the confusion matrix and a per-fold table, all naming the
protocol and the CV scheme:

``speaker-normalised`` (the default)
    features z-scored per speaker with that speaker's own (unlabelled)
    recordings, test speakers' included: the literature's usual protocol;
``strict``
    nothing about a test speaker is used: how a model does on a single new
    recording (and how the bundled model was trained);
``both``
    one after the other, on features extracted once.

When the classifier found some test recordings unlike its training data
(out of distribution, see ``--fallback``), it says how many below the UAR
line (``Out of distribution: 12 of 535 recordings (2.2 %), labelled by the
classifier's fallback model``) and in an ``OOD`` column of the per-fold
table. Cross-corpus, a large share means that the test corpus's recordings
differ from the training ones (in noise or channel, most often) and that
the fallback model gave most of their labels.

``--report FILE`` writes the report as JSON (keys ``uar``, ``war``,
``macro_f1``, ``labels``, ``confusion_matrix``, ``precision``, ``recall``,
``f1``, ``support``, ``folds``, ``protocol``, ``cv``, ``source``,
``out_of_distribution_share``, ...); with ``--protocol both`` the file holds
one such report under each protocol's name
(``{"speaker-normalised": {...}, "strict": {...}}``). ``--plot FILE``
draws the row-normalised confusion matrix; with both protocols, one file
each, named ``<stem>.<protocol><suffix>`` (``cm.strict.png``).

With ``--test-manifest`` the run is cross-corpus: train on all of the first
data set, test on the second, on the labels both share after mapping each
side to the common vocabulary (``angry`` -> ``anger``); the labels dropped
are printed and recorded in the report.

Audio is analysed once and cached (see ``--cache``): a second run reads the
features back. Exit status: 0 on success, 2 on a usage error or unreadable
data.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..evaluation.dimensions import evaluate_dimensions
from ..evaluation.protocols import evaluate
from ..files import atomic_write_json, claim_outputs
from ..models.dimensions import DIMENSIONS
from ._common import EXIT_OK, add_output_options, make_parser, run, say, usage_error
from ._data import (
    Labelled,
    add_data_options,
    cache_folder,
    common_labels,
    data_inputs,
    dimension_targets_of,
    extract_features,
    map_labels,
    read_labelled,
)
from ._model import (
    add_adapt_option,
    add_model_options,
    augment_settings,
    build_classifier,
    cv_value,
    param_grid,
    report_text,
    speed_factors,
)

__all__ = ["build_parser", "main"]

PROG = "sertk-evaluate"
PROTOCOLS = {
    "speaker-normalised": ["speaker-normalised"],
    "strict": ["strict"],
    "both": ["speaker-normalised", "strict"],
}


def build_parser() -> argparse.ArgumentParser:
    """Return the ``sertk-evaluate`` argument parser.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> args = build_parser().parse_args(["--manifest", "m.csv", "--cv", "5"])
    >>> args.manifest, args.cv, args.protocol, args.adapt
    (['m.csv'], 5, 'speaker-normalised', None)
    """
    parser = make_parser(
        PROG,
        "Evaluate the emotion classifier speaker-independently (leave-one-"
        "speaker-out or speaker-grouped K-fold, or cross-corpus) and print UAR, "
        "WAR, macro-F1, per-class and per-fold figures.",
    )
    add_data_options(parser)
    parser.add_argument(
        "--cv",
        type=cv_value,
        default="loso",
        metavar="loso|loco|K",
        help="leave-one-speaker-out, leave-one-corpus-out (several --manifest "
        "or a corpus column: each corpus tested on a model of the others, over "
        "the labels they share), or K speaker-grouped folds "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--protocol",
        choices=tuple(PROTOCOLS),
        default="speaker-normalised",
        help="speaker-normalised (per-speaker z-scores, test speakers' "
        "included), strict (nothing from the test speakers), or both "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--test-manifest",
        metavar="CSV",
        help="cross-corpus: train on the first data set, test on this "
        "manifest or feature table, over the labels both share",
    )
    parser.add_argument(
        "--report",
        metavar="JSON",
        help="write the report(s) as JSON; with --protocol both, one under "
        "each protocol's name",
    )
    parser.add_argument(
        "--plot",
        metavar="IMAGE",
        help="draw the normalised confusion matrix (.png, .pdf, .svg); with "
        "--protocol both, one file each: <stem>.<protocol><suffix>",
    )
    add_adapt_option(parser, None)
    parser.add_argument(
        "--dimensions",
        action="store_true",
        help="evaluate arousal and valence instead of the categories: "
        "concordance (CCC) and Spearman's rho of each, from the manifest's "
        "arousal/valence columns or each label's circumplex point",
    )
    add_model_options(parser)
    add_output_options(parser)
    return parser


def _check_outputs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for option, path in (("--report", args.report), ("--plot", args.plot)):
        if path is None:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            usage_error(
                parser, f"the {option} folder {folder} does not exist; create it"
            )
    if args.plot and not args.plot.lower().endswith((".png", ".pdf", ".svg")):
        usage_error(parser, f"--plot {args.plot!r} must end in .png, .pdf or .svg")


def _plot_path(path: str, protocol: str, several: bool) -> str:
    if not several:
        return path
    stem, suffix = os.path.splitext(path)
    return f"{stem}.{protocol}{suffix}"


def _needs_speakers(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    data: Labelled,
    protocols: list[str],
) -> None:
    cross_strict = args.test_manifest and protocols == ["strict"] and not args.search
    if data.speakers is None and not cross_strict:
        usage_error(
            parser,
            f"{data.source} has no {args.speaker_column!r} column, but "
            "speaker-independent evaluation needs one speaker id a recording; "
            "name the column with --speaker-column",
        )


def _evaluate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    _check_outputs(parser, args)
    protocols = PROTOCOLS[args.protocol]
    plots = [_plot_path(args.plot, p, len(protocols) > 1) for p in protocols
             ] if args.plot else []
    outputs = {"--report": args.report, **{f"--plot {p}": p for p in plots}}
    with claim_outputs(outputs, data_inputs(args)):
        return _run(parser, args)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Evaluate, the outputs checked and locked (see :func:`_evaluate`)."""
    grid = param_grid(parser, args)
    protocols = PROTOCOLS[args.protocol]
    speeds = speed_factors(parser, args, normalised="strict" not in protocols)
    augment = augment_settings(parser, args, cross_validated=True)
    data = read_labelled(parser, args)
    test = None
    if args.test_manifest:
        test = read_labelled(parser, args, table=args.test_manifest)
        data, test = map_labels(parser, args, data, test)
        data, test = common_labels(data), common_labels(test)
    else:
        (data,) = map_labels(parser, args, data)
    if args.cv == "loco" and (data.corpus is None or len(set(data.corpus)) < 2):
        usage_error(parser, "--cv loco needs two corpora or more: give --manifest "
                    "once a corpus, or a manifest with a corpus column")
    scored = test if test is not None else data
    if args.adapt == "speaker" and scored.speakers is None:
        usage_error(parser, "--adapt speaker needs speaker ids; name the column "
                    "with --speaker-column")
    _needs_speakers(parser, args, data, protocols)
    say(args, f"{PROG}: {data.describe()}")
    if test is not None:
        say(args, f"{PROG}: test set {test.describe()}")
    with cache_folder(args) as cache:
        data = extract_features(data, args, cache, prog=PROG, speeds=speeds,
                                augment=augment)
        if test is not None:
            test = extract_features(test, args, cache, prog=PROG)
    if args.dimensions:
        return _evaluate_dimensions(args, data, test, protocols)
    reports = {}
    for protocol in protocols:
        report = evaluate(
            data.X,
            data.y,
            data.speakers,
            estimator=build_classifier(args, speaker_norm=True),
            protocol=protocol,
            cv=args.cv,
            test=None if test is None else (test.X, test.y, test.speakers),
            param_grid=grid,
            augmented=data.augmented,
            adapt=args.adapt,
            corpus=data.corpus,
            n_jobs=args.n_jobs,
            progress=args.progress,
        )
        if len(reports):
            print()
        print(report_text(report))
        reports[protocol] = report
        if args.plot:
            path = _plot_path(args.plot, protocol, len(protocols) > 1)
            report.plot_confusion(path)
            say(args, f"{PROG}: confusion matrix ({protocol}) -> {path}")
    if args.report:
        source = data.source if test is None else f"{data.source} -> {test.source}"
        dicts = {p: {**r.to_dict(), "source": source} for p, r in reports.items()}
        atomic_write_json(
            args.report, dicts if len(dicts) > 1 else next(iter(dicts.values()))
        )
        say(args, f"{PROG}: report -> {args.report}")
    return EXIT_OK


def _adapt(args: argparse.Namespace, protocol: str) -> str:
    """Return the adaptation mode of a protocol, or ``--adapt`` where it exists."""
    chosen = getattr(args, "adapt", None)
    if chosen:
        return chosen
    return "speaker" if protocol == "speaker-normalised" else "none"


def dimensions_text(report: dict, source: str) -> str:
    """Format a report of :func:`sertk.evaluation.dimensions.evaluate_dimensions`.

    Parameters
    ----------
    report : dict
        The report.
    source : str
        What was evaluated, for the first line.

    Returns
    -------
    str

    Examples
    --------
    >>> r = {"adapt": "none", "cv": "loso", "arousal": {"ccc": 0.8, "spearman":
    ...      0.7, "pearson": 0.8, "n": 9, "fold_ccc_mean": 0.7, "fold_ccc_std": 0.1}}
    >>> print(dimensions_text(r, "m.csv"))  # doctest: +NORMALIZE_WHITESPACE
    Dimensions of m.csv, loso, adapt none
    dimension    CCC  Spearman  Pearson    n  fold CCC mean ± sd
    arousal    0.800     0.700    0.800    9       0.700 ± 0.100
    """
    lines = [f"Dimensions of {source}, {report['cv']}, adapt {report['adapt']}",
             f"{'dimension':<9}  {'CCC':>5}  {'Spearman':>8}  {'Pearson':>7}  "
             f"{'n':>3}  fold CCC mean ± sd"]
    for dim in DIMENSIONS:
        if dim not in report:
            continue
        r = report[dim]
        folds = (f"{r['fold_ccc_mean']:.3f} ± {r['fold_ccc_std']:.3f}"
                 if "fold_ccc_mean" in r else "-")
        lines.append(f"{dim:<9}  {r['ccc']:5.3f}  {r['spearman']:8.3f}  "
                     f"{r['pearson']:7.3f}  {r['n']:3d}  {folds:>18}")
    return "\n".join(lines)


def _evaluate_dimensions(args: argparse.Namespace, data: Labelled,
                         test: Labelled | None, protocols: list[str]) -> int:
    """Score arousal and valence under each protocol; print and save the reports."""
    reports = {}
    source = data.source if test is None else f"{data.source} -> {test.source}"
    for protocol in protocols:
        adapt = _adapt(args, protocol)
        report = evaluate_dimensions(
            data.X, data.y, data.speakers,
            estimator=build_classifier(args, speaker_norm=True),
            targets=dimension_targets_of(data), adapt=adapt, cv=args.cv,
            test=None if test is None else (test.X, test.y, test.speakers,
                                            dimension_targets_of(test)),
            augmented=data.augmented)
        if reports:
            print()
        print(dimensions_text(report, source))
        reports[protocol] = {k: v for k, v in report.items()
                             if k not in ("predictions", "targets")}
    if args.report:
        dicts = {p: {**r, "source": source} for p, r in reports.items()}
        atomic_write_json(
            args.report, dicts if len(dicts) > 1 else next(iter(dicts.values())))
        say(args, f"{PROG}: report -> {args.report}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sertk-evaluate``; see ``sertk-evaluate --help``.

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
    >>> main(["--manifest", "no/such/manifest.csv"])  # message on stderr
    2
    """
    return run(build_parser(), argv, _evaluate)


if __name__ == "__main__":
    sys.exit(main())
