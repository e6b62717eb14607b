"""Speaker-independent evaluation of arousal and valence.

:func:`evaluate_dimensions` trains an
:class:`~sertk.models.classifier.EmotionClassifier` with ``dimensions`` and scores
its :meth:`~sertk.models.classifier.EmotionClassifier.predict_dimensions` against
each recording's (arousal, valence) by Lin's concordance correlation
coefficient (CCC, :func:`sertk.models.dimensions.concordance`) and
Spearman's rho, leave-one-speaker-out (or speaker-grouped folds) or across
corpora. No speaker is ever in both training and test.

Adaptation
----------
How the recordings being tested are normalised (``adapt``):

``none``
    nothing from the test recordings is used (the *strict* protocol);
``batch``
    the test set is z-scored with its own statistics, as the training set
    is with its own: the test corpus must hold a mix of emotions;
``speaker``
    each speaker is z-scored with their own recordings, test speakers
    included (the *speaker-normalised* protocol).

Within a corpus, ``speaker`` and ``batch`` train with the speaker
normaliser (each speaker, or each side as one group) and ``none`` without
it (the training speakers are still given, so that the model's held-out
folds hold out whole speakers). Across
corpora the model is trained once without it and predicts the other corpus
with :meth:`~sertk.models.classifier.EmotionClassifier.predict_dimensions`'s
``adapt`` (:mod:`sertk.models.adaptation`: median / IQR statistics of the
training corpus, of the test batch, or of each test speaker), as
``sertk-predict --adapt`` does and as categories are evaluated across
corpora.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = np.tile(["anger", "sadness", "neutral", "happiness"], 30)
>>> a = np.select([y == "anger", y == "happiness", y == "sadness"], [2.0, 1.0, -2.0])
>>> X = rng.normal(size=(120, 4)) + a[:, None]
>>> speakers = np.repeat(["s1", "s2", "s3", "s4"], 30)
>>> report = evaluate_dimensions(X, y, speakers, adapt="speaker")
>>> report["arousal"]["ccc"] > 0.7
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

from sertk.errors import ParameterError
from sertk.models.classifier import EmotionClassifier
from sertk.models.dimensions import DIMENSIONS, concordance, dimension_targets

__all__ = ["ADAPT_MODES", "evaluate_dimensions", "scores"]

#: How test recordings are normalised; see the module documentation.
ADAPT_MODES = ("none", "batch", "speaker")


def scores(targets: np.ndarray, predictions: np.ndarray) -> dict:
    """CCC, Spearman's rho and Pearson's r of each dimension.

    Parameters
    ----------
    targets, predictions : ndarray of shape (n, 2)
        Arousal and valence, true and predicted.

    Returns
    -------
    dict
        ``{dimension: {"ccc", "spearman", "pearson", "n"}}``.

    Examples
    --------
    >>> t = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    >>> scores(t, t)["valence"]["ccc"]
    1.0
    """
    out = {}
    for j, name in enumerate(DIMENSIONS):
        a, b = targets[:, j], predictions[:, j]
        constant = np.ptp(a) == 0 or np.ptp(b) == 0
        out[name] = {
            "ccc": round(concordance(a, b), 4),
            "spearman": np.nan if constant else round(float(spearmanr(a, b)[0]), 4),
            "pearson": np.nan if constant else round(float(np.corrcoef(a, b)[0, 1]), 4),
            "n": int(a.size),
        }
    return out


def _model(estimator: Any, adapt: str) -> EmotionClassifier:
    model = clone(estimator if estimator is not None else EmotionClassifier())
    params = {"speaker_norm": adapt != "none", "probability": False}
    if model.dimensions is None:
        params["dimensions"] = "circumplex"
    return model.set_params(**params)


def _groups(adapt: str, speakers: Any, corpus: str) -> np.ndarray | None:
    """Ids the normaliser z-scores by: speakers, one id for the batch, or None."""
    if adapt == "none":
        return None
    if adapt == "speaker":
        return speakers
    return np.full(len(speakers), corpus, dtype=object)


def _check(adapt: str, X: Any, y: Any, speakers: Any, targets: Any) -> tuple:
    if adapt not in ADAPT_MODES:
        raise ParameterError(f"adapt={adapt!r} is not one of {', '.join(ADAPT_MODES)}")
    y = np.asarray(y, dtype=object)
    if len(X) != len(y):
        raise ParameterError(f"X has {len(X)} rows, y {len(y)}")
    speakers = None if speakers is None else np.asarray(speakers, dtype=object)
    if speakers is not None and speakers.shape != y.shape:
        raise ParameterError(f"speakers has {speakers.size} ids for {y.size} rows")
    targets = dimension_targets(y) if targets is None else np.asarray(targets, float)
    if targets.shape != (len(y), 2):
        raise ParameterError(f"targets has shape {targets.shape}; pass ({len(y)}, 2)")
    return y, speakers, targets


def _rows(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if hasattr(X, "iloc") else np.asarray(X)[idx]


def evaluate_dimensions(
    X: Any,
    y: Any,
    speakers: Any,
    *,
    estimator: EmotionClassifier | None = None,
    targets: Any = None,
    adapt: str = "speaker",
    cv: str | int = "loso",
    test: tuple | None = None,
    augmented: Any = None,
) -> dict:
    """Score arousal and valence speaker-independently, or across corpora.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        Features.
    y : array-like of shape (n_samples,)
        Labels (the classifier's classes, and the dimensions of rows
        without ``targets``).
    speakers : array-like of shape (n_samples,)
        Speaker ids (needed within a corpus, and with ``adapt="speaker"``).
    estimator : EmotionClassifier, optional
        The model to train (default ``EmotionClassifier()``); cloned, with
        ``speaker_norm`` set by ``adapt``, ``probability=False``, and
        ``dimensions="circumplex"`` unless it has a table.
    targets : array-like of shape (n_samples, 2), optional
        Arousal and valence of each row (default: the labels' circumplex
        points, :func:`~sertk.models.dimensions.dimension_targets`).
    adapt : {"none", "batch", "speaker"}, default="speaker"
        How test rows are normalised (see the module documentation).
    cv : "loso" or int >= 2, default="loso"
        Leave one speaker out, or that many speaker-grouped folds; unused
        with ``test``.
    test : tuple (X, y, speakers) or (X, y, speakers, targets), optional
        Cross-corpus: train on all of ``X`` and test on these rows.
    augmented : array-like of shape (n_samples, n_copies, n_features), optional
        Copies of each row (see :meth:`EmotionClassifier.fit`), trained on
        with ``adapt="none"``.

    Returns
    -------
    dict
        ``arousal`` and ``valence`` (each ``ccc``, ``spearman``, ``pearson``,
        ``n``, and within a corpus ``fold_ccc_mean`` and ``fold_ccc_std``
        over test speakers), ``adapt``, ``cv`` ("loso", "5-fold" or
        "cross-corpus"), ``predictions`` (n, 2) and ``targets`` (n, 2) of the
        rows tested.

    Raises
    ------
    ParameterError
        If ``adapt`` or ``cv`` is unknown, shapes disagree, speakers are
        missing where needed, or a label has no circumplex point.
    """
    y, speakers, targets = _check(adapt, X, y, speakers, targets)
    if test is not None:
        return _cross_corpus(X, y, speakers, targets, test, estimator, adapt,
                             augmented)
    if speakers is None:
        raise ParameterError("speaker-independent evaluation needs speakers")
    if cv == "loso":
        splitter, name = LeaveOneGroupOut(), "loso"
    elif isinstance(cv, int) and not isinstance(cv, bool) and cv >= 2:
        splitter, name = GroupKFold(n_splits=cv), f"{cv}-fold"
    else:
        raise ParameterError(f"cv={cv!r} is not 'loso' or a whole number >= 2")
    predictions = np.full_like(targets, np.nan)
    fold_ccc = []
    for train, held in splitter.split(X, y, groups=speakers):
        model = _model(estimator, adapt)
        copies = None if augmented is None else np.asarray(augmented)[train]
        # strict: no normaliser, but the speakers still make the held-out
        # folds (calibration, threshold) hold out whole training speakers
        model.fit(_rows(X, train), y[train],
                  speakers=(speakers[train] if adapt == "none"
                            else _groups(adapt, speakers[train], "train")),
                  augmented=copies, dimension_targets=targets[train])
        predictions[held] = model.predict_dimensions(
            _rows(X, held), speakers=_groups(adapt, speakers[held], "test"))
        if len(held) > 1:
            fold_ccc.append([concordance(targets[held, j], predictions[held, j])
                             for j in range(len(DIMENSIONS))])
    report = scores(targets, predictions)
    folds = np.array(fold_ccc, dtype=float)
    for j, dim in enumerate(DIMENSIONS):
        report[dim]["fold_ccc_mean"] = round(float(np.nanmean(folds[:, j])), 4)
        report[dim]["fold_ccc_std"] = round(float(np.nanstd(folds[:, j])), 4)
    return {**report, "adapt": adapt, "cv": name, "predictions": predictions,
            "targets": targets}


def _cross_corpus(X, y, speakers, targets, test, estimator, adapt, augmented):
    X_test, y_test, speakers_test, *rest = test
    y_test, speakers_test, targets_test = _check(
        adapt, X_test, y_test, speakers_test, rest[0] if rest else None)
    if adapt == "speaker" and speakers_test is None:
        raise ParameterError("adapt='speaker' needs the test rows' speakers")
    model = _model(estimator, "none")
    model.fit(X, y, speakers=speakers, augmented=augmented, dimension_targets=targets)
    predictions = model.predict_dimensions(X_test, speakers=speakers_test, adapt=adapt)
    return {**scores(targets_test, predictions), "adapt": adapt, "cv": "cross-corpus",
            "predictions": predictions, "targets": targets_test}
