"""Labelled data for ``sertk-train`` and ``sertk-evaluate``: options and reading.

A command gets its recordings one of three ways, each giving one row a
recording with a label and (usually) a speaker:

- an audio manifest: a CSV with ``path`` (relative to the CSV's folder),
  label and speaker columns (:func:`sertk.io.datasets.read_manifest`);
- a feature table: written by ``sertk-extract`` (a CSV or Parquet file whose
  columns follow the feature grammar, ``f0_semitone__mean``, ..., with the
  manifest's label and speaker columns carried, and its
  ``<stem>.params.json`` beside it), or any table of numeric feature columns
  with ``path``, label and speaker columns (openSMILE's, say) given with
  ``--features``: then every numeric column but ``path``, ``start``,
  ``end``, the label and the speaker is a feature.

Which is which is explicit: a feature table is a Parquet file, a file with
the ``.params.json`` sidecar, a CSV with columns of sertk's feature grammar,
or any file with ``--features``; another CSV is a manifest, unless it has
20 or more numeric columns: that is an error (pass ``--features``), never
a silent re-extraction of its paths;
- ``--corpus NAME ROOT``: a corpus reader (:func:`sertk.io.datasets.read_corpus`).

Audio is analysed with a per-file cache, so a second run with the same
settings reads the features back instead of extracting them again. The
cache lives in ``features-<sertk version>`` under ``$SERTK_CACHE``, else
``$XDG_CACHE_HOME/sertk``, else ``~/.cache/sertk`` (not beside the manifest:
corpora are often on read-only or shared disks); ``--cache DIR`` chooses
another folder and ``--no-cache`` uses a temporary one that is deleted when
the command ends. The cache is keyed by each file's size and modification
time and by the analysis settings, not by sertk's code: after changing the
feature code without a new version number, delete it (or use ``--no-cache``).

Examples
--------
>>> from sertk.cli._common import make_parser
>>> parser = make_parser("sertk-demo", "Demo.")
>>> add_data_options(parser)
>>> args = parser.parse_args(["--corpus", "emodb", "/data/emodb"])
>>> args.corpus, args.label_column, args.speaker_column
(['emodb', '/data/emodb'], 'label', 'speaker')
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import DatasetError, ParameterError
from ..features.extractor import FeatureExtractor
from ..features.tables import is_feature_column, read_feature_table, read_params
from ..io.datasets import CORPORA, read_corpus, read_manifest, to_common_label
from ..models.augment import make_copies
from ..models.dimensions import dimension_targets
from ._common import n_jobs_value, say, usage_error

__all__ = [
    "Labelled",
    "add_data_options",
    "data_inputs",
    "cache_folder",
    "common_labels",
    "default_cache_dir",
    "dimension_targets_of",
    "extract_features",
    "map_labels",
    "parse_label_map",
    "read_labelled",
]


@dataclass
class Labelled:
    """Recordings with their labels, from a manifest, a feature table or a corpus.

    Attributes
    ----------
    y : ndarray of str
        One label a row.
    speakers : ndarray of object or None
        One speaker id a row, or None when the source has none.
    paths : list of str or None
        Audio files (absolute), when the rows are recordings to analyse.
    X : DataFrame or None
        Feature columns, when the source is a feature table or after
        :func:`extract_features`.
    source : str
        What was read, for messages (``manifest m.csv``).
    feature_params : dict or None
        The extraction parameters saved beside a feature table, if any.
    augmented : ndarray of shape (n_rows, n_copies, n_features) or None
        Features of speed-perturbed copies of each recording, after
        :func:`extract_features` with ``speeds``.
    corpus : ndarray of object or None
        One corpus id a row, when several manifests were given (each is a
        corpus, named by its file) or the manifest has a corpus column.
    dimension_columns : DataFrame or None
        The source's ``arousal``, ``valence`` and ``intensity`` columns
        (those it has), one row a recording, for
        :func:`sertk.models.dimensions.dimension_targets`; None when it has none.
    """

    y: np.ndarray
    speakers: np.ndarray | None
    paths: list[str] | None
    X: pd.DataFrame | None
    source: str
    feature_params: dict | None = None
    augmented: np.ndarray | None = None
    corpus: np.ndarray | None = None
    dimension_columns: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.y)

    def describe(self) -> str:
        """One line: the source, files, speakers and classes."""
        n_spk = "no" if self.speakers is None else pd.Series(self.speakers).nunique()
        labels = pd.Series(self.y).value_counts().sort_index()
        counts = ", ".join(f"{k} {v}" for k, v in labels.items())
        return (
            f"{self.source}: {len(self)} files, {n_spk} speakers, "
            f"{labels.size} classes ({counts})"
        )


def default_cache_dir() -> str:
    """Return the default feature cache folder.

    ``$SERTK_CACHE`` if set, else ``$XDG_CACHE_HOME/sertk``, else
    ``~/.cache/sertk``; in it, one subfolder a sertk version, since the
    cache is keyed by file and settings, not by the code that computed the
    features.

    Returns
    -------
    str

    Examples
    --------
    >>> os.path.basename(default_cache_dir()).startswith("features-")
    True
    """
    if os.environ.get("SERTK_CACHE"):
        root = os.path.expanduser(os.environ["SERTK_CACHE"])
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        root = os.path.join(os.path.expanduser(base), "sertk")
    return os.path.join(root, f"features-{__version__}")


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """Add the input, column, feature-set, cache and ``--n-jobs`` options.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    """
    parser.add_argument(
        "table",
        nargs="?",
        metavar="TABLE",
        help="an audio manifest or a feature table from sertk-extract (CSV or "
        "Parquet); the same as --manifest",
    )
    parser.add_argument(
        "--manifest",
        metavar="CSV",
        action="append",
        help="audio manifest (path, label, speaker columns; paths relative to "
        "the CSV's folder) or feature table from sertk-extract; give it again "
        "for several corpora (each is normalised with its own statistics)",
    )
    parser.add_argument(
        "--corpus-column",
        default="corpus",
        metavar="NAME",
        help="column of corpus ids in a manifest holding several corpora, used "
        "when present (default: %(default)s)",
    )
    parser.add_argument(
        "--label-map",
        metavar="MAP",
        help="rename labels before anything else: FROM=TO pairs separated by "
        "commas (angry=anger,calm=neutral), or a CSV file with columns from,to; "
        "a FROM label no data set has is a usage error",
    )
    parser.add_argument(
        "--features",
        action="store_true",
        help="TABLE (and --test-manifest) is a feature table: every numeric "
        "column besides path, start, end, label and speaker is a feature "
        "(bring your own, e.g. openSMILE's); without it a CSV is a manifest "
        "unless a .params.json from sertk-extract is beside it",
    )
    parser.add_argument(
        "--corpus",
        nargs=2,
        metavar=("NAME", "ROOT"),
        help=f"read a corpus folder instead: NAME is one of {', '.join(CORPORA)}",
    )
    parser.add_argument(
        "--label-column",
        default="label",
        metavar="NAME",
        help="column of the emotion labels (default: %(default)s)",
    )
    parser.add_argument(
        "--speaker-column",
        default="speaker",
        metavar="NAME",
        help="column of the speaker ids (default: %(default)s)",
    )
    parser.add_argument(
        "--feature-set",
        choices=("minimal", "default"),
        default="default",
        help="features to extract from audio; a feature table's own columns "
        "are used as they are (default: %(default)s)",
    )
    parser.add_argument(
        "--cache",
        metavar="DIR",
        help="folder of the per-file feature cache (default: features-<version> "
        "in $SERTK_CACHE, else $XDG_CACHE_HOME/sertk, else ~/.cache/sertk)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="keep no cache: extract into a temporary one, deleted at the end",
    )
    parser.add_argument(
        "--n-jobs",
        type=n_jobs_value,
        default=1,
        metavar="N",
        help="worker processes for extraction and cross-validation folds, -1 "
        "for all cores (default: 1)",
    )


#: Columns of a table that are never features.
_NOT_FEATURES = ("path", "start", "end")
#: A CSV with this many numeric columns is not taken for a manifest.
_MANY_NUMERIC = 20


def _numeric_columns(table: pd.DataFrame, args: argparse.Namespace) -> list[str]:
    """Feature columns of a table: sertk's names, else every numeric column."""
    named = [c for c in table.columns if is_feature_column(str(c))]
    if named:
        return named
    skip = {*_NOT_FEATURES, args.label_column, args.speaker_column}
    numeric = []
    for column in table.columns:
        values = table[column]
        if column in skip or not values.notna().any():
            continue
        if pd.to_numeric(values, errors="coerce").notna().sum() == values.notna().sum():
            numeric.append(column)
    return numeric


def _is_feature_table(path: str, args: argparse.Namespace) -> bool:
    """Tell a feature table from a manifest by the explicit rule (module notes)."""
    stem, _ = os.path.splitext(path)
    if (getattr(args, "features", False) or os.path.exists(stem + ".params.json")
            or path.lower().endswith(".parquet")):
        return True
    try:
        sample = pd.read_csv(path, nrows=50, dtype=str)
    except (ValueError, OSError) as error:
        raise DatasetError(
            f"cannot read {path} as CSV ({error}); expected a manifest or a "
            "feature table with a header row"
        ) from error
    columns = _numeric_columns(sample, args)
    if columns and is_feature_column(str(columns[0])):
        return True  # sertk's own column grammar
    if len(columns) >= _MANY_NUMERIC:
        raise DatasetError(
            f"{path} looks like a feature table ({len(columns)} numeric columns, "
            f"e.g. {columns[0]!r}), not a manifest: pass --features to use its "
            "numeric columns as features, or give a manifest (path, label, "
            "speaker) to extract features from the audio"
        )
    return False


def _dimension_columns(frame: pd.DataFrame) -> pd.DataFrame | None:
    """Return the ``arousal``, ``valence`` and ``intensity`` columns ``frame`` has."""
    names = [c for c in ("arousal", "valence", "intensity") if c in frame.columns]
    return frame[names].reset_index(drop=True) if names else None


def dimension_targets_of(data: Labelled) -> np.ndarray:
    """Return the (arousal, valence) of each row of ``data`` to train on.

    Parameters
    ----------
    data : Labelled
        Rows with labels, and any ``dimension_columns``.

    Returns
    -------
    ndarray of shape (n_rows, 2)

    Raises
    ------
    DatasetError
        If a label has no circumplex point and no arousal/valence value, or a
        value is outside [-1, 1].
    """
    columns = data.dimension_columns
    given = {} if columns is None else {c: columns[c].to_numpy() for c in columns}
    try:
        return dimension_targets(data.y, **given)
    except ParameterError as error:
        raise DatasetError(f"{data.source}: {error}") from None


def _column(frame: pd.DataFrame, name: str, what: str, where: str) -> None:
    if name not in frame.columns:
        raise DatasetError(
            f"{where} has no {what} column {name!r} (columns: "
            f"{', '.join(map(str, list(frame.columns)[:8]))}...); name it with "
            f"--{what}-column"
        )


def _from_features(path: str, args: argparse.Namespace) -> Labelled:
    table = read_feature_table(path)
    where = f"feature table {path}"
    _column(table, args.label_column, "label", where)
    features = _numeric_columns(table, args)
    if not features:
        raise DatasetError(
            f"{where} has no feature columns (sertk's names like "
            "f0_semitone__mean, or numeric columns besides path, label and "
            "speaker); make it with sertk-extract"
        )
    if args.speaker_column != "speaker":  # named on purpose: must be there
        _column(table, args.speaker_column, "speaker", where)
    speakers = None
    if args.speaker_column in table.columns:
        speakers = table[args.speaker_column].to_numpy(dtype=object)
    stem, _ = os.path.splitext(path)
    corpus_column = getattr(args, "corpus_column", "corpus")
    return Labelled(
        corpus=table[corpus_column].to_numpy(dtype=object)
        if corpus_column in table.columns else None,
        y=table[args.label_column].to_numpy(dtype=object),
        speakers=speakers,
        paths=table["path"].tolist() if "path" in table.columns else None,
        X=table[features].apply(pd.to_numeric, errors="coerce").astype(float),
        source=where,
        feature_params=read_params(stem + ".params.json"),
        dimension_columns=_dimension_columns(table),
    )


def _from_manifest(path: str, args: argparse.Namespace) -> Labelled:
    header = pd.read_csv(path, nrows=0).columns
    if args.speaker_column != "speaker":  # named on purpose: must be there
        _column(pd.DataFrame(columns=header), args.speaker_column, "speaker", path)
    speaker_column = args.speaker_column if args.speaker_column in header else None
    frame = read_manifest(
        path, label_column=args.label_column, speaker_column=speaker_column
    )
    corpus_column = getattr(args, "corpus_column", "corpus")
    corpus = None
    if corpus_column in header:
        raw = pd.read_csv(path, usecols=[corpus_column], dtype=str,
                          keep_default_na=False)[corpus_column]
        if len(raw) == len(frame):
            corpus = raw.to_numpy(dtype=object)
    return Labelled(
        corpus=corpus,
        y=frame["label"].to_numpy(dtype=object),
        speakers=None
        if speaker_column is None
        else frame["speaker"].to_numpy(dtype=object),
        paths=frame["path"].tolist(),
        X=None,
        source=f"manifest {path}",
        dimension_columns=_dimension_columns(frame),
    )


def _read_table(path: str, args: argparse.Namespace) -> Labelled:
    if not os.path.isfile(path):
        why = "it is a folder" if os.path.isdir(path) else "it does not exist"
        raise DatasetError(
            f"cannot read {path}: {why}; pass a manifest CSV or a feature table "
            "(use --corpus NAME ROOT for a corpus folder)"
        )
    if _is_feature_table(path, args):
        return _from_features(path, args)
    return _from_manifest(path, args)


def _check_labels(data: Labelled) -> Labelled:
    missing = pd.isna(data.y)
    if missing.any():
        raise DatasetError(
            f"{data.source} has {int(missing.sum())} rows without a label; fill "
            "them in or remove them"
        )
    if data.speakers is not None and pd.isna(data.speakers).all():
        data = replace(data, speakers=None)
    return data


def data_inputs(args: argparse.Namespace) -> dict[str, str | None]:
    """Return the files a command reads its data from, by what they are.

    For :func:`sertk.files.check_outputs`: the feature table or manifest,
    and the test manifest of a cross-corpus evaluation.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options.

    Returns
    -------
    dict
    """
    manifests = list(args.manifest or [])
    inputs = {"data": args.table or (manifests[0] if manifests else None)}
    inputs.update({f"manifest {i + 2}": m for i, m in enumerate(manifests[1:])})
    inputs["test manifest"] = getattr(args, "test_manifest", None)
    return inputs


def read_labelled(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    *,
    table: str | None = None,
) -> Labelled:
    """Read the recordings the options name (TABLE, --manifest or --corpus).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser, for usage errors.
    args : argparse.Namespace
        Parsed options from :func:`add_data_options`.
    table : str, optional
        Read this manifest or feature table instead (a cross-corpus test set).

    Returns
    -------
    Labelled

    Raises
    ------
    SystemExit
        With status 2, if no source or more than one is given.
    DatasetError
        If the source cannot be read, or lacks a named column or a label.
    """
    if table is not None:
        return _check_labels(_read_table(table, args))
    given = [x for x in (args.table, args.manifest, args.corpus) if x]
    if len(given) != 1:
        usage_error(
            parser,
            "give one source of labelled recordings: a manifest or feature "
            "table (TABLE or --manifest), or --corpus NAME ROOT",
        )
    if args.manifest and len(args.manifest) > 1:
        return _several(parser, args, args.manifest)
    if args.corpus:
        name, root = args.corpus
        frame = read_corpus(name, root)
        speakers = frame["speaker"].to_numpy(dtype=object)
        return _check_labels(
            Labelled(
                y=frame["label"].to_numpy(dtype=object),
                speakers=speakers,
                paths=frame["path"].tolist(),
                X=None,
                source=f"corpus {name} at {root}",
                dimension_columns=_dimension_columns(frame),
            )
        )
    return _check_labels(_read_table(args.table or args.manifest[0], args))


def _several(parser: argparse.ArgumentParser, args: argparse.Namespace,
             paths: list[str]) -> Labelled:
    """Read several manifests (or feature tables) into one, a corpus each."""
    parts = [_check_labels(_read_table(p, args)) for p in paths]
    kinds = {p.X is None for p in parts}
    if len(kinds) > 1:
        usage_error(parser, "give either audio manifests or feature tables with "
                    "--manifest, not both kinds")
    names = [os.path.splitext(os.path.basename(os.path.dirname(
        os.path.abspath(p)) if os.path.basename(p) == "manifest.csv" else p))[0]
        for p in paths]
    if len(set(names)) < len(names):
        names = [f"{n}-{i + 1}" for i, n in enumerate(names)]
    if any(p.speakers is None for p in parts):
        speakers = None
    else:  # speaker "01" of two corpora are two people
        speakers = np.concatenate([np.array([f"{n}/{v}" for v in p.speakers],
                                            dtype=object)
                                   for n, p in zip(names, parts, strict=True)])
    X = None
    if parts[0].X is not None:
        missing = set(parts[0].X.columns).symmetric_difference(
            *[set(p.X.columns) for p in parts[1:]])
        if missing:
            usage_error(parser, f"the feature tables differ in {len(missing)} "
                        f"columns, e.g. {sorted(missing)[:3]}; extract them with "
                        "the same feature set")
        X = pd.concat([p.X[parts[0].X.columns] for p in parts], ignore_index=True)
    return Labelled(
        y=np.concatenate([p.y for p in parts]),
        speakers=speakers,
        paths=None if parts[0].paths is None or any(p.paths is None for p in parts)
        else [x for p in parts for x in p.paths],
        X=X,
        source=" + ".join(p.source for p in parts),
        corpus=np.concatenate([np.full(len(p), n, dtype=object)
                               for n, p in zip(names, parts, strict=True)]),
    )


def parse_label_map(text: str) -> dict[str, str]:
    """Parse ``--label-map``: FROM=TO pairs, or a CSV file with from,to columns.

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    dict of str to str

    Raises
    ------
    ParameterError
        If a pair lacks ``=`` or the file lacks the columns.

    Examples
    --------
    >>> parse_label_map("angry=anger, calm=neutral")
    {'angry': 'anger', 'calm': 'neutral'}
    """
    if os.path.isfile(text):
        table = pd.read_csv(text, dtype=str, keep_default_na=False)
        if not {"from", "to"} <= set(table.columns):
            raise ParameterError(f"--label-map file {text} needs columns from,to")
        return dict(zip(table["from"].str.strip(), table["to"].str.strip(),
                        strict=True))
    pairs = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in pairs if p.count("=") != 1 or not all(
        x.strip() for x in p.split("="))]
    if bad or not pairs:
        raise ParameterError(
            f"--label-map {text!r}: write FROM=TO pairs separated by commas "
            "(angry=anger,calm=neutral) or name a CSV file with from,to columns")
    return {a.strip(): b.strip() for a, b in (p.split("=") for p in pairs)}


def map_labels(parser: argparse.ArgumentParser, args: argparse.Namespace,
               *data: Labelled) -> list[Labelled]:
    """Apply ``--label-map`` to each data set; unknown FROM labels: usage error.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        For the usage error.
    args : argparse.Namespace
        Parsed options (``label_map``).
    *data : Labelled
        The data sets (training, and test if any).

    Returns
    -------
    list of Labelled
        The same, labels renamed (unchanged without ``--label-map``).
    """
    if not getattr(args, "label_map", None):
        return list(data)
    try:
        mapping = parse_label_map(args.label_map)
    except ParameterError as error:
        usage_error(parser, str(error))
    seen = set().union(*(set(map(str, pd.unique(d.y))) for d in data))
    unknown = sorted(set(mapping) - seen)
    if unknown:
        usage_error(parser, f"--label-map names label(s) no data set has: "
                    f"{', '.join(unknown)} (labels: {', '.join(sorted(seen))})")
    return [replace(d, y=np.array([mapping.get(str(v), v) for v in d.y],
                                  dtype=object)) for d in data]


def common_labels(data: Labelled) -> Labelled:
    """Map the labels to the common vocabulary (:data:`sertk.io.datasets.LABELS`).

    Parameters
    ----------
    data : Labelled
        Recordings with labels as written.

    Returns
    -------
    Labelled
        The same rows with common labels (``angry`` -> ``anger``).

    Raises
    ------
    DatasetError
        If a label is not an emotion of the vocabulary or a synonym.
    """
    mapping = {}
    for label in pd.unique(data.y):
        try:
            mapping[label] = to_common_label(str(label))
        except ParameterError as error:
            raise DatasetError(f"{data.source}: {error}") from None
    return replace(data, y=np.array([mapping[v] for v in data.y], dtype=object))


@contextlib.contextmanager
def cache_folder(args: argparse.Namespace) -> Iterator[str]:
    """Yield the feature cache folder the options ask for.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``cache``, ``no_cache``).

    Yields
    ------
    str
        ``--cache``, the default folder, or (``--no-cache``) a temporary
        folder deleted on leaving.
    """
    if args.no_cache:
        with tempfile.TemporaryDirectory(prefix="sertk-cache-") as folder:
            yield folder
    else:
        yield args.cache or default_cache_dir()


def extract_features(
    data: Labelled, args: argparse.Namespace, cache: str, *, prog: str,
    speeds: tuple[float, ...] = (), augment: tuple[str, ...] = (),
) -> Labelled:
    """Analyse the recordings of ``data`` (if not features already).

    Files that cannot be analysed are left out, with one message that
    counts them and names the first few.

    Parameters
    ----------
    data : Labelled
        Recordings (``paths``) or features (``X``, returned as they are).
    args : argparse.Namespace
        Parsed options (``feature_set``, ``n_jobs``, ``progress``).
    cache : str
        The feature cache folder.
    prog : str
        The command's name, for messages.
    speeds : tuple of float, default=()
        Also analyse each recording kept played at these speeds, into
        ``augmented`` (see :func:`sertk.models.augment.make_copies`). A feature
        table cannot be re-played: it is returned without copies, with a
        message saying so.
    augment : tuple of str, default=()
        Also make a condition copy of each recording kept for each entry
        (after the speed copies; ``args.noise_folder`` for ``folder-*``,
        babble from other speakers' recordings).

    Returns
    -------
    Labelled
        With ``X`` (and only the rows analysed).

    Raises
    ------
    DatasetError
        If no file at all could be analysed.
    """
    if data.X is not None:
        if speeds:
            say(args, f"{prog}: {data.source} holds features, not audio: no "
                "speed-perturbed copies to train on (--speed-perturbation)")
        if augment:
            say(args, f"{prog}: {data.source} holds features, not audio: no "
                "condition copies to train on (--augment)")
        return data
    extractor = FeatureExtractor(
        args.feature_set,
        n_jobs=args.n_jobs,
        on_error="nan",
        progress=args.progress,
        cache=cache,
    )
    names = extractor.get_feature_names_out()
    rows, kept, failed = [], [], []
    for i, result in enumerate(extractor.iter_results(data.paths)):
        if result.ok:
            rows.append(result.values)
            kept.append(i)
        else:
            failed.append(f"{result.segment.path} ({result.error})")
    if not kept:
        raise DatasetError(
            f"none of the {len(data)} files of {data.source} could be analysed, "
            f"e.g. {failed[0]}"
        )
    if failed:
        say(
            args,
            f"{prog}: left out {len(failed)} file(s) that could not be analysed: "
            + "; ".join(failed[:3])
            + ("; ..." if len(failed) > 3 else ""),
        )
    kept = np.asarray(kept)
    paths = [data.paths[i] for i in kept]
    if speeds:
        say(args, f"{prog}: speed-perturbed copies at {', '.join(map(str, speeds))}")
    if augment:
        say(args, f"{prog}: condition copies: {', '.join(augment)}")
    speakers = None if data.speakers is None else data.speakers[kept]
    return replace(
        data,
        X=pd.DataFrame(np.vstack(rows), columns=names),
        corpus=None if data.corpus is None else data.corpus[kept],
        y=data.y[kept],
        speakers=speakers,
        dimension_columns=None if data.dimension_columns is None
        else data.dimension_columns.iloc[kept].reset_index(drop=True),
        paths=paths,
        augmented=make_copies(extractor, paths, speeds, augment, speakers=speakers,
                              noise_folder=getattr(args, "noise_folder", None)),
    )
