"""``sertk-extract``: extract acoustic features from audio files into a table.

Examples
--------
Shell usage::

    sertk-extract recordings/ -o features.csv --n-jobs 2
    sertk-extract --manifest corpus/manifest.csv -o features.parquet
    sertk-extract --manifest corpus/manifest.csv -o features.csv --resume

The table has one row a file: ``path`` (absolute), ``start`` (0) and ``end``
(the file's duration in seconds) first, as every table sertk makes (see
:mod:`sertk.features.extractor`), the manifest's other columns next, then the
features. ``--resume`` also goes on from a table written before ``start`` and
``end`` existed, adding them to its rows. It is written to ``<output>.partial`` as the
files are analysed and moved into place when the run completes, so an
interrupted run leaves the previous output untouched and ``--resume`` goes on
where it stopped. The settings and library versions are saved in
``<output stem>.params.json``, the files that failed (and why) in
``<output stem>.errors.csv``. ``--resume`` keeps only rows made with the
same settings from this run's inputs (same file, same manifest cells) and
refuses otherwise.

Outputs are checked before any work: an output that is the same file as
the manifest, an input or another output, or a folder, is refused (exit
2); so is an output another run is writing (a lock file
``<output>.lock`` is held while writing). A full disk is one line (exit
1), the rows done so far kept for ``--resume``; SIGTERM stops the workers
and keeps the partial as Ctrl-C does (exit 143).

Exit status: 0 when every file was analysed, 1 when some failed, 2 on a usage
error, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import sys
import time
from collections.abc import Sequence

from ..audio.reading import find_audio_files
from ..errors import DatasetError
from ..features._batch import extraction_params, iter_extract, segment_bounds
from ..features._dask import forked_local_workers
from ..features.feature_sets import get_feature_set
from ..features.tables import (
    BOUNDS,
    TableWriter,
    excel_safe,
    partial_path,
    read_params,
    read_path_table,
)
from ..files import atomic_write_text, claim_outputs
from ..settings import AnalysisSettings
from ._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    add_output_options,
    make_parser,
    n_jobs_value,
    run,
    say,
    usage_error,
)

__all__ = ["build_parser", "main"]

PROG = "sertk-extract"
#: What must agree between a table and a run that resumes it (its rows
#: must also be among this run's inputs: see TableWriter's ``inputs``).
_RESUME_KEYS = ("feature_set", "settings", "excel_safe")
#: Why a file whose name is not valid UTF-8 gets no row.
_NOT_UTF8 = (
    "the file name is not valid UTF-8, so the table (UTF-8 text) cannot hold "
    "it; rename the file (e.g. convmv -f latin1 -t utf8)"
)


def _snr_or_off(text: str) -> float | None:
    """Parse ``--noise-snr-db``: a number of dB, or ``off``."""
    if text.strip().lower() == "off":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of dB or 'off', got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the ``sertk-extract`` argument parser.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> args = build_parser().parse_args(["a.wav", "-o", "f.csv"])
    >>> args.inputs, args.feature_set, args.n_jobs
    (['a.wav'], 'default', 1)
    """
    parser = make_parser(
        PROG,
        "Extract acoustic features from audio files (or "
        "the files of a manifest) into a CSV or Parquet "
        "table, one row a file.",
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="audio files or folders (searched recursively)",
    )
    parser.add_argument(
        "--manifest",
        metavar="CSV",
        help="CSV with a 'path' column (relative to the CSV's "
        "folder); its other columns are carried into the "
        "output",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="TABLE",
        help="output table, .csv or .parquet",
    )
    parser.add_argument(
        "--feature-set",
        choices=("minimal", "default"),
        default="default",
        help="feature set (default: %(default)s)",
    )
    parser.add_argument(
        "--n-jobs",
        type=n_jobs_value,
        default=1,
        metavar="N",
        help="worker processes, -1 for all cores (default: 1); "
        "the output is the same whatever the value",
    )
    parser.add_argument(
        "--sr",
        type=int,
        default=16000,
        help="analysis sampling rate in Hz (default: %(default)s)",
    )
    parser.add_argument(
        "--f0-min",
        type=float,
        default=75.0,
        metavar="HZ",
        help="pitch floor in Hz (default: %(default)s)",
    )
    parser.add_argument(
        "--f0-max",
        type=float,
        default=600.0,
        metavar="HZ",
        help="pitch ceiling in Hz (default: %(default)s)",
    )
    parser.add_argument(
        "--n-mfcc",
        type=int,
        default=16,
        metavar="N",
        help="number of MFCCs (default: %(default)s)",
    )
    parser.add_argument(
        "--noise-snr-db",
        type=_snr_or_off,
        default=10.0,
        metavar="DB",
        help="spectral statistics use frames at least DB above the recording's "
        "noise floor; 'off' uses every frame within 40 dB of the loudest "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="analyse the audio played FACTOR times as fast (0.5 to 2): "
        "speed-perturbed copies for training, such as 0.9 and 1.1 "
        "(default: %(default)s, the audio as it is)",
    )
    parser.add_argument(
        "--errors",
        metavar="CSV",
        help="where to list the files that failed (default: "
        "<output stem>.errors.csv, written when any "
        "failed)",
    )
    parser.add_argument(
        "--excel-safe",
        action="store_true",
        help="write text cells a spreadsheet would run as a formula (those "
        "starting with = + - @, such as a file named =cmd|...) with a ' in "
        "front, which spreadsheets hide; sertk's readers remove it again. Use "
        "it when the CSV will be opened in Excel or LibreOffice",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the rows already in the output (and in the "
        "partial file of an interrupted run) and analyse "
        "only the other files",
    )
    parser.add_argument(
        "--cache", metavar="DIR", help="folder of a per-file cache of results"
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address, or 'local' (needs the dask extra): a "
             "local cluster whose workers are forked from one process that "
             "holds their libraries, which they share",
    )
    add_output_options(parser)
    return parser


def _beside(output: str, suffix: str) -> str:
    root, _ = os.path.splitext(output)
    return root + suffix


def _check_output(parser: argparse.ArgumentParser, output: str) -> None:
    if not output.lower().endswith((".csv", ".parquet")):
        usage_error(parser, f"the output {output!r} must end in .csv or .parquet")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        usage_error(
            parser, f"the output folder {folder} does not exist; create it first"
        )


def _listing(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
) -> tuple[list[str], list[tuple[str, ...]]]:
    """Return the files to analyse: column names and rows, ``path`` (absolute) first.

    The other columns are those of the manifest, carried into the output.
    """
    if args.manifest and args.inputs:
        usage_error(parser, "give INPUT files/folders or --manifest, not both")
    if args.manifest:
        table = read_path_table(args.manifest)
        segments = [c for c in ("start", "end") if c in table.columns]
        if segments:
            usage_error(
                parser,
                f"manifest {args.manifest} has {segments} columns, "
                "but sertk-extract analyses whole files; drop "
                "them or cut the files first",
            )
        columns = [str(c) for c in table.columns]
        rows = list(table.itertuples(index=False, name=None))
        where = f"manifest {args.manifest}"
    elif args.inputs:
        paths = [os.path.abspath(p) for p in find_audio_files(args.inputs)]
        columns, rows = ["path"], [(p,) for p in dict.fromkeys(paths)]
        where = "the inputs"
    else:
        usage_error(parser, "no input: give audio files or folders, or --manifest")
    if not rows:
        usage_error(parser, f"{where} name no audio files")
    return columns, rows


def _check_resumable(params: dict, output: str, params_path: str) -> None:
    """Refuse to resume a table made with other settings."""
    for source, where in (
        (params_path, output),
        (partial_path(params_path), partial_path(output)),
    ):
        if not os.path.exists(where):
            continue
        before = read_params(source)
        if before is None:
            raise DatasetError(
                f"cannot resume {where}: {source} is missing, so nothing says "
                "which inputs and settings made it; run without --resume to "
                "start afresh"
            )
        changed = [  # tables from before --excel-safe existed are not escaped
            k for k in _RESUME_KEYS
            if before.get(k, False if k == "excel_safe" else None) != params[k]
        ]
        if changed:
            raise DatasetError(
                f"cannot resume {where}: its {' and '.join(changed)} differ from "
                f"this run's (see {source}); use the same options and inputs, "
                "or run without --resume to start afresh"
            )


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(path: str) -> str:
    r"""Return `path`, bytes that are not UTF-8 shown as ``\xNN``."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _write_errors(path: str, errors: list[tuple[str, str]], safe: bool) -> None:
    text = excel_safe if safe else str
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "error"])
    writer.writerows((text(_printable(p)), text(reason)) for p, reason in errors)
    atomic_write_text(path, buffer.getvalue())


def _summary(
    n_files: int,
    n_kept: int,
    n_failed: int,
    seconds_audio: float,
    seconds: float,
    output: str,
    errors_path: str | None,
) -> str:
    kept = f" (+{n_kept} kept from before)" if n_kept else ""
    speed = f"{seconds_audio / seconds:.0f}x" if seconds > 0 else "-"
    line = (
        f"{n_files} files{kept}, {n_failed} failed, "
        f"{seconds_audio / 3600:.2f} h of audio in {seconds:.1f} s "
        f"({speed} real time) -> {output}"
    )
    if errors_path is not None:
        line += f"; failures listed in {errors_path}"
    return line


def _extract(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    output = args.output
    _check_output(parser, output)
    fs = get_feature_set(args.feature_set)
    settings = AnalysisSettings(
        sr=args.sr, f0_min=args.f0_min, f0_max=args.f0_max, n_mfcc=args.n_mfcc,
        noise_snr_db=args.noise_snr_db, speed=args.speed,
    )
    fs.validate(settings.n_mfcc, settings.n_mels)
    params = extraction_params(fs, settings)
    columns, listing = _listing(parser, args)
    params["n_inputs"] = len(listing)
    params["excel_safe"] = args.excel_safe
    carried = columns[1:]
    features = fs.feature_names(settings.n_mfcc, settings.n_mels)
    clash = sorted(set(carried) & set(features))
    if clash:
        usage_error(parser, f"manifest columns {clash} have feature names; rename them")
    params_path = _beside(output, ".params.json")
    errors_path = args.errors or _beside(output, ".errors.csv")
    outputs = {"-o": output, "--errors": errors_path, "parameters": params_path}
    inputs = {"manifest": args.manifest, "input": [row[0] for row in listing]}
    with claim_outputs(outputs, inputs):
        if args.resume:
            _check_resumable(params, output, params_path)
        elif os.path.exists(partial_path(output)):
            say(
                args,
                f"{PROG}: discarding {partial_path(output)} left by an "
                "interrupted run (use --resume to keep its rows)",
            )

        started = time.perf_counter()
        writable = [row for row in listing if _is_utf8(row[0])]
        errors = [(row[0], _NOT_UTF8) for row in listing if not _is_utf8(row[0])]
        n_unwritable = len(errors)
        seconds_audio = 0.0
        writer = TableWriter(
            output,
            ["path", *BOUNDS, *carried, *features],
            text_columns=["path", *carried],
            resume=args.resume,
            sidecars={params_path: json.dumps(params, indent=2) + "\n"},
            inputs=listing,
            excel_safe=args.excel_safe,
            filled={"start": lambda path: 0.0,
                    "end": lambda path: segment_bounds(path)[1]},
        )
        # a local cluster's workers share their libraries' memory
        workers = (forked_local_workers() if args.scheduler == "local"
                   else contextlib.nullcontext())
        try:
            with workers, writer:
                todo = [row for row in writable if row[0] not in writer.done]
                # closed within the block, whatever stops it: a Ctrl-C
                # between two results leaves the run open otherwise, until
                # after the block, whose dask settings its cluster still reads
                with contextlib.closing(iter_extract(
                    [row[0] for row in todo],
                    feature_set=fs,
                    settings=settings,
                    n_jobs=args.n_jobs,
                    cache=args.cache,
                    scheduler=args.scheduler,
                    progress=args.progress,
                )) as results:
                    for row, result in zip(todo, results, strict=True):
                        if result.ok:
                            writer.write_row([row[0],
                                              *segment_bounds(result.segment),
                                              *row[1:], *result.values])
                            seconds_audio += result.duration
                        else:
                            errors.append((result.segment.path, result.error))
        except KeyboardInterrupt:
            print(
                f"{PROG}: interrupted; {output} is unchanged and the "
                f"{writer.n_written} rows done so far are kept in "
                f"{writer.partial}: run the same command with --resume to go on",
                file=sys.stderr,
            )
            return EXIT_INTERRUPTED
        except OSError as error:
            if writer.n_written == 0 or not os.path.exists(writer.partial):
                raise
            print(
                f"{PROG}: error: cannot write {writer.partial} "
                f"({error.strerror or error}); {output} is unchanged and the "
                f"{writer.n_written} rows done so far are kept: free space and "
                "run the same command with --resume to go on",
                file=sys.stderr,
            )
            return EXIT_FAILED
        if errors or args.errors:
            _write_errors(errors_path, errors, args.excel_safe)
        elif os.path.exists(errors_path):
            os.remove(errors_path)  # from an earlier run; those files are done now
        say(
            args,
            _summary(
                len(todo) + n_unwritable,
                len(writer.done),
                len(errors),
                seconds_audio,
                time.perf_counter() - started,
                output,
                errors_path if errors else None,
            ),
        )
        return EXIT_FAILED if errors else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sertk-extract``; see ``sertk-extract --help``.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 when every file was analysed, 1 when some failed (they are listed
        in the errors file), 2 on a usage error, 130 when interrupted.

    Examples
    --------
    >>> main(["no/such/file.wav", "-o", "features.csv"])  # message on stderr
    2
    """
    return run(build_parser(), argv, _extract)


if __name__ == "__main__":
    sys.exit(main())
