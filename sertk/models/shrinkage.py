"""The LDA's shrinkage chosen by cross-validation over training speakers.

With hundreds of feature columns and a few hundred recordings, the
Ledoit-Wolf estimate (``shrinkage="auto"``) shrinks the LDA's within-class
covariance too little: the projection fits the training speakers and loses
to the 114 ``minimal`` columns on new ones. :class:`EmotionClassifier` with
``shrinkage="cv"`` (its default) therefore chooses the shrinkage among
:data:`CV_SHRINKAGE` by cross-validation *inside* :meth:`fit`, on folds of
whole training speakers, whenever the training set is small
(:data:`CV_MAX_FILES` recordings or fewer, :data:`CV_MAX_FEATURES` columns
or fewer). Larger sets keep "auto": the search costs 15 more fits of the
model, and the more recordings the better the Ledoit-Wolf estimate
(``docs/classifier.md``).

Nothing outside the training rows is used, so an outer evaluation
(:func:`sertk.evaluate`) stays speaker-independent: this is nested
cross-validation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score

from sertk.models.folds import held_out_splits

__all__ = ["CV_MAX_FEATURES", "CV_MAX_FILES", "CV_SHRINKAGE", "choose_shrinkage"]

#: The values ``shrinkage="cv"`` chooses among, in order of preference on ties.
CV_SHRINKAGE: tuple[str | float, ...] = ("auto", 0.5, 0.8)
#: Most training recordings (copies not counted) on which ``shrinkage="cv"``
#: cross-validates; above it, "auto".
CV_MAX_FILES = 1000
#: Most feature columns on which ``shrinkage="cv"`` cross-validates: the
#: LDA's cost grows with their cube (one fit on openSMILE's 6373 ComParE
#: columns takes minutes), so wider tables keep "auto".
CV_MAX_FEATURES = 2000
#: Inner folds (fewer when there are fewer training speakers).
N_SPLITS = 5
#: Fewest training speakers to cross-validate over.
MIN_SPEAKERS = 3


def choose_shrinkage(steps: Any, X: np.ndarray, y: np.ndarray,
                     speakers: np.ndarray | None, n_files: int,
                     candidates: tuple[str | float, ...] = CV_SHRINKAGE
                     ) -> tuple[str | float, dict[str, float] | None]:
    """Return the shrinkage of the best inner UAR, and each candidate's UAR.

    Parameters
    ----------
    steps : sklearn.pipeline.Pipeline
        The model after normalisation (impute, scale, project, svc), with a
        ``project`` step that takes ``shrinkage``; cloned for every fit.
    X : ndarray of shape (n_rows, n_features)
        Normalised training rows: the ``n_files`` recordings first, then
        their copies (if any).
    y : ndarray of shape (n_rows,)
        Labels.
    speakers : ndarray of shape (n_rows,) or None
        Speaker of each row (a copy has its recording's): the inner folds
        hold out whole speakers, copies with them.
    n_files : int
        How many of the rows are recordings; only they are scored.
    candidates : tuple of ("auto" or float), default=CV_SHRINKAGE
        The values tried; the first wins ties.

    Returns
    -------
    shrinkage : "auto" or float
        The chosen value; ``candidates[0]`` when the search is skipped:
        more than :data:`CV_MAX_FILES` recordings or
        :data:`CV_MAX_FEATURES` columns, no speakers or fewer than
        :data:`MIN_SPEAKERS` of them.
    scores : dict or None
        UAR of each candidate (keyed by ``str(value)``) over the held-out
        recordings of all inner folds; None when skipped.

    Examples
    --------
    Few recordings of six speakers, 300 columns seen through 5 factors (two
    carry the class), each speaker with its own offset of every column:

    >>> import numpy as np
    >>> from sklearn.pipeline import Pipeline
    >>> from sertk.models.classifier import model_steps
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile(["anger", "neutral", "sadness"], 40)
    >>> speakers = np.repeat(np.arange(6), 20)
    >>> factors = rng.normal(size=(120, 5))
    >>> factors[:, :2] += 1.5 * np.c_[y == "anger", y == "sadness"]
    >>> offsets = 4.0 * rng.normal(size=(6, 300))[speakers]
    >>> X = factors @ rng.normal(size=(5, 300)) + 0.4 * (
    ...     rng.normal(size=(120, 300)) + offsets)
    >>> steps = Pipeline(model_steps(speaker_norm=False, probability=False)[1:])
    >>> value, scores = choose_shrinkage(steps, X, y, speakers, n_files=120)
    >>> value, round(scores["auto"], 2), round(scores["0.8"], 2)
    (0.8, 0.61, 0.69)
    """
    if speakers is None or n_files > CV_MAX_FILES or X.shape[1] > CV_MAX_FEATURES:
        return candidates[0], None
    speakers = np.asarray(speakers)
    n_speakers = np.unique(speakers[:n_files]).size
    if n_speakers < MIN_SPEAKERS:
        return candidates[0], None
    folds = held_out_splits(y, speakers, N_SPLITS)
    recordings = np.arange(y.size) < n_files
    scores = {}
    for value in candidates:
        predicted = np.empty(n_files, dtype=object)
        for train, held_out in folds:
            held_out = held_out[recordings[held_out]]
            model = clone(steps).set_params(project__shrinkage=value)
            predicted[held_out] = model.fit(X[train], y[train]).predict(X[held_out])
        scores[str(value)] = float(balanced_accuracy_score(y[:n_files], predicted))
    best = max(candidates, key=lambda value: scores[str(value)])
    return best, scores
