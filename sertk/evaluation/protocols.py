"""Speaker-independent evaluation: grouped cross-validation, protocols, reports.

Two protocols, always named in the report (see the EMO-DB README):

``"speaker-normalised"``
    Features are z-scored per speaker with that speaker's own statistics,
    computed from its unlabelled recordings, the test speaker's included
    (transductive; :class:`~sertk.models.normalize.SpeakerNormalizer`). Standard in
    the literature.
``"strict"``
    Nothing about a test speaker is used: every statistic applied to a test
    row (imputer medians, scaler means, the model) comes from training rows
    only, and each test row is transformed on its own. The training rows are
    scaled with pooled statistics too, not per speaker: a model trained on
    per-speaker z-scores but shown pooled-scaled test rows would see data
    from another distribution (the test speaker's offset is still in them).

Speakers never appear in both a training and a test fold. With a
``param_grid``, hyper-parameters are chosen by an inner grouped CV on the
training speakers of each outer fold (nested CV), so the outer figure stays
an honest estimate.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
)
from sklearn.model_selection import (
    GridSearchCV,
    LeaveOneGroupOut,
    ParameterGrid,
    StratifiedGroupKFold,
)
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from sertk._json import json_safe
from sertk.errors import ParameterError, SertkError
from sertk.features.extractor import audio_input, extractor_for
from sertk.files import OutputLock, atomic_output
from sertk.models.adaptation import CorpusNormalizer, check_adapt
from sertk.models.augment import copies_array, training_copies, with_copies
from sertk.models.classifier import EmotionClassifier
from sertk.models.normalize import SpeakerNormalizer, check_speakers
from sertk.settings import show_progress

__all__ = ["EvaluationReport", "ProtocolClassifier", "evaluate"]

PROTOCOLS = {
    "speaker-normalised": (
        "each speaker's features z-scored with that speaker's own statistics, "
        "test speakers' included; unlabelled, transductive"
    ),
    "strict": (
        "nothing from the test speakers used; all statistics from training rows only"
    ),
}
_ALIASES = {"speaker-normalized": "speaker-normalised"}


_ADAPT_WORDS = {
    "none": "the training statistics",
    "batch": "their own statistics, a batch (test fold or corpus) at a time",
    "speaker": "each test speaker's own statistics",
}


def _flags_rows(estimator: Any) -> bool:
    """Whether a fitted estimator tells which rows are out of distribution.

    It needs an ``out_of_distribution`` method and, where it says whether it
    has one (an :class:`EmotionClassifier`'s ``fallback_columns_``), a
    fallback model: without one, no row is ever flagged.
    """
    return callable(getattr(estimator, "out_of_distribution", None)) and (
        getattr(estimator, "fallback_columns_", ()) is not None
    )


def _uar(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the classes present in ``y_true``."""
    return float(
        np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)])
    )


def _consumes(estimator: Any, method: str, params: Any) -> set[str]:
    """Which of ``params`` the estimator requests for ``method`` (metadata routing)."""
    with config_context(enable_metadata_routing=True):
        return set(get_routing_for_object(estimator).consumes(method, list(params)))


class ProtocolClassifier(ClassifierMixin, BaseEstimator):
    """Run a classifier under one of the two evaluation protocols; ``score`` is UAR.

    The meta-estimator :func:`sertk.evaluate` fits in each fold. Metadata
    (``speakers``, and any other such as ``corpus``) reaches the wrapped
    estimator by scikit-learn's metadata routing: the estimator gets what
    it requests (:class:`~sertk.EmotionClassifier` requests ``speakers`` and
    ``augmented`` by default; a :class:`~sertk.SpeakerNormalizer` inside a
    pipeline after ``set_fit_request(speakers=True)`` and
    ``set_transform_request(speakers=True)``). Under the *strict* protocol
    the test speakers' ids are never passed on (training speakers are: an
    :class:`~sertk.EmotionClassifier` holds them out whole to set its
    out-of-distribution threshold), and a ``speaker_norm`` parameter is set
    to False; under *speaker-normalised* it is set to True, and an
    estimator that does not request ``speakers`` is fed features a
    :class:`~sertk.SpeakerNormalizer` z-scored per speaker. Training copies
    (``augmented``) go to an estimator that requests them, and are appended
    to the training rows (with their row's metadata) of any other. A
    ``probability=True`` parameter is turned off: only labels are needed.

    Parameters
    ----------
    estimator : classifier, default=EmotionClassifier()
        Cloned in :meth:`fit`.
    protocol : {"speaker-normalised", "strict"}, default="speaker-normalised"
        See :func:`sertk.evaluate`.
    min_samples : int, default=5
        ``min_samples`` of the normaliser made for an estimator that does not
        request ``speakers``.

    Attributes
    ----------
    estimator_ : classifier
        The fitted estimator.
    normalizer_ : SpeakerNormalizer or None
        The normaliser made for it, if any.
    classes_ : ndarray
        The estimator's classes.
    flags_rows_ : bool
        Whether the fitted estimator tells rows out of distribution (see
        :meth:`out_of_distribution`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile(["anger", "sadness"], 20)
    >>> X = rng.normal(size=(40, 3)) + (y == "anger")[:, None] * 2.0
    >>> spk = np.repeat(["s1", "s2", "s3", "s4"], 10)
    >>> model = ProtocolClassifier(protocol="strict").fit(X, y, speakers=spk)
    >>> model.estimator_.speaker_norm, float(model.score(X, y, speakers=spk)) > 0.9
    (False, True)
    """

    __metadata_request__fit = {"speakers": True, "augmented": True}
    __metadata_request__predict = {"speakers": True}
    __metadata_request__score = {"speakers": True}

    def __init__(self, estimator=None, protocol="speaker-normalised", min_samples=5,
                 adapt=None):
        self.estimator = estimator
        self.protocol = protocol
        self.min_samples = min_samples
        self.adapt = adapt

    def _normalised(self) -> bool:
        return _check_protocol(self.protocol) == "speaker-normalised"

    def fit(self, X, y, speakers=None, augmented=None, **metadata):
        """Fit the estimator on the training rows (and their copies).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Features.
        y : array-like of shape (n_samples,)
            Labels.
        speakers : array-like of shape (n_samples,), optional
            Speaker id of each row.
        augmented : array-like of shape (n_samples, n_copies, n_features), optional
            Training copies of each row (see :mod:`sertk.models.augment`).
        **metadata
            Other metadata a row carries (such as ``corpus``), routed to the
            estimator as it requests it.

        Returns
        -------
        self : ProtocolClassifier
        """
        normalised = self._normalised()
        est = EmotionClassifier() if self.estimator is None else clone(self.estimator)
        params = est.get_params(deep=False)
        if params.get("probability") is True:
            est.set_params(probability=False)  # labels only: skip calibration
        if "speaker_norm" in params:
            est.set_params(speaker_norm=normalised)
        given = {"speakers": speakers, "augmented": augmented, **metadata}
        given = {k: v for k, v in given.items() if v is not None}
        wanted = _consumes(est, "fit", given)
        self.normalizer_ = self.adapter_ = None
        # an estimator that takes corpus ids adapts itself (EmotionClassifier);
        # any other is fed rows a CorpusNormalizer adapted
        self.adapts_ = bool(_consumes(est, "fit", ["corpus"]))
        if not self.adapts_ and (self.adapt not in (None, "none")
                                 or "corpus" in given):
            self.adapter_ = CorpusNormalizer().fit(
                X, corpus=given.get("corpus"), speakers=speakers)
        handled = set() if self.adapter_ is None else {"corpus"}
        unused = sorted(set(metadata) & set(given) - wanted - handled)
        if unused:
            raise ParameterError(
                f"the estimator does not request {', '.join(unused)}: set it on "
                f"the step that uses it (step.set_fit_request({unused[0]}=True), "
                "under sklearn.set_config(enable_metadata_routing=True))")
        if "augmented" in given and "augmented" not in wanted:
            columns = X.columns if isinstance(X, pd.DataFrame) else None
            X, y, speakers, source = with_copies(X, y, speakers, given.pop("augmented"))
            if columns is not None:
                X = pd.DataFrame(X, columns=columns)
            # a copy carries its recording's metadata
            given = {k: np.asarray(v)[source] for k, v in given.items()
                     if k != "speakers"}
            if speakers is not None:
                given["speakers"] = speakers
        if self.adapter_ is not None:
            columns = X.columns if isinstance(X, pd.DataFrame) else None
            X = self.adapter_.transform(X, corpus=given.get("corpus"))
            if columns is not None:
                X = pd.DataFrame(X, columns=columns)
        if normalised and "speakers" not in wanted:
            self.normalizer_ = SpeakerNormalizer(min_samples=self.min_samples)
            if isinstance(X, pd.DataFrame):
                self.normalizer_.set_output(transform="pandas")
            X = self.normalizer_.fit_transform(X, speakers=speakers)
        routed = {k: v for k, v in given.items() if k in wanted}
        with config_context(enable_metadata_routing=True):
            est.fit(X, y, **routed)
        self.estimator_ = est
        self.classes_ = est.classes_
        self.flags_rows_ = _flags_rows(est)
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(est, name):
                setattr(self, name, getattr(est, name))
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = EmotionClassifier() if self.estimator is None else self.estimator
        tags.input_tags.allow_nan = get_tags(inner).input_tags.allow_nan
        return tags

    def _call(self, method, X, speakers):
        """Call ``estimator_``'s ``method``, with speakers as the protocol allows."""
        check_is_fitted(self)
        if self.adapter_ is not None:
            X = self.adapter_.transform(X, adapt=self.adapt or "none",
                                        speakers=speakers)
        if self.normalizer_ is not None:
            X = self.normalizer_.transform(X, speakers=speakers)
        extra = {"adapt": self.adapt} if self.adapts_ and self.adapt else {}
        routed_as = "predict" if method == "out_of_distribution" else method
        own = self._normalised() or (self.adapts_ and self.adapt == "speaker")
        if (own and speakers is not None
                and _consumes(self.estimator_, routed_as, ["speakers"])):
            with config_context(enable_metadata_routing=True):
                return getattr(self.estimator_, method)(X, speakers=speakers,
                                                        **extra)
        if extra:
            return getattr(self.estimator_, method)(X, **extra)
        return getattr(self.estimator_, method)(X)

    def predict(self, X, speakers=None):
        """Labels of ``X``; the test speakers' ids are used only when normalised.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        speakers : array-like of shape (n_samples,), optional

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._call("predict", X, speakers)

    def out_of_distribution(self, X, speakers=None):
        """Return the estimator's out-of-distribution mask, as :meth:`predict` sees it.

        All False when the estimator does not flag rows (``flags_rows_``).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        speakers : array-like of shape (n_samples,), optional

        Returns
        -------
        ndarray of bool, shape (n_samples,)
        """
        if not self.flags_rows_:
            return np.zeros(len(X), dtype=bool)
        return np.asarray(self._call("out_of_distribution", X, speakers), dtype=bool)

    def score(self, X, y, speakers=None):
        """UAR of :meth:`predict` on ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        speakers : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        return _uar(np.asarray(y), np.asarray(self.predict(X, speakers=speakers)))


@dataclass
class EvaluationReport:
    """Result of :func:`evaluate`.

    Figures are pooled over every evaluated row (all outer test folds, or the
    cross-corpus test set); ``folds`` breaks them down.

    Attributes
    ----------
    uar : float
        Unweighted average recall (balanced accuracy), the headline figure.
    war : float
        Weighted average recall (accuracy).
    macro_f1 : float
        Mean F1 over ``labels``.
    labels : list
        Class labels, sorted; the order of every per-class figure.
    confusion_matrix : ndarray of shape (n_labels, n_labels)
        Counts; rows are true labels, columns predicted ones.
    precision, recall, f1 : dict
        Per-class figures, keyed by label (as str).
    support : dict
        Number of evaluated rows of each class.
    folds : list of dict
        One entry an outer fold: ``fold``, ``speakers`` (test speakers),
        ``n``, ``uar``, ``war``, ``n_out_of_distribution`` (how many of its
        rows were out of distribution; None where its model cannot flag
        rows, see ``out_of_distribution``), and ``params`` / ``inner_uar`` (the
        hyper-parameters nested CV chose and their inner UAR, or None).
    protocol : str
        "speaker-normalised" or "strict".
    cv : str
        Description of the cross-validation (or cross-corpus) scheme.
    n_features : int
        Number of feature columns.
    n_samples : int
        Number of evaluated rows.
    n_speakers : int
        Number of distinct speakers among them.
    dropped_labels : dict
        Cross-corpus only: ``{"train": [...], "test": [...]}``, the labels
        of each side absent from the other, whose rows were left out.
    estimator : str
        Description of the estimator evaluated.
    y_true, y_pred, speakers : ndarray
        The evaluated rows' labels, predictions and speakers.
    out_of_distribution : ndarray of bool or None
        One entry an evaluated row: True where the estimator found the row
        unlike its training data and labelled it with its fallback model
        (see :meth:`EmotionClassifier.out_of_distribution`). None when
        the estimator cannot flag rows: it has no ``out_of_distribution``
        method (a plain scikit-learn classifier), or no fallback model
        (``fallback=None``, or ``"auto"`` on columns without sertk's names).
        ``out_of_distribution_share`` is the share of True, or None.
    """

    uar: float
    war: float
    macro_f1: float
    labels: list
    confusion_matrix: np.ndarray
    precision: dict
    recall: dict
    f1: dict
    support: dict
    folds: list
    protocol: str
    cv: str
    n_features: int
    n_samples: int
    n_speakers: int
    dropped_labels: dict = field(default_factory=dict)
    estimator: str = ""
    adapt: str | None = None
    y_true: np.ndarray = field(default=None, repr=False)
    y_pred: np.ndarray = field(default=None, repr=False)
    speakers: np.ndarray = field(default=None, repr=False)
    out_of_distribution: np.ndarray = field(default=None, repr=False)

    @property
    def out_of_distribution_share(self) -> float | None:
        """Share of the evaluated rows that were out of distribution.

        None when the estimator cannot flag rows (see
        ``out_of_distribution``).
        """
        if self.out_of_distribution is None:
            return None
        return float(np.mean(self.out_of_distribution))

    @property
    def fold_uar(self) -> tuple[float, float]:
        """Mean and standard deviation of the per-fold UAR."""
        values = [f["uar"] for f in self.folds]
        return float(np.mean(values)), float(np.std(values))

    def to_dict(self, predictions: bool = False) -> dict:
        """Return the report as a JSON-safe dict.

        Parameters
        ----------
        predictions : bool, default=False
            Also include the lists ``y_true``, ``y_pred``, ``speakers`` and
            ``out_of_distribution`` (None when the estimator cannot flag
            rows).

        Returns
        -------
        report : dict
            Keys ``uar``, ``war``, ``macro_f1``, ``fold_uar_mean``,
            ``fold_uar_std``, ``labels``, ``confusion_matrix`` (list of
            lists), ``precision``, ``recall``, ``f1``, ``support``, ``folds``,
            ``protocol``, ``cv``, ``n_features``, ``n_samples``, ``n_speakers``,
            ``out_of_distribution_share`` (None when the estimator cannot
            flag rows), ``dropped_labels``, ``estimator``.
        """
        mean, std = self.fold_uar
        out = {
            "uar": self.uar,
            "war": self.war,
            "macro_f1": self.macro_f1,
            "fold_uar_mean": mean,
            "fold_uar_std": std,
            "labels": self.labels,
            "confusion_matrix": self.confusion_matrix,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.support,
            "folds": self.folds,
            "protocol": self.protocol,
            "cv": self.cv,
            "n_features": self.n_features,
            "n_samples": self.n_samples,
            "n_speakers": self.n_speakers,
            "out_of_distribution_share": self.out_of_distribution_share,
            "dropped_labels": self.dropped_labels,
            "estimator": self.estimator,
            "adapt": self.adapt,
        }
        if predictions:
            out.update(
                y_true=self.y_true,
                y_pred=self.y_pred,
                speakers=self.speakers,
                out_of_distribution=self.out_of_distribution,
            )
        return json_safe(out)

    def summary(self) -> str:
        """Return a readable multi-line summary naming the protocol.

        Returns
        -------
        text : str
            Protocol, scheme, headline figures, the number of rows out of
            distribution (when there are any), per-class table, confusion
            matrix and, for nested CV, the parameters chosen in each fold.
        """
        mean, std = self.fold_uar
        lines = [
            f"Protocol: {self.protocol}: {PROTOCOLS[self.protocol]}",
            f"Scheme:   {self.cv}",
            *([f"Adapt:    {self.adapt} (test rows z-scored with "
               f"{_ADAPT_WORDS[self.adapt]})"] if self.adapt else []),
            f"Data:     {self.n_samples} files, {self.n_speakers} speakers, "
            f"{self.n_features} features, {len(self.labels)} classes",
        ]
        if any(self.dropped_labels.values()):
            lines.append("Dropped labels (not shared): " + ", ".join(
                f"{k} {v}" for k, v in self.dropped_labels.items()))
        lines += [
            f"UAR {self.uar:.3f}   WAR {self.war:.3f}   macro-F1 {self.macro_f1:.3f}"
            f"   (UAR per fold {mean:.3f} +/- {std:.3f}, {len(self.folds)} folds)",
        ]
        share = self.out_of_distribution_share
        if share:
            lines.append(
                f"Out of distribution: {int(np.sum(self.out_of_distribution))} of "
                f"{self.n_samples} recordings ({100 * share:.1f} %), labelled by "
                "the classifier's fallback model"
            )
        lines.append("")
        names = [str(label) for label in self.labels]
        width = max(8, *(len(n) for n in names))
        lines.append(f"{'class':<{width}}  precision  recall     f1  support")
        for n in names:
            lines.append(
                f"{n:<{width}}  {self.precision[n]:9.3f}  {self.recall[n]:6.3f}"
                f"  {self.f1[n]:5.3f}  {self.support[n]:7d}"
            )
        lines += ["", "Confusion matrix (rows = true, columns = predicted):"]
        cell = max(5, *(len(n) for n in names)) + 1
        lines.append(" " * width + "".join(f"{n:>{cell}}" for n in names))
        for n, row in zip(names, self.confusion_matrix, strict=True):
            lines.append(f"{n:<{width}}" + "".join(f"{v:>{cell}d}" for v in row))
        if any(f["params"] is not None for f in self.folds):
            lines += ["", "Parameters chosen by nested CV:"]
            for f in self.folds:
                spk = ",".join(f["speakers"])
                lines.append(f"  fold {f['fold']} ({spk}): {f['params']}")
        return "\n".join(lines)

    def plot_confusion(self, path: str | PathLike, *, title: str | None = None) -> Path:
        """Save the row-normalised confusion matrix as an image.

        Parameters
        ----------
        path : str or path-like
            Output file; the format follows the suffix (``.png``, ``.pdf``,
            ``.svg``).
        title : str, optional
            Figure title; by default the protocol and UAR.

        Returns
        -------
        path : pathlib.Path
            The file written.

        Raises
        ------
        OSError
            If the file cannot be written.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        cm = np.asarray(self.confusion_matrix, dtype=float)
        totals = cm.sum(axis=1, keepdims=True)
        rates = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
        names = [str(label) for label in self.labels]
        size = 1.0 + 0.7 * len(names)
        fig = Figure(figsize=(size + 1.5, size))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        image = ax.imshow(rates, vmin=0.0, vmax=1.0, cmap="Blues")
        fig.colorbar(image, ax=ax, label="fraction of true class")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        for (i, j), v in np.ndenumerate(rates):
            ax.text(
                j,
                i,
                f"{v:.2f}",
                ha="center",
                va="center",
                color="white" if v > 0.5 else "black",
                fontsize=8,
            )
        ax.set_title(title or f"{self.protocol}: UAR {self.uar:.3f}")
        fig.tight_layout()
        path = Path(path)
        with OutputLock(path), atomic_output(path) as temporary:
            fig.savefig(temporary, dpi=120, format=path.suffix[1:].lower() or "png")
        return path


def _check_protocol(protocol: str) -> str:
    protocol = _ALIASES.get(protocol, protocol)
    if protocol not in PROTOCOLS:
        raise ParameterError(
            f"protocol={protocol!r} is not one of {', '.join(map(repr, PROTOCOLS))}"
        )
    return protocol


def _splitter(cv: Any, n_groups: int, name: str = "cv") -> tuple[Any, str]:
    """Return a grouped CV splitter for ``cv`` and its description."""
    if isinstance(cv, str) and cv.lower() == "loso":
        if n_groups < 2:
            raise ParameterError(
                f"{name}='loso' needs at least 2 speakers, but there is "
                f"{n_groups}: a speaker-independent estimate tests each speaker "
                "on a model trained on others; add recordings of other speakers"
            )
        return LeaveOneGroupOut(), f"leave-one-speaker-out ({n_groups} folds)"
    if isinstance(cv, int | np.integer) and not isinstance(cv, bool):
        if not 2 <= cv <= n_groups:
            raise ParameterError(
                f"{name}={cv} folds, but there are {n_groups} speakers; use 2 to "
                f"{n_groups} folds, or 'loso'"
            )
        return (
            StratifiedGroupKFold(n_splits=int(cv)),
            f"{cv}-fold speaker-grouped CV (StratifiedGroupKFold)",
        )
    if hasattr(cv, "split"):
        return cv, f"{cv!r} with speakers as groups"
    raise ParameterError(
        f"{name}={cv!r} is not 'loso', a number of folds, or a CV splitter"
    )


def _rows(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if isinstance(X, pd.DataFrame) else X[idx]


def _as_features(X: Any, estimator: Any, n_jobs: int) -> Any:
    """Return ``X`` as a feature matrix, extracting features once if it is audio."""
    audio = audio_input(X)
    if audio is None:
        return X if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=float)
    return extractor_for(estimator, n_jobs=n_jobs).transform(audio)


def _training_features(
    X: Any, augmented: Any, estimator: Any, n_jobs: int, normalised: bool,
    speakers: Any = None,
) -> tuple[Any, Any]:
    """Return the training features and their copies' (None without copies).

    Audio is extracted once; so are its speed-perturbed copies, when
    ``augmented`` is None and the estimator's ``speed_perturbation`` asks
    for them under the protocol (see :func:`training_speeds`), and its
    condition copies, when its ``augment`` asks for them. Copies that
    draw babble are made fold by fold (:class:`~sertk.models.augment.FoldCopies`,
    returned instead of an array), so that no test speaker is heard in a
    training copy.
    """
    audio = audio_input(X)
    X = _as_features(X, estimator, n_jobs)
    if augmented is None and audio is not None:
        augmented = training_copies(
            estimator.get_params(deep=False),
            lambda: extractor_for(estimator, n_jobs=n_jobs), audio,
            normalised=normalised, speakers=speakers, per_fold=True)
    if augmented is None or callable(augmented):
        return X, augmented
    return X, copies_array(augmented, X)


def _fold_copies(augmented: Any, train: np.ndarray) -> np.ndarray | None:
    """Return the copies of a fold's training rows (made for the fold if need be)."""
    if augmented is None:
        return None
    return augmented(train) if callable(augmented) else augmented[train]


def _check_data(
    X: Any, y: Any, speakers: Any, what: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return ``y`` and ``speakers`` as arrays of one entry a row of ``X``."""
    y = np.asarray(y)
    if y.shape != (len(X),):
        raise ParameterError(
            f"{what}: y has shape {y.shape}, but X has {len(X)} rows; pass one "
            "label a row"
        )
    try:
        return y, check_speakers(speakers, len(X))
    except ParameterError as exc:
        raise ParameterError(f"{what}: {exc}") from None


def _prefixed(param_grid: Any) -> list[dict]:
    grids = [param_grid] if isinstance(param_grid, dict) else list(param_grid)
    ParameterGrid(grids)  # validates the grid's shape
    return [{f"estimator__{k}": v for k, v in g.items()} for g in grids]


def _fit_model(model, X, y, speakers, augmented, grid, inner_cv, corpus=None):
    """Fit ``model`` on training rows, by nested grid search if ``grid``.

    Returns the fitted model, the chosen parameters and their inner UAR.
    """
    if grid is None:
        extra = {} if corpus is None else {"corpus": corpus}
        return model.fit(X, y, speakers=speakers, augmented=augmented,
                         **extra), None, None
    copies = {} if augmented is None else {"augmented": augmented}
    n_groups = len(pd.unique(speakers))
    if isinstance(inner_cv, int | np.integer) and not isinstance(inner_cv, bool):
        inner_cv = min(int(inner_cv), n_groups)
    inner, _ = _splitter(inner_cv, n_groups, name="inner_cv")
    with config_context(enable_metadata_routing=True):
        # copies are sliced with their rows, so they follow the inner folds
        model = clone(model)  # it requests speakers and augmented by default
        search = GridSearchCV(model, grid, cv=inner, n_jobs=1, error_score="raise")
        search.fit(X, y, groups=speakers, speakers=speakers, **copies)
    params = {k.removeprefix("estimator__"): v for k, v in search.best_params_.items()}
    return search.best_estimator_, params, float(search.best_score_)


def _predict(fitted, X, speakers):
    """Labels of ``X`` and its out-of-distribution mask (None if never flagged)."""
    # The model itself ignores the test speakers under the strict protocol.
    y_pred = np.asarray(fitted.predict(X, speakers=speakers))
    flagged = fitted.out_of_distribution(X, speakers=speakers)
    return y_pred, flagged if fitted.flags_rows_ else None


def _run_fold(model, X, y, speakers, augmented, train, test, grid, inner_cv,
              corpus=None):
    fitted, params, inner = _fit_model(
        model, _rows(X, train), y[train], speakers[train],
        _fold_copies(augmented, train), grid, inner_cv,
        None if corpus is None else corpus[train]
    )
    return *_predict(fitted, _rows(X, test), speakers[test]), params, inner


def _build_report(
    y_true, y_pred, out_of_distribution, speakers, folds, labels, **info
) -> EvaluationReport:
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    keys = [str(label) for label in labels]
    return EvaluationReport(
        uar=float(np.mean(r[s > 0])),
        war=float(accuracy_score(y_true, y_pred)),
        macro_f1=float(np.mean(f)),
        labels=[json_safe(label) for label in labels],
        confusion_matrix=confusion_matrix(y_true, y_pred, labels=labels),
        precision=dict(zip(keys, map(float, p), strict=True)),
        recall=dict(zip(keys, map(float, r), strict=True)),
        f1=dict(zip(keys, map(float, f), strict=True)),
        support=dict(zip(keys, map(int, s), strict=True)),
        folds=folds,
        n_samples=len(y_true),
        n_speakers=int(pd.Series(speakers).nunique()),
        y_true=y_true,
        y_pred=y_pred,
        speakers=speakers,
        out_of_distribution=out_of_distribution,
        **info,
    )


def _fold_entry(i, y_true, y_pred, out_of_distribution, speakers, params, inner):
    return {
        "fold": i,
        "speakers": sorted(str(s) for s in pd.unique(pd.Series(speakers))),
        "n": len(y_true),
        "uar": _uar(y_true, y_pred),
        "war": float(np.mean(y_true == y_pred)),
        "n_out_of_distribution": (
            None if out_of_distribution is None else int(out_of_distribution.sum())
        ),
        "params": params,
        "inner_uar": inner,
    }


def evaluate(
    X: Any,
    y: Any,
    speakers: Any,
    *,
    estimator: Any = None,
    protocol: str = "speaker-normalised",
    cv: str | int | Any = "loso",
    test: tuple | None = None,
    param_grid: dict | list[dict] | None = None,
    inner_cv: str | int | Any | None = None,
    augmented: Any = None,
    adapt: str | None = None,
    corpus: Any = None,
    n_jobs: int = 1,
    progress: bool | str = "auto",
) -> EvaluationReport:
    """Evaluate an emotion classifier speaker-independently.

    Parameters
    ----------
    X : DataFrame, array-like of shape (n_samples, n_features), or audio
        Features, or audio paths (a list, or a DataFrame with a ``path``
        column): features are then extracted once, with the estimator's
        ``feature_set`` and ``extractor_params`` when it has them.
    y : array-like of shape (n_samples,)
        Emotion labels.
    speakers : array-like of shape (n_samples,)
        Speaker id of each row: the CV groups. May be None only for a strict
        cross-corpus run without ``param_grid``.
    estimator : classifier, default=EmotionClassifier()
        Not fitted; cloned for each fold and run by :class:`ProtocolClassifier`.
        An estimator that requests ``speakers`` by metadata routing
        (:class:`EmotionClassifier` does by default; a pipeline does after
        ``set_fit_request(speakers=True)`` on its normaliser) gets them, the
        test speakers' under the speaker-normalised protocol only, and its
        ``speaker_norm`` parameter is set to match the protocol (and a
        ``probability`` parameter to False: labels suffice). Any other
        classifier (e.g. a scaler + SVC pipeline) is given features that a
        :class:`SpeakerNormalizer` z-scored per speaker under the
        speaker-normalised protocol, raw features under the strict one.
    protocol : {"speaker-normalised", "strict"}, default="speaker-normalised"
        See the module notes; "speaker-normalized" is accepted too.
    cv : "loso", "loco", int >= 2 or CV splitter, default="loso"
        Outer scheme: leave-one-speaker-out, leave-one-corpus-out (needs
        ``corpus``; each corpus is tested on a model of the others, over the
        labels they share), K-fold
        :class:`~sklearn.model_selection.StratifiedGroupKFold` over speakers,
        or a splitter whose ``split`` takes ``groups``.
    test : tuple (X_test, y_test, speakers_test), optional
        Cross-corpus test set: train on all of ``X``, test on this. Only
        labels both sides share are kept (see ``dropped_labels``).
        ``speakers_test`` may be None (no test speaker normalisation).
    param_grid : dict or list of dict, optional
        Hyper-parameters of ``estimator`` to choose by nested CV: in each
        outer fold, a :class:`~sklearn.model_selection.GridSearchCV` scored by
        UAR over ``inner_cv`` on that fold's training speakers only.
    inner_cv : "loso", int or CV splitter, optional
        Inner scheme for ``param_grid``; by default the same as ``cv``
        (K-fold capped at the number of training speakers).
    augmented : array-like of shape (n_samples, n_copies, n_features), optional
        Features of augmented copies of each row of ``X`` (or a list of
        ``n_copies`` tables), such as speed-perturbed ones (see
        :mod:`sertk.models.augment`). Each model trains on its training rows'
        copies too; copies are never tested, and a test speaker's copies
        are never trained on. An :class:`EmotionClassifier` uses them as its
        ``speed_perturbation`` says (with "auto", under the strict protocol
        only). When ``X`` is audio and this is None, the copies are made as
        the estimator's ``speed_perturbation`` asks, if at all.
    adapt : {"none", "batch", "speaker"}, optional
        Adaptation of the test rows at prediction (see
        :mod:`sertk.models.adaptation`): "batch" z-scores each test fold
        (or the cross-corpus test set) with its own statistics, "speaker"
        each test speaker with its own, "none" uses training statistics.
        Default: the protocol's behaviour (per-speaker statistics under
        speaker-normalised, training ones under strict).
    corpus : array-like of shape (n_samples,), optional
        Corpus id of each training row: each corpus is z-scored with its
        own statistics at training (``fit(..., corpus=)``); needed by
        ``cv="loco"``.
    n_jobs : int, default=1
        Outer folds run in parallel on this many workers (joblib).
    progress : bool or "auto", default="auto"
        Print one line a fold to stderr; "auto" does so on a terminal.

    Returns
    -------
    report : EvaluationReport
        Pooled figures, per-class and per-fold breakdowns.

    Raises
    ------
    ParameterError
        If the protocol, cv, lengths or grid are invalid, or fewer than two
        labels are shared in a cross-corpus run.
    SertkError
        If a user CV splitter puts one speaker in both training and test.

    Examples
    --------
    >>> import numpy as np
    >>> from sertk.evaluation.protocols import evaluate
    >>> rng = np.random.default_rng(0)
    >>> speakers = np.repeat(["s1", "s2", "s3", "s4"], 20)
    >>> y = np.tile(["anger", "sadness"], 40)
    >>> X = rng.normal(size=(80, 3)) + (y == "anger")[:, None] * 2.0
    >>> report = evaluate(X, y, speakers, progress=False)
    >>> report.protocol, len(report.folds)
    ('speaker-normalised', 4)
    >>> report.uar > 0.8
    True
    """
    protocol = _check_protocol(protocol)
    show = show_progress(progress)
    estimator = EmotionClassifier() if estimator is None else estimator
    if not is_classifier(estimator):
        raise ParameterError(
            f"estimator={estimator!r} is not a scikit-learn classifier"
        )
    normalised = protocol == "speaker-normalised"
    grid = None if param_grid is None else _prefixed(param_grid)
    if speakers is None and (test is None or grid is not None or normalised):
        raise ParameterError(
            "speakers is None, but grouped CV, nested CV and the "
            "speaker-normalised protocol need them; pass one speaker id a row"
        )
    X, augmented = _training_features(X, augmented, estimator, n_jobs, normalised,
                                      speakers)
    y, speakers = _check_data(X, y, speakers, "training data")
    if speakers is not None and pd.isna(speakers).any():
        raise ParameterError(
            f"speakers has {int(pd.isna(speakers).sum())} missing ids; "
            "speaker-independent evaluation needs every row's speaker"
        )
    adapt = check_adapt(adapt)
    model = ProtocolClassifier(estimator, protocol=protocol, adapt=adapt)
    if corpus is not None:
        corpus = np.asarray(corpus, dtype=object)
        if corpus.shape != (len(X),):
            raise ParameterError(
                f"corpus has shape {corpus.shape}, but X has {len(X)} rows; pass "
                "one corpus id a row")
    info = {
        "protocol": protocol,
        "n_features": int(X.shape[1]),
        "estimator": repr(estimator),
    }
    if adapt is not None:
        info["adapt"] = adapt
    if test is not None:
        return _cross_corpus(
            model, X, y, speakers, augmented, test, grid, inner_cv or cv, n_jobs,
            info, corpus
        )
    if isinstance(cv, str) and cv.lower() == "loco":
        return _leave_one_corpus_out(model, X, y, speakers, augmented, corpus,
                                     grid, info, show)

    splitter, description = _splitter(cv, len(pd.unique(speakers)))
    splits = list(splitter.split(X, y, groups=speakers))
    for train, test_idx in splits:
        shared = set(speakers[train]) & set(speakers[test_idx])
        if shared:
            raise SertkError(
                f"the CV splitter put speakers {sorted(map(str, shared))} in both "
                "training and test; use a grouped splitter such as 'loso'"
            )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_run_fold)(
            model,
            X,
            y,
            speakers,
            augmented,
            train,
            test_idx,
            grid,
            inner_cv or cv,
            corpus,
        )
        for train, test_idx in splits
    )
    y_pred = np.empty(len(y), dtype=y.dtype)
    flagged = np.zeros(len(y), dtype=bool)
    flags_rows = False  # whether any fold's model could flag rows
    folds = []
    for i, ((_, test_idx), (pred, ood, params, inner)) in enumerate(
        zip(splits, results, strict=True)
    ):
        y_pred[test_idx] = pred
        if ood is not None:
            flagged[test_idx], flags_rows = ood, True
        fold = _fold_entry(i, y[test_idx], pred, ood, speakers[test_idx], params, inner)
        folds.append(fold)
        if show:
            print(
                f"fold {i + 1}/{len(splits)} (speakers {','.join(fold['speakers'])}, "
                f"n={fold['n']}): UAR {fold['uar']:.3f}"
                + (f", params {params}" if params is not None else ""),
                file=sys.stderr,
            )
    return _build_report(
        y,
        y_pred,
        flagged if flags_rows else None,
        speakers,
        folds,
        np.unique(y),
        cv=description,
        **info,
    )


def _cross_corpus(model, X, y, speakers, augmented, test, grid, inner_cv, n_jobs,
                  info, corpus=None):
    """Train on all of ``X``, test on ``test``, over the labels both share."""
    if not isinstance(test, tuple | list) or len(test) != 3:
        raise ParameterError(
            "test must be a tuple (X_test, y_test, speakers_test); speakers_test "
            "may be None"
        )
    X_test, y_test, spk_test = test
    X_test = _as_features(X_test, model.estimator, n_jobs)
    y_test, spk_test = _check_data(X_test, y_test, spk_test, "test data")
    if isinstance(X, pd.DataFrame) and isinstance(X_test, pd.DataFrame):
        missing = [c for c in X.columns if c not in X_test.columns]
        if missing:
            raise ParameterError(
                f"X_test lacks {len(missing)} feature columns of X, e.g. "
                f"{missing[:3]}; extract both with the same feature set"
            )
        X_test = X_test[X.columns]
    shared = np.intersect1d(np.unique(y), np.unique(y_test))
    dropped = {
        "train": sorted(map(str, np.setdiff1d(np.unique(y), shared))),
        "test": sorted(map(str, np.setdiff1d(np.unique(y_test), shared))),
    }
    if shared.size < 2:
        raise ParameterError(
            f"training and test data share {shared.size} label(s) "
            f"({shared.tolist()}); map both to a common vocabulary first"
        )
    train = np.flatnonzero(np.isin(y, shared))
    keep = np.flatnonzero(np.isin(y_test, shared))
    train_speakers = None if speakers is None else speakers[train]
    fitted, params, inner = _fit_model(
        model, _rows(X, train), y[train], train_speakers,
        _fold_copies(augmented, train), grid, inner_cv,
        None if corpus is None else corpus[train]
    )
    spk_eval = None if spk_test is None else spk_test[keep]
    y_true = y_test[keep]
    y_pred, flagged = _predict(fitted, _rows(X_test, keep), spk_eval)
    spk_report = (
        np.full(len(keep), "unknown", dtype=object) if spk_eval is None else spk_eval
    )
    n_train_spk = "?" if speakers is None else len(pd.unique(speakers[train]))
    description = (
        f"cross-corpus: train {len(train)} files / {n_train_spk} speakers, "
        f"test {len(keep)} files / {pd.Series(spk_report).nunique()} speakers"
    )
    folds = [_fold_entry(0, y_true, y_pred, flagged, spk_report, params, inner)]
    return _build_report(
        y_true,
        y_pred,
        flagged,
        spk_report,
        folds,
        shared,
        cv=description,
        dropped_labels=dropped,
        **info,
    )


def _leave_one_corpus_out(model, X, y, speakers, augmented, corpus, grid, info,
                          show):
    """Test each corpus on a model of the others, over the labels they share."""
    if corpus is None or pd.unique(corpus).size < 2:
        raise ParameterError(
            "cv='loco' (leave-one-corpus-out) needs corpus ids of at least two "
            "corpora (corpus=...)")
    if grid is not None:
        raise ParameterError("cv='loco' does not take a param_grid")
    y_pred = np.empty(len(y), dtype=y.dtype)
    flagged = np.zeros(len(y), dtype=bool)
    kept = np.zeros(len(y), dtype=bool)
    flags_rows = False
    folds, dropped = [], {}
    for i, held in enumerate(pd.unique(corpus)):
        test_idx = np.flatnonzero(corpus == held)
        rest = np.flatnonzero(corpus != held)
        shared = np.intersect1d(np.unique(y[rest]), np.unique(y[test_idx]))
        if shared.size < 2:
            raise ParameterError(
                f"corpus {held!r} shares {shared.size} label(s) with the others; "
                "map every corpus to a common vocabulary first")
        train = rest[np.isin(y[rest], shared)]
        test_idx = test_idx[np.isin(y[test_idx], shared)]
        dropped[str(held)] = sorted(map(str, np.setdiff1d(
            np.unique(y[corpus == held]), shared)))
        fitted, _, _ = _fit_model(
            model, _rows(X, train), y[train],
            None if speakers is None else speakers[train],
            None if augmented is None else augmented[train], None, None,
            corpus[train])
        spk = None if speakers is None else speakers[test_idx]
        pred, ood = _predict(fitted, _rows(X, test_idx), spk)
        y_pred[test_idx], kept[test_idx] = pred, True
        if ood is not None:
            flagged[test_idx], flags_rows = ood, True
        spk_report = (np.full(len(test_idx), str(held), dtype=object)
                      if spk is None else spk)
        fold = _fold_entry(i, y[test_idx], pred, ood, spk_report, None, None)
        fold["corpus"] = str(held)
        folds.append(fold)
        if show:
            print(f"fold {i + 1} (corpus {held}, n={fold['n']}): UAR {fold['uar']:.3f}",
                  file=sys.stderr)
    spk_all = (np.asarray(corpus, dtype=object) if speakers is None
               else speakers)[kept]
    return _build_report(
        y[kept], y_pred[kept], flagged[kept] if flags_rows else None, spk_all,
        folds, np.unique(y[kept]),
        cv=f"leave-one-corpus-out ({len(folds)} folds)",
        dropped_labels=dropped, **info)
