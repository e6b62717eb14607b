"""Feature tables on disk: written row by row, committed atomically, resumable.

A feature table has one row a file: a key column (``path``) first, then
``start`` and ``end`` (seconds; the index every sertk table shares, see
:mod:`sertk.features.extractor`), then text columns carried from a manifest
(``label``, ``speaker``, ...), then float feature columns.
:class:`TableWriter` streams rows to ``<table>.partial`` (flushed after
each row) and moves it into place with :func:`os.replace` when the run
completes, so a run killed at any moment leaves either the previous table
or the complete new one, never a truncated one; a later run can resume from
the partial. Floats are written with :func:`format_float`
(shortest round-trip form), so the same rows always give the same bytes.

A table whose name ends in ``.parquet`` is streamed to a CSV partial and
converted at the end (needs ``pyarrow``, the ``parquet`` extra).

Examples
--------
>>> import os, tempfile
>>> out = os.path.join(tempfile.mkdtemp(), "features.csv")
>>> with TableWriter(out, ["path", "f0_semitone__mean"]) as table:
...     table.write_row(["a.wav", 34.5])
...     table.write_row(["b.wav", float("nan")])
>>> print(open(out).read(), end="")
path,f0_semitone__mean
a.wav,34.5
b.wav,
>>> read_feature_table(out)["f0_semitone__mean"].tolist()
[34.5, nan]
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import DatasetError, OutputError, ParameterError
from ..files import (
    OutputLock,
    atomic_write_json,
    atomic_write_text,
    replace_durably,
    temporary_beside,
)
from .feature_sets import parse_feature_name

if TYPE_CHECKING:  # pandas is imported by the readers only: writing needs none
    import pandas as pd

__all__ = [
    "BOUNDS",
    "TableWriter",
    "atomic_write_json",
    "atomic_write_text",
    "FORMULA_STARTS",
    "excel_safe",
    "format_float",
    "is_feature_column",
    "na_values",
    "partial_path",
    "read_feature_table",
    "read_params",
    "read_path_table",
    "replace_durably",
    "temporary_beside",
    "unescape_text",
]

#: The columns after ``path`` that say which part of the file a row is of.
BOUNDS = ("start", "end")

#: Suffix of the file a table is written to until it is complete.
PARTIAL_SUFFIX = ".partial"

#: What pandas reads as missing by default (``keep_default_na``).
_PANDAS_NA = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
    "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
    "nan", "null",
)


def na_values(columns: Sequence[str], text: Collection[str]) -> dict[str, list[str]]:
    """Return ``read_csv``'s ``na_values`` that keep text ids such as ``NA``.

    With ``keep_default_na=False``: a text column reads only an empty cell
    as missing, so speaker ``NA`` or ``null`` stays an id; the others read
    what pandas reads as missing by default.

    Parameters
    ----------
    columns : sequence of str
        The file's columns.
    text : collection of str
        Those read as text.

    Returns
    -------
    dict

    Examples
    --------
    >>> na_values(["speaker", "hnr_db__mean"], {"speaker"})["speaker"]
    ['']
    """
    return {c: [""] if c in text else list(_PANDAS_NA) for c in columns}


def partial_path(path: str | os.PathLike) -> str:
    """Return the name of the in-progress file of `path`: ``<path>.partial``.

    Parameters
    ----------
    path : str or os.PathLike
        The final file.

    Returns
    -------
    str

    Examples
    --------
    >>> partial_path("out/features.csv")
    'out/features.csv.partial'
    """
    return os.fspath(path) + PARTIAL_SUFFIX


def format_float(value: Any) -> str:
    """Format a number for a CSV cell: shortest round-trip form, NaN empty.

    ``float(format_float(x)) == x`` for every finite float, and the text
    depends only on the value, so tables are byte-identical across runs.

    Parameters
    ----------
    value : float, int, numpy scalar or None
        The number; None and NaN give an empty cell.

    Returns
    -------
    str

    Examples
    --------
    >>> format_float(0.1), format_float(float("nan")), format_float(-2)
    ('0.1', '', '-2.0')
    """
    if value is None:
        return ""
    number = float(value)
    return "" if math.isnan(number) else repr(number)


def _format_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


#: First characters that make a spreadsheet take a cell for a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def excel_safe(text: str) -> str:
    """Return text a spreadsheet shows as text, never runs as a formula.

    A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return (or with ``'`` itself) gets a ``'`` in front, which spreadsheets
    hide and which :func:`unescape_text` (applied by sertk's table readers)
    removes again.

    Parameters
    ----------
    text : str

    Returns
    -------
    str

    Examples
    --------
    >>> excel_safe("=1+1"), excel_safe("anger")
    ("'=1+1", 'anger')
    >>> unescape_text(excel_safe("-3")), unescape_text(excel_safe("'a"))
    ('-3', "'a")
    """
    return "'" + text if text.startswith((*FORMULA_STARTS, "'")) else text


def unescape_text(text: str) -> str:
    """Undo :func:`excel_safe`: drop a ``'`` put before a formula start or ``'``.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    if text[:1] == "'" and text[1:2] and text[1] in "".join(FORMULA_STARTS) + "'":
        return text[1:]
    return text


def _excel_text(value: Any) -> str:
    return excel_safe(_format_text(value))


def is_feature_column(name: str) -> bool:
    """Tell whether a column name follows the feature grammar.

    Parameters
    ----------
    name : str
        A column name.

    Returns
    -------
    bool
        True for ``<contour>__<functional>`` names sertk can parse back.

    Examples
    --------
    >>> is_feature_column("mfcc03__std"), is_feature_column("speaker")
    (True, False)
    """
    try:
        parse_feature_name(name)
    except ParameterError:
        return False
    return True


def _is_parquet(path: str) -> bool:
    return path.lower().endswith(".parquet")


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as handle:
        if handle.seek(0, os.SEEK_END) == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def _check_header(header: list[str] | None, columns: list[str], where: str) -> None:
    if header == columns:
        return
    if header is None:
        raise DatasetError(f"{where} is empty; delete it, or run without --resume")
    extra = [c for c in header if c not in columns]
    missing = [c for c in columns if c not in header]
    detail = (
        f"it has {len(extra)} column(s) this run does not make "
        f"(first {extra[:3]}) and lacks {len(missing)} (first {missing[:3]})"
        if extra or missing
        else "its columns are in another order"
    )
    raise DatasetError(
        f"{where} does not match this run's columns: {detail}; use the same "
        "settings and inputs as the run that wrote it, or start afresh "
        "without --resume"
    )


def _header(path: str) -> list[str] | None:
    """Return the column names of a stored table (None if it has none yet)."""
    if _is_parquet(path):
        import pyarrow.parquet as pq

        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except Exception:  # noqa: BLE001 - reported when the records are read
            return None
    with open(path, encoding="utf-8", newline="") as handle:
        line = handle.readline()
    if not line.endswith("\n"):
        return None
    return next(csv.reader([line]), None)


def _csv_records(
    path: str, columns: list[str], *, complete: bool
) -> Iterator[list[str]]:
    """Yield the data records of a CSV table, as text.

    A committed table (`complete`) must be whole: a malformed record is an
    error. A partial one may end in a record cut short by a killed run: that
    record is dropped (and so analysed again).
    """
    where = f"table {path}" if complete else f"partial table {path}"
    with open(path, encoding="utf-8", newline="") as handle:
        if not complete and not handle.readline().endswith("\n"):
            return  # killed while writing the header: nothing to keep
    clean_end = _ends_with_newline(path)
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        previous: list[str] | None = None
        try:
            _check_header(next(reader, None), columns, where)
            for record in reader:
                if previous is not None:
                    yield previous
                if len(record) != len(columns) and complete:
                    raise DatasetError(
                        f"{where}, line {reader.line_num}: {len(record)} cells where "
                        f"the header has {len(columns)}; repair or delete the file"
                    )
                previous = record if len(record) == len(columns) else None
        except csv.Error as error:
            if complete:
                raise DatasetError(f"cannot read {where} as CSV ({error})") from error
            clean_end = True  # the record cut short is the one after `previous`
    if complete and previous is not None and not clean_end:
        raise DatasetError(
            f"{where} ends inside its last row (the file was cut short); "
            "repair or delete the file"
        )
    if previous is not None and (complete or clean_end):
        yield previous


def _parquet_records(
    path: str, columns: list[str], text_columns: set[str]
) -> Iterator[list[str]]:
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(path)
    except Exception as error:  # noqa: BLE001 - pyarrow raises several kinds
        raise DatasetError(f"cannot read table {path} as Parquet ({error})") from error
    _check_header(source.schema_arrow.names, columns, f"table {path}")
    formatters = [_format_text if c in text_columns else format_float for c in columns]
    for batch in source.iter_batches(batch_size=1024):
        for row in zip(*(batch.column(c).to_pylist() for c in columns), strict=True):
            yield [fmt(value) for fmt, value in zip(formatters, row, strict=True)]


def _csv_to_parquet(
    source: str, target: str, columns: list[str], text_columns: set[str]
) -> None:
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq
    except ImportError as error:
        raise ParameterError(
            "writing a .parquet table needs pyarrow: pip install 'sertk[parquet]', "
            "or name the output .csv"
        ) from error
    types = {c: pa.string() if c in text_columns else pa.float64() for c in columns}
    reader = pacsv.open_csv(
        source,
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=types, strings_can_be_null=True, null_values=[""]
        ),
    )
    with pq.ParquetWriter(target, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)


class TableWriter:
    """Write a feature table row by row; commit it atomically on success.

    Rows go to ``<path>.partial`` as CSV, flushed after each one. Leaving the
    ``with`` block normally commits: the partial (converted to Parquet when
    `path` ends in ``.parquet``) replaces `path` with :func:`os.replace`.
    Leaving it by an exception (including ``KeyboardInterrupt`` and a full
    disk) keeps the partial, when it holds rows, and leaves `path`
    untouched, so a later run with ``resume=True`` can go on from there.
    While open, the writer holds the output's lock
    (:class:`sertk.files.OutputLock`): a second writer of the same table
    fails at once.

    Parameters
    ----------
    path : str or os.PathLike
        The table to write: ``.parquet`` for Parquet, anything else is CSV.
        Its folder must exist.
    columns : sequence of str
        Column names, unique; the first is the key (``path``), which
        :attr:`done` and resuming go by.
    text_columns : sequence of str, default=("path",)
        Columns written as text; the others are floats, written with
        :func:`format_float`.
    resume : bool, default=False
        Keep the rows already in `path` and in a leftover partial (dropping
        a row cut short by a killed run): they are copied first (those of
        `path` first, in their order, then the partial's that `path` lacks)
        and their keys are in :attr:`done`. Without it a leftover partial is
        discarded.
    sidecars : mapping of path to str, optional
        Text files that belong with the table (such as its parameters):
        each is written to its own ``.partial`` on entering and moved into
        place right after the table is committed.
    excel_safe : bool, default=False
        Write text cells with :func:`excel_safe`, so that a spreadsheet
        opening the CSV never runs a cell as a formula (a file named
        ``=cmd|...``); sertk's readers undo it.
    inputs : sequence of sequences, optional
        With `resume`: the text cells (key first, then the text columns
        carried from a manifest, in column order) of every row this run is
        to write. A kept row must be one of them, cell for cell; one for a
        file not among them, or with another label or speaker, is refused:
        it was made from other inputs.
    filled : mapping of str to callable, optional
        With `resume`: columns a table written by an older version may lack
        (such as ``start`` and ``end``), each with a function of a row's key
        that gives its value. A table or partial whose columns are this
        run's without them is resumed, its rows given those values.

    Attributes
    ----------
    done : frozenset of str
        Keys of the rows kept by `resume` (empty otherwise).
    n_written : int
        Rows written so far, kept ones included.

    Raises
    ------
    ParameterError
        If `columns` is empty or has duplicates, or a text column is not in
        it.
    DatasetError
        On entering with `resume`, if the table or partial to resume from
        has other columns (besides lacking `filled` ones), cannot be read,
        ends inside a row, or holds a row not among `inputs`.
    OutputError
        On entering, if `path` is a folder or another run is writing it.

    Examples
    --------
    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "f.csv")
    >>> with TableWriter(out, ["path", "label", "hnr_db__mean"],
    ...                  text_columns=["path", "label"]) as table:
    ...     table.write_row(["a.wav", "anger", 12.25])
    >>> with TableWriter(out, ["path", "label", "hnr_db__mean"],
    ...                  text_columns=["path", "label"], resume=True) as table:
    ...     sorted(table.done)
    ['a.wav']
    """

    def __init__(
        self,
        path: str | os.PathLike,
        columns: Sequence[str],
        *,
        text_columns: Sequence[str] = ("path",),
        resume: bool = False,
        sidecars: Mapping[str | os.PathLike, str] | None = None,
        inputs: Sequence[Sequence[Any]] | None = None,
        excel_safe: bool = False,
        filled: Mapping[str, Callable[[str], Any]] | None = None,
    ):
        self.path = os.fspath(path)
        self.columns = list(columns)
        self.text_columns = set(text_columns)
        self.filled = dict(filled or {})
        self.resume = resume
        self.sidecars = {os.fspath(k): v for k, v in (sidecars or {}).items()}
        self.excel_safe = excel_safe
        text = _excel_text if excel_safe else _format_text
        self._expected = None if inputs is None else {
            text(row[0]): [text(v) for v in row] for row in inputs
        }
        if not self.columns or len(set(self.columns)) != len(self.columns):
            duplicated = sorted({c for c in self.columns if self.columns.count(c) > 1})
            raise ParameterError(
                f"a table needs unique column names; got {len(self.columns)} "
                f"columns, duplicated: {duplicated}"
            )
        unknown = sorted((self.text_columns | set(self.filled)) - set(self.columns))
        if unknown:
            raise ParameterError(
                f"text_columns or filled {unknown} are not among the columns")
        self._formatters = [
            text if c in self.text_columns else format_float for c in self.columns
        ]
        self.partial = partial_path(self.path)
        self.done: frozenset[str] = frozenset()
        self.n_written = 0
        self._handle: TextIO | None = None
        self._writer: Any = None
        self._lock: OutputLock | None = None

    def _kept_records(self) -> Iterator[list[str]]:
        for record in self._stored_records():
            if self._expected is not None:
                self._check_input(record)
            yield record

    def _check_input(self, record: list[str]) -> None:
        expected = self._expected.get(record[0])
        if expected is None:
            raise DatasetError(
                f"cannot resume {self.path}: it holds a row for {record[0]}, "
                "which this run does not list; use the same inputs, or start "
                "afresh without --resume"
            )
        text = [c for c in self.columns if c in self.text_columns]
        for column, b in zip(text, expected, strict=False):
            a = record[self.columns.index(column)]
            if a != b:
                raise DatasetError(
                    f"cannot resume {self.path}: its row for {record[0]} has "
                    f"{column} {a!r} where this run's inputs say {b!r}; use "
                    "the same inputs, or start afresh without --resume"
                )

    def _layout(self, path: str) -> list[str]:
        """Return the columns to read `path` by: this run's, or an older table's."""
        older = [c for c in self.columns if c not in self.filled]
        if self.filled and _header(path) == older:
            return older
        return self.columns

    def _upgraded(self, records: Iterator[list[str]],
                  layout: list[str]) -> Iterator[list[str]]:
        """Give the records of an older table the `filled` columns."""
        if layout == self.columns:
            yield from records
            return
        formats = dict(zip(self.columns, self._formatters, strict=True))
        for record in records:
            cells = dict(zip(layout, record, strict=True))
            key = unescape_text(record[0]) if self.excel_safe else record[0]
            yield [cells[c] if c in cells else formats[c](self.filled[c](key))
                   for c in self.columns]

    def _stored_records(self) -> Iterator[list[str]]:
        seen: set[str] = set()
        sources = []
        if os.path.exists(self.path):
            layout = self._layout(self.path)
            if _is_parquet(self.path):
                records = _parquet_records(self.path, layout, self.text_columns)
            else:
                records = _csv_records(self.path, layout, complete=True)
            sources.append(self._upgraded(records, layout))
        if os.path.exists(self.partial):
            layout = self._layout(self.partial)
            sources.append(self._upgraded(
                _csv_records(self.partial, layout, complete=False), layout))
        for records in sources:
            for record in records:
                if record[0] not in seen:
                    seen.add(record[0])
                    yield record

    def __enter__(self) -> TableWriter:
        if os.path.isdir(self.path):
            raise OutputError(f"{self.path} is a folder; name a file in it")
        self._lock = OutputLock(self.path)
        self._lock.__enter__()
        try:
            self._open()
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def _open(self) -> None:
        # Kept rows are copied to a temporary file that then replaces the
        # partial: a run killed meanwhile still finds the old partial intact.
        temporary = temporary_beside(self.partial)
        handle = open(temporary, "w", encoding="utf-8", newline="")  # noqa: SIM115
        try:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(self.columns)
            keys = set()
            if self.resume:
                for record in self._kept_records():
                    writer.writerow(record)
                    keys.add(unescape_text(record[0]) if self.excel_safe
                             else record[0])
            handle.flush()
            os.replace(temporary, self.partial)
            for name, text in self.sidecars.items():
                atomic_write_text(partial_path(name), text)
        except BaseException:
            handle.close()
            if os.path.exists(temporary):
                os.remove(temporary)
            raise
        self.done = frozenset(keys)
        self.n_written = len(keys)
        self._handle, self._writer = handle, writer

    def write_row(self, values: Sequence[Any]) -> None:
        """Append one row and flush it to the partial file.

        Parameters
        ----------
        values : sequence
            One value a column, in column order; text columns are written
            with ``str`` (None and NaN empty), the others as floats.

        Raises
        ------
        ParameterError
            If the row has the wrong number of values, or the writer is not
            open.
        """
        if self._handle is None:
            raise ParameterError(
                "write_row needs an open TableWriter (use it in a 'with' block)"
            )
        if len(values) != len(self.columns):
            raise ParameterError(
                f"a row needs {len(self.columns)} values, got {len(values)}"
            )
        self._writer.writerow(
            [fmt(v) for fmt, v in zip(self._formatters, values, strict=True)]
        )
        self._handle.flush()
        self.n_written += 1

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def commit(self) -> None:
        """Close the partial and move it into place atomically.

        Called by a ``with`` block that ends without an exception.

        Raises
        ------
        ParameterError
            If the table is Parquet and pyarrow is not installed (the CSV
            partial is then kept).
        OSError
            If the file cannot be written.
        """
        if self._handle is None:
            raise ParameterError("commit needs an open TableWriter")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._close()
        if _is_parquet(self.path):
            temporary = temporary_beside(self.path)
            try:
                _csv_to_parquet(
                    self.partial, temporary, self.columns, self.text_columns
                )
                replace_durably(temporary, self.path)
            except BaseException:
                if os.path.exists(temporary):
                    os.remove(temporary)
                raise
            os.remove(self.partial)
        else:
            os.replace(self.partial, self.path)
        for name in self.sidecars:
            os.replace(partial_path(name), name)

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                self._close()
                if self.n_written == 0:  # nothing worth resuming from
                    for name in (self.partial, *map(partial_path, self.sidecars)):
                        with contextlib.suppress(FileNotFoundError):
                            os.remove(name)
        finally:
            self._lock.__exit__(None, None, None)


def read_feature_table(path: str | os.PathLike) -> pd.DataFrame:
    r"""Read a feature table written by :class:`TableWriter` (CSV or Parquet).

    Feature columns (names following the feature grammar, see
    :func:`is_feature_column`) and the bounds ``start`` and ``end`` are read
    as float64, exactly as written; the others (``path``, ``label``,
    ``speaker``, ...) as strings, so speaker ``03`` stays ``"03"``. A table
    written before the bounds existed has none; its rows are whole files.
    Empty cells are NaN; text written by :func:`excel_safe` is read back as
    it was.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.csv`` file (or any other name, read as CSV) or a ``.parquet``
        file.

    Returns
    -------
    pandas.DataFrame
        The columns in file order, with a default integer index.

    Raises
    ------
    DatasetError
        If the file does not exist, cannot be read as a table, or holds an
        infinite feature value.

    Examples
    --------
    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "f.csv")
    >>> _ = open(out, "w").write("path,speaker,hnr_db__mean\na.wav,03,12.5\n")
    >>> table = read_feature_table(out)
    >>> table["speaker"][0], table["hnr_db__mean"].dtype
    ('03', dtype('float64'))
    """
    name = os.fspath(path)
    if not os.path.isfile(name):
        why = "it is a folder" if os.path.isdir(name) else "it does not exist"
        raise DatasetError(f"cannot read feature table {name}: {why}")
    import numpy as np
    import pandas as pd

    try:
        table = _read_table(name)
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise DatasetError(
            f"cannot read feature table {name} ({error}); expected "
            "a CSV or Parquet file written by sertk-extract"
        ) from error
    features = [c for c in table.columns if is_feature_column(str(c))]
    for column in table.columns.difference(features):
        if not pd.api.types.is_numeric_dtype(table[column]):  # undo excel_safe
            table[column] = [
                unescape_text(v) if isinstance(v, str) else v for v in table[column]
            ]
    infinite = np.isinf(table[features].to_numpy(dtype=float))
    if infinite.any():
        row, column = np.argwhere(infinite)[0]
        raise DatasetError(
            f"feature table {name} has {int(infinite.sum())} infinite value(s) "
            f"(first: row {row + 1}, column {features[column]!r}); sertk "
            "writes NaN for an undefined feature, never infinity: repair the "
            "table or extract it again"
        )
    return table


def _read_table(name: str) -> pd.DataFrame:
    import pandas as pd

    if _is_parquet(name):
        return pd.read_parquet(name)
    extra: dict[str, Any] = (
        {"float_precision": "round_trip"}
        if int(pd.__version__.split(".")[0]) < 3
        else {}
    )
    header = pd.read_csv(name, nrows=0).columns
    dtypes: dict[str, Any] = {
        c: "float64" if is_feature_column(c) or c in BOUNDS else str for c in header
    }
    extra["keep_default_na"] = False
    extra["na_values"] = na_values(header, {c for c in header if dtypes[c] is str})
    return pd.read_csv(name, dtype=dtypes, **extra)


def read_params(path: str | os.PathLike) -> Mapping[str, Any] | None:
    """Read a JSON file saved beside a table, or None when there is none.

    Parameters
    ----------
    path : str or os.PathLike
        The JSON file.

    Returns
    -------
    dict or None

    Raises
    ------
    DatasetError
        If the file exists but is not valid JSON.

    Examples
    --------
    >>> read_params("no/such/params.json") is None
    True
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        return None
    try:
        return json.loads(Path(name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DatasetError(
            f"cannot read {name} as JSON ({error}); delete it or fix it"
        ) from error


def read_path_table(
    path: str | os.PathLike, *, path_column: str = "path"
) -> pd.DataFrame:
    r"""Read a manifest of files to analyse: a CSV with a path column.

    Unlike :func:`sertk.io.datasets.read_manifest` it needs no label column,
    keeps the rows in file order, and reads every cell as text exactly as
    written (speaker ``03`` stays ``"03"``, an empty cell stays ``""``), so
    the other columns can be carried into a feature table unchanged.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.
    path_column : str, default="path"
        Column holding the audio files, relative to the manifest's folder
        (or absolute).

    Returns
    -------
    pandas.DataFrame
        ``path`` (absolute) first, then the other columns in file order.

    Raises
    ------
    DatasetError
        If the file is missing or not CSV, has no `path_column`, has an empty
        path, or lists a file twice.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> manifest = os.path.join(folder, "m.csv")
    >>> _ = open(manifest, "w").write("path,speaker\na.wav,03\n")
    >>> table = read_path_table(manifest)
    >>> table["path"][0] == os.path.join(folder, "a.wav"), table["speaker"][0]
    (True, '03')
    """
    manifest = os.path.abspath(os.fspath(path))
    if not os.path.isfile(manifest):
        why = "it is a folder" if os.path.isdir(manifest) else "it does not exist"
        raise DatasetError(
            f"cannot read manifest {manifest}: {why}; pass a CSV "
            f"file with a {path_column!r} column"
        )
    import pandas as pd

    try:
        frame = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise DatasetError(
            f"cannot read manifest {manifest} as CSV ({error}); "
            "expected a text file with a header row"
        ) from error
    if path_column not in frame.columns:
        raise DatasetError(
            f"manifest {manifest} has no {path_column!r} column (found "
            f"{list(frame.columns)}); add one naming each audio file"
        )
    empty = [i + 2 for i, p in enumerate(frame[path_column]) if not p.strip()]
    if empty:
        raise DatasetError(
            f"manifest {manifest} has an empty {path_column!r} on "
            f"line(s) {empty[:5]}; fill in or remove them"
        )
    folder = os.path.dirname(manifest)
    paths = [os.path.abspath(os.path.join(folder, p)) for p in frame[path_column]]
    twice = sorted(p for p, n in Counter(paths).items() if n > 1)
    if twice:
        raise DatasetError(
            f"manifest {manifest} lists {len(twice)} file(s) more "
            f"than once (first {twice[0]}); keep one row a file"
        )
    frame = frame.drop(columns=[path_column])
    if "path" in frame.columns:
        raise DatasetError(
            f"manifest {manifest} has both {path_column!r} and "
            "'path' columns; rename one"
        )
    frame.insert(0, "path", paths)
    return frame
