"""Corpus readers and the common emotion label vocabulary.

Every reader returns a :class:`pandas.DataFrame` with one row a recording,
sorted by ``path`` and with a default :class:`~pandas.RangeIndex`:

``path``
    Absolute path of the audio file, as a string.
``label``
    The emotion in the common vocabulary :data:`LABELS`.
``speaker``
    Speaker identifier, as a string (NaN where the corpus does not say).

and, where the corpus provides them, ``gender`` (``'f'`` or ``'m'``),
``intensity``, ``text``, ``statement``, ``repetition`` and ``corpus_label``
(the corpus's own code for the emotion, a key of ``LABEL_MAPS[corpus]``).

Readers parse file names only; they never open the audio. Audio files
(:data:`sertk.audio.AUDIO_EXTENSIONS`, any case) that do not follow the
corpus's naming convention are skipped with one warning that counts them.
Speaker identifiers are only unique within a corpus: prefix them before
concatenating frames from several corpora.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sertk.audio import AUDIO_EXTENSIONS
from sertk.errors import DatasetError, ParameterError
from sertk.features.tables import na_values

__all__ = [
    "CORPORA",
    "LABELS",
    "LABEL_MAPS",
    "read_corpus",
    "read_crema_d",
    "read_emodb",
    "read_folders",
    "read_manifest",
    "read_ravdess",
    "read_savee",
    "read_tess",
    "to_common_label",
]

LABELS: tuple[str, ...] = (
    "anger",
    "happiness",
    "sadness",
    "fear",
    "disgust",
    "boredom",
    "neutral",
    "surprise",
    "calm",
)
"""The common emotion vocabulary every reader maps its labels to."""

LABEL_MAPS: dict[str, dict[str, str]] = {
    "emodb": {
        "W": "anger",
        "L": "boredom",
        "E": "disgust",
        "A": "fear",
        "F": "happiness",
        "T": "sadness",
        "N": "neutral",
    },
    "ravdess": {
        "01": "neutral",
        "02": "calm",
        "03": "happiness",
        "04": "sadness",
        "05": "anger",
        "06": "fear",
        "07": "disgust",
        "08": "surprise",
    },
    "tess": {
        "angry": "anger",
        "disgust": "disgust",
        "fear": "fear",
        "happy": "happiness",
        "neutral": "neutral",
        "ps": "surprise",
        "sad": "sadness",
    },
    "savee": {
        "a": "anger",
        "d": "disgust",
        "f": "fear",
        "h": "happiness",
        "n": "neutral",
        "sa": "sadness",
        "su": "surprise",
    },
    "crema-d": {
        "ANG": "anger",
        "DIS": "disgust",
        "FEA": "fear",
        "HAP": "happiness",
        "NEU": "neutral",
        "SAD": "sadness",
    },
}
"""Each corpus's native emotion codes (as in its file names) -> :data:`LABELS`."""

CORPORA: tuple[str, ...] = (
    "emodb",
    "ravdess",
    "tess",
    "savee",
    "crema-d",
    "folders",
    "manifest",
)
"""Names :func:`read_corpus` accepts (``"cremad"`` is also accepted)."""


_SYNONYMS: dict[str, str] = {
    "angry": "anger",
    "happy": "happiness",
    "joy": "happiness",
    "sad": "sadness",
    "fearful": "fear",
    "afraid": "fear",
    "disgusted": "disgust",
    "bored": "boredom",
    "surprised": "surprise",
    "pleasant_surprise": "surprise",
    "pleasant_surprised": "surprise",
    "ps": "surprise",
}

_ALIASES: dict[str, str] = {"cremad": "crema-d"}

_DISPLAY_NAMES: dict[str, str] = {
    "emodb": "EMO-DB",
    "ravdess": "RAVDESS",
    "tess": "TESS",
    "savee": "SAVEE",
    "crema-d": "CREMA-D",
}

# One extension group shared by the file-name patterns below.
_EXT = r"\.(?i:wav|flac|ogg|mp3)"

_EMODB_GENDERS = {
    "03": "m",
    "08": "f",
    "09": "f",
    "10": "m",
    "11": "m",
    "12": "m",
    "13": "f",
    "14": "f",
    "15": "m",
    "16": "f",
}
_EMODB_PATTERN = re.compile(r"(\d\d)([ab]\d\d)([WLEAFTN])([a-z])" + _EXT)

_RAVDESS_PATTERN = re.compile(
    r"03-(0[12])-(0[1-8])-(0[12])-(0[12])-(0[12])-(0[1-9]|1\d|2[0-4])" + _EXT
)
_RAVDESS_INTENSITY = {"01": "normal", "02": "strong"}

# "OA" covers the one file the published corpus misnames (OA_bite_neutral.wav).
_TESS_PATTERN = re.compile(
    r"(OAF|YAF|OA)_([a-z]+)_(angry|disgust|fear|happy|neutral|ps|sad)" + _EXT,
    re.IGNORECASE,
)

_SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")
_SAVEE_PATTERN = re.compile(
    r"(?:(DC|JE|JK|KL)_)?(sa|su|a|d|f|h|n)(\d\d)" + _EXT, re.IGNORECASE
)

_CREMA_D_PATTERN = re.compile(
    r"(\d{4})_([A-Z]{3})_(ANG|DIS|FEA|HAP|NEU|SAD)_(LO|MD|HI|XX)" + _EXT,
    re.IGNORECASE,
)


def _canonical_corpus(corpus: str, names: tuple[str, ...]) -> str:
    key = str(corpus).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in names:
        raise ParameterError(
            f"unknown corpus {corpus!r}; expected one of {', '.join(names)}"
        )
    return key


def to_common_label(label: str, corpus: str | None = None) -> str:
    """Map an emotion label to the common vocabulary :data:`LABELS`.

    Matching ignores case, surrounding spaces, and the difference between
    spaces, hyphens and underscores. Common synonyms are accepted (``angry``,
    ``happy``, ``joy``, ``sad``, ``fearful``, ``afraid``, ``disgusted``,
    ``bored``, ``surprised``, ``pleasant_surprise``, ``ps``).

    Parameters
    ----------
    label : str
        A common label, a synonym, or (with `corpus`) a native code of that
        corpus such as EMO-DB's ``"W"`` or RAVDESS's ``"05"``.
    corpus : str, optional
        A key of :data:`LABEL_MAPS` (``"cremad"`` is also accepted). Its
        native codes are tried first, so ``"a"`` means anger for SAVEE but
        ``"A"`` means fear for EMO-DB.

    Returns
    -------
    str
        One of :data:`LABELS`.

    Raises
    ------
    ParameterError
        If `label` is not a string or is not recognised, or if `corpus` is
        not a key of :data:`LABEL_MAPS`.

    Examples
    --------
    >>> to_common_label("Angry")
    'anger'
    >>> to_common_label("W", corpus="emodb")
    'anger'
    >>> to_common_label("05", corpus="ravdess")
    'anger'
    """
    if corpus is not None:
        corpus = _canonical_corpus(corpus, tuple(LABEL_MAPS))
    if not isinstance(label, str):
        raise ParameterError(
            f"emotion label must be a string, got {label!r} "
            f"({type(label).__name__}); expected one of {', '.join(LABELS)}"
        )
    key = label.strip().lower()
    if corpus is not None:
        native = {code.lower(): common for code, common in LABEL_MAPS[corpus].items()}
        if key in native:
            return native[key]
    key = re.sub(r"[\s\-]+", "_", key)
    if key in LABELS:
        return key
    if key in _SYNONYMS:
        return _SYNONYMS[key]
    codes = (
        f", a {_DISPLAY_NAMES[corpus]} code ({', '.join(LABEL_MAPS[corpus])})"
        if corpus is not None
        else ""
    )
    raise ParameterError(
        f"unknown emotion label {label!r}; expected one of {', '.join(LABELS)}"
        f"{codes} or a synonym ({', '.join(_SYNONYMS)})"
    )


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Build the reader output: rows sorted by path, default index."""
    return pd.DataFrame(rows).sort_values("path", ignore_index=True)


def _folder(root: str | os.PathLike, corpus: str, expected: str) -> Path:
    """Return `root` as an absolute path (``~`` expanded), or raise if not a folder."""
    folder = Path(os.path.abspath(os.path.expanduser(root)))
    if not folder.is_dir():
        why = "it does not exist" if not folder.exists() else "it is not a folder"
        raise DatasetError(
            f"no {expected} under {folder}: {why}; is this the {corpus} root?"
        )
    return folder


def _audio_files(folder: Path, recursive: bool) -> list[Path]:
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return [
        path
        for path in candidates
        if path.suffix.lower() in AUDIO_EXTENSIONS and path.is_file()
    ]


def _scan(
    folder: Path,
    corpus: str,
    expected: str,
    parse: Callable[[Path], dict[str, Any] | None],
    *,
    recursive: bool = True,
) -> pd.DataFrame:
    """Parse every audio file name under `folder` into one row.

    `parse` returns the row's columns (without ``path``) or None for a file
    that does not follow the corpus's convention; those are counted and
    reported in one warning. No row at all is a :class:`DatasetError`.
    """
    rows = []
    skipped = 0
    for path in _audio_files(folder, recursive):
        row = parse(path)
        if row is None:
            skipped += 1
        else:
            rows.append({"path": str(path), **row})
    if not rows:
        raise DatasetError(f"no {expected} under {folder}; is this the {corpus} root?")
    if skipped:
        warnings.warn(
            f"skipped {skipped} audio file(s) under {folder} that are not {expected}",
            stacklevel=3,
        )
    return _frame(rows)


def _read_csv(path: Path, what: str, **kwargs: Any) -> pd.DataFrame:
    """Read a CSV file, turning a malformed one into a :class:`DatasetError`."""
    try:
        return pd.read_csv(path, **kwargs)
    except (
        pd.errors.EmptyDataError,
        pd.errors.ParserError,
        UnicodeDecodeError,
    ) as error:
        raise DatasetError(
            f"cannot read {what} {path} as CSV ({error}); expected a text file "
            "with a header row"
        ) from error


def _parse_emodb(path: Path) -> dict[str, Any] | None:
    match = _EMODB_PATTERN.fullmatch(path.name)
    if match is None:
        return None
    speaker, text, code, version = match.groups()
    return {
        "label": LABEL_MAPS["emodb"][code],
        "speaker": speaker,
        "gender": _EMODB_GENDERS.get(speaker, np.nan),
        "text": text,
        "version": version,
        "corpus_label": code,
    }


def read_emodb(root: str | os.PathLike) -> pd.DataFrame:
    """Read the Berlin Database of Emotional Speech (EMO-DB).

    If ``root/manifest.csv`` exists (columns ``path``, ``label``,
    ``speaker``, ``gender``, ``text``; paths relative to `root`), it is read
    and its columns returned as they are, with labels checked against the
    vocabulary. Otherwise the names of ``root/wav/*.wav`` (or ``root/*.wav``
    when there is no ``wav`` folder) are parsed: ``03a01Fa.wav`` is speaker
    ``03``, text ``a01``, emotion letter ``F`` (W anger, L boredom,
    E disgust, A fear, F happiness, T sadness, N neutral) and version ``a``.
    Speaker genders come from the corpus documentation.

    Parameters
    ----------
    root : str or os.PathLike
        The EMO-DB folder.

    Returns
    -------
    pandas.DataFrame
        Columns ``path``, ``label``, ``speaker``, ``gender``, ``text``, then
        ``version`` and ``corpus_label`` (the emotion letter) when parsed
        from file names.

    Raises
    ------
    DatasetError
        If `root` is not a folder, holds no EMO-DB file names, or its
        manifest lacks a required column or has an unknown label.

    Warns
    -----
    UserWarning
        When audio files not named like EMO-DB recordings were skipped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ["03a01Fa.wav", "08b02Wc.wav"]:
    ...     (root / name).touch()
    >>> read_emodb(root)[["label", "speaker", "gender", "text"]]
           label speaker gender text
    0  happiness      03      m  a01
    1      anger      08      f  b02
    """
    expected = "EMO-DB recordings (03a01Fa.wav)"
    folder = _folder(root, "EMO-DB", expected)
    manifest = folder / "manifest.csv"
    if manifest.is_file():
        frame = read_manifest(manifest)
        frame["label"] = _map_labels(
            frame["label"], f"manifest {manifest}, column 'label'", "emodb"
        )
        return frame
    wav = folder / "wav"
    return _scan(
        wav if wav.is_dir() else folder,
        "EMO-DB",
        expected,
        _parse_emodb,
        recursive=False,
    )


def _parse_ravdess(path: Path) -> dict[str, Any] | None:
    match = _RAVDESS_PATTERN.fullmatch(path.name)
    if match is None or match[1] != "01":  # vocal channel 02 is song
        return None
    _, code, intensity, statement, repetition, actor = match.groups()
    return {
        "label": LABEL_MAPS["ravdess"][code],
        "speaker": actor,
        "gender": "m" if int(actor) % 2 else "f",
        "intensity": _RAVDESS_INTENSITY[intensity],
        "statement": statement,
        "repetition": repetition,
        "corpus_label": code,
    }


def read_ravdess(root: str | os.PathLike) -> pd.DataFrame:
    """Read the speech part of RAVDESS.

    Files named ``03-01-EE-II-SS-RR-AA.wav`` are searched for under `root`
    at any depth (the published layout is ``Actor_01/`` to ``Actor_24/``):
    modality 03 (audio-only), vocal channel 01 (speech), emotion ``EE``
    (01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful,
    07 disgust, 08 surprised), intensity ``II`` (01 normal, 02 strong),
    statement ``SS``, repetition ``RR`` and actor ``AA`` (01-24; odd actors
    are male, even female). Song files (vocal channel 02) are left out and
    counted in the skipped-files warning.

    Parameters
    ----------
    root : str or os.PathLike
        The RAVDESS folder.

    Returns
    -------
    pandas.DataFrame
        Columns ``path``, ``label``, ``speaker`` (the actor, ``"01"`` to
        ``"24"``), ``gender``, ``intensity`` (``'normal'`` or ``'strong'``),
        ``statement`` and ``repetition`` (``"01"`` or ``"02"``) and
        ``corpus_label`` (the emotion code).

    Raises
    ------
    DatasetError
        If `root` is not a folder or holds no RAVDESS speech file.

    Warns
    -----
    UserWarning
        When audio files that are not RAVDESS speech files were skipped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "Actor_01").mkdir()
    >>> (root / "Actor_01" / "03-01-05-02-01-01-01.wav").touch()
    >>> read_ravdess(root)[["label", "speaker", "gender", "intensity"]]
       label speaker gender intensity
    0  anger      01      m    strong
    """
    expected = "RAVDESS speech files (03-01-EE-II-SS-RR-AA.wav)"
    folder = _folder(root, "RAVDESS", expected)
    return _scan(folder, "RAVDESS", expected, _parse_ravdess)


def _parse_tess(path: Path) -> dict[str, Any] | None:
    match = _TESS_PATTERN.fullmatch(path.name)
    if match is None:
        return None
    speaker, word, code = match.groups()
    speaker = speaker.upper()
    code = code.lower()
    return {
        "label": LABEL_MAPS["tess"][code],
        "speaker": "OAF" if speaker == "OA" else speaker,
        "gender": "f",
        "text": word.lower(),
        "corpus_label": code,
    }


def read_tess(root: str | os.PathLike) -> pd.DataFrame:
    """Read the Toronto Emotional Speech Set (TESS).

    Files named ``<speaker>_<word>_<emotion>.wav`` (``OAF_back_angry.wav``,
    ``YAF_dog_ps.wav``) are searched for under `root` at any depth, whatever
    the folders are called, ignoring case. Speaker is ``OAF`` (older) or
    ``YAF`` (younger talker), both female; emotion is one of ``angry``,
    ``disgust``, ``fear``, ``happy``, ``neutral``, ``ps`` (pleasant
    surprise) or ``sad``. The one file the published corpus names ``OA_``
    instead of ``OAF_`` (``OA_bite_neutral.wav``) is read as speaker OAF.

    Parameters
    ----------
    root : str or os.PathLike
        The TESS folder.

    Returns
    -------
    pandas.DataFrame
        Columns ``path``, ``label``, ``speaker``, ``gender``, ``text`` (the
        target word, lower case) and ``corpus_label`` (the emotion token,
        lower case).

    Raises
    ------
    DatasetError
        If `root` is not a folder or holds no TESS file name.

    Warns
    -----
    UserWarning
        When audio files not named like TESS recordings were skipped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "YAF_pleasant_surprised").mkdir()
    >>> (root / "YAF_pleasant_surprised" / "YAF_dog_ps.wav").touch()
    >>> read_tess(root)[["label", "speaker", "text"]]
          label speaker text
    0  surprise     YAF  dog
    """
    expected = "TESS recordings (OAF_back_angry.wav)"
    folder = _folder(root, "TESS", expected)
    return _scan(folder, "TESS", expected, _parse_tess)


def _parse_savee(path: Path) -> dict[str, Any] | None:
    match = _SAVEE_PATTERN.fullmatch(path.name)
    if match is None:
        return None
    prefix, code, number = match.groups()
    speaker = (prefix or path.parent.name).upper()
    if speaker not in _SAVEE_SPEAKERS:
        return None
    code = code.lower()
    return {
        "label": LABEL_MAPS["savee"][code],
        "speaker": speaker,
        "gender": "m",
        "text": code + number,
        "corpus_label": code,
    }


def read_savee(root: str | os.PathLike) -> pd.DataFrame:
    """Read the Surrey Audio-Visual Expressed Emotion corpus (SAVEE).

    Two layouts are recognised, searched for under `root` at any depth:
    the published ``AudioData/DC/a01.wav`` (speaker folder DC, JE, JK or KL)
    and flat names ``DC_a01.wav``. The letters before the number give the
    emotion: ``a`` anger, ``d`` disgust, ``f`` fear, ``h`` happiness,
    ``n`` neutral, ``sa`` sadness, ``su`` surprise. All four speakers are
    male.

    Parameters
    ----------
    root : str or os.PathLike
        The SAVEE folder.

    Returns
    -------
    pandas.DataFrame
        Columns ``path``, ``label``, ``speaker``, ``gender``, ``text`` (the
        sentence code, e.g. ``"a01"``) and ``corpus_label``.

    Raises
    ------
    DatasetError
        If `root` is not a folder or holds no SAVEE file name.

    Warns
    -----
    UserWarning
        When audio files not named like SAVEE recordings were skipped
        (including ``a01.wav`` outside a DC, JE, JK or KL folder).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "JK_sa03.wav").touch()
    >>> read_savee(root)[["label", "speaker", "text"]]
         label speaker  text
    0  sadness      JK  sa03
    """
    expected = "SAVEE recordings (AudioData/DC/a01.wav or DC_a01.wav)"
    folder = _folder(root, "SAVEE", expected)
    return _scan(folder, "SAVEE", expected, _parse_savee)


def _parse_crema_d(path: Path) -> dict[str, Any] | None:
    match = _CREMA_D_PATTERN.fullmatch(path.name)
    if match is None or not 1001 <= int(match[1]) <= 1091:
        return None
    actor, sentence, code, level = match.groups()
    return {
        "label": LABEL_MAPS["crema-d"][code.upper()],
        "speaker": actor,
        "text": sentence.upper(),
        "intensity": level.upper(),
        "corpus_label": code.upper(),
    }


def _crema_d_genders(table: Path) -> dict[str, str]:
    """Map actor id -> 'f'/'m' from CREMA-D's VideoDemographics.csv."""
    demographics = _read_csv(table, "CREMA-D actor table", dtype=str)
    missing = {"ActorID", "Sex"} - set(demographics.columns)
    if missing:
        raise DatasetError(
            f"{table} has no column {', '.join(sorted(missing))} (found "
            f"{', '.join(demographics.columns)}); expected CREMA-D's actor table "
            "with ActorID and Sex, or remove it to read the corpus without gender"
        )
    sex = demographics["Sex"].str.strip().str.lower()
    gender = sex.map({"female": "f", "male": "m"})
    return dict(zip(demographics["ActorID"].str.strip(), gender, strict=True))


def read_crema_d(root: str | os.PathLike) -> pd.DataFrame:
    """Read the Crowd-sourced Emotional Multimodal Actors Dataset (CREMA-D).

    Files named ``1001_DFA_ANG_XX.wav`` are searched for under `root` at any
    depth (published in ``AudioWAV/``): actor ``1001`` to ``1091``, sentence
    code, emotion (ANG, DIS, FEA, HAP, NEU, SAD) and level (LO, MD, HI, or
    XX for unspecified). Gender comes from ``root/VideoDemographics.csv``
    (columns ``ActorID`` and ``Sex``) when that file is present.

    Parameters
    ----------
    root : str or os.PathLike
        The CREMA-D folder.

    Returns
    -------
    pandas.DataFrame
        Columns ``path``, ``label``, ``speaker`` (the actor id), ``text``
        (the sentence code), ``intensity`` (the level code), ``corpus_label``,
        and ``gender`` only when ``VideoDemographics.csv`` was found.

    Raises
    ------
    DatasetError
        If `root` is not a folder, holds no CREMA-D file name, or has a
        ``VideoDemographics.csv`` that is not a CSV with ``ActorID`` and
        ``Sex`` columns.

    Warns
    -----
    UserWarning
        When audio files not named like CREMA-D recordings were skipped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "AudioWAV").mkdir()
    >>> (root / "AudioWAV" / "1001_DFA_ANG_XX.wav").touch()
    >>> read_crema_d(root)[["label", "speaker", "text", "intensity"]]
       label speaker text intensity
    0  anger    1001  DFA        XX
    """
    expected = "CREMA-D recordings (AudioWAV/1001_DFA_ANG_XX.wav)"
    folder = _folder(root, "CREMA-D", expected)
    frame = _scan(folder, "CREMA-D", expected, _parse_crema_d)
    table = folder / "VideoDemographics.csv"
    if table.is_file():
        frame.insert(3, "gender", frame["speaker"].map(_crema_d_genders(table)))
    return frame


def read_folders(root: str | os.PathLike) -> pd.DataFrame:
    """Read a corpus laid out as one subfolder an emotion.

    Every audio file under ``root/<label>/`` (at any depth) gets that
    folder's label, mapped through :func:`to_common_label`, so ``angry/``
    and ``anger/`` both give ``anger``. Folders whose name starts with a
    dot are ignored; audio files directly in `root` are skipped with a
    warning.

    The layout says nothing about speakers, so ``speaker`` is NaN: add a
    speaker column yourself (or use :func:`read_manifest`) before any
    speaker-independent evaluation.

    Parameters
    ----------
    root : str or os.PathLike
        The folder holding one subfolder a label.

    Returns
    -------
    pandas.DataFrame
        Columns ``path``, ``label``, ``speaker`` (all NaN) and
        ``corpus_label`` (the folder name).

    Raises
    ------
    DatasetError
        If `root` is not a folder, a subfolder's name is not an emotion
        label, or no subfolder holds an audio file.

    Warns
    -----
    UserWarning
        When audio files directly in `root` were skipped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "Happy").mkdir()
    >>> (root / "Happy" / "clip1.wav").touch()
    >>> read_folders(root)[["label", "speaker", "corpus_label"]]
           label speaker corpus_label
    0  happiness     NaN        Happy
    """
    expected = "audio files in emotion-named subfolders (anger/clip.wav)"
    folder = _folder(root, "label-folder corpus", expected)
    labels = {}
    for sub in sorted(folder.iterdir()):
        if sub.is_dir() and not sub.name.startswith("."):
            try:
                labels[sub.name] = to_common_label(sub.name)
            except ParameterError as error:
                raise DatasetError(
                    f"subfolder {sub} is not named after an emotion: {error}; "
                    "rename or move it out of the corpus folder"
                ) from error

    def parse(path: Path) -> dict[str, Any] | None:
        name = path.relative_to(folder).parts[0]
        if name not in labels:
            return None
        return {"label": labels[name], "speaker": np.nan, "corpus_label": name}

    frame = _scan(folder, "label-folder corpus", expected, parse)
    frame["speaker"] = frame["speaker"].astype(object)
    return frame


def _map_labels(labels: pd.Series, where: str, corpus: str | None) -> pd.Series:
    """Map a manifest's labels to :data:`LABELS`; errors say `where` they are."""
    mapping = {}
    for label in labels.unique():
        try:
            mapping[label] = to_common_label(label, corpus)
        except ParameterError as error:
            raise DatasetError(
                f"{where}: {error}; fix the label "
                "or read the manifest with map_labels=False"
            ) from error
    return labels.map(mapping)


def read_manifest(
    path: str | os.PathLike,
    *,
    label_column: str = "label",
    speaker_column: str | None = "speaker",
    path_column: str = "path",
    map_labels: bool = False,
) -> pd.DataFrame:
    r"""Read a CSV manifest listing one recording a row.

    Relative paths in it are taken relative to the manifest's folder. The path,
    label and speaker columns are renamed ``path``, ``label`` and
    ``speaker`` and put first; every other column is carried unchanged.
    The path, label and speaker columns are read as strings, so speaker
    ``03`` stays ``"03"``.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.
    label_column : str, default="label"
        Column holding the emotion label.
    speaker_column : str or None, default="speaker"
        Column holding the speaker; None when the manifest has none, in
        which case ``speaker`` is NaN (speaker-independent evaluation then
        needs one added).
    path_column : str, default="path"
        Column holding the audio file path.
    map_labels : bool, default=False
        Map labels through :func:`to_common_label` and keep the originals in
        ``corpus_label`` (unless the manifest already has that column).
        Otherwise labels are returned as written.

    Returns
    -------
    pandas.DataFrame
        ``path`` (absolute), ``label``, ``speaker``, then the other columns,
        sorted by path.

    Raises
    ------
    DatasetError
        If `path` is not a readable CSV file, a named column is missing, a
        renamed column would clash with an existing one (including
        ``speaker`` when `speaker_column` is None), a path is empty, or (with
        `map_labels`) a label is unknown.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "list.csv").write_text("file,emotion,spk\nb.wav,Angry,07\n")
    >>> frame = read_manifest(root / "list.csv", path_column="file",
    ...                       label_column="emotion", speaker_column="spk",
    ...                       map_labels=True)
    >>> frame[["label", "speaker", "corpus_label"]]
       label speaker corpus_label
    0  anger      07        Angry
    """
    manifest = Path(os.path.abspath(os.path.expanduser(path)))
    if not manifest.is_file():
        why = "it is a folder" if manifest.is_dir() else "it does not exist"
        raise DatasetError(
            f"cannot read manifest {manifest}: {why}; pass the path of a CSV file "
            "with one row a recording"
        )
    named = {path_column: "path", label_column: "label"}
    if speaker_column is not None:
        named[speaker_column] = "speaker"
    header = _read_csv(manifest, "manifest", nrows=0).columns
    frame = _read_csv(  # ids stay text: speaker "NA" or "null" is no gap
        manifest, "manifest", dtype=dict.fromkeys(named, str),
        keep_default_na=False, na_values=na_values(header, named))
    missing = [column for column in named if column not in frame.columns]
    if missing:
        raise DatasetError(
            f"manifest {manifest} has no column {', '.join(map(repr, missing))} "
            f"(found {', '.join(map(repr, frame.columns))}); pass path_column=, "
            "label_column= or speaker_column= to name the right ones"
        )
    clashes = [
        target
        for source, target in named.items()
        if source != target and target in frame.columns
    ]
    if speaker_column is None and "speaker" in frame.columns:
        clashes.append("speaker")
    if clashes:
        raise DatasetError(
            f"manifest {manifest} already has column(s) "
            f"{', '.join(map(repr, clashes))}, which renaming would overwrite; "
            "drop or rename them in the CSV first"
        )
    frame = frame.rename(columns=named)
    if speaker_column is None:
        frame["speaker"] = pd.Series(np.nan, index=frame.index, dtype=object)
    empty = frame.index[frame["path"].isna()]
    if len(empty):
        raise DatasetError(
            f"manifest {manifest} has an empty {path_column!r} on data row(s) "
            f"{', '.join(str(i + 1) for i in empty[:5])}; fill in or remove them"
        )
    frame["path"] = [os.path.abspath(manifest.parent / p) for p in frame["path"]]
    if map_labels:
        if "corpus_label" not in frame.columns:
            frame["corpus_label"] = frame["label"]
        frame["label"] = _map_labels(
            frame["label"], f"manifest {manifest}, column {label_column!r}", None
        )
    first = ["path", "label", "speaker"]
    frame = frame[first + [c for c in frame.columns if c not in first]]
    return frame.sort_values("path", ignore_index=True)


_READERS: dict[str, Callable[..., pd.DataFrame]] = {
    "emodb": read_emodb,
    "ravdess": read_ravdess,
    "tess": read_tess,
    "savee": read_savee,
    "crema-d": read_crema_d,
    "folders": read_folders,
    "manifest": read_manifest,
}


def read_corpus(name: str, root: str | os.PathLike, **kwargs: Any) -> pd.DataFrame:
    """Read a corpus by name.

    Parameters
    ----------
    name : str
        One of :data:`CORPORA` (case-insensitive; ``"cremad"`` means
        ``"crema-d"``).
    root : str or os.PathLike
        The corpus folder, or the CSV file for ``"manifest"``.
    **kwargs
        Passed to the reader; only :func:`read_manifest` takes any.

    Returns
    -------
    pandas.DataFrame
        What the reader returns.

    Raises
    ------
    ParameterError
        If `name` is not one of :data:`CORPORA`.
    DatasetError
        As raised by the reader.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "1001_DFA_ANG_XX.wav").touch()
    >>> read_corpus("cremad", root)["label"].tolist()
    ['anger']
    """
    return _READERS[_canonical_corpus(name, CORPORA)](root, **kwargs)
