"""``sertk-predict``: tell the emotion of each recording with a trained model.

Examples
--------
Shell usage::

    sertk-predict data/examples
    sertk-predict -m model.joblib recordings/ -o predictions.csv --n-jobs 2

One row a file (:func:`sertk.timeline.files.predict_files`): ``path``,
``start`` (0) and ``end`` (the file's duration in seconds), the index every
sertk table shares (``sertk-extract``'s rows join on them), then
``speech_fraction`` (the share of its 10 ms frames that are speech by the
timeline's voice activity detection), the predicted ``label``,
``out_of_distribution`` (the file is unlike the model's training data, most
often because of noise, so the model's F0 / H1-H2 fallback labelled it:
trust such labels less; printed only when some file is), ``arousal`` and
``valence`` in [-1, 1] (from a model trained with ``--dimensions``, such as
the bundled one when it has them; empty for silence), one
``prob_<class>`` column a class (calibrated probabilities; the label comes
from the SVM's decision function, so on borderline files it need not be the
most probable class), and ``error`` (empty unless the file could not be
analysed). A file without speech, one with no frame louder than -70 dBFS or
no voiced frame (silence, a DC offset, steady noise, hum), is labelled
``silence`` with empty probabilities rather than given an emotion. Without
``-o`` the rows are printed as an aligned table (without ``start`` and
``end`` for whole files); with it they are written as CSV. A file that
cannot be read or analysed gets a row with its error instead of stopping
the run.

Without ``-m`` the bundled model is used: trained on all of EMO-DB (German)
and RAVDESS (North-American English) acted speech (9 classes, 34 speakers)
without speaker normalisation, on noise, telephone and room copies of the
recordings too, with arousal and valence; with ``--window``, the bundled
timeline model, trained on the speech windows of those recordings too (see
``sertk/pretrained/README.md``).

Model files are loaded safely: a ``.skops`` file is read without running
any code in it; a pickle (``.joblib``) runs code when loaded, so it is
loaded only when it is a model bundled with sertk (vouched for by its
SHA-256, recorded in the package) or when ``--trust`` says you trust its
author as you would a program; otherwise it is refused (exit 2) before a
byte of it is unpickled. ``--safe`` is the default, kept for scripts that
pass it. Settings stored in a model file (workers, cache folder, scheduler)
are never used.

With ``--window`` each file gets a timeline instead: one row a window
(``path``, ``start``, ``end``, ``speech_fraction``, ``label``,
``out_of_distribution``, the probabilities, ``error``), and ``--plot`` draws it; see
:mod:`sertk.cli._timeline` and ``docs/timeline.md``::

    sertk-predict --window 2.0 --hop 0.5 long.wav -o timeline.csv --plot timeline.png

With ``--stream -`` (raw PCM on standard input) or ``--stream mic``, the
rows of a live timeline are written to standard output as each window ends;
see :mod:`sertk.cli._stream` and ``docs/live.md``::

    arecord -f S16_LE -r 16000 -c 1 | sertk-predict --stream - --plot

``-o`` and ``--plot`` must not name an input file, each other, or a
folder (exit 2); an image that cannot be written is reported and the
timeline rows are still written (exit 1).

Exit status: 0 when every file got a prediction, 1 when some failed (or
an image could not be written), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio.reading import MAX_DURATION, audio_duration
from ..errors import AudioError, UntrustedModelError
from ..features.tables import excel_safe, format_float
from ..files import atomic_write_text, check_outputs, claim_outputs
from ..io.model_files import DEFAULT_MODEL, TIMELINE_MODEL, load_model
from ..models.classifier import EmotionClassifier
from ..models.dimensions import DIMENSIONS
from ..timeline.files import predict_files
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    add_output_options,
    make_parser,
    n_jobs_value,
    run,
    say,
    usage_error,
)
from ._model import add_adapt_option
from ._stream import add_stream_options, predict_stream, stream_requested
from ._timeline import (
    add_timeline_options,
    check_timeline_options,
    plot_paths,
    predict_timelines,
)

__all__ = ["build_parser", "main"]

PROG = "sertk-predict"


def build_parser() -> argparse.ArgumentParser:
    """Return the ``sertk-predict`` argument parser.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> args = build_parser().parse_args(["a.wav", "clips/"])
    >>> args.inputs, args.model, args.output
    (['a.wav', 'clips/'], None, None)
    """
    parser = make_parser(
        PROG,
        "Predict the emotion of audio files with a trained model (by default "
        "the bundled EMO-DB + RAVDESS model): one row a file, with the share "
        "of it that is speech, the label and the probability of each class. A file "
        "without speech (no 10 ms frame louder than -70 dBFS, or no voiced "
        "frame: silence, a DC offset, steady noise, hum) is labelled "
        "'silence', with no probabilities.",
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="audio files or folders (searched recursively); none with --stream",
    )
    parser.add_argument(
        "--manifest",
        metavar="CSV",
        help="predict the files of this manifest (path column, relative to its "
        "folder; a speaker column for --adapt speaker) besides any INPUT",
    )
    parser.add_argument(
        "--speaker-column",
        default="speaker",
        metavar="NAME",
        help="the manifest's column of speaker ids, for --adapt speaker "
        "(default: %(default)s)",
    )
    add_adapt_option(parser, "none")
    parser.add_argument(
        "--reference",
        nargs="+",
        metavar="FILE|FOLDER",
        help="a few recordings of the same speaker or setting (neutral speech, "
        "a minute is enough): their statistics anchor the normalisation, for "
        "files predicted one at a time (with --window: their speech windows "
        "anchor each timeline's); with --adapt none or batch",
    )
    parser.add_argument(
        "-m",
        "--model",
        metavar="MODEL",
        help="model file from sertk-train (default: the bundled EMO-DB + RAVDESS "
        "model; with --window, the bundled timeline model)",
    )
    trust = parser.add_mutually_exclusive_group()
    trust.add_argument(
        "--safe",
        action="store_true",
        help="load only .skops model files and the bundled models, never "
        "another pickle (.joblib), which runs code when loaded (the default)",
    )
    trust.add_argument(
        "--trust",
        action="store_true",
        help="load the -m model file even if it is a pickle (.joblib): "
        "unpickling runs code stored in the file, so pass this only for "
        "model files you made or trust as a program you would run",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="CSV",
        help="write the predictions to this CSV file instead of printing them",
    )
    parser.add_argument(
        "--excel-safe",
        action="store_true",
        help="write text cells a spreadsheet would run as a formula (those "
        "starting with = + - @, such as a file named =cmd|...) with a ' in "
        "front, which spreadsheets hide. Use it when the CSV will be opened in "
        "Excel or LibreOffice",
    )
    parser.add_argument(
        "--n-jobs",
        type=n_jobs_value,
        default=1,
        metavar="N",
        help="worker processes, -1 for all cores (default: 1)",
    )
    parser.add_argument(
        "--explain",
        nargs="?",
        const=5,
        type=_top,
        metavar="K",
        help="explain each file's label by the K features (default 5) that "
        "pushed most toward it, relative to the training average, in words "
        "and numbers; with --plot, a bar chart a file and the batch's "
        "arousal/valence on the circumplex",
    )
    add_timeline_options(parser)
    add_stream_options(parser)
    add_output_options(parser)
    return parser


def _top(text: str) -> int:
    """Parse ``--explain K``: a whole number from 1 to 20."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 20:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to 20")
    return value


def _files(inputs: Sequence[str]) -> list[tuple[str, str | None]]:
    """Each audio file named by ``inputs``, or the input and why it is no file."""
    from ..audio.reading import find_audio_files

    found: dict[str, str | None] = {}
    for item in inputs:
        if not os.path.exists(item):
            found[item] = "no such file or folder"
            continue
        files = find_audio_files([item])
        if not files:
            found[item] = "no audio files in this folder"
        for path in files:
            found.setdefault(path, None)
    return list(found.items())


def _per_file(model: EmotionClassifier, files: Sequence[tuple[str, str | None]],
              args: argparse.Namespace) -> pd.DataFrame:
    """Predict one row a file, in input order; inputs that are no file get an error.

    The rows of the files are those of :func:`sertk.timeline.files.predict_files`.
    """
    good = [path for path, error in files if error is None]
    speakers = None
    if args.adapt == "speaker":
        known = getattr(args, "speaker_of", {})
        speakers = [known.get(os.path.abspath(p)) for p in good]
    table = predict_files(model, good, n_jobs=args.n_jobs, progress=args.progress,
                          adapt=args.adapt, speakers=speakers,
                          reference=getattr(args, "reference_files", None),
                          explain=args.explain or 0)
    why = table.attrs.get("explanations")
    failed = [(path, error) for path, error in files if error is not None]
    if not failed:
        return table
    rows = pd.DataFrame(failed, columns=["path", "error"], dtype=object)
    whole = rows if table.empty else pd.concat([table, rows], ignore_index=True)
    position = {path: i for i, (path, _) in enumerate(files)}
    order = np.argsort([position[p] for p in whole["path"]], kind="stable")
    whole = whole.iloc[order].reset_index(drop=True).reindex(columns=table.columns)
    if why is not None:
        whole.attrs["explanations"] = why
    return whole


def _printable(path: str) -> str:
    r"""Return `path` with bytes that are not UTF-8 shown as ``\xNN``."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _csv(table: pd.DataFrame, safe: bool) -> str:
    """Return the rows as CSV; with ``safe``, text cells made :func:`excel_safe`."""
    text = excel_safe if safe else str
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.itertuples(index=False):
        writer.writerow(
            [
                format_float(v) if c.startswith("prob_") or c in DIMENSIONS
                else "" if pd.isna(v) else text(v) if isinstance(v, str) else v
                for c, v in zip(table.columns, row, strict=True)
            ]
        )
    return buffer.getvalue()


def _aligned(table: pd.DataFrame) -> str:
    """Format the predictions as an aligned text table."""
    shown = table.copy()
    probs = [c for c in shown.columns if c.startswith("prob_")]
    for c in probs:
        shown[c] = [("" if np.isnan(v) else f"{v:.3f}") for v in shown[c]]
    shown["speech_fraction"] = [("" if np.isnan(v) else f"{v:.2f}")
                                for v in shown["speech_fraction"]]
    dims = [c for c in DIMENSIONS if c in shown.columns]
    for c in dims:
        shown[c] = [("" if np.isnan(v) else f"{v:+.2f}") for v in shown[c]]
    shown = shown.rename(columns={c: c.removeprefix("prob_") for c in probs})
    shown = shown.drop(columns=["explanation"], errors="ignore")
    shown["label"] = ["-" if pd.isna(v) else v for v in shown["label"]]
    if shown["error"].isna().all():
        shown = shown.drop(columns="error")
    if shown["out_of_distribution"].any():
        shown["out_of_distribution"] = [
            "yes" if pd.notna(v) and v else ""
            for v in shown["out_of_distribution"]]
    else:
        shown = shown.drop(columns="out_of_distribution")
    # missing cells (a failed file's start, end, error...) print empty; with
    # pandas 3, astype(str) would keep them as NaN
    cells = [list(shown.columns)] + [
        ["" if pd.isna(v) else str(v) for v in row]
        for row in shown.itertuples(index=False, name=None)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    numeric = {i for i, c in enumerate(shown.columns)
               if f"prob_{c}" in probs or c == "speech_fraction" or c in dims}
    return "\n".join(
        "  ".join(
            cell.rjust(w) if i in numeric else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    )


def _load(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """Load ``-m``'s model, else the bundled one for files or for timelines."""
    path = args.model
    if path is None:
        timeline = args.window is not None and TIMELINE_MODEL.is_file()
        path = TIMELINE_MODEL if timeline else DEFAULT_MODEL
    try:
        model = load_model(path, trusted=True if args.trust else False)
    except UntrustedModelError as error:
        usage_error(parser, f"{error} (--trust loads it)")
    if args.window is None and not hasattr(model, "extractor_"):
        usage_error(
            parser,
            f"model {path} was trained on feature columns, not audio; "
            "sertk-predict needs one trained on audio (sertk-train with a "
            "manifest or --corpus), or --window for a timeline",
        )
    if model.training_summary_.get("speaker_normalised"):
        say(
            args,
            f"{PROG}: note: this model was trained with per-speaker "
            "normalisation; single files have no speaker statistics, so they "
            "are scaled with pooled ones and predictions may be worse",
        )
    return model


def _predict(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    # live input (--stream, --device, --list-devices): sertk/cli/_stream.py
    if stream_requested(args):
        return predict_stream(parser, args, lambda: _load(parser, args))
    stream_only = [f"--{name}" for name in ("rate", "channels", "format")
                   if getattr(args, name) is not None]
    if stream_only:
        usage_error(parser, f"{', '.join(stream_only)} needs --stream")
    if not args.inputs and not args.manifest:
        usage_error(parser, "give audio files or folders (or --manifest CSV), or "
                    "--stream - for raw audio on standard input")
    if args.explain and args.window is not None:
        usage_error(parser, "--explain explains whole files; leave out --window")
    check_timeline_options(parser, args)
    files = _inputs(parser, args)
    found = [path for path, error in files if error is None]
    images = plot_paths(args.plot, found) if args.plot and found else []
    extra = {}
    if args.explain and args.output:
        extra["explanations"] = _explanations_path(args.output)
    if args.explain and args.plot:
        extra["--plot circumplex"] = str(_circumplex_path(args.plot))
    check_outputs({"-o": args.output, **extra,
                   **{f"--plot {p}": p for p in images}},
                  {"input": found, "model": args.model})
    with claim_outputs({"-o": args.output}, {}):
        model = _load(parser, args)
        too_long = 0
        if args.window is None:
            table = _per_file(model, files, args)
            too_long = _too_long(table)
        else:
            table = predict_timelines(model, files, args)
        why = table.attrs.get("explanations")
        table["path"] = table["path"].map(_printable)
        status = _emit(table, args, too_long)
        if why is not None:
            _explanations(table, why, args)
        return status


def _explanations_path(output: str) -> str:
    """Return where the explanations go beside the ``-o`` CSV."""
    return f"{os.path.splitext(output)[0]}.explanations.csv"


def _circumplex_path(plot: str) -> Path:
    """Return the circumplex image beside the ``--plot`` ones."""
    target = Path(plot)
    return target.with_name(f"{target.stem}-circumplex{target.suffix}")


def _explanations(table: pd.DataFrame, why: pd.DataFrame,
                  args: argparse.Namespace) -> None:
    """Print or write the explanations; draw them with ``--plot``."""
    if why.empty:
        say(args, f"{PROG}: no file to explain (none was labelled with an emotion)")
        return
    why = why.assign(path=why["path"].map(_printable))
    if args.output:
        target = _explanations_path(args.output)
        atomic_write_text(target, why.drop(columns="row").to_csv(
            index=False, float_format="%.6g"))
        say(args, f"{PROG}: explanations -> {target}")
    else:
        print(f"\nWhy (the features that pushed most toward each label, relative "
              f"to {why.attrs.get('reference', 'the training average')}; share of "
              "the label's margin):")
        for path, rows in why.groupby("path", sort=False):
            first = rows.iloc[0]
            extra = " (out of distribution: the fallback model's reasons)" \
                if first["out_of_distribution"] else ""
            print(f"{path}: {first['label']}{extra}")
            for row in rows.itertuples():
                print(f"  {row.rank}. {row.text} [{100 * row.share:.0f} %]")
        if why.attrs.get("by_index"):
            print("(the model was trained on an array without feature names: "
                  "features are named by column index)")
    if args.plot:
        _plot_explanations(table, why, args)


def _plot_explanations(table: pd.DataFrame, why: pd.DataFrame,
                       args: argparse.Namespace) -> None:
    from ..timeline.explanation_plots import plot_circumplex, plot_explanation

    paths = list(dict.fromkeys(why["path"]))
    for path, image in zip(paths, plot_paths(args.plot, paths), strict=True):
        plot_explanation(why[why["path"] == path], image,
                         title=f"{os.path.basename(path)}: why "
                         f"{why.loc[why['path'] == path, 'label'].iloc[0]}")
        say(args, f"{PROG}: explanation of {path} -> {image}")
    if "arousal" in table.columns:
        image = _circumplex_path(args.plot)
        plot_circumplex(table, image)
        say(args, f"{PROG}: arousal and valence -> {image}")


def _inputs(parser: argparse.ArgumentParser, args: argparse.Namespace
            ) -> list[tuple[str, str | None]]:
    """Return the files to predict; check --manifest, --adapt and --reference."""
    if not args.inputs and not args.manifest:
        usage_error(parser, "name audio files or folders, or --manifest CSV")
    files = _files(args.inputs)
    args.speaker_of = {}
    if args.manifest:
        try:
            frame = pd.read_csv(args.manifest, dtype=str, keep_default_na=False)
        except (OSError, ValueError) as error:
            usage_error(parser, f"cannot read --manifest {args.manifest}: {error}")
        if "path" not in frame.columns:
            usage_error(parser, f"--manifest {args.manifest} has no path column")
        folder = os.path.dirname(os.path.abspath(args.manifest))
        paths = [os.path.join(folder, p) for p in frame["path"]]
        files += [(p, None if os.path.isfile(p) else "no such file") for p in paths]
        if args.speaker_column in frame.columns:
            args.speaker_of = dict(zip(map(os.path.abspath, paths),
                                       frame[args.speaker_column], strict=True))
    if args.window is not None:
        if args.causal and (args.adapt != "none" or args.reference):
            usage_error(parser, "--causal sees only the past of a recording; "
                        "leave out --adapt and --reference, or --causal")
        if args.adapt == "speaker":
            usage_error(parser, "--window: a recording is one speaker; use --adapt "
                        "batch (its own speech windows) or --reference FILES|FOLDER")
    if args.adapt == "speaker" and not args.speaker_of:
        usage_error(parser, "--adapt speaker needs a speaker a file: give "
                    "--manifest CSV with a speaker column (--speaker-column)")
    n_files = sum(error is None for _, error in files)
    if args.adapt == "batch" and n_files < 2 and args.window is None:
        usage_error(parser, f"--adapt batch z-scores the recordings predicted "
                    f"together with their own statistics, and there is "
                    f"{n_files}: give --reference FILES|FOLDER (recordings of the "
                    "same speaker or setting) or --adapt none")
    args.reference_files = None
    if args.reference:
        if args.adapt == "speaker":
            usage_error(parser, "--reference anchors one speaker or setting; use "
                        "it with --adapt none or batch")
        found = [p for p, error in _files(args.reference) if error is None]
        if not found:
            usage_error(parser, f"--reference {' '.join(args.reference)}: no audio "
                        "files there")
        args.reference_files = found
    return files


def _too_long(table: pd.DataFrame) -> int:
    """Count the failed files longer than ``MAX_DURATION`` (from their headers)."""
    n = 0
    for path in table.loc[table["error"].notna(), "path"]:
        try:
            n += audio_duration(path) > MAX_DURATION
        except AudioError:
            continue  # not readable as audio: failed for another reason
    return n


def _emit(table: pd.DataFrame, args: argparse.Namespace, too_long: int = 0) -> int:
    """Write or print the predictions; return the exit status.

    ``too_long`` files were refused as longer than one utterance: the
    timeline is pointed out for them.
    """
    failed = table["error"].notna()
    n_files = table["path"].nunique()  # a timeline has many rows a file
    if args.output:
        atomic_write_text(args.output, _csv(table, args.excel_safe))
        say(args, f"{PROG}: {n_files} files -> {args.output}")
    elif args.window is None:  # whole files: start and end are only in the CSV
        print(_aligned(table.drop(columns=["start", "end"])))
    else:
        print(_aligned(table))
    if failed.any():
        say(args, f"{PROG}: {int(failed.sum())} of {n_files} files failed")
        if too_long:
            files, them = (("1 file is", "it") if too_long == 1
                           else (f"{too_long} files are", "them"))
            say(args, f"{PROG}: {files} longer than {MAX_DURATION:g} s, the "
                f"most analysed as one utterance; classify {them} window by "
                "window with --window 2")
    return EXIT_FAILED if failed.any() or table.attrs.get("plot_failures") else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sertk-predict``; see ``sertk-predict --help``.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 when every file got a prediction, 1 when some failed, 2 on a usage
        error.

    Examples
    --------
    >>> main(["no/such/file.wav", "-q"])  # an error row for the missing file
    path...error
    no/such/file.wav...no such file or folder
    1
    """
    return run(build_parser(), argv, _predict)


if __name__ == "__main__":
    sys.exit(main())
