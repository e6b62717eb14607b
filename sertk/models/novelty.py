"""Out-of-distribution rows: how far a recording lies from the training classes.

A classifier trained on clean studio speech has never seen what white noise
does to spectral statistics: under it, most features move by more than a
training standard deviation, all in the same direction, and the SVM then
gives one label to every recording. :class:`EmotionClassifier` uses this
module to notice such rows and hand them to a fallback model on features
that noise leaves largely intact (see ``fallback`` there).

The test is the squared Mahalanobis distance, in the classifier's
discriminant space, from a row to the nearest class mean under the pooled
within-class covariance (:class:`ClassDistance`). Its threshold is a
quantile of the distances of *held-out* training rows, each measured by a
model fitted without its speaker (:func:`held_out_distances`): a recording
farther out than, say, 99 % of unseen training speakers' recordings is
unlike the training data.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from sertk.errors import ParameterError
from sertk.models.folds import held_out_splits

__all__ = ["ClassDistance", "held_out_distances"]

#: Folds of the held-out distances.
N_SPLITS = 5


class ClassDistance(TransformerMixin, BaseEstimator):
    """Squared Mahalanobis distance from each row to its nearest class mean.

    The covariance is the within-class one, pooled over the classes (as in
    linear discriminant analysis); a pseudo-inverse keeps degenerate
    directions from blowing up.

    Attributes
    ----------
    means_ : ndarray of shape (n_classes, n_features)
        Class means.
    precision_ : ndarray of shape (n_features, n_features)
        Pseudo-inverse of the pooled within-class covariance.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 200)
    >>> Z = rng.normal(size=(400, 2)) + 4.0 * y[:, None]
    >>> distance = ClassDistance().fit(Z, y)
    >>> d = distance.transform(np.array([[0.0, 0.0], [4.0, 4.0], [20.0, -20.0]]))
    >>> (d[:2] < 0.1).all(), bool(d[2] > 100)
    (np.True_, True)
    """

    def fit(self, Z: np.ndarray, y: np.ndarray):
        """Fit the class means and the pooled within-class covariance.

        Parameters
        ----------
        Z : ndarray of shape (n_samples, n_features)
            Rows in the space to measure in (no NaN).
        y : ndarray of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : ClassDistance
        """
        Z, y = validate_data(self, Z, y, dtype=np.float64)
        classes = np.unique(y)
        self.means_ = np.vstack([Z[y == c].mean(axis=0) for c in classes])
        residuals = Z - self.means_[np.searchsorted(classes, y)]
        dof = max(Z.shape[0] - classes.size, 1)
        covariance = residuals.T @ residuals / dof
        self.precision_ = np.linalg.pinv(covariance, hermitian=True)
        return self

    def transform(self, Z: np.ndarray) -> np.ndarray:
        """Return each row's squared distance to the nearest class mean.

        Parameters
        ----------
        Z : ndarray of shape (n_samples, n_features)
            Rows in the space :meth:`fit` saw.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        Z = validate_data(self, Z, reset=False, dtype=np.float64)
        diff = Z[:, None, :] - self.means_[None]
        return np.einsum("nck,kl,ncl->nc", diff, self.precision_, diff).min(axis=1)


def held_out_distances(space, X: np.ndarray, y: np.ndarray,
                       groups: np.ndarray | None = None,
                       random_state: int | None = 0) -> np.ndarray:
    """Distances of training rows, each from a model fitted without its fold.

    For each of :data:`N_SPLITS` folds, a clone of ``space`` (a transformer
    such as impute, scale and project) and a :class:`ClassDistance` are fitted
    on the other folds, and the fold's rows are measured. With ``groups``
    (speakers) of at least two values, folds are whole groups, so each
    distance is that of a speaker the model has not heard; otherwise folds
    are stratified by class.

    Parameters
    ----------
    space : transformer
        Unfitted or fitted; it is cloned. ``fit(X, y)`` then ``transform(X)``.
    X : ndarray of shape (n_samples, n_features)
        Training rows (NaN as ``space`` allows).
    y : ndarray of shape (n_samples,)
        Class labels; each class needs 2 rows at least.
    groups : ndarray of shape (n_samples,), optional
        Group (speaker) of each row.
    random_state : int or None, default=0
        Seed of the stratified folds.

    Returns
    -------
    ndarray of shape (n_samples,)
        Each row's squared distance to the nearest class mean of a model that
        did not see it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 50)
    >>> X = rng.normal(size=(100, 2)) + 3.0 * y[:, None]
    >>> d = held_out_distances(StandardScaler(), X, y)
    >>> d.shape, bool(np.median(d) < 2)
    ((100,), True)
    """
    y = np.asarray(y)
    splits = held_out_splits(y, groups, N_SPLITS, random_state)
    if not splits:
        raise ParameterError("held-out distances need 2 rows of each class at least, "
                             "or rows of 2 groups")
    distances = np.empty(y.size)
    for train, test in splits:
        fitted = clone(space)
        measure = ClassDistance().fit(fitted.fit_transform(X[train], y[train]),
                                      y[train])
        distances[test] = measure.transform(fitted.transform(X[test]))
    return distances
