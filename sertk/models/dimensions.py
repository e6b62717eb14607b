"""Arousal and valence: circumplex coordinates of categories, and a regressor.

Emotion categories travel badly between corpora and people; the activation
of a voice (*arousal*) travels best, and pleasantness (*valence*) is the
other axis of Russell's circumplex of affect. sertk gives both, in
[-1, 1], from a model trained with ``EmotionClassifier(dimensions=...)``
(``sertk-train --dimensions``): on continuous labels where a corpus has them
(a manifest's ``arousal`` / ``valence`` columns, already in [-1, 1]), else
on each recording's category placed on the circumplex by
:data:`CIRCUMPLEX`.

The circumplex table
--------------------
Russell (1980) found that affect words fall on a circle whose eight anchors
are, counter-clockwise from the positive valence axis: pleasure 0 deg,
excitement 45 deg, arousal 90 deg, distress 135 deg, displeasure 180 deg,
depression 225 deg, sleepiness 270 deg, relaxation 315 deg (J. A. Russell,
"A circumplex model of affect", *Journal of Personality and Social
Psychology* 39(6), 1161-1178, 1980; the angles are those of its abstract).
A category at angle ``t`` gets valence ``cos t`` and arousal ``sin t``,
and ``neutral`` the centre of the circle. Which anchor a corpus category
sits at is sertk's reading of the category names, not Russell's data:

========== ========================================== ======= ======= =======
category   anchor                                     angle   arousal valence
========== ========================================== ======= ======= =======
anger      distress                                   135     +0.71   -0.71
fear       distress                                   135     +0.71   -0.71
disgust    between displeasure and distress           157.5   +0.38   -0.92
surprise   arousal                                    90      +1.00    0.00
happiness  excitement                                 45      +0.71   +0.71
calm       relaxation                                 315     -0.71   +0.71
neutral    the centre                                 -        0.00    0.00
boredom    between depression and sleepiness          247.5   -0.92   -0.38
sadness    depression                                 225     -0.71   -0.71
========== ========================================== ======= ======= =======

RAVDESS records each emotion at a ``normal`` and a ``strong`` intensity; a
strong rendering is more activated, so :func:`dimension_targets` adds
:data:`STRONG_AROUSAL` (0.25) to the arousal of ``strong`` rows (clipped to
1), a sertk convention. Dominance is not given: neither bundled corpus has
a label from which it could be measured.

The regressor
-------------
:class:`CircumplexRegressor` is one support vector regression (RBF kernel)
a dimension on the classifier's discriminant projection (what its SVM
sees), with predictions clipped to [-1, 1]. The projection is fitted on
the categories, so it cannot see what varies within one (RAVDESS's
``strong`` and ``normal`` renderings of an emotion), and it separates the
training rows better than it will new ones, so predictions of new
recordings come out with too small a spread. The classifier therefore
measures its regressors on held-out training speakers
(:func:`held_out_dimensions`, ``EmotionClassifier(dimension_folds=3)``)
and :meth:`CircumplexRegressor.calibrate` sets, for each dimension, (1) a
regression on the projection: the SVR, or a nearest-neighbour regression
(the distance-weighted mean target of the 10 or 30 training rows nearest
in the projection, ``neighbors``), (2) its blend with a ridge regression
on all the scaled features (clipped to +-5 SD; its weight in
:data:`BLEND_WEIGHTS`, the ridge's penalty in ``alphas``), those whose
held-out predictions correlate best with the targets, and (3) the blend's
output mean and spread, those of the targets on the held-out predictions.
Every choice is made on training speakers only. Without held-out folds
(``dimension_folds=None``) the SVR on the projection is used alone.

Why these parts (sertk's default features, leave one speaker out,
calibrated; CCC of arousal / valence, strict and speaker-normalised):

- the ridge sees what the projection cannot (a ``strong`` rendering) and
  ranked the other corpus's recordings better; neither it nor the SVR
  alone was best within the corpora;
- the neighbours follow the categories the projection separates more
  closely than the SVR's smooth surface: adding them moved EMO-DB from
  0.926 / 0.676 and 0.956 / 0.782 to 0.952 / 0.682 and 0.974 / 0.815, and
  RAVDESS from 0.786 / 0.710 and 0.869 / 0.774 to 0.788 / 0.716 and
  0.876 / 0.789. Letting them blend with the SVR instead of the ridge
  scored within 0.01 of that on EMO-DB and lower arousal on RAVDESS
  (0.786 and 0.868), where the ridge carries the intensity.

The figures of every feature set: ``docs/benchmarks.md``, section
``dimensions``.

Examples
--------
>>> dimension_targets(["anger", "sadness", "neutral"]).round(2).tolist()
[[0.71, -0.71], [-0.71, -0.71], [0.0, 0.0]]
>>> float(concordance([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]))
1.0
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.svm import SVR
from sklearn.utils.validation import check_is_fitted, validate_data

from sertk.errors import ParameterError
from sertk.models.folds import held_out_splits

__all__ = [
    "BLEND_WEIGHTS",
    "CIRCUMPLEX",
    "DIMENSIONS",
    "RUSSELL_ANCHORS",
    "STRONG_AROUSAL",
    "CircumplexRegressor",
    "check_dimension_table",
    "held_out_dimensions",
    "concordance",
    "dimension_targets",
    "regressor_inputs",
]

#: The dimensions sertk predicts, in the order of its arrays and columns.
DIMENSIONS = ("arousal", "valence")

#: Russell's (1980) eight anchors and their angles in degrees.
RUSSELL_ANCHORS = {"pleasure": 0.0, "excitement": 45.0, "arousal": 90.0,
                   "distress": 135.0, "displeasure": 180.0, "depression": 225.0,
                   "sleepiness": 270.0, "relaxation": 315.0}

#: Category -> angle on the circumplex (degrees), None for its centre.
_ANGLES: dict[str, float | None] = {
    "anger": RUSSELL_ANCHORS["distress"],
    "fear": RUSSELL_ANCHORS["distress"],
    "disgust": (RUSSELL_ANCHORS["displeasure"] + RUSSELL_ANCHORS["distress"]) / 2,
    "surprise": RUSSELL_ANCHORS["arousal"],
    "happiness": RUSSELL_ANCHORS["excitement"],
    "calm": RUSSELL_ANCHORS["relaxation"],
    "neutral": None,
    "boredom": (RUSSELL_ANCHORS["depression"] + RUSSELL_ANCHORS["sleepiness"]) / 2,
    "sadness": RUSSELL_ANCHORS["depression"],
}


def _point(angle: float | None) -> tuple[float, float]:
    if angle is None:
        return 0.0, 0.0
    t = np.deg2rad(angle)
    return round(float(np.sin(t)), 6), round(float(np.cos(t)), 6)


#: Category -> (arousal, valence), from :data:`RUSSELL_ANCHORS` (see the
#: module documentation for the table and its source).
CIRCUMPLEX: dict[str, tuple[float, float]] = {
    label: _point(angle) for label, angle in _ANGLES.items()}

#: Arousal added to rows whose intensity is ``strong`` (RAVDESS), clipped at 1.
STRONG_AROUSAL = 0.25

#: Weights of the regression on the projection (the SVR, or the nearest
#: neighbours) against the ridge on all features, that
#: :meth:`CircumplexRegressor.calibrate` chooses from; 1 is the projection's
#: alone.
BLEND_WEIGHTS = (1.0, 0.75, 0.5, 0.25, 0.0)

#: A fitted KNeighborsRegressor's copies of its training rows and targets.
_NEIGHBOR_ARRAYS = ("_fit_X", "_y")


def check_dimension_table(table: Any) -> dict[str, tuple[float, float]]:
    """Return a category -> (arousal, valence) table, checked.

    Parameters
    ----------
    table : "circumplex" or mapping of str to (float, float)
        "circumplex" for :data:`CIRCUMPLEX`, or your own table; every
        value in [-1, 1].

    Returns
    -------
    dict of str to (float, float)

    Raises
    ------
    ParameterError
        If ``table`` is neither, or a value is out of range.

    Examples
    --------
    >>> check_dimension_table({"calm": (-0.5, 0.5)})
    {'calm': (-0.5, 0.5)}
    """
    if isinstance(table, str) and table == "circumplex":
        return dict(CIRCUMPLEX)
    if not isinstance(table, Mapping):
        raise ParameterError(
            f"dimensions={table!r} is not 'circumplex', None or a mapping of "
            "label to (arousal, valence), e.g. {'anger': (0.7, -0.7)}")
    checked = {}
    for label, point in table.items():
        values = np.asarray(point, dtype=object)
        if values.shape != (2,) or not all(
                isinstance(v, Real) and not isinstance(v, bool) and -1 <= v <= 1
                for v in values):
            raise ParameterError(
                f"dimensions[{label!r}]={point!r} is not a pair (arousal, "
                "valence) of numbers in [-1, 1]")
        checked[str(label)] = (float(values[0]), float(values[1]))
    return checked


def _continuous(values: Any, name: str, n: int) -> np.ndarray:
    """Return a column of given dimension values (NaN = not given), checked."""
    if values is None:
        return np.full(n, np.nan)
    column = pd.to_numeric(pd.Series(np.asarray(values, dtype=object)),
                           errors="coerce").to_numpy(dtype=float)
    if column.shape != (n,):
        raise ParameterError(f"{name} has {column.size} values for {n} labels")
    bad = np.abs(column) > 1
    if bad.any():
        raise ParameterError(
            f"{name} holds {int(bad.sum())} values outside [-1, 1] (e.g. "
            f"{column[bad][0]:g}); rescale them, e.g. a 1-5 rating r to "
            "(r - 3) / 2")
    return column


def dimension_targets(
    labels: Sequence,
    *,
    table: Any = "circumplex",
    intensity: Sequence | None = None,
    arousal: Sequence | None = None,
    valence: Sequence | None = None,
) -> np.ndarray:
    """Return the (arousal, valence) each row is trained on.

    A row's given ``arousal`` / ``valence`` value is used where it is a
    number; elsewhere its label's point in ``table``, with
    :data:`STRONG_AROUSAL` added to the arousal of ``strong`` rows.

    Parameters
    ----------
    labels : sequence of str
        Emotion labels.
    table : "circumplex" or mapping, default="circumplex"
        Label -> (arousal, valence), see :func:`check_dimension_table`.
    intensity : sequence of str, optional
        ``strong`` / ``normal`` (others ignored), as RAVDESS's manifest has.
    arousal, valence : sequence of float in [-1, 1], optional
        Continuous labels (NaN or empty where not given).

    Returns
    -------
    ndarray of shape (n_rows, 2)
        Arousal and valence (columns in :data:`DIMENSIONS` order).

    Raises
    ------
    ParameterError
        If a label lacks from ``table`` where no continuous value is given
        (the message names them), or a given value is outside [-1, 1].

    Examples
    --------
    >>> dimension_targets(["anger", "anger"], intensity=["normal", "strong"]
    ...                   ).round(2).tolist()
    [[0.71, -0.71], [0.96, -0.71]]
    >>> dimension_targets(["other"], arousal=[0.2], valence=[0.1]).tolist()
    [[0.2, 0.1]]
    """
    points = check_dimension_table(table)
    labels = [str(v) for v in labels]
    n = len(labels)
    given = np.column_stack([_continuous(arousal, "arousal", n),
                             _continuous(valence, "valence", n)])
    mapped = np.array([points.get(v, (np.nan, np.nan)) for v in labels],
                      dtype=float).reshape(n, 2)
    if intensity is not None:
        strong = np.asarray([str(v).strip().lower() == "strong" for v in intensity])
        if strong.shape != (n,):
            raise ParameterError(
                f"intensity has {strong.size} values for {n} labels")
        mapped[:, 0] = np.clip(mapped[:, 0] + STRONG_AROUSAL * strong, -1, 1)
    targets = np.where(np.isnan(given), mapped, given)
    missing = sorted({v for v, row in zip(labels, targets, strict=True)
                      if np.isnan(row).any()})
    if missing:
        raise ParameterError(
            f"labels {missing} have no (arousal, valence) point; give them "
            "arousal and valence values, or a dimensions table with them "
            f"(the circumplex knows {sorted(points)})")
    return targets


def concordance(y_true: Any, y_pred: Any) -> float:
    """Lin's concordance correlation coefficient of two series.

    ``2 cov / (var_true + var_pred + (mean_true - mean_pred) ** 2)``, with
    population moments (L. Lin, *Biometrics* 45, 1989): 1 for identical
    series; unlike Pearson's r it falls when predictions are shifted or
    scaled.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Finite values; n >= 2.

    Returns
    -------
    float
        In [-1, 1]; NaN if both series are constant.

    Raises
    ------
    ParameterError
        If the lengths differ or there are fewer than two values.

    Examples
    --------
    >>> round(concordance([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]), 3)
    0.571
    """
    a = np.asarray(y_true, dtype=float)
    b = np.asarray(y_pred, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ParameterError(
            f"concordance needs two series of the same length >= 2; got shapes "
            f"{a.shape} and {b.shape}")
    cov = np.mean((a - a.mean()) * (b - b.mean()))
    denominator = a.var() + b.var() + (a.mean() - b.mean()) ** 2
    return float(2 * cov / denominator) if denominator > 0 else float("nan")


class CircumplexRegressor(RegressorMixin, BaseEstimator):
    """One RBF support vector regression a dimension, blended and clipped to [-1, 1].

    Fitted on the rows an :class:`~sertk.models.classifier.EmotionClassifier`'s SVM
    sees (its discriminant projection), with (arousal, valence) targets;
    rows whose target is NaN in a column are left out of that column's fit.
    With ``n_projected``, ``X`` holds the projection in its first
    ``n_projected`` columns (the SVR's input) and the scaled features after
    them; beside the SVR, a nearest-neighbour regression on the projection
    (the distance-weighted mean target of the ``k`` training rows nearest)
    is fitted a ``k`` in ``neighbors``, and a ridge regression on the
    scaled features a penalty in ``alphas``. :meth:`calibrate` chooses, for
    each dimension, one regression on the projection, one ridge, and how
    the two blend (until it does, the SVR is used alone).

    Parameters
    ----------
    C : float > 0, default=1.0
        SVR regularisation.
    epsilon : float >= 0, default=0.1
        SVR's insensitive zone, in target units.
    n_projected : int >= 1 or None, default=None
        Leading columns of ``X`` the SVR and the neighbours see; the ridge
        sees the others (at least one). None: the SVR sees every column,
        alone.
    alphas : tuple of float > 0, default=(100.0, 1000.0, 10000.0)
        Ridge penalties, one ridge each.
    neighbors : tuple of int >= 1, default=(10, 30)
        Numbers of nearest training rows averaged (at most the rows there
        are), one nearest-neighbour regression each; empty for none.
    clip : float > 0, default=5.0
        The ridge's columns are clipped to [-clip, clip] (they are z-scores),
        so that one value far outside the training range (a feature nearly
        constant in training) cannot swamp its prediction.

    Attributes
    ----------
    regressors_ : list of sklearn.svm.SVR
        One a target column.
    ridges_ : list of list of sklearn.linear_model.Ridge
        For each target column, one a penalty of ``alphas`` (empty lists
        without ``n_projected``).
    neighbors_ : list of list of sklearn.neighbors.KNeighborsRegressor
        For each target column, one a ``k`` of ``neighbors`` (empty lists
        without ``n_projected``).
    base_index_ : ndarray of shape (n_targets,)
        Each column's regression on the projection: 0 the SVR, ``1 + i``
        the neighbours of ``neighbors[i]`` (only after :meth:`calibrate`).
    weight_ : ndarray of shape (n_targets,)
        Its weight in the column's blend with a ridge (1: alone; only
        after :meth:`calibrate`).
    alpha_index_ : ndarray of shape (n_targets,)
        Index in ``alphas`` of each column's ridge (only after :meth:`calibrate`).
    gain_, offset_ : ndarray of shape (n_targets,)
        Output rescaling set by :meth:`calibrate` (only after it):
        ``offset_ + gain_ * blend(x)``, then clipped.
    single_output_ : bool
        Whether ``y`` was one-dimensional (:meth:`predict` then returns one
        column as a 1-D array, as scikit-learn regressors do).
    n_features_in_ : int
        Columns seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.linspace(-2, 2, 40)[:, None]
    >>> T = np.column_stack([np.tanh(Z[:, 0]), -np.tanh(Z[:, 0])])
    >>> model = CircumplexRegressor().fit(Z, T)
    >>> model.predict([[2.0]]).round(1).tolist()
    [[0.9, -0.9]]

    With the scaled features after the projection, nearest neighbours on
    the projection and ridges on those too:

    >>> X = np.column_stack([Z, Z ** 3])
    >>> model = CircumplexRegressor(n_projected=1).fit(X, T)
    >>> len(model.neighbors_[0]), len(model.ridges_[0]), model.components(X).shape
    (2, 3, (40, 2, 6))
    """

    def __init__(self, C: float = 1.0, epsilon: float = 0.1,
                 n_projected: int | None = None,
                 alphas: tuple[float, ...] = (100.0, 1000.0, 10000.0),
                 neighbors: tuple[int, ...] = (10, 30),
                 clip: float = 5.0):
        self.C = C
        self.epsilon = epsilon
        self.n_projected = n_projected
        self.alphas = alphas
        self.neighbors = neighbors
        self.clip = clip

    def __getstate__(self) -> dict:
        # every neighbour regression keeps its training rows and targets,
        # equal for the k of a column (and the projection for columns with
        # the same known rows): a file stores each distinct array once, the
        # regressions its index in "_neighbor_arrays"
        state = dict(super().__getstate__())
        if not any(state.get("neighbors_", [])):
            return state
        arrays: list[np.ndarray] = []
        slim = []
        for column in state["neighbors_"]:
            slim.append([])
            for knn in column:
                knn = copy.copy(knn)
                for name in _NEIGHBOR_ARRAYS:
                    setattr(knn, name, _index_in(arrays, getattr(knn, name)))
                slim[-1].append(knn)
        state["neighbors_"] = slim
        state["_neighbor_arrays"] = arrays
        return state

    def __setstate__(self, state: dict) -> None:
        arrays = state.pop("_neighbor_arrays", None)
        if arrays is not None:
            for column in state["neighbors_"]:
                for knn in column:
                    for name in _NEIGHBOR_ARRAYS:
                        setattr(knn, name, arrays[getattr(knn, name)])
        # files saved before the blend: the SVR alone on every column;
        # before the neighbours: the SVR blended with a ridge
        state.setdefault("n_projected", None)
        state.setdefault("alphas", (100.0, 1000.0, 10000.0))
        state.setdefault("neighbors", ())
        state.setdefault("clip", 5.0)
        columns = len(state.get("regressors_", []))
        state.setdefault("ridges_", [[] for _ in range(columns)])
        state.setdefault("neighbors_", [[] for _ in range(columns)])
        if "weight_" in state:
            state.setdefault("base_index_", np.zeros(columns, dtype=int))
        super().__setstate__(state)

    def _n_bases(self) -> int:
        """Return a fitted column's regressions on the projection (SVR, neighbours)."""
        return 1 + len(self.neighbors_[0])

    def _n_parts(self) -> int:
        """Return the outputs a target column has in :meth:`components`."""
        if self.n_projected is None:
            return 1
        return 1 + len(self.alphas) + len(self.neighbors)

    def _check_params(self, n_features: int) -> None:
        for name, low in (("C", "> 0"), ("epsilon", ">= 0"), ("clip", "> 0")):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, Real)
                    or not (value >= 0 if low == ">= 0" else value > 0)):
                raise ParameterError(f"{name}={value!r} is not a number {low}")
        k = self.n_projected
        if k is not None and (isinstance(k, bool) or not isinstance(k, int | np.integer)
                              or not 1 <= k < n_features):
            raise ParameterError(
                f"n_projected={k!r} is not None or a whole number from 1 to "
                f"{n_features - 1} (X has {n_features} columns; the ridge needs one)")
        alphas = self.alphas
        if (not isinstance(alphas, Sequence) or isinstance(alphas, str)
                or not alphas or not all(
                    isinstance(a, Real) and not isinstance(a, bool) and a > 0
                    for a in alphas)):
            raise ParameterError(
                f"alphas={alphas!r} is not a non-empty sequence of numbers > 0")
        neighbors = self.neighbors
        if (not isinstance(neighbors, Sequence) or isinstance(neighbors, str)
                or not all(isinstance(k, int | np.integer) and not isinstance(k, bool)
                           and k >= 1 for k in neighbors)):
            raise ParameterError(
                f"neighbors={neighbors!r} is not a sequence of whole numbers >= 1")

    def fit(self, X: Any, y: Any):
        """Fit one SVR a column of ``y``, and with ``n_projected`` its partners.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Finite rows.
        y : array-like of shape (n_samples, n_targets)
            Targets in [-1, 1]; NaN where a row has no value.

        Returns
        -------
        self : CircumplexRegressor

        Raises
        ------
        ParameterError
            If a parameter is out of range, or a target column has fewer
            than two values.
        """
        if y is None:
            raise ParameterError(
                "CircumplexRegressor requires y to be passed, but the target y is "
                "None")
        X = validate_data(self, X, dtype=np.float64)
        self._check_params(X.shape[1])
        T = np.asarray(y, dtype=float)
        self.single_output_ = T.ndim == 1
        T = T.reshape(-1, 1) if T.ndim == 1 else T
        if T.shape[0] != X.shape[0]:
            raise ParameterError(f"y has {T.shape[0]} rows, X {X.shape[0]}")
        Z, F = self._split(X)
        self.regressors_, self.ridges_, self.neighbors_ = [], [], []
        for j in range(T.shape[1]):
            known = ~np.isnan(T[:, j])
            if known.sum() < 2:
                raise ParameterError(
                    f"target column {j} has {int(known.sum())} sample(s) with a "
                    "value; at least 2 are needed")
            Zk, t = Z[known], T[known, j]
            svr = SVR(kernel="rbf", C=self.C, epsilon=self.epsilon, gamma="scale")
            self.regressors_.append(svr.fit(Zk, t))
            if F is None:
                self.neighbors_.append([])
                self.ridges_.append([])
                continue
            self.neighbors_.append([
                KNeighborsRegressor(n_neighbors=min(int(k), len(t)), weights="distance",
                                    algorithm="brute").fit(Zk, t)
                for k in self.neighbors])
            Fk = F[known]
            self.ridges_.append([Ridge(alpha=float(a)).fit(Fk, t) for a in self.alphas])
        return self

    def _split(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Return the SVR's columns and the ridge's (clipped; None without)."""
        if self.n_projected is None:
            return X, None
        k = self.n_projected
        return X[:, :k], np.clip(X[:, k:], -self.clip, self.clip)

    def predict(self, X: Any) -> np.ndarray:
        """Predict each target column, clipped to [-1, 1].

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_targets), or (n_samples,)
            One column a target; 1-D when fitted on a 1-D ``y``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If called before :meth:`fit`.
        """
        out = self._raw(X)
        gain = getattr(self, "gain_", np.ones(out.shape[1]))
        offset = getattr(self, "offset_", np.zeros(out.shape[1]))
        out = np.clip(offset + gain * out, -1, 1)
        return out[:, 0] if getattr(self, "single_output_", False) else out

    def components(self, X: Any) -> np.ndarray:
        """Return the outputs of each regression, neither blended nor rescaled.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_targets, n_components)
            ``[..., 0]`` the SVR, ``[..., 1 + i]`` the neighbours of
            ``neighbors[i]``, then the ridge of each of ``alphas`` (the SVR
            alone without ``n_projected``).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If called before :meth:`fit`.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        Z, F = self._split(X)
        return np.stack([
            np.column_stack([svr.predict(Z)] + [knn.predict(Z) for knn in neighbors]
                            + [ridge.predict(F) for ridge in ridges])
            for svr, neighbors, ridges in zip(
                self.regressors_, self.neighbors_, self.ridges_, strict=True)],
            axis=1)

    def _raw(self, X: Any) -> np.ndarray:
        """Return each column's blend, not rescaled nor clipped."""
        parts = self.components(X)
        n = parts.shape[1]
        first_ridge = self._n_bases()
        base = getattr(self, "base_index_", np.zeros(n, dtype=int))
        weight = getattr(self, "weight_", np.ones(n))
        ridge = getattr(self, "alpha_index_", np.zeros(n, dtype=int))
        out = np.empty(parts.shape[:2])
        for j in range(n):
            out[:, j] = parts[:, j, base[j]]
            if weight[j] < 1:
                out[:, j] = (weight[j] * out[:, j]
                             + (1 - weight[j]) * parts[:, j, first_ridge + ridge[j]])
        return out

    def calibrate(self, held_out: Any, y: Any):
        """Choose each column's blend, and rescale it to the targets' mean and spread.

        A regressor trained on rows it fits closely predicts new rows with
        too small a spread, and the concordance correlation coefficient
        counts that as error. ``held_out`` are predictions of models that
        did not see those rows (:func:`held_out_dimensions`). For each
        target column, the blend whose held-out predictions correlate best
        with ``y`` is kept: a regression on the projection (the SVR, or the
        neighbours of a ``k`` in ``neighbors``: ``base_index_``), its weight
        in :data:`BLEND_WEIGHTS` (``weight_``) and a ridge penalty in
        ``alphas`` (``alpha_index_``); ties go to the SVR, then to the larger
        weight, then to the smaller penalty. Then ``gain_``
        and ``offset_`` map its held-out predictions to the mean and
        standard deviation of ``y``: for a given correlation, the affine map
        with the highest concordance. A column whose best held-out
        predictions do not correlate positively with ``y`` is left as it is
        (the SVR alone, unscaled).

        Parameters
        ----------
        held_out : array-like of shape (n_samples, n_targets[, n_components])
            Held-out :meth:`components` (:func:`held_out_dimensions`); a
            2-D array is the SVR's alone.
        y : array-like of shape (n_samples, n_targets)
            Their targets; NaN where unknown.

        Returns
        -------
        self : CircumplexRegressor

        Examples
        --------
        >>> import numpy as np
        >>> Z = np.linspace(-2, 2, 40)[:, None]
        >>> T = np.column_stack([np.tanh(Z[:, 0]), -np.tanh(Z[:, 0])])
        >>> model = CircumplexRegressor().fit(Z, T).calibrate(T / 2, T)
        >>> model.gain_.tolist()
        [2.0, 2.0]
        """
        check_is_fitted(self)
        P = np.asarray(held_out, dtype=float)
        P = P.reshape(len(P), -1, 1) if P.ndim < 3 else P
        T = np.asarray(y, dtype=float).reshape(len(y), -1)
        n = len(self.regressors_)
        n_bases = self._n_bases()
        n_parts = n_bases + len(self.ridges_[0])
        if P.shape[:2] != T.shape or T.shape[1] != n or P.shape[2] not in (1, n_parts):
            raise ParameterError(
                f"held_out has shape {P.shape} and y {T.shape}; pass one column a "
                f"target ({n}), and one layer a component (1 or {n_parts})")
        if P.shape[2] == 1:
            n_bases = n_parts = 1  # the SVR's alone: nothing to blend
        self.base_index_ = np.zeros(n, dtype=int)
        self.weight_ = np.ones(n)
        self.alpha_index_ = np.zeros(n, dtype=int)
        self.gain_ = np.ones(n)
        self.offset_ = np.zeros(n)
        for j in range(n):
            known = np.isfinite(P[:, j]).all(axis=1) & np.isfinite(T[:, j])
            t = T[known, j]
            if t.size < 3 or not t.std() > 0:
                continue  # nothing to correlate with: the SVR alone, as it is
            best, p = 0.0, None
            for base, w, ridge in _blends(n_bases, n_parts - n_bases):
                blend = P[known, j, base] if w == 1 else (
                    w * P[known, j, base] + (1 - w) * P[known, j, n_bases + ridge])
                r = np.corrcoef(blend, t)[0, 1] if blend.std() > 0 else 0.0
                if r > best:
                    best, p = r, blend
                    self.base_index_[j], self.weight_[j], self.alpha_index_[j] = (
                        base, w, ridge)
            if p is None:
                continue
            self.gain_[j] = t.std() / p.std()
            self.offset_[j] = t.mean() - self.gain_[j] * p.mean()
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _index_in(arrays: list[np.ndarray], value: np.ndarray) -> int:
    """Return where in ``arrays`` an array equals ``value`` (appended if none)."""
    for i, stored in enumerate(arrays):
        if stored.shape == value.shape and np.array_equal(stored, value):
            return i
    arrays.append(value)
    return len(arrays) - 1


def _blends(n_bases: int, n_ridges: int) -> Iterator[tuple[int, float, int]]:
    """Yield the (base, weight, ridge) blends that ``calibrate`` tries."""
    for base in range(n_bases):
        for w in BLEND_WEIGHTS if n_ridges else (1.0,):
            for ridge in range(n_ridges) if w < 1 else (0,):
                yield base, w, ridge


def held_out_dimensions(space: Any, X: np.ndarray, y: np.ndarray, targets: np.ndarray,
                        groups: np.ndarray | None = None, n_splits: int = 3,
                        random_state: int | None = 0,
                        regressor: CircumplexRegressor | None = None) -> np.ndarray:
    """Raw arousal/valence of training rows, each from a model fitted without its fold.

    For each fold, a clone of ``space`` (impute, scale and project, as the
    classifier fits them) and of ``regressor`` are fitted on the other
    folds, and the fold's rows are predicted (:meth:`CircumplexRegressor.components`:
    unblended, unclipped, unrescaled): what
    :meth:`CircumplexRegressor.calibrate` needs. With ``groups`` (speakers)
    of at least two values, folds are whole groups; otherwise folds are
    stratified by class.

    Parameters
    ----------
    space : transformer
        Unfitted or fitted; it is cloned. ``fit(X, y)`` then ``transform(X)``.
        With a ``regressor`` that has ``n_projected``, a Pipeline whose last
        step is the projection: the regressor sees the projection and, after
        it, the output of the steps before (the scaled features).
    X : ndarray of shape (n_samples, n_features)
        Training rows (NaN as ``space`` allows).
    y : ndarray of shape (n_samples,)
        Class labels (``space`` may be supervised, as an LDA is).
    targets : ndarray of shape (n_samples, n_targets)
        Arousal and valence; NaN where unknown.
    groups : ndarray of shape (n_samples,), optional
        Group (speaker) of each row.
    n_splits : int >= 2, default=3
        Folds (fewer when there are fewer groups, or rows of a class).
    random_state : int or None, default=0
        Seed of the stratified folds.
    regressor : CircumplexRegressor, optional
        Cloned for each fold (default ``CircumplexRegressor()``).

    Returns
    -------
    ndarray of shape (n_samples, n_targets, n_components)
        NaN for every row when no two folds can be made.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(["a", "b"], 30)
    >>> X = rng.normal(size=(60, 2)) + 2.0 * (y == "a")[:, None]
    >>> T = dimension_targets(np.repeat(["anger", "sadness"], 30))
    >>> held = held_out_dimensions(StandardScaler(), X, y, T)
    >>> held.shape, bool(np.corrcoef(held[:, 0, 0], T[:, 0])[0, 1] > 0.5)
    ((60, 2, 1), True)
    """
    y = np.asarray(y)
    targets = np.asarray(targets, dtype=float)
    regressor = CircumplexRegressor() if regressor is None else regressor
    out = np.full((*targets.shape, regressor._n_parts()), np.nan)
    for train, test in held_out_splits(y, groups, n_splits, random_state):
        fitted = clone(space).fit(X[train], y[train])
        if regressor.n_projected is None:
            train_in, test_in = fitted.transform(X[train]), fitted.transform(X[test])
            model = clone(regressor)
        else:
            train_in, width = regressor_inputs(fitted, X[train])
            test_in, _ = regressor_inputs(fitted, X[test])
            model = clone(regressor).set_params(n_projected=width)
        out[test] = model.fit(train_in, targets[train]).components(test_in)
    return out


def regressor_inputs(space: Any, X: np.ndarray) -> tuple[np.ndarray, int]:
    """Return a fitted projection Pipeline's output and its scaled input, side by side.

    What a :class:`CircumplexRegressor` with ``n_projected`` (the
    projection's width, returned beside them) is fitted on: the SVR's
    columns, then the ridge's.

    Parameters
    ----------
    space : sklearn.pipeline.Pipeline
        Fitted; its last step is the projection, the steps before scale.
    X : ndarray of shape (n_samples, n_features)
        Rows as ``space`` takes them.

    Returns
    -------
    inputs : ndarray of shape (n_samples, n_projected + n_scaled)
    n_projected : int
        The projection's width: the leading columns of ``inputs``.

    Examples
    --------
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> space = make_pipeline(StandardScaler(), PCA(1)).fit(X)
    >>> inputs, n_projected = regressor_inputs(space, X)
    >>> inputs.shape, n_projected
    ((20, 4), 1)
    """
    scaled = space[:-1].transform(X)
    projected = space[-1:].transform(scaled)
    return np.hstack([projected, scaled]), projected.shape[1]
