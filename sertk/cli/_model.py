"""Model and CV options and report text, shared by sertk-train and sertk-evaluate.

Examples
--------
>>> from sertk.cli._common import make_parser
>>> parser = make_parser("sertk-demo", "Demo.")
>>> add_model_options(parser)
>>> args = parser.parse_args(["--search", "--C", "1", "10"])
>>> param_grid(parser, args)
{'C': [1.0, 10.0], 'kernel': ['rbf', 'linear']}
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter

from ..errors import ParameterError
from ..evaluation.protocols import EvaluationReport
from ..features.contours import contour_info
from ..models.augment import check_augment, load_noise_folder
from ..models.classifier import EmotionClassifier, training_speeds
from ._common import usage_error

__all__ = [
    "add_adapt_option",
    "DEFAULT_GRID",
    "add_model_options",
    "augment_settings",
    "build_classifier",
    "cv_value",
    "most_chosen",
    "param_grid",
    "report_text",
    "speed_factors",
]

#: What ``--search`` tries when ``--C`` / ``--kernel`` give one value or none.
DEFAULT_GRID = {"C": [0.1, 1.0, 10.0], "kernel": ["rbf", "linear"]}


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"--C must be a number > 0, got {text!r}")
    return value


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Add the classifier's options, ``--search`` among them.

    ``--C``, ``--kernel``, ``--projection``, ``--shrinkage``, ``--fallback``,
    ``--speed-perturbation``, ``--augment``, ``--noise-folder``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    """
    parser.add_argument(
        "--C",
        type=_positive,
        nargs="+",
        metavar="C",
        help="SVM regularisation (default: 1.0); several values with --search",
    )
    parser.add_argument(
        "--kernel",
        nargs="+",
        choices=("rbf", "linear", "poly", "sigmoid"),
        metavar="KERNEL",
        help="SVM kernel: rbf (default), linear, poly or sigmoid; several "
        "with --search",
    )
    parser.add_argument(
        "--projection",
        choices=("lda", "none"),
        default="lda",
        help="project the scaled features onto the discriminant directions "
        "before the SVM, or not (default: %(default)s)",
    )
    parser.add_argument(
        "--shrinkage",
        type=_shrinkage,
        nargs="+",
        metavar="cv|auto|S",
        help="shrinkage of the LDA's within-class covariance: cv (the "
        "default: chosen among auto, 0.5 and 0.8 by cross-validation over the "
        "training speakers when there are at most 1000 recordings and 2000 "
        "columns, else auto), auto (Ledoit-Wolf, for clean recordings) or a "
        "number from 0 to 1, such as 0.5 for training data of mixed noise "
        "conditions; several values with --search, e.g. auto 0.5",
    )
    parser.add_argument(
        "--fallback",
        type=_fallback,
        default="auto",
        metavar="auto|none|CONTOURS",
        help="model for recordings unlike the training data (noisy ones, most "
        "often): auto (features of F0 and H1-H2), none, or comma-separated "
        "contour names such as f0_semitone,h1_h2 (default: %(default)s)",
    )
    parser.add_argument(
        "--speed-perturbation",
        type=_speed,
        nargs="+",
        default=["auto"],
        metavar="auto|none|SPEED",
        help="also train on copies of each training recording played at these "
        "speeds, which move F0, formants and timing as other voices would: "
        "auto (the default) uses 0.9 and 1.1 for models without per-speaker "
        "normalisation (the strict protocol) and none for the others; none "
        "never uses copies. With --search, none and one of the others (none "
        "auto, or none 0.9 1.1) lets nested CV choose. Needs audio: a "
        "feature table's rows are used as they are",
    )
    parser.add_argument(
        "--augment",
        type=_augment_entry,
        nargs="+",
        default=None,
        metavar="NAME",
        help="also train on a copy of each training recording in each of these "
        "recording conditions (sertk.audio.conditions): telephone, mu-law, a-law, gsm, "
        "reverb-RT60, clip-DB, gain+DB, gain-DB, white-SNR, pink-SNR, brown-SNR, "
        "babble-SNR, folder-SNR (e.g. reverb-0.6, white-10); NAME|NAME draws one "
        "of them per recording. Babble is other training speakers' speech, and "
        "cannot be used with cross-validation (--evaluate, --search, "
        "sertk-evaluate). Needs audio",
    )
    parser.add_argument(
        "--noise-folder",
        metavar="DIR",
        help="folder of noise recordings for the folder-SNR conditions of --augment",
    )
    parser.add_argument(
        "--search",
        action="store_true",
        help="choose C and kernel (and the LDA's shrinkage or the speed "
        "perturbation, when several are given) by nested speaker-grouped CV "
        "(the values given, else C 0.1 1 10 and kernels rbf linear)",
    )


def _augment_entry(text: str) -> str:
    """Check one ``--augment`` value: a condition name, or several joined by ``|``.

    Examples
    --------
    >>> _augment_entry("white-10|babble-10")
    'white-10|babble-10'
    """
    try:
        check_augment([text])
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def augment_settings(parser: argparse.ArgumentParser, args: argparse.Namespace,
                     *, cross_validated: bool) -> tuple[str, ...]:
    """Return the ``--augment`` entries, after checking them with the data options.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser, for usage errors.
    args : argparse.Namespace
        Parsed options (``augment``, ``noise_folder``).
    cross_validated : bool
        Whether the copies will be used in cross-validation (babble is then
        refused: made once for every fold, it would hold test speakers).

    Returns
    -------
    tuple of str

    Raises
    ------
    SystemExit
        With status 2, if babble meets cross-validation, folder-* conditions
        lack --noise-folder, or the noise folder holds no usable audio.
    """
    entries = tuple(args.augment or ())
    kinds = {c.kind for e in check_augment(entries) for c in e}
    if "babble" in kinds and cross_validated:
        usage_error(parser, "--augment babble-* cannot be cross-validated: the "
                    "copies are made once for every fold, so a training copy's "
                    "babble would hold test speakers' speech; use white-, pink-, "
                    "brown- or folder- noise, or train without --evaluate/--search")
    if "folder" in kinds and not args.noise_folder:
        usage_error(parser, "--augment folder-* needs --noise-folder DIR, a folder "
                    "of noise recordings")
    if args.noise_folder:
        try:
            load_noise_folder(args.noise_folder)
        except ParameterError as exc:
            usage_error(parser, f"--noise-folder: {exc}")
    return entries


def _shrinkage(text: str) -> str | float:
    """Parse ``--shrinkage``: "cv", "auto" or a number from 0 to 1.

    Examples
    --------
    >>> _shrinkage("cv"), _shrinkage("auto"), _shrinkage("0.5")
    ('cv', 'auto', 0.5)
    """
    if text in ("cv", "auto"):
        return text
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"--shrinkage must be cv, auto or a number from 0 to 1, got {text!r}")
    return value


def _speed(text: str) -> float | str | None:
    """Parse one ``--speed-perturbation`` value: "auto", "none" or a speed.

    Examples
    --------
    >>> _speed("0.9"), _speed("none"), _speed("auto")
    (0.9, None, 'auto')
    """
    if text in ("auto", "none"):
        return None if text == "none" else text
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.5 <= value <= 2 or value == 1:
        raise argparse.ArgumentTypeError(
            f"--speed-perturbation takes auto, none or speeds from 0.5 to 2 "
            f"other than 1, got {text!r}")
    return value


def _speed_settings(args: argparse.Namespace) -> list:
    """``--speed-perturbation``'s settings: each word, and the speeds together.

    Examples
    --------
    >>> _speed_settings(argparse.Namespace(speed_perturbation=[None, 0.9, 1.1]))
    [None, (0.9, 1.1)]
    """
    values = args.speed_perturbation
    speeds = tuple(v for v in values if isinstance(v, float))
    return [v for v in values if not isinstance(v, float)] + (
        [speeds] if speeds else [])


def _copies_setting(args: argparse.Namespace) -> str | tuple[float, ...] | None:
    """Return the ``--speed-perturbation`` setting that can make copies, else None."""
    return next((v for v in _speed_settings(args) if v is not None), None)


def speed_factors(
    parser: argparse.ArgumentParser, args: argparse.Namespace, *, normalised: bool
) -> tuple[float, ...]:
    """Return the speeds of the copies to make (empty for none).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser, for usage errors.
    args : argparse.Namespace
        Parsed options.
    normalised : bool
        Whether every model to train normalises per speaker ("auto" then
        needs no copies).

    Returns
    -------
    tuple of float

    Raises
    ------
    SystemExit
        With status 2, if auto or none is given with other values (with
        ``--search``: other than none and one setting that makes copies), or
        a speed repeats.
    """
    values, settings = args.speed_perturbation, _speed_settings(args)
    if len(settings) > 1 and not args.search:
        usage_error(parser, "--speed-perturbation: give auto, none or speeds, "
                    "not several of them; or add --search to choose between "
                    "none and copies (none auto)")
    if len(settings) > 2 or len(settings) == 2 and None not in settings:
        usage_error(parser, "--speed-perturbation with --search chooses between "
                    "none and one setting of copies: none auto, or none and "
                    "speeds such as none 0.9 1.1")
    if len(set(values)) < len(values):
        usage_error(parser, f"--speed-perturbation repeats a speed: {values}")
    copies = _copies_setting(args)
    speeds = training_speeds(copies, normalised)
    if len(settings) == 2 and not speeds:
        usage_error(parser, f"--speed-perturbation none {copies}: {copies} makes "
                    "no copies for models normalised per speaker, so there is "
                    "nothing to choose; give speeds, such as none 0.9 1.1")
    return speeds


def _fallback(text: str) -> str | tuple[str, ...] | None:
    """Parse ``--fallback``: "auto", "none" or contour names.

    Examples
    --------
    >>> _fallback("none") is None, _fallback("f0_semitone, h1_h2")
    (True, ('f0_semitone', 'h1_h2'))
    """
    if text in ("auto", "none"):
        return None if text == "none" else text
    contours = tuple(c.strip() for c in text.split(",") if c.strip())
    for contour in contours:
        try:
            contour_info(contour)
        except ParameterError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    if not contours:
        raise argparse.ArgumentTypeError("give auto, none or contour names")
    return contours


def param_grid(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> dict | None:
    """Return the grid ``--search`` explores, or None without ``--search``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser, for usage errors.
    args : argparse.Namespace
        Parsed options.

    Returns
    -------
    dict or None

    Raises
    ------
    SystemExit
        With status 2, if several values are given without ``--search``.
    """
    if not args.search:
        for name in ("C", "kernel", "shrinkage"):
            values = getattr(args, name) or []
            if len(values) > 1:
                usage_error(
                    parser,
                    f"--{name} has {len(values)} values; give one, or add "
                    "--search to choose among them",
                )
        return None
    grid = {
        name: list(getattr(args, name) or default)
        for name, default in DEFAULT_GRID.items()
    }
    if args.shrinkage and len(args.shrinkage) > 1:
        grid["shrinkage"] = list(args.shrinkage)
    if len(_speed_settings(args)) > 1:
        grid["speed_perturbation"] = _speed_settings(args)
    return grid


def build_classifier(
    args: argparse.Namespace, *, speaker_norm: bool, **params
) -> EmotionClassifier:
    """Return the (unfitted) classifier the options describe.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``feature_set``, ``C``, ``kernel``, ``projection``,
        ``shrinkage``, ``fallback``, ``speed_perturbation`` checked by
        :func:`speed_factors`).
    speaker_norm : bool
        Whether to z-score features per speaker.
    **params
        More :class:`EmotionClassifier` parameters; they win over the options.

    Returns
    -------
    EmotionClassifier
    """
    chosen = {
        "feature_set": args.feature_set,
        "speaker_norm": speaker_norm,
        "projection": None if args.projection == "none" else "lda",
        "shrinkage": args.shrinkage[0] if args.shrinkage else "cv",
        "C": args.C[0] if args.C else 1.0,
        "kernel": args.kernel[0] if args.kernel else "rbf",
        "fallback": args.fallback,
        "speed_perturbation": _copies_setting(args),
        "augment": list(args.augment) if getattr(args, "augment", None) else None,
        "noise_folder": getattr(args, "noise_folder", None),
    }
    return EmotionClassifier(**{**chosen, **params})


def most_chosen(folds: list[dict]) -> dict:
    """Return the parameters nested CV chose most often across outer folds.

    Ties go to the candidate with the higher mean inner UAR.

    Parameters
    ----------
    folds : list of dict
        ``EvaluationReport.folds``: each has ``params`` and ``inner_uar``.

    Returns
    -------
    dict

    Examples
    --------
    >>> most_chosen([{"params": {"C": 1.0}, "inner_uar": 0.7},
    ...              {"params": {"C": 10.0}, "inner_uar": 0.8},
    ...              {"params": {"C": 1.0}, "inner_uar": 0.6}])
    {'C': 1.0}
    """
    keys = [json.dumps(f["params"], sort_keys=True) for f in folds]
    counts = Counter(keys)
    inner: dict[str, list[float]] = {}
    for key, fold in zip(keys, folds, strict=True):
        inner.setdefault(key, []).append(fold["inner_uar"] or 0.0)
    best = max(counts, key=lambda k: (counts[k], sum(inner[k]) / len(inner[k])))
    return json.loads(best)


def cv_value(text: str) -> str | int:
    """Parse ``--cv``: ``loso``, ``loco`` or a number of speaker-grouped folds >= 2.

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    str or int

    Raises
    ------
    argparse.ArgumentTypeError
        If `text` is neither.

    Examples
    --------
    >>> cv_value("LOSO"), cv_value("5")
    ('loso', 5)
    """
    if text.strip().lower() in ("loso", "loco"):
        return text.strip().lower()
    try:
        folds = int(text)
    except ValueError:
        folds = 0
    if folds < 2:
        raise argparse.ArgumentTypeError(
            f"--cv must be 'loso', 'loco' or a number of folds >= 2, got {text!r}"
        )
    return folds


def report_text(report: EvaluationReport) -> str:
    """Return an evaluation report as text: its summary and a per-fold table.

    When some recording was out of distribution, the table has a column
    ``OOD``: how many of each fold's were.

    Parameters
    ----------
    report : EvaluationReport
        What :func:`sertk.evaluation.protocols.evaluate` returned.

    Returns
    -------
    str
    """
    width = max(8, *(len(",".join(f["speakers"])) for f in report.folds))
    ood = bool(report.out_of_distribution_share)
    lines = [
        report.summary(),
        "",
        "Per fold:",
        f"{'fold':>4}  {'speakers':<{width}}  {'n':>5}  {'UAR':>5}  {'WAR':>5}"
        + (f"  {'OOD':>5}" if ood else ""),
    ]
    for f in report.folds:
        n_out = f["n_out_of_distribution"]
        lines.append(
            f"{f['fold']:>4}  {','.join(f['speakers']):<{width}}  {f['n']:>5}"
            f"  {f['uar']:5.3f}  {f['war']:5.3f}"
            + (f"  {'-' if n_out is None else n_out:>5}" if ood else "")
        )
    return "\n".join(lines)


ADAPT_HELP = (
    "adaptation at prediction: none (training statistics; a single file "
    "predicted on its own), batch (the recordings predicted together are "
    "z-scored with their own median and IQR, as each training corpus was: "
    "assumes they mix emotions; a batch of one emotion loses its level; "
    "fewer than 10 recordings fall back to none with a warning), speaker (each "
    "speaker's recordings with their own statistics, from the speaker column; "
    "assumes each speaker's recordings mix emotions)")


def add_adapt_option(parser: argparse.ArgumentParser, default: str | None) -> None:
    """Add ``--adapt none|batch|speaker``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    default : str or None
        The default mode (None: the protocol's own behaviour).

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_adapt_option(parser, "none")
    >>> parser.parse_args(["--adapt", "batch"]).adapt
    'batch'
    """
    from ..models.adaptation import ADAPT_MODES

    parser.add_argument("--adapt", choices=ADAPT_MODES, default=default,
                        help=ADAPT_HELP + (f" (default: {default})" if default
                                           else " (default: as the protocol)"))
