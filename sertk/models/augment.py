"""Training-data augmentation: speed-perturbed and condition copies of recordings.

A recording played 10 % faster or slower keeps its words and its emotion,
but its F0, formants and timing all move, as another speaker's voice would.
Adding such copies to the training rows (Ko et al., 2015, "Audio
augmentation for speech recognition", with factors 0.9 and 1.1) gives a
model more voices than the corpus has speakers, which helps most when
nothing is known about the test speaker (the *strict* protocol of
:mod:`sertk.evaluation.protocols`). Copies are for training only: they keep the label
and the speaker of their recording, and are never scored.

Examples
--------
>>> import numpy as np
>>> X = np.zeros((2, 3))
>>> copies = np.ones((2, 1, 3))
>>> X_all, y_all, speakers_all, source = with_copies(
...     X, np.array(["a", "b"]), np.array(["s1", "s2"]), copies)
>>> X_all.shape, y_all.tolist(), source.tolist()
((4, 3), ['a', 'b', 'a', 'b'], [0, 1, 0, 1])
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone

from sertk.audio import AUDIO_EXTENSIONS, load
from sertk.audio.conditions import Condition, apply_condition, check_condition
from sertk.errors import ParameterError, SertkError
from sertk.features.extractor import extract_signal

__all__ = [
    "AUGMENT_MIX", "BABBLE_TALKERS", "FoldCopies", "SPEED_FACTORS", "check_augment",
    "check_speed_factors",
    "condition_copies", "copies_array", "copy_signal", "draw_conditions",
    "load_noise_folder",
    "make_copies",
    "speed_copies", "training_copies", "training_speeds", "with_copies",
]

#: Default speed-perturbation factors (Ko et al., 2015).
SPEED_FACTORS = (0.9, 1.1)


def training_speeds(speed_perturbation: Any, normalised: bool) -> tuple[float, ...]:
    """Return the speeds of the copies a classifier trains on (empty for none).

    Parameters
    ----------
    speed_perturbation : "auto", sequence of float or None
        :class:`~sertk.models.classifier.EmotionClassifier`'s parameter.
    normalised : bool
        Whether the model normalises per speaker ("auto" then uses none).

    Returns
    -------
    tuple of float

    Raises
    ------
    ParameterError
        If ``speed_perturbation`` is not "auto", None or valid speeds.

    Examples
    --------
    >>> training_speeds("auto", normalised=False), training_speeds("auto", True)
    ((0.9, 1.1), ())
    """
    if isinstance(speed_perturbation, str):
        if speed_perturbation != "auto":
            raise ParameterError(
                f"speed_perturbation={speed_perturbation!r} is not 'auto', None "
                "or a list of speeds such as [0.9, 1.1]")
        return () if normalised else SPEED_FACTORS
    return check_speed_factors(speed_perturbation)


def check_speed_factors(factors: Sequence[float] | None) -> tuple[float, ...]:
    """Return validated speed-perturbation factors (empty for none).

    Parameters
    ----------
    factors : sequence of float or None
        Speeds in [0.5, 2], none of them 1 (the recording itself).

    Returns
    -------
    tuple of float

    Raises
    ------
    ParameterError
        If a factor is not a number in [0.5, 2], is 1, or repeats.

    Examples
    --------
    >>> check_speed_factors([0.9, 1.1]), check_speed_factors(None)
    ((0.9, 1.1), ())
    """
    if factors is None:
        return ()
    if isinstance(factors, str) or not isinstance(factors, Sequence):
        raise ParameterError(
            f"speed_perturbation must be a sequence of speeds or None, got {factors!r}")
    for f in factors:
        if isinstance(f, bool) or not isinstance(f, int | float) or not 0.5 <= f <= 2:
            raise ParameterError(
                f"speed_perturbation factors must be numbers from 0.5 to 2, got {f!r}")
        if f == 1:
            raise ParameterError(
                "speed_perturbation factors must not be 1: the recordings "
                "themselves are always used")
    if len(set(factors)) != len(factors):
        raise ParameterError(f"speed_perturbation repeats a factor: {list(factors)}")
    return tuple(float(f) for f in factors)


def speed_copies(extractor: Any, audio: Any, factors: Sequence[float]) -> np.ndarray:
    """Extract the features of speed-perturbed copies of recordings.

    Parameters
    ----------
    extractor : sertk.features.extractor.FeatureExtractor
        Extractor of the original recordings; each copy uses a clone with
        ``speed`` set to a factor.
    audio : list of str or DataFrame
        The recordings, as :meth:`FeatureExtractor.transform` takes them.
    factors : sequence of float
        Speeds (see :func:`check_speed_factors`).

    Returns
    -------
    ndarray of shape (n_recordings, n_factors, n_features)
        Copy ``k`` of recording ``i`` is ``[i, k]``; a copy that cannot be
        analysed is a row of NaN (whatever ``extractor.on_error`` says, since
        its recording was analysed).

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> from sertk.features.extractor import FeatureExtractor
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> t = np.arange(16000) / 16000
    >>> sf.write(path, 0.3 * np.sin(2 * np.pi * 200 * t), 16000)
    >>> copies = speed_copies(FeatureExtractor("minimal"), [path], [0.9, 1.1])
    >>> copies.shape
    (1, 2, 114)
    """
    tables = [clone(extractor).set_params(speed=f, on_error="nan").transform(audio)
              for f in check_speed_factors(factors)]
    if not tables:
        raise ParameterError("speed_copies needs at least one factor")
    return np.stack([t.to_numpy(dtype=np.float64) for t in tables], axis=1)


def copies_array(augmented: Any, X: Any) -> np.ndarray:
    """Return augmented copies as one array, checked against their rows.

    Parameters
    ----------
    augmented : array-like of shape (n_rows, n_copies, n_features), or list of tables
        The copies: one array, or ``n_copies`` tables of shape (n_rows,
        n_features). DataFrames are put in ``X``'s column order.
    X : array-like of shape (n_rows, n_features)
        The rows copied.

    Returns
    -------
    ndarray of shape (n_rows, n_copies, n_features)

    Raises
    ------
    ParameterError
        If the shapes or columns do not match ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> copies_array([np.ones((2, 3)), np.zeros((2, 3))], np.zeros((2, 3))).shape
    (2, 2, 3)
    """
    n_features = np.shape(X)[1]
    if isinstance(augmented, Sequence) and not isinstance(augmented, str) and all(
            hasattr(t, "shape") and len(t.shape) == 2 for t in augmented):
        tables = []
        for t in augmented:
            if isinstance(t, pd.DataFrame) and isinstance(X, pd.DataFrame):
                missing = X.columns.difference(t.columns)
                if len(missing):
                    raise ParameterError(
                        f"augmented tables lack {len(missing)} columns of X, "
                        f"e.g. {list(missing[:3])}")
                t = t[X.columns]
            tables.append(np.asarray(t, dtype=np.float64))
        augmented = np.stack(tables, axis=1) if tables else None
    copies = np.asarray(augmented, dtype=np.float64)
    if copies.ndim != 3 or copies.shape[0] != len(X) or copies.shape[2] != n_features:
        raise ParameterError(
            f"augmented must hold, for each of the {len(X)} rows of X, copies "
            f"of {n_features} features: shape ({len(X)}, n_copies, {n_features}) "
            f"or a list of ({len(X)}, {n_features}) tables; got shape {copies.shape}")
    return copies


def with_copies(
    X: Any, y: np.ndarray, speakers: np.ndarray | None, augmented: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Append the augmented copies of each row to the training rows.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
        The training rows.
    y : ndarray of shape (n_rows,)
        Their labels, which the copies keep.
    speakers : ndarray of shape (n_rows,) or None
        Their speakers, which the copies keep.
    augmented : array-like of shape (n_rows, n_copies, n_features), or list of tables
        The copies (from :func:`speed_copies`, or one table of shape
        (n_rows, n_features) a copy, DataFrames with ``X``'s columns). Copies
        that are all NaN (not analysed) are left out.

    Returns
    -------
    X_all : ndarray of shape (n_rows + n_kept, n_features)
        ``X`` first, then the copies kept.
    y_all, speakers_all : ndarray
        Labels and speakers of ``X_all`` (speakers None if not given).
    source : ndarray of int
        The row of ``X`` each row of ``X_all`` is (a copy of).

    Raises
    ------
    ParameterError
        If ``augmented`` does not match ``X``'s shape or columns.
    """
    values = np.asarray(X, dtype=np.float64)
    copies = copies_array(augmented, X)
    n_rows, n_copies, _ = copies.shape
    source = np.tile(np.arange(n_rows), n_copies)
    stacked = copies.transpose(1, 0, 2).reshape(n_rows * n_copies, -1)
    kept = ~np.isnan(stacked).all(axis=1)
    source = np.concatenate([np.arange(n_rows), source[kept]])
    y_all = np.asarray(y)[source]
    speakers_all = None if speakers is None else np.asarray(speakers)[source]
    return np.vstack([values, stacked[kept]]), y_all, speakers_all, source


#: The condition copies the bundled models train on (``augment=``): one copy
#: of each recording, in a condition drawn from noise (white, pink, brown,
#: babble; 0-20 dB SNR), telephone channels and rooms. Chosen by nested CV
#: on EMO-DB (``benchmarks.noise_mix``; ``docs/benchmarks.md``).
AUGMENT_MIX = (
    "white-20|white-10|white-0|pink-10|brown-10|babble-20|babble-10|babble-0"
    "|telephone|mu-law|a-law|gsm|reverb-0.3|reverb-0.6|reverb-1.0",
)

#: Other talkers summed into a babble copy (inclusive range, drawn).
BABBLE_TALKERS = (4, 6)


def check_augment(augment: Sequence[str] | None) -> tuple[tuple[Condition, ...], ...]:
    """Return a validated ``augment`` setting: each entry's conditions.

    Parameters
    ----------
    augment : sequence of str or None
        Entries, each a condition name of :func:`sertk.audio.conditions.check_condition`
        or several joined by ``|`` (each recording's copy draws one).

    Returns
    -------
    tuple of tuple of Condition
        Empty for None.

    Raises
    ------
    ParameterError
        If an entry is not a string or names an unknown condition (the
        message lists the names).

    Examples
    --------
    >>> [[c.name for c in e] for e in check_augment(["white-10|babble-10", "gsm"])]
    [['white-10', 'babble-10'], ['gsm']]
    """
    if augment is None:
        return ()
    if isinstance(augment, str) or not isinstance(augment, Sequence):
        raise ParameterError(
            f"augment must be a list of condition names or None, got {augment!r}; "
            "e.g. ['white-10|babble-10', 'telephone']")
    entries = []
    for entry in augment:
        if not isinstance(entry, str) or not entry:
            raise ParameterError(
                f"augment entries must be condition names, got {entry!r}")
        entries.append(tuple(check_condition(name) for name in entry.split("|")))
    return tuple(entries)


def load_noise_folder(folder: str | os.PathLike, sr: int = 16000) -> list[np.ndarray]:
    """Read every usable noise recording of a folder (``folder-*`` conditions).

    Parameters
    ----------
    folder : str or path-like
        A folder of audio files (searched recursively).
    sr : int, default=16000
        Rate to resample them to.

    Returns
    -------
    list of ndarray

    Raises
    ------
    ParameterError
        If the folder does not exist or holds no usable audio (none, or
        none readable and audible), saying what was tried.

    Examples
    --------
    >>> import tempfile
    >>> load_noise_folder(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sertk.errors.ParameterError: noise folder ... holds no audio file ...
    """
    root = os.fspath(folder)
    if not os.path.isdir(root):
        raise ParameterError(f"noise folder {root!r} does not exist or is not a folder")
    paths = sorted(
        os.path.join(d, f) for d, _, files in os.walk(root) for f in files
        if f.lower().endswith(AUDIO_EXTENSIONS))
    if not paths:
        raise ParameterError(
            f"noise folder {root!r} holds no audio file (looked for "
            f"{', '.join(AUDIO_EXTENSIONS)}); put recordings of noise in it")
    noises, problems = [], []
    for path in paths:
        try:
            x = load(path, sr)
        except SertkError as exc:
            problems.append(f"{os.path.basename(path)}: {exc}")
            continue
        if not np.any(x):
            problems.append(f"{os.path.basename(path)}: silent")
            continue
        noises.append(x)
    if not noises:
        raise ParameterError(
            f"noise folder {root!r} holds no usable audio: "
            + "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""))
    return noises


def _paths(audio: Any) -> list[str]:
    if isinstance(audio, pd.DataFrame):
        if "path" not in audio.columns:
            raise ParameterError("condition copies need audio paths (a 'path' column)")
        if any(c in audio.columns and audio[c].notna().any() for c in ("start", "end")):
            raise ParameterError(
                "condition copies are made of whole recordings, not segments "
                "(start/end)")
        return [os.fspath(p) for p in audio["path"]]
    return [os.fspath(p) for p in audio]


def _entry_keys(augment: Sequence[str]) -> list[int]:
    """Return each entry's random-stream key: its text and repeat number.

    So an entry draws the same copies wherever it stands in the list, and a
    repeated entry draws new ones.
    """
    seen: dict[str, int] = {}
    keys = []
    for entry in augment:
        seen[entry] = seen.get(entry, -1) + 1
        keys.append(zlib.crc32(f"{entry}#{seen[entry]}".encode()))
    return keys


def _copy_rng(seed: int, entry_key: int, path: str) -> np.random.Generator:
    """Return the random stream of one copy: seed, entry and the recording's path."""
    return np.random.default_rng([seed, entry_key, zlib.crc32(path.encode())])


def draw_conditions(augment: Sequence[str], paths: Sequence[str], seed: int = 0
                    ) -> list[list[str]]:
    """Return the condition each recording's copy draws, entry by entry.

    The draw :func:`condition_copies` makes: it depends on the seed, the
    entry (its text, and how often it came before in ``augment``) and the
    recording's path only, not on the entry's place in the list.

    Parameters
    ----------
    augment : sequence of str
        See :func:`check_augment`.
    paths : sequence of str
        The recordings.
    seed : int, default=0
        As :func:`condition_copies` takes it.

    Returns
    -------
    list of list of str
        ``[k][i]``: the condition of entry ``k``'s copy of recording ``i``.

    Examples
    --------
    >>> draw_conditions(["gsm"], ["a.wav", "b.wav"])
    [['gsm', 'gsm']]
    """
    return [[conditions[int(_copy_rng(seed, key, os.fspath(p)).integers(
                len(conditions)))].name for p in paths]
            for key, conditions in zip(_entry_keys(augment), check_augment(augment),
                                       strict=True)]


def _copy_signal(paths: Sequence[str], owners: np.ndarray, i: int,
                 conditions: tuple[Condition, ...], key: int, seed: int, sr: int,
                 noise: Sequence[np.ndarray]) -> tuple[np.ndarray, str]:
    """Return the signal of recording ``i``'s copy and the condition drawn."""
    rng = _copy_rng(seed, key, paths[i])
    condition = conditions[int(rng.integers(len(conditions)))]
    x = load(paths[i], sr)
    sources: Sequence[np.ndarray] = []
    if condition.kind == "babble":
        pool = np.flatnonzero(owners != owners[i])
        n = int(rng.integers(BABBLE_TALKERS[0], BABBLE_TALKERS[1] + 1))
        picked = rng.choice(pool, size=min(n, pool.size), replace=False)
        sources = [load(paths[p], sr) for p in picked]
    elif condition.kind == "folder":
        sources = noise
    return apply_condition(x, sr, condition, rng, sources), condition.name


def copy_signal(
    audio: Any, i: int, augment: Sequence[str], entry: int = 0, *,
    speakers: Sequence | None = None, noise: Sequence[np.ndarray] = (),
    seed: int = 0, sr: int = 16000,
) -> tuple[np.ndarray, str]:
    """Return the signal of one condition copy, as :func:`condition_copies` makes it.

    For analysing a copy with another feature extractor (openSMILE, say).

    Parameters
    ----------
    audio : list of str or DataFrame with a ``path`` column
        The recordings, as given to :func:`condition_copies`.
    i : int
        The recording copied.
    augment : sequence of str
        The entries (:func:`check_augment`).
    entry : int, default=0
        The entry of the copy.
    speakers, seed
        As :func:`condition_copies` takes them.
    noise : sequence of ndarray, optional
        Noise recordings (:func:`load_noise_folder`) for ``folder-*``.
    sr : int, default=16000
        Rate of the signal (the extractor's ``sr``).

    Returns
    -------
    signal : ndarray
    condition : str
        The condition drawn.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> sf.write(path, 0.3 * np.sin(2 * np.pi * 200 * np.arange(8000) / 16000), 16000)
    >>> signal, name = copy_signal([path], 0, ["gsm|telephone"])
    >>> signal.shape, name in ("gsm", "telephone")
    ((8000,), True)
    """
    paths = _paths(audio)
    owners = (np.arange(len(paths)).astype(object) if speakers is None
              else np.asarray(speakers, dtype=object))
    return _copy_signal(paths, owners, i, check_augment(augment)[entry],
                        _entry_keys(augment)[entry], int(seed), sr, noise)


def _condition_rows(extractor: Any, jobs: list[tuple[int, int]], paths: list[str],
                    owners: np.ndarray, entries: tuple, keys: list[int],
                    seed: int, noise: list[np.ndarray]) -> np.ndarray:
    """Worker: make and analyse each (recording, entry) copy (NaN if it fails)."""
    settings = extractor.settings()
    names = extractor.get_feature_names_out()
    rows = np.full((len(jobs), names.size), np.nan)
    for j, (i, k) in enumerate(jobs):
        try:
            y, _ = _copy_signal(paths, owners, i, entries[k], keys[k], seed,
                                settings.sr, noise)
            rows[j] = extract_signal(y, settings.sr, feature_set=extractor.feature_set,
                                     settings=settings).to_numpy()
        except SertkError:
            continue
    return rows


def condition_copies(
    extractor: Any, audio: Any, augment: Sequence[str], *,
    speakers: Sequence | None = None, noise_folder: str | os.PathLike | None = None,
    seed: int = 0, rows: Sequence[int] | None = None,
) -> np.ndarray:
    """Extract the features of condition copies of recordings.

    Each recording is loaded at the extractor's rate, put in a condition
    (:func:`sertk.audio.conditions.apply_condition`) and analysed with the
    extractor's settings, once per entry of ``augment``.

    Parameters
    ----------
    extractor : sertk.features.extractor.FeatureExtractor
        Extractor of the original recordings (its ``speed`` must be 1; its
        ``n_jobs`` workers are used).
    audio : list of str or DataFrame with a ``path`` column
        The recordings (whole files).
    augment : sequence of str
        See :func:`check_augment`.
    speakers : sequence, optional
        Speaker of each recording: a babble copy is made of 4-6 recordings
        of *other* speakers among ``audio`` (without speakers, of other
        recordings). Give only training recordings, so that no test speaker
        is heard in a training copy.
    noise_folder : str or path-like, optional
        Recordings of noise for ``folder-*`` conditions
        (:func:`load_noise_folder`).
    seed : int, default=0
        With the entry and the recording's path, seeds each copy (see
        :func:`draw_conditions`): the same entry draws the same copies in
        any list.
    rows : sequence of int, optional
        Make the copies of these recordings only (the others are NaN);
        babble is still drawn from all of ``audio``.

    Returns
    -------
    ndarray of shape (n_recordings, n_entries, n_features)
        A copy that cannot be made or analysed is a row of NaN.

    Raises
    ------
    ParameterError
        If ``augment`` is invalid or empty, ``folder-*`` lacks a usable
        ``noise_folder``, ``babble-*`` has no other speaker to draw from, or
        ``speakers`` has the wrong length.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> from sertk.features.extractor import FeatureExtractor
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> t = np.arange(16000) / 16000
    >>> sf.write(path, 0.3 * np.sin(2 * np.pi * 200 * t), 16000)
    >>> condition_copies(FeatureExtractor("minimal"), [path], ["telephone"]).shape
    (1, 1, 114)
    """
    entries = check_augment(augment)
    if not entries:
        raise ParameterError("condition_copies needs at least one augment entry")
    if extractor.speed != 1.0:
        raise ParameterError("condition copies are made at speed 1; pass an "
                             "extractor with speed=1.0")
    paths = _paths(audio)
    if speakers is None:
        owners = np.arange(len(paths)).astype(object)
    else:
        owners = np.asarray(speakers, dtype=object)
        if owners.shape != (len(paths),):
            raise ParameterError(
                f"speakers has {owners.size} values for {len(paths)} recordings")
    kinds = {c.kind for entry in entries for c in entry}
    noise = (load_noise_folder(noise_folder, extractor.settings().sr)
             if "folder" in kinds and noise_folder is not None else [])
    if "folder" in kinds and not noise:
        raise ParameterError("folder-* conditions need a noise_folder of recordings "
                             "of noise")
    if "babble" in kinds and len(set(owners.tolist())) < 2:
        raise ParameterError("babble-* conditions need recordings of at least two "
                             "speakers (a copy's babble is other speakers' speech)")
    wanted = range(len(paths)) if rows is None else sorted({int(r) for r in rows})
    jobs = [(i, k) for k in range(len(entries)) for i in wanted]
    n_jobs = max(1, int(extractor.n_jobs or 1)) if extractor.n_jobs != -1 \
        else os.cpu_count() or 1
    size = max(1, -(-len(jobs) // (4 * n_jobs)))
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    blocks = Parallel(n_jobs=n_jobs)(
        delayed(_condition_rows)(extractor, chunk, paths, owners, entries,
                                 _entry_keys(augment), int(seed), noise)
        for chunk in chunks)
    out = np.full((len(paths), len(entries), extractor.get_feature_names_out().size),
                  np.nan)
    for (i, k), row in zip(jobs, np.vstack(blocks) if blocks else [], strict=True):
        out[i, k] = row
    return out


def make_copies(
    extractor: Any, audio: Any, speeds: Sequence[float] = (),
    augment: Sequence[str] | None = None, *, speakers: Sequence | None = None,
    noise_folder: str | os.PathLike | None = None, seed: int = 0,
) -> np.ndarray | None:
    """Extract every training copy of recordings: speed copies, then condition copies.

    The one way sertk makes copies from audio (the classifier, cross-
    validation and ``sertk-train`` call it).

    Parameters
    ----------
    extractor : sertk.features.extractor.FeatureExtractor
        Extractor of the original recordings.
    audio : list of str or DataFrame
        The recordings.
    speeds : sequence of float, default=()
        Speeds of :func:`speed_copies`.
    augment : sequence of str or None
        Entries of :func:`condition_copies`.
    speakers, noise_folder, seed
        As :func:`condition_copies` takes them.

    Returns
    -------
    ndarray of shape (n_recordings, n_copies, n_features) or None
        Speed copies first, in ``speeds`` order, then one copy an entry;
        None when neither asks for a copy.

    Raises
    ------
    ParameterError
        As :func:`speed_copies` and :func:`condition_copies` raise it.

    Examples
    --------
    >>> from sertk.features.extractor import FeatureExtractor
    >>> make_copies(FeatureExtractor("minimal"), ["a.wav"]) is None
    True
    """
    speeds = check_speed_factors(speeds)
    entries = check_augment(augment)
    parts = []
    if speeds:
        parts.append(speed_copies(extractor, audio, speeds))
    if entries:
        parts.append(condition_copies(extractor, audio, augment, speakers=speakers,
                                      noise_folder=noise_folder, seed=seed))
    return np.concatenate(parts, axis=1) if parts else None


class FoldCopies:
    """Copies of recordings for cross-validation: babble remade in each fold.

    A babble copy is other speakers' speech; made once for every fold, a
    training copy's babble would hold test speakers. Called with a fold's
    training rows, this returns their copies (as :func:`make_copies` does)
    with every copy that drew babble remade from those rows' speakers only;
    the other copies are made once, at construction.

    Parameters
    ----------
    extractor : sertk.features.extractor.FeatureExtractor
        Extractor of the original recordings.
    audio : list of str or DataFrame
        Every recording (whole files).
    speakers : sequence
        Speaker of each recording.
    speeds, augment, noise_folder, seed
        As :func:`make_copies` takes them.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> from sertk.features.extractor import FeatureExtractor
    >>> folder = tempfile.mkdtemp()
    >>> paths = []
    >>> for i, f0 in enumerate([150, 200, 250]):
    ...     paths.append(os.path.join(folder, f"{i}.wav"))
    ...     t = np.arange(8000) / 16000
    ...     sf.write(paths[-1], 0.3 * np.sin(2 * np.pi * f0 * t), 16000)
    >>> copies = FoldCopies(FeatureExtractor("minimal"), paths, ["a", "b", "c"],
    ...                     (), ["babble-10"])
    >>> copies(np.array([0, 1])).shape
    (2, 1, 114)
    """

    def __init__(self, extractor: Any, audio: Any, speakers: Sequence,
                 speeds: Sequence[float] = (), augment: Sequence[str] | None = None,
                 *, noise_folder: str | os.PathLike | None = None, seed: int = 0):
        self.extractor = extractor
        self.paths = _paths(audio)
        self.speakers = np.asarray(speakers, dtype=object)
        self.augment = tuple(augment or ())
        self.noise_folder = noise_folder
        self.seed = seed
        self.n_speeds = len(check_speed_factors(speeds))
        drawn = np.array(draw_conditions(self.augment, self.paths, seed),
                         dtype=object).reshape(len(self.augment), len(self.paths))
        self.babble = np.char.startswith(drawn.astype(str), "babble").T
        others = np.flatnonzero(~self.babble.any(axis=1)).tolist()
        parts = []
        if self.n_speeds:
            parts.append(speed_copies(extractor, audio, speeds))
        if self.augment:
            parts.append(condition_copies(extractor, self.paths, self.augment,
                                          speakers=self.speakers,
                                          noise_folder=noise_folder, seed=seed,
                                          rows=others))
        self.shared = np.concatenate(parts, axis=1) if parts else None

    def __call__(self, train: np.ndarray) -> np.ndarray | None:
        """Return the copies of rows ``train``, babble from their speakers only."""
        train = np.asarray(train)
        if self.shared is None:
            return None
        copies = self.shared[train].copy()
        redo = np.flatnonzero(self.babble[train].any(axis=1))
        if redo.size:
            made = condition_copies(
                self.extractor, [self.paths[i] for i in train], self.augment,
                speakers=self.speakers[train], noise_folder=self.noise_folder,
                seed=self.seed, rows=redo.tolist())
            mask = self.babble[train][redo]
            block = copies[redo, self.n_speeds:]
            block[mask] = made[redo][mask]
            copies[redo, self.n_speeds:] = block
        return copies


def training_copies(
    params: dict, extractor: Any, audio: Any, augmented: Any = None, *,
    normalised: bool, speakers: Sequence | None = None, per_fold: bool = False,
) -> Any:
    """Decide and make the copies a classifier trains on: the copy policy.

    The one place the rule lives, for :meth:`EmotionClassifier.fit
    <sertk.models.classifier.EmotionClassifier.fit>` and for
    cross-validation: speed copies as ``speed_perturbation`` says under the
    protocol (:func:`training_speeds`), then one condition copy an entry of
    ``augment``; none when neither asks for copies.

    Parameters
    ----------
    params : dict
        The classifier's parameters (``speed_perturbation``, ``augment``,
        ``noise_folder``, ``random_state`` as the seed when an int).
    extractor : FeatureExtractor or callable
        Extractor of the recordings, or a function that returns it (called
        only when copies are made).
    audio : list of str, DataFrame or None
        The recordings; None for feature tables, which cannot be re-played.
    augmented : array-like or callable, optional
        Copies given by the caller: used as they are when copies are asked
        for.
    normalised : bool
        Whether the model normalises per speaker.
    speakers : sequence, optional
        Speaker of each recording (babble comes from other speakers).
    per_fold : bool, default=False
        For cross-validation: when a copy draws babble, return a
        :class:`FoldCopies` that remakes those copies in each fold.

    Returns
    -------
    ndarray, FoldCopies or None

    Raises
    ------
    ParameterError
        If a parameter is invalid, or babble copies lack speakers per fold.

    Examples
    --------
    >>> training_copies({"speed_perturbation": None}, None, ["a.wav"],
    ...                 normalised=False) is None
    True
    """
    factors = training_speeds(params.get("speed_perturbation"), normalised)
    entries = check_augment(params.get("augment"))
    if not factors and not entries:
        return None
    if augmented is not None or audio is None:
        return augmented
    seed = params.get("random_state")
    seed = seed if isinstance(seed, int) else 0
    noise_folder = params.get("noise_folder")
    if callable(extractor) and not hasattr(extractor, "transform"):
        extractor = extractor()
    if per_fold and any(c.kind == "babble" for e in entries for c in e):
        if speakers is None:
            raise ParameterError("babble-* copies need speakers: a copy's babble "
                                 "is other speakers' speech")
        return FoldCopies(extractor, audio, speakers, factors, params.get("augment"),
                          noise_folder=noise_folder, seed=seed)
    return make_copies(extractor, audio, factors, params.get("augment"),
                       speakers=speakers, noise_folder=noise_folder, seed=seed)
