"""Folds of training rows for estimates the model makes of itself at ``fit``.

The out-of-distribution threshold (:func:`sertk.models.novelty.held_out_distances`)
and the calibration of arousal and valence
(:func:`sertk.models.dimensions.held_out_dimensions`) each measure rows with a
model fitted without them; :func:`held_out_splits` makes those folds, the
same way for both.

Examples
--------
>>> import numpy as np
>>> speakers = np.repeat(["a", "b"], 4)
>>> splits = held_out_splits(np.array([0, 1] * 4), speakers)
>>> sorted(str(s) for _, test in splits for s in set(speakers[test]))
['a', 'b']
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import GroupKFold, StratifiedKFold

__all__ = ["held_out_splits"]


def held_out_splits(y: np.ndarray, groups: np.ndarray | None = None,
                    n_splits: int = 5, random_state: int | None = 0
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return folds whose test rows the training rows never heard.

    With ``groups`` (speakers) of at least two values, each fold holds out
    whole groups, so each test row is of a speaker the fold's model has not
    heard; otherwise folds are stratified by class.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Class labels.
    groups : ndarray of shape (n_samples,), optional
        Group (speaker) of each row.
    n_splits : int, default=5
        Folds at the most (fewer when there are fewer groups, or fewer rows
        in the smallest class).
    random_state : int or None, default=0
        Seed of the stratified shuffle.

    Returns
    -------
    list of (train, test) index arrays
        Empty when there are no groups and a class has fewer than two rows.

    Examples
    --------
    >>> len(held_out_splits(np.array([0, 0, 1, 1, 1])))
    2
    >>> held_out_splits(np.array([0, 1, 1]))
    []
    """
    y = np.asarray(y)
    if groups is not None and np.unique(groups).size >= 2:
        folds = GroupKFold(n_splits=min(n_splits, np.unique(groups).size))
        return list(folds.split(y, y, groups))
    k = min(n_splits, int(np.unique(y, return_counts=True)[1].min()))
    if k < 2:
        return []
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state)
    return list(folds.split(y, y))
