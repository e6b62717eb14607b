"""Emotion over time in long recordings: windows, voice activity, smoothing, plot.

:func:`predict_timeline` slides a window along a recording and classifies
each stretch that holds speech, reading the file block by block so an hour
never sits in memory; :func:`smooth_timeline` averages neighbouring windows;
:func:`plot_timeline` draws the result. :func:`window_features` gives the
features of the speech windows themselves, to train a model on windows.

How a recording is analysed
---------------------------
1. *Level pass.* The file is read once, block by block, to measure the RMS
   level (dB re full scale) of every 10 ms frame after removing the frame's
   mean, so a DC offset or constant bias adds nothing to it: 100 numbers a
   second, about 3 MB for an hour.
2. *Voice activity.* The recording's speech level is the
   :data:`REFERENCE_PERCENTILE`-th percentile of the frame levels above the
   model's ``floor_dbfs`` (-70 dBFS by default), close to the peak level of
   its louder utterances. A frame is speech when its level is above both
   ``speech level - vad_threshold_db`` and ``floor_dbfs``; a window's
   ``speech_fraction`` is the share of its frames that are speech, and a
   window with less than ``min_speech`` is *silent*: labelled
   :data:`SILENCE`, with NaN probabilities, and not analysed. One reference
   for the whole recording, rather than one a block, makes a window's verdict
   independent of the block it was read in, and never calls the noise of a
   long pause speech (a pause-only block's own percentile would be its noise).
3. *Features.* The windows are taken in blocks of ``block`` seconds; a block
   is read with 0.5 s of context on either side of its windows
   (:data:`CONTEXT`), its contours are computed once and each window is
   summarised from its frames (:func:`sertk.features.extractor.extract_windows`), with
   the feature set and analysis settings the model was trained with. Every
   window lies wholly inside the block that analyses it, and each window
   belongs to exactly one block. The frames whose spectra are summarised
   (*active* frames) are those within the model's ``silence_db`` of the
   recording's speech level, rather than of the block's loudest frame.
4. *Voicing.* A window in whose frames Praat finds no voiced frame
   (``voiced__fraction`` is 0; measured with the window's features, and
   added to them for this when the model's feature set lacks it) is silent
   too, whatever its ``speech_fraction``: loud, but not a voice (hum below
   ``f0_min``, steady noise, clicks). This is the rule of
   :func:`sertk.timeline.files.predict_files` for a whole file.
5. *Classification.* ``predict_proba`` of each speech window; the label is
   the most probable class.

Blocks are independent, so ``n_jobs`` workers analyse them in parallel with
the same result. Results depend on ``block`` only slightly: a window's
contours see the context the block gives them, and Praat's pitch tracking
takes its thresholds from the block's peak amplitude.

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"path": "a.wav", "start": [0.0, 0.5, 1.0],
...                       "end": [2.0, 2.5, 3.0], "speech_fraction": 1.0,
...                       "label": ["anger", "sadness", "anger"],
...                       "prob_anger": [0.6, 0.4, 0.7],
...                       "prob_sadness": [0.4, 0.6, 0.3]})
>>> smooth_timeline(table, 1)["label"].tolist()
['anger', 'anger', 'anger']
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from ..audio.reading import MAX_DURATION, MIN_DURATION, iter_blocks, load
from ..errors import AudioError, ParameterError
from ..features.extractor import extract_windows
from ..features.feature_sets import FEATURE_SETS, FeatureSet, get_feature_set
from ..files import OutputLock, atomic_output
from ..models.dimensions import DIMENSIONS
from ..settings import AnalysisSettings, show_progress

__all__ = [
    "CONTEXT",
    "MAX_SMOOTH",
    "MIN_HOP",
    "REFERENCE_PERCENTILE",
    "SILENCE",
    "VAD_THRESHOLD_DB",
    "VOICED",
    "active_settings",
    "check_options",
    "frame_levels",
    "model_analysis",
    "plot_timeline",
    "predict_timeline",
    "reference_windows",
    "smooth_timeline",
    "speech_fractions",
    "speech_frames",
    "speech_mask",
    "timeline_classes",
    "timeline_table",
    "window_bounds",
    "window_features",
    "window_outputs",
    "with_voicing",
]

#: Label of the windows without enough speech.
SILENCE = "silence"

#: Shortest hop between windows, in seconds: the analysis frame step (10 ms).
MIN_HOP = 0.01

#: Most windows on each side that smoothing may average.
MAX_SMOOTH = 1000

#: Percentile of the frame levels taken as the recording's speech level.
REFERENCE_PERCENTILE = 99.0

#: A frame is speech when its level is within this many dB of the
#: recording's speech level (and above ``floor_dbfs``); the default of
#: ``vad_threshold_db``.
VAD_THRESHOLD_DB = 35.0

#: Seconds of audio read on each side of a block's windows, so no window's
#: contours are cut at a block edge.
CONTEXT = 0.5

#: Seconds read at a time by the level pass (fixed, so the voice activity
#: does not depend on ``block``).
_LEVEL_BLOCK = 60.0

_PROB = "prob_"

#: The feature that tells whether Praat found a voiced frame.
VOICED = "voiced__fraction"


def model_analysis(model: Any) -> tuple[FeatureSet, AnalysisSettings, list[str]]:
    """Return the feature set, settings and column names a model was trained on."""
    check_is_fitted(model)
    if not hasattr(model, "predict_proba"):
        raise ParameterError(
            "the model gives no probabilities (trained with probability=False); "
            "train it with probability=True to draw a timeline"
        )
    extractor = getattr(model, "extractor_", None)
    names = getattr(model, "feature_names_in_", None)
    if extractor is not None:
        fs = get_feature_set(extractor.feature_set)
        settings = extractor.settings()
        columns = fs.feature_names(settings.n_mfcc, settings.n_mels)
        if names is None or list(names) == columns:
            return fs, settings, columns
        part = fs.restricted_to(list(names), settings.n_mfcc, settings.n_mels)
        if part is None:
            changed = sorted(set(names) ^ set(columns)) or ["their order"]
            raise ParameterError(
                f"the model was trained on {len(names)} features, but feature "
                f"set {fs.name!r} now gives {len(columns)} (differing: "
                f"{', '.join(changed[:3])}{', ...' if len(changed) > 3 else ''}): "
                "the set changed since the model was trained; retrain the "
                "model with this version of sertk"
            )
        return part, settings, list(names)  # the set gained columns since
    if names is None:
        raise ParameterError(
            "the model was trained on an array without column names, so its "
            "features are unknown; train it on audio paths, or on a DataFrame "
            "of a built-in feature set (sertk.features.extractor.FeatureExtractor)"
        )
    settings = AnalysisSettings()
    for fs in FEATURE_SETS.values():
        if list(names) == fs.feature_names(settings.n_mfcc, settings.n_mels):
            return fs, settings, list(names)
    for fs in FEATURE_SETS.values():  # a set that gained columns since
        part = fs.restricted_to(list(names), settings.n_mfcc, settings.n_mels)
        if part is not None:
            return part, settings, list(names)
    raise ParameterError(
        f"the model's {len(names)} feature columns (from {names[0]!r}) are not "
        f"those of a built-in feature set ({', '.join(FEATURE_SETS)}) with the "
        "default analysis settings; train it on audio paths, or on a table "
        "extracted with one of those sets"
    )


def check_options(window, hop, smooth, vad_threshold_db, min_speech, block,
                  n_jobs) -> None:
    """Refuse timeline options out of range (see :func:`predict_timeline`).

    Raises
    ------
    ParameterError
        Naming the option, its value and the range.
    """
    def number(value) -> bool:
        return isinstance(value, Real) and not isinstance(value, bool) and (
            math.isfinite(value))

    if not (number(window) and MIN_DURATION <= window <= MAX_DURATION):
        raise ParameterError(
            f"window={window!r} must be a number of seconds from {MIN_DURATION:g} "
            f"(the shortest recording sertk analyses) to {MAX_DURATION:g}"
        )
    if not (number(hop) and MIN_HOP <= hop <= window):
        raise ParameterError(
            f"hop={hop!r} must be a number of seconds from {MIN_HOP:g} to "
            f"window={window}; a larger hop would leave audio unanalysed"
        )
    _check_smooth(smooth)
    if not (number(vad_threshold_db) and vad_threshold_db > 0):
        raise ParameterError(
            f"vad_threshold_db={vad_threshold_db!r} must be a number of dB > 0"
        )
    if not (number(min_speech) and 0 <= min_speech <= 1):
        raise ParameterError(f"min_speech={min_speech!r} must be in [0, 1]")
    if not (number(block) and block > 0):
        raise ParameterError(f"block={block!r} must be a number of seconds > 0")
    if not (isinstance(n_jobs, Integral) and not isinstance(n_jobs, bool)
            and n_jobs != 0):
        raise ParameterError(
            f"n_jobs={n_jobs!r} must be a whole number of workers, not 0 "
            "(-1 for all cores)"
        )


def _check_smooth(smooth) -> None:
    if not (isinstance(smooth, Integral) and not isinstance(smooth, bool)
            and 0 <= smooth <= MAX_SMOOTH):
        raise ParameterError(
            f"smooth={smooth!r} must be a whole number from 0 to {MAX_SMOOTH} "
            "(windows on each side)"
        )


def with_voicing(fs: FeatureSet) -> FeatureSet:
    """Return ``fs``, with ``voiced__fraction`` added when it lacks it."""
    if VOICED in fs.descriptors:
        return fs
    return dataclasses.replace(fs, descriptors=(*fs.descriptors, VOICED))


def frame_levels(path: str, settings: AnalysisSettings) -> tuple[np.ndarray, int]:
    """Return the level (dBFS) of each ``hop_length`` frame, and the samples read.

    A frame's level is the RMS of its samples less their mean (its AC
    level), so a DC offset does not read as sound.
    """
    hop = settings.hop_length
    rms: list[np.ndarray] = []
    carry = np.empty(0)
    n_samples = 0
    for _, block in iter_blocks(path, _LEVEL_BLOCK, sr=settings.sr):
        n_samples += block.size
        x = np.concatenate([carry, block])
        whole = x.size // hop * hop
        rms.append(x[:whole].reshape(-1, hop).std(axis=1))
        carry = x[whole:]
    if carry.size:
        rms.append(np.array([carry.std()]))
    if not rms:
        raise AudioError("too short to analyse (under 0.1 s)", path)
    levels = np.concatenate(rms)
    return 20 * np.log10(np.maximum(levels, 1e-10)), n_samples


def _speech_level(levels: np.ndarray, floor_dbfs: float) -> float:
    """Return the speech level in dBFS (``floor_dbfs`` when all is silent)."""
    loud = levels[levels > floor_dbfs]
    if loud.size == 0:
        return floor_dbfs
    return float(np.percentile(loud, REFERENCE_PERCENTILE))


def speech_mask(levels: np.ndarray, reference: float, floor_dbfs: float,
                vad_threshold_db: float) -> np.ndarray:
    """Return the voice activity of frames: above the floor, near the speech level."""
    return levels > max(reference - vad_threshold_db, floor_dbfs)


def speech_frames(levels: np.ndarray, floor_dbfs: float,
                  vad_threshold_db: float) -> tuple[np.ndarray, float]:
    """Return the voice activity mask of the frames, and the speech level.

    A frame is speech when above ``floor_dbfs`` and within
    ``vad_threshold_db`` of the speech level (the
    :data:`REFERENCE_PERCENTILE`-th percentile of the frames above the floor).

    Examples
    --------
    >>> mask, level = speech_frames(np.array([-90.0, -20.0, -22.0]), -60.0, 35.0)
    >>> mask.tolist(), round(level, 2)
    ([False, True, True], -20.02)
    """
    reference = _speech_level(levels, floor_dbfs)
    return speech_mask(levels, reference, floor_dbfs, vad_threshold_db), reference


def active_settings(settings: AnalysisSettings, reference: float) -> AnalysisSettings:
    """Return settings whose active frames are those near speech level ``reference``.

    Relative to the recording's (or stream's) level, not to the loudest frame
    of the audio analysed at once.
    """
    return dataclasses.replace(
        settings,
        silence_db=math.inf,
        floor_dbfs=max(settings.floor_dbfs, reference - settings.silence_db),
    )


def window_bounds(duration: float, window: float, hop: float) -> np.ndarray:
    """Return ``(start, end)`` of the windows covering ``[0, duration]``, every hop."""
    n = 1
    if duration > window + 1e-6:  # a remainder under 1 us gets no window
        n += math.ceil((duration - window - 1e-6) / hop)
    starts = np.round(np.arange(n) * hop, 6)
    return np.column_stack([starts, np.minimum(np.round(starts + window, 6),
                                               duration)])


def speech_fractions(speech: np.ndarray, bounds: np.ndarray, frame: float,
                     first: int = 0) -> np.ndarray:
    """Share of speech frames (those centred in the window) of each window.

    ``speech[0]`` is frame ``first`` of the recording; the windows must not
    hold earlier frames.
    """
    counts = np.concatenate([[0], np.cumsum(speech)])
    lo = np.clip(np.floor(bounds[:, 0] / frame + 0.5 + 1e-9).astype(int) - first,
                 0, speech.size)
    hi = np.clip(np.floor(bounds[:, 1] / frame + 0.5 + 1e-9).astype(int) - first,
                 0, speech.size)
    return (counts[hi] - counts[lo]) / np.maximum(hi - lo, 1)


def _blocks(
    todo: np.ndarray, bounds: np.ndarray, per_block: int, duration: float,
    settings: AnalysisSettings,
) -> Iterator[tuple[np.ndarray, float, float]]:
    """Group the windows to analyse by block: (indices, read start, read end)."""
    frame = settings.hop_seconds
    for first in range(0, len(bounds), per_block):
        rows = todo[(todo >= first) & (todo < first + per_block)]
        if rows.size == 0:
            continue
        # start on the frame grid, so frames fall alike in every block
        start = max(0.0, math.floor((bounds[rows[0], 0] - CONTEXT) / frame) * frame)
        end = min(duration, bounds[rows[-1], 1] + CONTEXT)
        yield rows, round(start, 6), end


def _block_features(
    path: str, start: float, end: float, windows: np.ndarray, fs: FeatureSet,
    settings: AnalysisSettings,
) -> np.ndarray:
    x = load(path, settings.sr, start=start, end=end)
    table = extract_windows(x, settings.sr, np.maximum(windows - start, 0.0),
                            feature_set=fs, settings=settings)
    return table.to_numpy()


def _speech_windows(
    name: str, fs: FeatureSet, settings: AnalysisSettings, names: list[str], *,
    window: float, hop: float, vad: bool, vad_threshold_db: float,
    min_speech: float, block: float, n_jobs: int, progress: bool | str,
) -> tuple[np.ndarray, np.ndarray, Iterator[tuple[np.ndarray, pd.DataFrame]]]:
    """Cut a recording into windows and analyse those with speech, block by block.

    Returns the ``(start, end)`` of every window, the speech fraction of
    each, and an iterator giving, a block at a time, the indices of its
    speech windows and their features (columns ``names``). With ``vad``
    False, every window counts as speech.
    """
    levels, n_samples = frame_levels(name, settings)
    duration = n_samples / settings.sr
    speech, reference = speech_frames(levels, settings.floor_dbfs,
                                       vad_threshold_db)
    bounds = window_bounds(duration, window, hop)
    fraction = speech_fractions(speech, bounds, settings.hop_seconds)
    todo = np.flatnonzero(fraction >= min_speech) if vad else np.arange(len(bounds))
    analysed = with_voicing(fs)
    position = {c: i for i, c in
                enumerate(analysed.feature_names(settings.n_mfcc, settings.n_mels))}
    columns = [position[c] for c in names]
    settings = active_settings(settings, reference)
    blocks = list(_blocks(todo, bounds, max(1, round(block / hop)), duration,
                          settings))

    def speech_blocks() -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
        tasks = (
            joblib.delayed(_block_features)(name, start, end, bounds[rows],
                                            analysed, settings)
            for rows, start, end in blocks
        )
        if n_jobs == 1 or len(blocks) <= 1:
            outputs = (function(*args, **kwargs) for function, args, kwargs in tasks)
        else:
            outputs = joblib.Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
        with tqdm(total=len(blocks), unit="block", desc=os.path.basename(name),
                  disable=not show_progress(progress)) as bar:
            for (rows, _, _), values in zip(blocks, outputs, strict=True):
                # without a voiced frame a window is silent, as a file is
                voiced = values[:, position[VOICED]] > 0 if vad else np.ones(
                    len(rows), dtype=bool)
                if voiced.any():
                    yield rows[voiced], pd.DataFrame(values[voiced][:, columns],
                                                     columns=names)
                bar.update(1)

    return bounds, fraction, speech_blocks()


def predict_timeline(
    model: Any,
    path: str | os.PathLike,
    *,
    window: float = 2.0,
    hop: float = 0.5,
    smooth: int = 0,
    vad: bool = True,
    vad_threshold_db: float = VAD_THRESHOLD_DB,
    min_speech: float = 0.5,
    block: float = 60.0,
    adapt: str = "none",
    reference: Sequence[str | os.PathLike] | pd.DataFrame | None = None,
    n_jobs: int = 1,
    progress: bool | str = "auto",
) -> pd.DataFrame:
    """Classify the emotion of a long recording window by window.

    The file is read block by block (never whole), windows without enough
    speech are skipped, and each other window is classified from the
    features of its frames, unless Praat finds no voiced frame in it; see the
    module documentation for the details. Both kinds of window without
    speech are *silent*: labelled :data:`SILENCE`, with NaN probabilities.

    Parameters
    ----------
    model : EmotionClassifier
        A fitted classifier with probabilities, trained on audio (it has
        ``extractor_``) or on the columns of a built-in feature set extracted
        with the default analysis settings.
    path : str or os.PathLike
        The recording; any format :func:`sertk.audio.reading.load` reads.
    window : float in [MIN_DURATION, MAX_DURATION], default=2.0
        Window length in seconds. The bundled timeline model
        (:data:`sertk.io.model_files.TIMELINE_MODEL`) was trained on 2 s windows
        and whole utterances of 1.5-4 s; much shorter windows give noisier
        features.
    hop : float in [MIN_HOP, window], default=0.5
        Seconds between window starts.
    smooth : int in [0, MAX_SMOOTH], default=0
        Average each speech window's probabilities with those of the speech
        windows up to ``smooth`` places before and after it
        (:func:`smooth_timeline`); 0 leaves them as they are.
    vad : bool, default=True
        Label silent windows :data:`SILENCE`: those with a ``speech_fraction``
        under ``min_speech`` (not analysed), and those without a voiced frame.
        With False every window is classified (its ``speech_fraction`` is
        still reported).
    vad_threshold_db : float > 0, default=35.0
        A frame is speech when its level is within this many dB of the
        recording's speech level. Lower it (25) when other talkers in the
        background, about 20 dB or more under the speaker, are taken for
        speech (steady noise is mostly left out by the voicing test); raise
        it (40) when quiet passages are missed in clean recordings.
    min_speech : float in [0, 1], default=0.5
        Share of speech frames below which a window is silent.
    block : float > 0, default=60.0
        Seconds of windows analysed at a time (read with the window length
        and 2 x :data:`CONTEXT` s more); memory grows with it, by about
        2 MB a second of block with the default feature set.
    adapt : {"none", "batch"}, default="none"
        Whose statistics z-score the windows before the model sees them, for
        a model trained with adaptation
        (:mod:`sertk.models.adaptation`): the training corpora's ("none"), or
        this recording's own speech windows ("batch": they are analysed
        first and adapted together, so it assumes the recording mixes
        emotions; one of a single emotion, z-scored on itself, loses its
        level; fewer than 10 speech windows fall back to "none" with a
        warning). A recording is one speaker: for per-speaker adaptation use
        "batch" or ``reference``.
    reference : sequence of paths, or DataFrame, optional
        Recordings of the same speaker or setting (neutral speech is best, a
        minute is enough) whose speech windows anchor the adaptation instead,
        or their window features from :func:`reference_windows` (compute
        them once for many recordings).
    n_jobs : int, default=1
        Worker processes analysing blocks (joblib's convention: -1 means all
        cores); the rows are identical whatever the value.
    progress : bool or "auto", default="auto"
        Show a progress bar of the blocks ("auto": when standard error is a
        terminal).

    Returns
    -------
    pd.DataFrame
        One row a window, in time order: ``path``, ``start`` and ``end``
        (seconds; windows start every ``hop`` seconds until one reaches the
        end of the file, and the last is cut short there), ``speech_fraction``
        (share of the window's 10 ms frames at speech level, by level alone:
        a window of loud hum has 1 and is still silent),
        ``label`` (the most probable class, or :data:`SILENCE`),
        ``out_of_distribution`` (True where the window is unlike the
        model's training data, so that its fallback gave the probabilities:
        see :meth:`~sertk.models.classifier.EmotionClassifier.out_of_distribution`;
        missing in silent windows), ``arousal`` and ``valence`` (in [-1, 1];
        only from a model trained with ``dimensions``; NaN in silent
        windows) and one ``prob_<class>`` column a class
        in the order of ``model.classes_`` (NaN in silent windows).

    Raises
    ------
    AudioError
        If the file cannot be read, or holds less than 0.1 s of audio.
    ParameterError
        If an option is out of range, or the model gives no probabilities,
        has a class named :data:`SILENCE` (with ``vad``), or was trained on
        other features than a built-in feature set gives now; if ``adapt``
        or ``reference`` is given to a model trained without adaptation, or
        no ``reference`` recording holds a speech window.
    sklearn.exceptions.NotFittedError
        If the model is not fitted.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> from sertk.models.classifier import EmotionClassifier
    >>> from sertk.features.extractor import extract_windows
    >>> sr, rng = 16000, np.random.default_rng(0)
    >>> t = np.arange(8 * sr) / sr
    >>> low = 0.3 * np.sin(2 * np.pi * 120 * t)
    >>> high = 0.3 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.normal(size=t.size)
    >>> spans = [(s, s + 1.0) for s in np.arange(0, 7, 0.5)]
    >>> X = pd.concat([extract_windows(x, sr, spans, feature_set="minimal")
    ...                for x in (low, high)])
    >>> y = ["calm"] * len(spans) + ["anger"] * len(spans)
    >>> model = EmotionClassifier(speaker_norm=False).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "talk.wav")
    >>> sf.write(path, np.concatenate([low[:3 * sr], np.zeros(3 * sr),
    ...                                high[:3 * sr]]), sr)
    >>> timeline = predict_timeline(model, path, window=1.0, hop=1.0,
    ...                             progress=False)
    >>> timeline["label"].tolist()
    ['calm', 'calm', 'calm', 'silence', 'silence', 'silence', 'anger', 'anger', 'anger']
    """
    check_options(window, hop, smooth, vad_threshold_db, min_speech, block, n_jobs)
    _check_timeline_adapt(adapt)
    name = os.fspath(path)
    fs, settings, names = model_analysis(model)
    classes = timeline_classes(model, vad)
    options = dict(window=window, hop=hop, vad_threshold_db=vad_threshold_db,
                   min_speech=min_speech, block=block, n_jobs=n_jobs)
    if reference is not None and not isinstance(reference, pd.DataFrame):
        reference = reference_windows(model, reference, progress=progress,
                                      **options)
    bounds, fraction, speech_blocks = _speech_windows(
        name, fs, settings, names, vad=vad, progress=progress, **options)
    if adapt == "batch" or reference is not None:
        # the windows are adapted together: all of them first
        blocks = list(speech_blocks)
        rows = np.concatenate([r for r, _ in blocks]) if blocks else []
        outputs = [(rows, window_outputs(
            model, pd.concat([X for _, X in blocks], ignore_index=True), adapt,
            reference))] if blocks else []
    else:
        outputs = [(rows, window_outputs(model, X)) for rows, X in speech_blocks]
    timeline = timeline_table(name, bounds, fraction, outputs, classes,
                              dimensions=hasattr(model, "dimension_model_"))
    return smooth_timeline(timeline, smooth) if smooth else timeline


def _check_timeline_adapt(adapt: Any) -> None:
    if adapt not in ("none", "batch"):
        raise ParameterError(
            f"adapt must be 'none' or 'batch' for a timeline, got {adapt!r}: a "
            "recording is one speaker, so 'batch' (its own speech windows) or a "
            "reference adapts to that speaker")


def reference_windows(
    model: Any,
    paths: Sequence[str | os.PathLike],
    *,
    window: float = 2.0,
    hop: float = 0.5,
    vad_threshold_db: float = VAD_THRESHOLD_DB,
    min_speech: float = 0.5,
    block: float = 60.0,
    n_jobs: int = 1,
    progress: bool | str = "auto",
) -> pd.DataFrame:
    """Return the features of the speech windows of reference recordings.

    The windows are cut and analysed as :func:`predict_timeline` cuts a
    recording, so their statistics match the windows they anchor. A file
    that cannot be read is left out.

    Parameters
    ----------
    model : EmotionClassifier
        The fitted classifier the timelines will use.
    paths : sequence of str or os.PathLike
        Recordings of the same speaker or setting.
    window, hop, vad_threshold_db, min_speech, block, n_jobs, progress
        As in :func:`predict_timeline`.

    Returns
    -------
    pd.DataFrame
        One row a speech window, the model's feature columns.

    Raises
    ------
    ParameterError
        If no recording holds a speech window.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> from sertk.models.classifier import EmotionClassifier
    >>> from sertk.features.extractor import extract_windows
    >>> sr = 16000
    >>> t = np.arange(3 * sr) / sr
    >>> low, high = (0.3 * np.sin(2 * np.pi * f * t) for f in (120, 300))
    >>> spans = [(s, s + 0.5) for s in np.arange(0, 3, 0.5)]
    >>> X = pd.concat([extract_windows(x, sr, spans, feature_set="minimal")
    ...                for x in (low, high)])
    >>> y = ["calm"] * 6 + ["anger"] * 6
    >>> model = EmotionClassifier(speaker_norm=False).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "calm.wav")
    >>> sf.write(path, low, sr)
    >>> reference_windows(model, [path], window=0.5, hop=0.5,
    ...                   progress=False).shape[0]
    6
    """
    check_options(window, hop, 0, vad_threshold_db, min_speech, block, n_jobs)
    fs, settings, names = model_analysis(model)
    tables = []
    for path in paths:
        try:
            windows = window_features(
                path, fs, settings, window=window, hop=hop,
                vad_threshold_db=vad_threshold_db, min_speech=min_speech,
                block=block, n_jobs=n_jobs, progress=progress)
        except AudioError:
            continue
        if len(windows):
            tables.append(windows[names])
    if not tables:
        raise ParameterError(
            f"none of the {len(paths)} reference file(s) holds a window of speech "
            "that can be analysed; give a few recordings of the same speaker or "
            "setting (speech, a minute is enough), or leave out the reference")
    return pd.concat(tables, ignore_index=True)


def timeline_classes(model: Any, vad: bool) -> list[str]:
    """Return the model's classes as text; refuse one named :data:`SILENCE` (vad)."""
    classes = [str(c) for c in model.classes_]
    if vad and SILENCE in classes:
        raise ParameterError(
            f"the model has a class named {SILENCE!r}, which the timeline uses "
            "for silent windows; rename that class, or pass vad=False"
        )
    return classes


def window_outputs(model: Any, X: pd.DataFrame, adapt: str | None = None,
                   reference: pd.DataFrame | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return the probabilities, out-of-distribution mask and dimensions of windows.

    The dimensions (arousal, valence) are None for a model without them.
    ``adapt`` and ``reference`` are the model's (see
    :meth:`~sertk.models.classifier.EmotionClassifier.predict`).
    """
    methods = ["predict_proba"]
    if hasattr(model, "dimension_model_"):
        methods.append("predict_dimensions")
    outputs, novel = model._outputs(X, None, methods, adapt, reference)
    return outputs[0], novel, outputs[1] if len(outputs) > 1 else None


def timeline_table(
    name: str, bounds: np.ndarray, fraction: np.ndarray,
    outputs: list[tuple[np.ndarray, tuple]],
    classes: list[str],
    *,
    dimensions: bool = False,
) -> pd.DataFrame:
    """Build a timeline's rows from its windows and the outputs of the speech ones.

    ``outputs`` holds, for groups of windows (their indices in ``bounds``),
    what :func:`window_outputs` gives for them; other windows are silent.
    With ``dimensions``, ``arousal`` and ``valence`` columns follow
    ``out_of_distribution`` (NaN in silent windows).
    """
    proba = np.full((len(bounds), len(classes)), np.nan)
    novel = pd.array([pd.NA] * len(bounds), dtype="boolean")
    dims = np.full((len(bounds), len(DIMENSIONS)), np.nan)
    for rows, (p, n, *rest) in outputs:
        proba[rows], novel[rows] = p, n
        if dimensions and rest and rest[0] is not None:
            dims[rows] = rest[0]
    timeline = pd.DataFrame({"path": name, "start": bounds[:, 0],
                             "end": bounds[:, 1], "speech_fraction": fraction})
    timeline["label"] = _labels(proba, classes)
    timeline["out_of_distribution"] = novel
    if dimensions:
        for j, dimension in enumerate(DIMENSIONS):
            timeline[dimension] = dims[:, j]
    for i, c in enumerate(classes):
        timeline[_PROB + c] = proba[:, i]
    return timeline


def window_features(
    path: str | os.PathLike,
    feature_set: str | FeatureSet = "default",
    settings: AnalysisSettings | None = None,
    *,
    window: float = 2.0,
    hop: float = 0.5,
    vad_threshold_db: float = VAD_THRESHOLD_DB,
    min_speech: float = 0.5,
    block: float = 60.0,
    n_jobs: int = 1,
    progress: bool | str = "auto",
) -> pd.DataFrame:
    """Return the features of a recording's speech windows, as a timeline sees them.

    The windows, the voice activity detection and the analysis are those of
    :func:`predict_timeline` (see the module documentation); the silent
    windows are left out. Rows of a model's feature set and settings, so
    that a model can be trained on the windows it will classify, such as the
    windows of each training recording labelled with its emotion.

    Parameters
    ----------
    path : str or os.PathLike
        The recording; any format :func:`sertk.audio.reading.load` reads.
    feature_set : str or FeatureSet, default="default"
        The feature set (a model trained on audio has it in
        ``model.extractor_.feature_set``).
    settings : AnalysisSettings, optional
        Analysis parameters (``model.extractor_.settings()``); the defaults
        when omitted.
    window, hop, vad_threshold_db, min_speech, block, n_jobs, progress
        As in :func:`predict_timeline`.

    Returns
    -------
    pd.DataFrame
        One row a speech window, in time order: ``path``, ``start``,
        ``end``, ``speech_fraction``, then the feature set's columns.

    Raises
    ------
    AudioError
        If the file cannot be read, or holds less than 0.1 s of audio.
    ParameterError
        If an option, the feature set or a setting is invalid.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> sr = 16000
    >>> t = np.arange(3 * sr) / sr
    >>> tone = 0.3 * np.sin(2 * np.pi * 200 * t)
    >>> path = os.path.join(tempfile.mkdtemp(), "tone-and-pause.wav")
    >>> sf.write(path, np.concatenate([tone, np.zeros(2 * sr)]), sr)
    >>> rows = window_features(path, "minimal", window=1.0, hop=1.0,
    ...                        progress=False)
    >>> rows[["start", "end"]].values.tolist(), rows.shape[1]
    ([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]], 118)
    """
    check_options(window, hop, 0, vad_threshold_db, min_speech, block, n_jobs)
    fs = get_feature_set(feature_set)
    settings = settings or AnalysisSettings()
    fs.validate(settings.n_mfcc, settings.n_mels)
    names = fs.feature_names(settings.n_mfcc, settings.n_mels)
    name = os.fspath(path)
    bounds, fraction, speech_blocks = _speech_windows(
        name, fs, settings, names, window=window, hop=hop, vad=True,
        vad_threshold_db=vad_threshold_db, min_speech=min_speech, block=block,
        n_jobs=n_jobs, progress=progress)
    rows, features = [np.empty(0, dtype=int)], [pd.DataFrame(columns=names)]
    for block_rows, X in speech_blocks:
        rows.append(block_rows)
        features.append(X)
    rows = np.concatenate(rows)
    windows = pd.DataFrame({"path": name, "start": bounds[rows, 0],
                            "end": bounds[rows, 1], "speech_fraction": fraction[rows]})
    X = pd.concat(features, ignore_index=True).astype(np.float64)
    return pd.concat([windows, X], axis=1)


def _labels(proba: np.ndarray, classes: list[str]) -> np.ndarray:
    """Most probable class of each row; :data:`SILENCE` where all are NaN."""
    labels = np.full(len(proba), SILENCE, dtype=object)
    speech = ~np.isnan(proba).any(axis=1)
    labels[speech] = np.asarray(classes, dtype=object)[proba[speech].argmax(axis=1)]
    return labels


def _prob_columns(timeline: pd.DataFrame) -> list[str]:
    columns = [c for c in timeline.columns if str(c).startswith(_PROB)]
    missing = [c for c in ("path", "start", "end", "label") if c not in timeline]
    if missing or not columns:
        raise ParameterError(
            f"not a timeline: it lacks {missing or 'prob_<class> columns'}; "
            "make one with predict_timeline"
        )
    return columns


def smooth_timeline(timeline: pd.DataFrame, smooth: int, *,
                    causal: bool = False) -> pd.DataFrame:
    """Average each window's probabilities with its neighbours'.

    Each speech window (one with probabilities) gets the mean probabilities
    of the speech windows up to ``smooth`` rows before and after it in the
    same file (before it only, when ``causal``), itself included; silent
    windows take no part and stay silent. Labels become the most probable
    class of the averaged probabilities.

    Parameters
    ----------
    timeline : pd.DataFrame
        A table from :func:`predict_timeline` (rows of a file in time order).
    smooth : int >= 0
        Rows on each side; 0 returns a copy unchanged.
    causal : bool, default=False
        Average with the rows before only, as a live stream must (no
        look-ahead): a row's smoothed value never changes once written.

    Returns
    -------
    pd.DataFrame
        A smoothed copy.

    Raises
    ------
    ParameterError
        If ``smooth`` is not a whole number >= 0, or ``timeline`` lacks the
        columns of a timeline.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"path": "a.wav", "start": [0.0, 1.0, 2.0],
    ...                       "end": [1.0, 2.0, 3.0], "label": "x",
    ...                       "prob_x": [1.0, float("nan"), 0.0],
    ...                       "prob_y": [0.0, float("nan"), 1.0]})
    >>> smooth_timeline(table, 1)["prob_x"].tolist()
    [1.0, nan, 0.0]
    >>> smooth_timeline(table, 2)["prob_x"].tolist()
    [0.5, nan, 0.5]
    >>> smooth_timeline(table, 2, causal=True)["prob_x"].tolist()
    [1.0, nan, 0.5]
    """
    _check_smooth(smooth)
    columns = _prob_columns(timeline)
    out = timeline.copy()
    if smooth == 0:
        return out
    classes = [c[len(_PROB):] for c in columns]
    dims = [c for c in DIMENSIONS if c in out.columns]
    proba = out[columns + dims].to_numpy(dtype=float, copy=True)
    labels = out["label"].to_numpy(dtype=object, copy=True)
    after = 0 if causal else smooth
    width = smooth + 1 + after
    for rows in out.groupby("path", sort=False).indices.values():
        speech = ~np.isnan(proba[rows, :len(columns)]).any(axis=1)
        padded = np.pad(np.where(speech[:, None], np.nan_to_num(proba[rows]), 0.0),
                        ((smooth, after), (0, 0)))
        sums = np.lib.stride_tricks.sliding_window_view(padded, width, axis=0)
        counts = np.lib.stride_tricks.sliding_window_view(
            np.pad(speech.astype(float), (smooth, after)), width).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(speech[:, None], sums.sum(axis=2) / counts[:, None],
                            np.nan)
        proba[rows] = mean
        labels[rows] = _labels(mean[:, :len(columns)], classes)
    out[columns + dims] = proba
    out["label"] = labels
    return out


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(first, last)`` row of each run of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1,
                    strict=True))


def _novel_windows(timeline: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the windows flagged ``out_of_distribution``."""
    if "out_of_distribution" not in timeline:
        return np.zeros(len(timeline), dtype=bool)
    return timeline["out_of_distribution"].fillna(False).to_numpy(dtype=bool)


def _dimension_track(ax: Any, timeline: pd.DataFrame, dims: list[str],
                     edges: np.ndarray, speech: np.ndarray, step: float,
                     centre: np.ndarray) -> None:
    """Draw arousal and valence as steps over time, silence shaded grey."""
    styles = {"arousal": ("tab:red", "-"), "valence": ("tab:blue", "--")}
    for dim in dims:
        values = timeline[dim].to_numpy(dtype=float)
        colour, line = styles.get(dim, ("black", ":"))
        ax.plot(edges, np.where(speech, values, np.nan).repeat(2), color=colour,
                linestyle=line, label=dim)
    for first, last in _spans(~speech):
        ax.axvspan(centre[first] - step / 2, centre[last] + step / 2,
                   color="0.85", linewidth=0)
    ax.axhline(0, color="0.5", linewidth=0.5)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("dimension")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def _clock(seconds: float, _position: Any = None) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def plot_timeline(
    timeline: pd.DataFrame, path: str | os.PathLike, *, title: str | None = None
) -> Path:
    """Draw a timeline: class probabilities over time and the top label.

    When the timeline has ``arousal`` and ``valence`` columns, a panel
    below the probabilities draws them as lines in [-1, 1]. The lower panel
    stacks the probabilities of the classes (one colour a
    class) at each window's centre; silent stretches are shaded grey. The
    strip above shows the label of each window, hatched where the window
    was out of distribution (its ``out_of_distribution`` is True). The
    figure is drawn with matplotlib's Agg renderer (no display needed) and
    written atomically: to a temporary file beside ``path`` that then
    replaces it.

    Parameters
    ----------
    timeline : pd.DataFrame
        The rows of one file from :func:`predict_timeline`.
    path : str or os.PathLike
        Image to write; its ending chooses the format (``.png``, ``.pdf``,
        ``.svg``, ...). Its folder must exist.
    title : str, optional
        Figure title; the recording's file name when omitted.

    Returns
    -------
    pathlib.Path
        The image written.

    Raises
    ------
    ParameterError
        If ``timeline`` is empty, holds several files, or lacks the columns
        of a timeline, or ``path`` has an ending matplotlib cannot write.
    OSError
        If the folder of ``path`` does not exist or is not writable.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> table = pd.DataFrame({"path": "a.wav", "start": [0.0, 0.5, 1.0],
    ...                       "end": [2.0, 2.5, 3.0], "label": ["x", "silence", "y"],
    ...                       "prob_x": [0.8, float("nan"), 0.3],
    ...                       "prob_y": [0.2, float("nan"), 0.7]})
    >>> plot_timeline(table, os.path.join(tempfile.mkdtemp(), "t.png")).name
    't.png'
    """
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MultipleLocator

    columns = _prob_columns(timeline)
    files = timeline["path"].unique()
    if len(files) != 1:
        raise ParameterError(
            f"the timeline holds {len(files)} files; plot one at a time, e.g. "
            "timeline[timeline['path'] == name]"
        )
    target = Path(path)
    fmt = target.suffix.lstrip(".").lower()
    dims = [c for c in DIMENSIONS if c in timeline.columns]
    figure = Figure(figsize=(12, 6.4 if dims else 4.8), layout="constrained")
    if fmt not in figure.canvas.get_supported_filetypes():
        raise ParameterError(
            f"cannot write a figure as {target.name!r}; end the name in one of "
            f".{', .'.join(sorted(figure.canvas.get_supported_filetypes()))}"
        )
    start = timeline["start"].to_numpy(dtype=float)
    end = timeline["end"].to_numpy(dtype=float)
    centre = (start + end) / 2
    step = float(np.median(np.diff(start))) if len(start) > 1 else end[0] - start[0]
    proba = timeline[columns].to_numpy(dtype=float)
    speech = ~np.isnan(proba).any(axis=1)
    classes = [c[len(_PROB):] for c in columns]
    cmap = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
    colours = {c: cmap(i % cmap.N) for i, c in enumerate(classes)}
    grey = "0.85"

    panels = figure.subplots(2 + bool(dims), 1, sharex=True,
                             gridspec_kw={"height_ratios": [1, 6, 3][:2 + bool(dims)]})
    strip, axes = panels[0], panels[1]
    # each window drawn as a flat step one hop wide around its centre
    edges = np.column_stack([centre - step / 2, centre + step / 2]).ravel()
    lower = np.zeros(len(proba))
    for i, c in enumerate(classes):
        upper = lower + np.nan_to_num(proba[:, i])
        axes.fill_between(edges, lower.repeat(2), upper.repeat(2),
                          where=speech.repeat(2), color=colours[c], linewidth=0)
        lower = upper
    for first, last in _spans(~speech):
        for ax in (axes, strip):
            ax.axvspan(centre[first] - step / 2, centre[last] + step / 2,
                       color=grey, linewidth=0)
    labels = timeline["label"].astype(str).to_numpy()
    for label in dict.fromkeys(labels[speech]):
        runs = _spans(labels == label)
        strip.broken_barh(
            [(centre[a] - step / 2, centre[b] - centre[a] + step) for a, b in runs],
            (0, 1), color=colours.get(label, "black"), linewidth=0)
    novel = _novel_windows(timeline)
    for first, last in _spans(novel):
        strip.axvspan(centre[first] - step / 2, centre[last] + step / 2,
                      facecolor="none", edgecolor="black", hatch="////",
                      linewidth=0)
    strip.set_yticks([])
    strip.set_ylabel("label", rotation=0, ha="right", va="center")
    axes.set_ylim(0, 1)
    axes.set_xlim(0, float(end.max()))
    axes.set_ylabel("probability")
    if dims:
        _dimension_track(panels[2], timeline, dims, edges, speech, step, centre)
    bottom = panels[-1]  # the time axis is labelled on the lowest panel
    if end.max() > 120:
        ticks = [t for t in (30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
                 if end.max() / t <= 12]  # round clock times, at most 12
        if ticks:
            bottom.xaxis.set_major_locator(MultipleLocator(ticks[0]))
        bottom.xaxis.set_major_formatter(_clock)
        bottom.set_xlabel("time (h:mm:ss)" if end.max() >= 3600 else "time (m:ss)")
    else:
        bottom.set_xlabel("time (s)")
    handles = [Patch(color=colours[c], label=c) for c in classes]
    handles.append(Patch(color=grey, label=SILENCE))
    if novel.any():
        handles.append(Patch(facecolor="none", edgecolor="black", hatch="////",
                             label="out of distribution"))
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                frameon=False)
    figure.suptitle(title if title is not None else os.path.basename(str(files[0])))

    with OutputLock(target), atomic_output(target) as temporary:
        figure.savefig(temporary, format=fmt, dpi=100)
    return target
