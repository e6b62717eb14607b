"""Per-file predictions: one row a file, and ``silence`` for files without speech.

:func:`predict_files` extracts the features of each file with the model's
extractor, measures how much of the file is speech, and classifies the files
that hold speech; :meth:`sertk.models.classifier.EmotionClassifier.predict_files`
is the same as a method. It is what ``sertk-predict`` prints per file, as
:func:`sertk.timeline.windows.predict_timeline` is what it prints per window.

When a file has no speech
-------------------------
An emotion classifier names an emotion for any row it is given: the bundled
model calls digital silence, a DC offset and white noise alike "disgust"
(p = 0.75). With ``vad=True`` (the default) a file has no speech, and gets
the label :data:`~sertk.timeline.windows.SILENCE` with NaN probabilities instead of
a class, when

- no frame of it is speech by the voice activity detection of
  :mod:`sertk.timeline.windows` (``speech_fraction`` is 0): none of its 10 ms frames
  is louder than the model's ``floor_dbfs``, -70 dBFS by default, once the
  frame's mean is removed (so a constant DC offset is silent by level); or
- Praat finds no voiced frame in it (``voiced__fraction`` is 0, extracted
  with the model's features, and added to them for this when the model's
  feature set lacks it): without a pitch there are none of the pitch,
  voice-quality and voiced-frame features emotions are told by. This covers
  what is loud but not a voice: hum below ``f0_min``, steady noise, clicks.
  A timeline applies the same rule to each window.

``speech_fraction`` is the share of the file's 10 ms frames that are speech
by that voice activity detection, as in a timeline: frames whose level
(RMS less the frame's mean) is within
:data:`~sertk.timeline.windows.VAD_THRESHOLD_DB` (35 dB) of the file's speech level
(the :data:`~sertk.timeline.windows.REFERENCE_PERCENTILE`-th percentile of its frame
levels above the floor) and above the floor. Relative to the file's own
level, it is above 0 for anything louder than the floor, noise included: it
tells how much of a file is at speech level, and only its 0 decides. A
file whose analysis fails gets an ``error`` and no label.

Examples
--------
>>> import os, tempfile
>>> import numpy as np, soundfile as sf
>>> from sertk.models.classifier import EmotionClassifier
>>> sr, rng, folder = 16000, np.random.default_rng(0), tempfile.mkdtemp()
>>> t = np.arange(sr // 2) / sr
>>> def voice(f0):  # a harmonic tone with a little noise
...     x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in (1, 2, 3))
...     return 0.1 * x + 0.002 * rng.standard_normal(t.size)
>>> paths, labels = [], []
>>> for i in range(4):
...     for label, f0 in (("calm", 110.0), ("anger", 280.0)):
...         paths.append(os.path.join(folder, f"{label}{i}.wav"))
...         sf.write(paths[-1], voice(f0 * (1 + 0.02 * i)), sr)
...         labels.append(label)
>>> model = EmotionClassifier(feature_set="minimal", speaker_norm=False,
...                           extractor_params={"progress": False})
>>> model = model.fit(paths, labels)
>>> sf.write(os.path.join(folder, "zeros.wav"), np.zeros(sr), sr)
>>> table = predict_files(model, [paths[1], os.path.join(folder, "zeros.wav")],
...                       progress=False)
>>> table[["speech_fraction", "label"]].values.tolist()
[[1.0, 'anger'], [0.0, 'silence']]
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from ..errors import AudioError, ParameterError
from ..features.extractor import FeatureExtractor, segment_bounds
from ..features.feature_sets import get_feature_set
from ..models import explanations
from ..models.adaptation import CorpusShiftWarning, check_adapt, corpus_shift
from ..models.dimensions import DIMENSIONS
from ..settings import AnalysisSettings
from .windows import (
    SILENCE,
    VAD_THRESHOLD_DB,
    VOICED,
    frame_levels,
    speech_frames,
    with_voicing,
)

__all__ = ["predict_files"]


def _classes(model: Any, vad: bool) -> list[str]:
    """Check that ``model`` can make the table; return its classes as text."""
    check_is_fitted(model)
    if not hasattr(model, "extractor_"):
        raise ParameterError(
            "the model was trained on feature columns, not audio; predict_files "
            "needs one trained on audio paths (or extract the same features "
            "and call its predict)"
        )
    if not hasattr(model, "predict_proba"):
        raise ParameterError(
            "the model gives no probabilities (trained with probability=False); "
            "train it with probability=True"
        )
    classes = [str(c) for c in model.classes_]
    if vad and SILENCE in classes:
        raise ParameterError(
            f"the model has a class named {SILENCE!r}, which predict_files uses "
            "for files without speech; rename that class, or pass vad=False"
        )
    return classes


def _speech_fraction(path: str, settings: AnalysisSettings) -> float:
    """Share of the file's frames that are speech, as in a timeline."""
    levels, _ = frame_levels(path, settings)
    speech, _ = speech_frames(levels, settings.floor_dbfs, VAD_THRESHOLD_DB)
    return float(speech.mean())


def _extractor(model: Any, n_jobs: int, progress: bool | str) -> FeatureExtractor:
    """Return the model's extractor, made to give ``voiced__fraction`` too."""
    extractor = clone(model.extractor_).set_params(
        n_jobs=n_jobs, on_error="nan", progress=progress
    )
    fs = get_feature_set(extractor.feature_set)
    if VOICED not in fs.descriptors:
        extractor.set_params(feature_set=with_voicing(fs))
    return extractor


def _reference_rows(model: Any, reference: Sequence[str | os.PathLike],
                    n_jobs: int, vad: bool) -> pd.DataFrame:
    """Features of the reference files with speech; an error if there are none."""
    found = []
    extractor = _extractor(model, n_jobs, False)
    extracted = list(extractor.get_feature_names_out())
    names = list(model.extractor_.get_feature_names_out())
    columns = [extracted.index(name) for name in names]
    voiced = extracted.index(VOICED)
    paths = [os.fspath(p) for p in reference]
    for i, result in enumerate(extractor.iter_results(paths)):
        if result.ok and result.values[voiced] > 0 and (
                not vad or _speech_fraction(paths[i], extractor.settings()) > 0):
            found.append(result.values[columns])
    if not found:
        raise ParameterError(
            f"none of the {len(paths)} reference file(s) holds speech that can be "
            "analysed; give a few recordings of the same speaker or setting "
            "(speech, a minute is enough), or leave out the reference")
    return pd.DataFrame(np.vstack(found), columns=names)


def predict_files(
    model: Any,
    paths: Sequence[str | os.PathLike],
    *,
    vad: bool = True,
    n_jobs: int = 1,
    progress: bool | str = "auto",
    adapt: str | None = None,
    speakers: Sequence | None = None,
    reference: Sequence[str | os.PathLike] | None = None,
    explain: int = 0,
) -> pd.DataFrame:
    """Predict the emotion of each file, and ``silence`` for files without speech.

    Parameters
    ----------
    model : EmotionClassifier
        A fitted classifier trained on audio (it has ``extractor_``), with
        probabilities.
    paths : sequence of str or os.PathLike
        The audio files.
    vad : bool, default=True
        Label files without speech :data:`~sertk.timeline.windows.SILENCE` (see the
        module documentation for the rule). With False every file that can
        be analysed is classified (its ``speech_fraction`` is still given).
    n_jobs : int, default=1
        Extraction workers (joblib's convention: -1 means all cores).
    progress : bool or "auto", default="auto"
        Extraction progress bar ("auto": when standard error is a terminal).
    adapt : {"none", "batch", "speaker"}, optional
        Adaptation (:mod:`sertk.models.adaptation`): "batch" z-scores the
        files with speech with their own statistics, "speaker" each
        speaker's files (``speakers``) with theirs; see
        :meth:`~sertk.classifier.EmotionClassifier.predict`.
    speakers : sequence, optional
        Speaker id of each file, for ``adapt="speaker"``.
    reference : sequence of str or os.PathLike, optional
        Audio files of the same speaker or setting whose statistics anchor
        the normalisation (see ``adapt``).
    explain : int in [0, 20], default=0
        Explain each labelled file by its ``explain`` features that pushed
        most toward its label (:func:`sertk.models.explanations.explain`, relative
        to the training average: single files have no speaker statistics):
        an ``explanation`` column joins their phrases, and
        ``table.attrs["explanations"]`` holds explain's rows with ``path``,
        ``start`` and ``end`` columns first. 0 explains nothing.

    Returns
    -------
    pd.DataFrame
        One row a file, in input order: ``path``, ``start`` (0) and ``end``
        (the file's duration in seconds, NaN when its header cannot be
        read), the index every sertk table shares (a feature table from
        :class:`~sertk.features.extractor.FeatureExtractor` joins on them),
        ``speech_fraction`` (share of its 10 ms frames that are speech), ``label`` (from
        ``model.predict``, the SVM's decision, or
        :data:`~sertk.timeline.windows.SILENCE`), ``out_of_distribution`` (True
        where the file is unlike the training data, so that the model's
        fallback labelled it: see
        :meth:`~sertk.models.classifier.EmotionClassifier.out_of_distribution`;
        missing for files without speech), ``arousal`` and ``valence`` (in
        [-1, 1], from
        :meth:`~sertk.models.classifier.EmotionClassifier.predict_dimensions`;
        only when the model was trained with ``dimensions``; NaN for files
        without speech), one ``prob_<class>`` column a class
        in the order of ``model.classes_`` (NaN for files without speech),
        and ``error`` (why the file could not be analysed, else missing; its
        other cells are then missing too).

    Raises
    ------
    ParameterError
        If the model was trained on feature columns rather than audio, gives
        no probabilities, or (with ``vad``) has a class named
        :data:`~sertk.timeline.windows.SILENCE`; or if no ``reference`` file holds
        speech.

    Warns
    -----
    CorpusShiftWarning
        When ten files or more with speech differ from every training corpus
        in level, spectral tilt, F0 range or noise floor (named).
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    """
    classes = _classes(model, vad)
    adapt = check_adapt(adapt)
    if speakers is not None and len(speakers) != len(paths):
        raise ParameterError(
            f"speakers has {len(speakers)} ids for {len(paths)} files; give one "
            "a file")
    extractor = _extractor(model, n_jobs, progress)
    settings = extractor.settings()
    extracted = list(extractor.get_feature_names_out())
    names = list(model.extractor_.get_feature_names_out())
    columns = [extracted.index(name) for name in names]
    voiced = extracted.index(VOICED)
    paths = [os.fspath(p) for p in paths]
    fraction = np.full(len(paths), np.nan)
    bounds = np.full((len(paths), 2), np.nan)
    errors: list[str | None] = [None] * len(paths)
    labels = np.full(len(paths), None, dtype=object)
    features: dict[int, np.ndarray] = {}
    for i, result in enumerate(extractor.iter_results(paths)):
        bounds[i] = segment_bounds(result.segment)
        if not result.ok:
            errors[i] = result.error
            continue
        try:
            fraction[i] = _speech_fraction(paths[i], settings)
        except AudioError as exc:  # unreadable, or changed since extracted
            errors[i] = exc.reason
            continue
        if not vad or (fraction[i] > 0 and result.values[voiced] > 0):
            features[i] = result.values[columns]
        else:
            labels[i] = SILENCE
    proba = np.full((len(paths), len(classes)), np.nan)
    novel = pd.array([pd.NA] * len(paths), dtype="boolean")
    dimensional = hasattr(model, "dimension_model_")
    dims = np.full((len(paths), len(DIMENSIONS)), np.nan)
    reference_rows = None
    if reference is not None:
        reference_rows = _reference_rows(model, reference, n_jobs, vad)
    if features:
        rows = list(features)
        X = pd.DataFrame(np.vstack(list(features.values())), columns=names)
        adapter = getattr(model, "adapter_", None)
        if adapter is not None and reference_rows is None:
            shift = corpus_shift(adapter, X.to_numpy(), names)
            if shift:
                warnings.warn(
                    f"these {len(rows)} recordings differ from every corpus the "
                    f"model was trained on: {', '.join(shift)}; expect less "
                    "accurate labels"
                    + ("" if adapt in ("batch", "speaker") else
                       " (adapt='batch' or a reference adapts to them)"),
                    CorpusShiftWarning, stacklevel=2)
        spk = None if speakers is None else np.asarray(speakers, dtype=object)[rows]
        outputs, novel[rows] = model._outputs(
            X, spk, ["predict", "predict_proba"]
            + ["predict_dimensions"] * dimensional, adapt, reference_rows)
        labels[rows], proba[rows] = outputs[:2]
        if dimensional:
            dims[rows] = outputs[2]
        if explain:
            why = explanations.explain(model, X, spk, top=explain, adapt=adapt,
                                       reference=reference_rows)
            why["row"] = [rows[i] for i in why["row"]]
            why.insert(0, "path", [paths[i] for i in why["row"]])
            why.insert(1, "start", bounds[why["row"], 0])
            why.insert(2, "end", bounds[why["row"], 1])
    # object columns: a name that is not valid UTF-8 fits no pyarrow string
    table = pd.DataFrame({"path": pd.Series(paths, dtype=object),
                          "start": bounds[:, 0], "end": bounds[:, 1],
                          "speech_fraction": fraction,
                          "label": pd.Series(labels, dtype=object),
                          "out_of_distribution": novel})
    if dimensional:
        for j, name in enumerate(DIMENSIONS):
            table[name] = dims[:, j]
    for j, c in enumerate(classes):
        table[f"prob_{c}"] = proba[:, j]
    table["error"] = pd.Series(errors, dtype=object)
    if explain:
        phrases = [None] * len(paths)
        if features:
            for row, group in why.groupby("row"):
                phrases[row] = "; ".join(group.sort_values("rank")["text"])
            table.attrs["explanations"] = why.reset_index(drop=True)
        table.insert(table.columns.get_loc("error"), "explanation",
                     pd.Series(phrases, dtype=object))
        table.attrs.setdefault("explanations", pd.DataFrame())
    return table
