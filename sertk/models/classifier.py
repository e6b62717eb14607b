"""The emotion classifier: speaker normalisation, imputation, scaling, SVM."""

from __future__ import annotations

import inspect
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.impute import SimpleImputer
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from sertk.errors import ParameterError
from sertk.features.contours import contour_info
from sertk.features.extractor import FeatureExtractor, audio_input, extractor_for
from sertk.features.feature_sets import FEATURE_SETS, parse_feature_name
from sertk.models.adaptation import CorpusNormalizer, check_adapt
from sertk.models.augment import (
    check_augment,
    training_copies,
    training_speeds,
    with_copies,
)
from sertk.models.dimensions import (
    CircumplexRegressor,
    check_dimension_table,
    dimension_targets,
    held_out_dimensions,
)
from sertk.models.normalize import SpeakerNormalizer, check_speakers
from sertk.models.novelty import ClassDistance, held_out_distances
from sertk.models.shrinkage import CV_SHRINKAGE, choose_shrinkage

__all__ = [
    "FALLBACK_CONTOURS", "CalibratedSVC", "EmotionClassifier", "emotion_pipeline",
    "model_steps", "training_speeds",
]

_KERNELS = ("linear", "rbf", "poly", "sigmoid")
_PROJECTIONS = ("lda", None)

#: Contours of ``fallback="auto"``: F0 and H1-H2, read off the lowest
#: harmonics, which stand above broadband noise longest.
FALLBACK_CONTOURS = ("f0_hz", "f0_semitone", "h1_h2")


@contextmanager
def _quiet_steps() -> Iterator[None]:
    """Hide two scikit-learn warnings the pipeline makes on purpose.

    The imputer's on all-NaN training columns: they are dropped, and
    ``training_summary_`` lists them. The LDA's on a class of one
    recording ("Only one sample available"), whose covariance then adds
    nothing to the pooled one: the projection still fits.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Skipping features without any observed values")
        warnings.filterwarnings("ignore", message="Only one sample available")
        yield


class CalibratedSVC(ClassifierMixin, BaseEstimator):
    """SVC labels from the decision function, calibrated probabilities.

    This replaces ``SVC(probability=True)``, deprecated in scikit-learn 1.9,
    while keeping its behaviour: ``svc_`` (fitted on all rows) predicts, and
    ``calibrator_`` (``CalibratedClassifierCV(..., ensemble=False)``, whose
    sigmoids are fitted on out-of-fold decision values) gives probabilities.
    The last step of :class:`EmotionClassifier` and :func:`emotion_pipeline`.

    Parameters
    ----------
    kernel, C, gamma, class_weight
        As :class:`~sklearn.svm.SVC`'s.
    probability : bool, default=True
        Fit the calibration (at least 2 rows of each class needed).
    random_state : int, RandomState instance or None, default=None
        Seed of the calibration's folds.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.r_[np.zeros((10, 2)), np.ones((10, 2))] + np.arange(20)[:, None] / 100
    >>> y = np.repeat(["a", "b"], 10)
    >>> CalibratedSVC(random_state=0).fit(X, y).predict([[0.0, 0.0]]).tolist()
    ['a']
    """

    def __init__(
        self,
        kernel="rbf",
        C=1.0,
        gamma="scale",
        class_weight=None,
        probability=True,
        random_state=None,
    ):
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.class_weight = class_weight
        self.probability = probability
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray):
        """Fit the SVM, and the calibration when ``probability``; return self."""
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        labels, counts = np.unique(y, return_counts=True)
        if self.probability and counts.min() < 2:
            raise ParameterError(
                f"class {labels[counts.argmin()]!r} has 1 sample only; probability "
                "calibration needs at least 2 of each class: add examples, drop "
                "the class, or pass probability=False"
            )
        svc = SVC(
            kernel=self.kernel,
            C=self.C,
            gamma=self.gamma,
            class_weight=self.class_weight,
        )
        self.svc_ = clone(svc).fit(X, y)
        self.classes_ = self.svc_.classes_
        if self.probability:
            cv = StratifiedKFold(
                n_splits=min(5, int(counts.min())),
                shuffle=True,
                random_state=self.random_state,
            )
            self.calibrator_ = CalibratedClassifierCV(
                svc, method="sigmoid", cv=cv, ensemble=False
            ).fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels from the SVM's decision function."""
        check_is_fitted(self)
        return self.svc_.predict(validate_data(self, X, reset=False))

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Return the SVM's decision values."""
        check_is_fitted(self)
        return self.svc_.decision_function(validate_data(self, X, reset=False))

    @available_if(lambda self: self.probability)
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (sigmoid on out-of-fold decision values)."""
        check_is_fitted(self)
        return self.calibrator_.predict_proba(validate_data(self, X, reset=False))


#: The class's name in model files saved before it was public.
_CalibratedSVC = CalibratedSVC


def model_steps(
    *,
    speaker_norm: bool = True,
    min_speaker_samples: int = 5,
    projection: str | None = "lda",
    shrinkage: str | float = "auto",
    kernel: str = "rbf",
    C: float = 1.0,
    gamma: str | float = "scale",
    class_weight: str | dict | None = "balanced",
    probability: bool = True,
    random_state: int | np.random.RandomState | None = 0,
) -> list[tuple[str, Any]]:
    """Return the steps after the features, as :class:`EmotionClassifier` fits them.

    ``normalize`` (:class:`SpeakerNormalizer`, or "passthrough"), ``impute``
    (median), ``scale``, ``project`` (shrinkage LDA, or "passthrough") and
    ``svc`` (:class:`CalibratedSVC`): the one place these parts are put
    together, for :class:`EmotionClassifier` and :func:`emotion_pipeline`.

    Parameters
    ----------
    speaker_norm, min_speaker_samples, projection, shrinkage, kernel, C, gamma, \
class_weight, probability, random_state
        As :class:`EmotionClassifier`'s.

    Returns
    -------
    list of (str, estimator or "passthrough")

    Examples
    --------
    >>> [name for name, _ in model_steps()]
    ['normalize', 'impute', 'scale', 'project', 'svc']
    """
    return [
        ("normalize", SpeakerNormalizer(min_samples=min_speaker_samples)
         if speaker_norm else "passthrough"),
        ("impute", SimpleImputer(strategy="median")),
        ("scale", StandardScaler()),
        ("project", "passthrough" if projection is None else
         LinearDiscriminantAnalysis(solver="eigen", shrinkage=shrinkage)),
        ("svc", CalibratedSVC(kernel=kernel, C=C, gamma=gamma,
                              class_weight=class_weight, probability=probability,
                              random_state=random_state)),
    ]


def emotion_pipeline(feature_set: str = "default", **params: Any) -> Pipeline:
    """Return :class:`EmotionClassifier`'s parts as a scikit-learn Pipeline on audio.

    ``features`` (:class:`~sertk.FeatureExtractor`) followed by
    :func:`model_steps`: every part a parameter a grid search can reach
    (``features__f0_min``, ``normalize__min_samples``, ``project__shrinkage``,
    ``svc__C``, ...). Speaker ids reach ``normalize`` by metadata routing
    (enable it with ``sklearn.set_config(enable_metadata_routing=True)`` and
    pass ``speakers=``, or ``params={"speakers": ...}`` to
    :func:`~sklearn.model_selection.cross_validate`). Unlike
    :class:`EmotionClassifier`, it has no out-of-distribution fallback and
    makes no training copies; with one SVM and no copies it gives the same
    labels.

    Parameters
    ----------
    feature_set : str or FeatureSet, default="default"
        The extractor's feature set.
    **params
        Keyword arguments of :func:`model_steps`; the others go to
        :class:`~sertk.FeatureExtractor` (``f0_min``, ``n_jobs``, ...).

    Returns
    -------
    sklearn.pipeline.Pipeline

    Examples
    --------
    >>> pipeline = emotion_pipeline("minimal", f0_min=60.0, C=10.0)
    >>> pipeline.get_params()["features__f0_min"], pipeline.get_params()["svc__C"]
    (60.0, 10.0)
    """
    from sertk.features.extractor import FeatureExtractor

    names = set(inspect.signature(model_steps).parameters)
    steps = model_steps(**{k: v for k, v in params.items() if k in names})
    extractor = FeatureExtractor(
        feature_set, **{k: v for k, v in params.items() if k not in names})
    return Pipeline([("features", extractor), *steps])


class EmotionClassifier(ClassifierMixin, BaseEstimator):
    """Classify the emotion of utterances from acoustic features or audio files.

    A :class:`~sklearn.pipeline.Pipeline` of :class:`SpeakerNormalizer` (when
    ``speaker_norm``), median :class:`~sklearn.impute.SimpleImputer`,
    :class:`~sklearn.preprocessing.StandardScaler`, a shrinkage linear
    discriminant projection (when ``projection="lda"``) and
    :class:`~sklearn.svm.SVC` (with calibrated probabilities). ``X`` is a feature
    matrix (DataFrame or array), or audio: a list of file paths, or a
    DataFrame with a ``path`` column and no floating-point columns (a
    manifest, optionally with ``start``/``end`` columns for segments). For
    audio the classifier extracts features itself with
    :class:`sertk.features.extractor.FeatureExtractor`, and adds speed-perturbed copies
    of each training recording (see ``speed_perturbation``). Rows unlike any
    training data (noisy audio given to a model trained on clean speech,
    most often) are answered by a fallback model on F0 and H1-H2 (see ``fallback``).

    Parameters
    ----------
    feature_set : str, default="default"
        Feature set for extraction when ``X`` is audio; unused for features.
    speaker_norm : bool, default=True
        Z-score features per speaker (see :class:`SpeakerNormalizer`). Takes
        effect only where ``speakers`` are given; rows of unknown speakers,
        or of speakers with fewer than ``min_speaker_samples`` rows in a
        batch, use pooled training statistics. A model trained with speakers
        expects them at prediction time too: without them each row is scaled
        with pooled statistics, which no training row was.
    projection : {"lda", None}, default="lda"
        Project the scaled features onto the ``n_classes - 1`` discriminant
        directions of a linear discriminant analysis with ``shrinkage``
        (:class:`~sklearn.discriminant_analysis.LinearDiscriminantAnalysis`)
        before the SVM. With hundreds of
        correlated features and a few hundred recordings this regularised
        projection generalises to new speakers markedly better than an SVM
        on the raw features (see ``docs/benchmarks.md``). None feeds the
        scaled features to the SVM directly.
    shrinkage : "cv", "auto" or float in [0, 1], default="cv"
        Shrinkage of the LDA's within-class covariance towards a multiple of
        the identity. "cv" chooses it among
        :data:`~sertk.models.shrinkage.CV_SHRINKAGE` ("auto", 0.5, 0.8) by
        cross-validation on whole training speakers inside :meth:`fit`
        (:func:`~sertk.models.shrinkage.choose_shrinkage`), when ``speakers``
        are given and the training set has at most
        :data:`~sertk.models.shrinkage.CV_MAX_FILES` (1000) recordings and
        :data:`~sertk.models.shrinkage.CV_MAX_FEATURES` (2000) columns; it
        is "auto" on larger sets. On small corpora (a few hundred
        recordings) the Ledoit-Wolf estimate shrinks too little for the
        ``default`` columns, which then lose to the 114 ``minimal`` ones
        (``docs/classifier.md``); ``shrinkage_`` holds the value used.
        "auto" estimates it from the data (Ledoit-Wolf), which suits
        clean recordings in their hundreds; a fixed value ignores it.
        Training sets of mixed noise conditions vary along directions no
        single class owns: in the noise benchmark a fixed 0.5 served them
        better than "auto", and about as well as "cv" (``docs/faq.md``).
        Unused with ``projection=None``.
    kernel : {"rbf", "linear", "poly", "sigmoid"}, default="rbf"
        SVM kernel.
    C : float > 0, default=1.0
        SVM regularisation: larger fits the training data more closely.
    gamma : {"scale", "auto"} or float > 0, default="scale"
        Kernel coefficient of the RBF, poly and sigmoid kernels.
    class_weight : "balanced", dict or None, default="balanced"
        Class weights of the SVM; "balanced" weighs classes inversely to their
        frequency, which suits the UAR that :meth:`score` returns.
    min_speaker_samples : int >= 1, default=5
        ``min_samples`` of the :class:`SpeakerNormalizer`.
    extractor_params : dict, optional
        More keyword arguments of :class:`sertk.features.extractor.FeatureExtractor`
        (``sr``, ``f0_min``, ``f0_max``, ``n_jobs``, ``cache``, ...), not
        ``feature_set``. ``features`` is the alternative a grid search
        reaches.
    speed_perturbation : "auto", sequence of float or None, default="auto"
        Speeds of copies of each training recording to train on too, with
        their recording's label and speaker (see :mod:`sertk.models.augment`): when
        :meth:`fit` is given audio it analyses them itself, at three times
        the extraction time; feature tables cannot be re-played, so pass
        their copies as ``augmented`` (from
        :class:`~sertk.features.extractor.FeatureExtractor` with ``speed``). The copies
        move F0, formants and timing as other voices would, which helps a
        model that knows nothing of its test speakers: "auto" uses
        :data:`~sertk.models.augment.SPEED_FACTORS` (0.9, 1.1) unless the model
        normalises per speaker (``speaker_norm`` and ``speakers`` given),
        whose per-speaker z-scores already take each voice's level out. On
        EMO-DB (leave-one-speaker-out) the copies raised strict UAR from
        0.797 to 0.821 and left speaker-normalised UAR at 0.880 (``default``;
        ``minimal``: 0.860 to 0.849); nested CV chose them in every strict
        fold and was split under speaker normalisation
        (``docs/classifier.md``). None never uses copies, not even
        ``augmented`` ones, unless ``augment`` asks for copies.
    augment : sequence of str or None, default=None
        Condition copies to train on too, one a list entry (see
        :mod:`sertk.models.augment` and :mod:`sertk.audio.conditions`): a condition name
        such as ``"telephone"``, ``"reverb-0.6"`` or ``"white-10"``, or
        several joined by ``|``, of which each recording's copy draws one.
        From audio, :meth:`fit` makes them itself after the speed copies
        (babble from other training speakers' recordings); with feature
        tables, pass them in ``augmented``. A model that will hear noisy,
        reverberant or telephone audio should be trained on such copies
        (``docs/faq.md``, "My recordings are noisy"); ``AUGMENT_MIX`` of
        :mod:`sertk.models.augment` is the mix chosen by nested CV for the bundled
        models.
    noise_folder : str or None, default=None
        Folder of noise recordings for ``folder-*`` conditions of ``augment``.
    random_state : int, RandomState instance or None, default=0
        Seed of the SVM's probability calibration.
    probability : bool, default=True
        Calibrate probabilities for :meth:`predict_proba` (sigmoid scaling of
        the SVM's decision values on 5-fold internal cross-validation). It
        costs several extra SVM fits and changes no label; :func:`sertk.evaluate`
        switches it off. With False, :meth:`predict_proba` is unavailable.
    fallback : "auto", sequence of str or None, default="auto"
        Contours (such as ``"f0_semitone"``) whose features make a second,
        fallback model for *out-of-distribution* rows: those farther from
        every training class, in the discriminant space, than
        ``novelty_quantile`` of held-out training speakers' recordings are
        (see :mod:`sertk.models.novelty` and :meth:`out_of_distribution`). Such
        rows, most often noisy audio given to a model trained on clean
        speech, get the fallback's labels, probabilities and decision values.
        "auto" uses :data:`FALLBACK_CONTOURS` (F0 and H1-H2) when
        ``projection="lda"`` and the columns are sertk's: a DataFrame's
        names, or, for an array, those of ``feature_set`` when it has as
        many columns (the same numbers give the same model either way); no
        fallback otherwise. None never falls back. Setting the threshold refits the
        projection on 5 folds: on EMO-DB's ``default`` features, :meth:`fit`
        takes about 2 s instead of 0.5 s.
    novelty_quantile : float in (0, 1), default=0.99
        Quantile of the held-out training distances beyond which a row is
        out of distribution: about ``1 - novelty_quantile`` of recordings of
        new speakers in the training conditions fall back.
    dimensions : "circumplex", mapping or None, default=None
        Also learn arousal and valence in [-1, 1] (see
        :mod:`sertk.models.dimensions` and :meth:`predict_dimensions`): each
        training row's ``dimension_targets`` given to :meth:`fit`, else its
        label's point in the table: "circumplex" for
        :data:`sertk.models.dimensions.CIRCUMPLEX` (Russell 1980), or a mapping
        label -> (arousal, valence). A
        :class:`~sertk.models.dimensions.CircumplexRegressor` is fitted on
        the projection the SVM sees (and one on the fallback's, for
        out-of-distribution rows). None learns no dimensions.
    dimension_folds : int >= 2 or None, default=3
        With ``dimensions``: speaker-grouped folds (stratified folds without
        speakers) of the training rows whose held-out predictions choose,
        for arousal and for valence, the regression on the projection (its
        SVR or its nearest neighbours) and its blend with a ridge on all
        scaled features, and set its output spread
        (:meth:`~sertk.models.dimensions.CircumplexRegressor.calibrate`);
        it costs that many extra fits of the projection. None keeps the
        SVR on the projection alone, with its own spread, which is too
        small on new recordings.
    features : FeatureExtractor, optional
        The extractor for audio, as a sub-estimator: its parameters are the
        classifier's ``features__<name>`` (``features__f0_min``, ...), which
        ``get_params``, ``set_params`` and so a grid search reach. None
        builds it from ``feature_set`` and ``extractor_params``; setting a
        ``features__`` parameter on such a classifier first makes it that
        extractor (``extractor_params`` moves into it), so
        ``GridSearchCV(EmotionClassifier(), {"features__f0_min": [60, 75]})``
        works. Given, it decides: ``extractor_params`` must be None and
        ``feature_set`` its own or the default.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels.
    n_features_in_ : int
        Number of feature columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature column names, when ``X`` was a DataFrame or audio.
    pipeline_ : sklearn.pipeline.Pipeline
        The fitted steps ``normalize`` (or "passthrough"), ``impute``,
        ``scale``, ``project`` (or "passthrough"), ``svc``. Call this
        class's methods rather than the pipeline's: only they pass
        ``speakers`` to the normaliser.
    extractor_ : sertk.features.extractor.FeatureExtractor
        The fitted extractor; only when :meth:`fit` was given audio.
    shrinkage_ : "auto", float or None
        The LDA's shrinkage used: ``shrinkage``, or the value "cv" chose;
        None with ``projection=None``.
    training_summary_ : dict
        ``n_files``, ``n_features``, ``speakers`` (sorted ids, or None),
        ``n_speakers``, ``class_counts`` ({label: count}), ``n_augmented``
        (copies trained on besides the ``n_files`` recordings),
        ``speaker_normalised`` (whether per-speaker statistics were used),
        ``shrinkage_cv`` (the inner UAR of each shrinkage "cv" tried, or
        None when it did not search) and ``empty_features`` (all-NaN
        columns, which the imputer drops).
    fallback_columns_ : ndarray of int or None
        Columns of the fallback model, None without one.
    fallback_pipeline_ : sklearn.pipeline.Pipeline
        The fallback model (``impute``, ``scale``, ``project``, ``svc`` on
        ``fallback_columns_``); only with ``fallback_columns_``.
    class_distance_ : sertk.models.novelty.ClassDistance
        Distances in the discriminant space; only with ``fallback_columns_``.
    novelty_threshold_ : float
        Distance beyond which a row is out of distribution; only with
        ``fallback_columns_``.
    dimension_model_ : sertk.models.dimensions.CircumplexRegressor
        Arousal and valence from the projection (and, with
        ``dimension_folds``, the scaled features); only with ``dimensions``.
    fallback_dimension_model_ : sertk.models.dimensions.CircumplexRegressor
        The SVR on the fallback's projection (its output spread set on the
        same held-out folds, with ``dimension_folds``); only with
        ``dimensions`` and ``fallback_columns_``.

    Notes
    -----
    :meth:`predict` uses the SVM's decision function; :meth:`predict_proba`
    its Platt-scaled probabilities, fitted by internal cross-validation. The
    two can disagree on borderline rows (see :class:`~sklearn.svm.SVC`).

    Examples
    --------
    >>> import numpy as np
    >>> from sertk.models.classifier import EmotionClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(["anger", "sadness"], 20)
    >>> X = rng.normal(size=(40, 3)) + (y == "anger")[:, None] * 2.0
    >>> spk = np.tile(["s1", "s2"], 20)
    >>> clf = EmotionClassifier().fit(X, y, speakers=spk)
    >>> clf.classes_.tolist()
    ['anger', 'sadness']
    >>> float(clf.score(X, y, speakers=spk)) > 0.9
    True
    """

    # Row metadata travels by scikit-learn's metadata routing, requested by
    # default: cross_val_score(model, X, y, params={"speakers": ...}) under
    # sklearn.set_config(enable_metadata_routing=True) reaches fit and score.
    __metadata_request__fit = {"speakers": True, "augmented": True, "corpus": True,
                               "dimension_targets": True}
    __metadata_request__predict = {"speakers": True}
    __metadata_request__predict_proba = {"speakers": True}
    __metadata_request__decision_function = {"speakers": True}
    __metadata_request__score = {"speakers": True}

    def __init__(
        self,
        feature_set: str = "default",
        speaker_norm: bool = True,
        projection: str | None = "lda",
        shrinkage: str | float = "cv",
        kernel: str = "rbf",
        C: float = 1.0,
        gamma: str | float = "scale",
        class_weight: str | dict | None = "balanced",
        min_speaker_samples: int = 5,
        extractor_params: dict | None = None,
        speed_perturbation: str | Sequence[float] | None = "auto",
        augment: Sequence[str] | None = None,
        noise_folder: str | None = None,
        random_state: int | np.random.RandomState | None = 0,
        probability: bool = True,
        fallback: str | Sequence[str] | None = "auto",
        novelty_quantile: float = 0.99,
        dimensions: str | dict | None = None,
        dimension_folds: int | None = 3,
        features: FeatureExtractor | None = None,
    ):
        self.feature_set = feature_set
        self.speaker_norm = speaker_norm
        self.projection = projection
        self.shrinkage = shrinkage
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.class_weight = class_weight
        self.min_speaker_samples = min_speaker_samples
        self.extractor_params = extractor_params
        self.speed_perturbation = speed_perturbation
        self.augment = augment
        self.noise_folder = noise_folder
        self.random_state = random_state
        self.probability = probability
        self.fallback = fallback
        self.novelty_quantile = novelty_quantile
        self.dimensions = dimensions
        self.dimension_folds = dimension_folds
        self.features = features

    def __setstate__(self, state: dict) -> None:
        # model files saved before the fallback existed had none
        state.setdefault("fallback", None)
        state.setdefault("novelty_quantile", 0.99)
        state.setdefault("shrinkage", "auto")
        state.setdefault("speed_perturbation", None)
        state.setdefault("augment", None)
        state.setdefault("noise_folder", None)
        state.setdefault("dimensions", None)
        state.setdefault("dimension_folds", None)  # fitted before calibration
        state.setdefault("features", None)
        super().__setstate__(state)

    def _check_params(self) -> None:
        if not isinstance(self.speaker_norm, bool | np.bool_):
            raise ParameterError(
                f"speaker_norm={self.speaker_norm!r} is not True or False"
            )
        if self.projection not in _PROJECTIONS:
            raise ParameterError(
                f"projection={self.projection!r} is not 'lda' or None"
            )
        shrinkage = self.shrinkage
        if not (isinstance(shrinkage, str) and shrinkage in ("cv", "auto") or (
                isinstance(shrinkage, Real) and not isinstance(shrinkage, bool)
                and 0 <= shrinkage <= 1)):
            raise ParameterError(
                f"shrinkage={shrinkage!r} is not 'cv', 'auto' or a number from 0 "
                "to 1; try 0.5")
        if self.kernel not in _KERNELS:
            raise ParameterError(
                f"kernel={self.kernel!r} is not one of {', '.join(_KERNELS)}"
            )
        if isinstance(self.C, bool) or not isinstance(self.C, Real) or not self.C > 0:
            raise ParameterError(f"C={self.C!r} is not a number > 0; try 1.0 or 10.0")
        params = self.extractor_params
        if params is not None and not isinstance(params, dict):
            raise ParameterError(
                f"extractor_params={params!r} is not a dict of FeatureExtractor "
                "keyword arguments"
            )
        training_speeds(self.speed_perturbation, normalised=False)  # validates
        check_augment(self.augment)
        if self.dimensions is not None:
            check_dimension_table(self.dimensions)
        k = self.dimension_folds
        if k is not None and (isinstance(k, bool) or not isinstance(k, int | np.integer)
                              or k < 2):
            raise ParameterError(
                f"dimension_folds={k!r} is not a whole number >= 2 or None; the "
                "default is 3")
        q = self.novelty_quantile
        if isinstance(q, bool) or not isinstance(q, Real) or not 0 < q < 1:
            raise ParameterError(
                f"novelty_quantile={q!r} is not a number between 0 and 1; "
                "try 0.99")
        if not (self.fallback is None or isinstance(self.fallback, str)
                and self.fallback == "auto"):
            if isinstance(self.fallback, str) or not all(
                    isinstance(c, str) for c in self.fallback):
                raise ParameterError(
                    f"fallback={self.fallback!r} is not 'auto', None or a list "
                    "of contour names such as ['f0_semitone']")
            for contour in self.fallback:
                contour_info(contour)  # raises for an unknown name
        if params and "feature_set" in params:
            raise ParameterError(
                "extractor_params holds 'feature_set'; set the classifier's "
                "feature_set parameter instead"
            )
        self._check_features()

    def _check_features(self) -> None:
        features = self.features
        if features is None:
            return
        if not isinstance(features, FeatureExtractor):
            raise ParameterError(
                f"features={features!r} is not a FeatureExtractor (or None)")
        if self.extractor_params:
            raise ParameterError(
                "give the extractor's settings in features or in extractor_params, "
                f"not both (extractor_params={self.extractor_params!r})")
        if not (isinstance(self.feature_set, str) and self.feature_set == "default"
                or self.feature_set == features.feature_set):
            raise ParameterError(
                f"feature_set={self.feature_set!r} differs from the features "
                f"extractor's {features.feature_set!r}; set it in features only")

    def set_params(self, **params: Any) -> EmotionClassifier:
        """Set parameters, ``features__<name>`` even while ``features`` is None.

        Parameters
        ----------
        **params
            Parameters, and those of ``features`` as ``features__<name>``.
            When ``features`` is None (and not given), it first becomes a
            :class:`FeatureExtractor` of ``feature_set`` with
            ``extractor_params``, which becomes None.

        Returns
        -------
        self : EmotionClassifier

        Examples
        --------
        >>> model = EmotionClassifier(feature_set="minimal")
        >>> model.set_params(features__f0_min=60.0).features
        FeatureExtractor(f0_min=60.0, feature_set='minimal')
        """
        nested = any(k.startswith("features__") for k in params)
        if nested and params.get("features", self.features) is None:
            extractor = FeatureExtractor(
                params.get("feature_set", self.feature_set),
                **(params.get("extractor_params", self.extractor_params) or {}))
            params = {**params, "features": extractor, "extractor_params": None}
        return super().set_params(**params)

    def _features(self, X: Any, fitting: bool) -> Any:
        """Return the features of ``X``: itself, or extracted if it is audio.

        When predicting, a model takes from a wider sertk table the columns
        it was trained on (see :meth:`_trained_columns`).
        """
        audio = audio_input(X)
        if audio is not None:
            if fitting:
                self.extractor_ = extractor_for(self)
            elif not hasattr(self, "extractor_"):
                raise ParameterError(
                    "X is audio, but this classifier was trained on feature columns; "
                    "extract the same features first, or fit it on audio paths"
                )
            X = self.extractor_.transform(audio)
        return X if fitting else self._trained_columns(X)

    def _trained_columns(self, X: Any) -> Any:
        """Return ``X`` cut to the trained columns, if it is a wider sertk table.

        A later sertk may add columns to a built-in set (``default`` gained
        the rates of change): a model trained on audio (it names its set) or
        on a built-in set's table still works, on the columns it knows, when
        given the set's table of today. Other tables, and tables lacking a
        trained column, are left to fail validation.
        """
        names = getattr(self, "feature_names_in_", None)
        if (names is None or not isinstance(X, pd.DataFrame) or X.shape[1] <= names.size
                or not set(names).issubset(X.columns)):
            return X
        columns = list(X.columns)
        if hasattr(self, "extractor_") or any(
                columns == fs.feature_names() for fs in FEATURE_SETS.values()):
            return X[names]
        return X

    def _prepare(self, X: Any, speakers: Sequence | None, adapt: str | None = None,
                 reference: Any = None) -> np.ndarray:
        """Validate ``X``, adapt it (see ``adapt``) and normalise it per speaker."""
        X, reference = self._validated(X, reference)
        mode, groups = self._routes(adapt, speakers, reference, X.shape[0])
        if mode is not None:
            with np.errstate(over="ignore"):  # _project refuses rows gone inf
                X = self.adapter_.transform(X, adapt=mode, speakers=speakers,
                                            reference=reference)
        normalizer = self.pipeline_.named_steps["normalize"]
        if isinstance(normalizer, str):
            return X
        return normalizer.transform(X, speakers=groups)

    def _validated(self, X: Any, reference: Any) -> tuple[np.ndarray, Any]:
        """Return ``X`` and ``reference`` (or None) as checked float arrays."""
        check_is_fitted(self)
        X = self._features(X, fitting=False)
        X = validate_data(
            self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan"
        )
        if reference is not None:
            reference = validate_data(
                self, self._features(reference, fitting=False), reset=False,
                dtype=np.float64, ensure_all_finite="allow-nan")
        return X, reference

    def _routes(self, adapt: str | None, speakers: Sequence | None, reference: Any,
                n_rows: int) -> tuple[str | None, Sequence | None]:
        """Return the adapter's mode (None: no adapter) and the normaliser's ids.

        Raises a :class:`ParameterError` when adaptation is asked of a model
        saved before it existed.
        """
        adapt = check_adapt(adapt)
        mode = None
        if getattr(self, "adapter_", None) is not None:
            mode = adapt or "none"
            normalised = not isinstance(self.pipeline_.named_steps["normalize"], str)
            if mode == "speaker" and normalised:
                mode = "none"  # the speaker normaliser does it
        elif adapt not in (None, "none") or reference is not None:
            raise ParameterError(
                "this model was saved before adaptation existed; retrain it to "
                "use adapt or reference")
        if adapt == "batch":  # the batch is one speaker
            return mode, np.zeros(n_rows, dtype=object)
        if adapt == "none" or reference is not None:
            return mode, None
        return mode, speakers

    def _column_names(self) -> np.ndarray | None:
        """Names of the training columns, whatever the type of ``X``.

        A DataFrame's own; for an array, those of ``feature_set`` (with
        ``extractor_params``) when it has as many columns: the same numbers
        make the same model, as a DataFrame or as an array.
        """
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            return names
        try:
            names = extractor_for(self).get_feature_names_out()
        except ParameterError:
            return None
        return names if len(names) == self.n_features_in_ else None

    def _fallback_columns(self) -> np.ndarray | None:
        """Columns of the fallback model, or None for no fallback."""
        auto = isinstance(self.fallback, str)
        if self.fallback is None:
            return None
        contours = set(FALLBACK_CONTOURS if auto else self.fallback)
        names = self._column_names()
        why = None
        if self.projection is None:
            why = "it needs projection='lda'"
        elif names is None:
            why = (f"X has neither column names nor the {self.n_features_in_} "
                   f"columns of feature_set={self.feature_set!r}")
        else:
            columns = []
            for i, name in enumerate(names):
                try:
                    if parse_feature_name(str(name)).contour in contours:
                        columns.append(i)
                except ParameterError:
                    continue  # not a sertk column
            if columns:
                return np.asarray(columns)
            why = f"X has no column of the contours {sorted(contours)}"
        if auto:
            return None
        raise ParameterError(f"fallback={self.fallback!r} cannot be used: {why}; "
                             "pass fallback=None")

    def _fit_fallback(self, Xn: np.ndarray, y: np.ndarray,
                      groups: np.ndarray | None, n_files: int) -> None:
        """Fit the fallback model and the out-of-distribution threshold.

        ``groups`` (speakers, or recordings when copies have none) are held
        out whole; the threshold is a quantile of the first ``n_files`` rows'
        held-out distances, the recordings themselves, not their copies.
        """
        self.fallback_columns_ = self._fallback_columns()
        if self.fallback_columns_ is None:
            return
        if np.unique(y, return_counts=True)[1].min() < 2:
            if isinstance(self.fallback, str):  # "auto": where it can be fitted
                self.fallback_columns_ = None
                return
            raise ParameterError(
                "the fallback needs at least 2 recordings of each class; add "
                "recordings or pass fallback=None")
        if np.isnan(Xn[:, self.fallback_columns_]).all():  # e.g. no pitch found
            if isinstance(self.fallback, str):
                self.fallback_columns_ = None
                return
            raise ParameterError(
                "the fallback's columns have no value in any training recording "
                "(no pitch found? check f0_min and f0_max); pass fallback=None")
        self.class_distance_ = ClassDistance().fit(self._project(Xn)[1], y)
        with _quiet_steps():
            held_out = held_out_distances(self.pipeline_[1:-1], Xn, y,
                                          groups=groups)[:n_files]
            self.fallback_pipeline_ = Pipeline(
                [("impute", SimpleImputer(strategy="median")),
                 ("scale", StandardScaler()),
                 ("project", clone(self.pipeline_.named_steps["project"])),
                 ("svc", clone(self.pipeline_.named_steps["svc"]))]
            ).fit(Xn[:, self.fallback_columns_], y)
        self.novelty_threshold_ = float(np.quantile(held_out, self.novelty_quantile))

    def _choose_shrinkage(self, Xn: np.ndarray, y: np.ndarray,
                          speakers: np.ndarray | None, n_files: int
                          ) -> dict[str, float] | None:
        """Set the LDA's shrinkage (``shrinkage_``); inner UARs if "cv" searched.

        See :mod:`sertk.models.shrinkage`: only the training rows are used.
        """
        self.shrinkage_ = None if self.projection is None else self.shrinkage
        if self.projection is None:
            return None
        scores = None
        if self.shrinkage == "cv":
            steps = clone(self.pipeline_[1:]).set_params(svc__probability=False)
            with _quiet_steps():
                self.shrinkage_, scores = choose_shrinkage(steps, Xn, y, speakers,
                                                           n_files)
            self.pipeline_.set_params(project__shrinkage=self.shrinkage_)
        return scores

    def _dimension_targets(self, y: np.ndarray, given: Any) -> np.ndarray | None:
        """Arousal and valence of each training row, or None without dimensions."""
        if self.dimensions is None:
            if given is not None:
                raise ParameterError(
                    "dimension_targets given, but dimensions=None; pass "
                    "dimensions='circumplex' (or your own table) to learn them")
            return None
        if given is None:
            return dimension_targets(y, table=self.dimensions)
        values = np.asarray(given, dtype=float)
        if values.shape != (len(y), 2):
            raise ParameterError(
                f"dimension_targets has shape {values.shape}; pass ({len(y)}, 2): "
                "arousal and valence of each row, NaN where unknown")
        return dimension_targets(y, table=self.dimensions, arousal=values[:, 0],
                                 valence=values[:, 1])

    def _fit_dimensions(self, Xn: np.ndarray, y: np.ndarray,
                        targets: np.ndarray | None, groups: np.ndarray | None,
                        n_files: int) -> None:
        """Fit the arousal/valence regressors on the projections (main, fallback).

        With ``dimension_folds``, the main one sees the scaled features
        too, and its blend and output spread are set on held-out
        predictions of the first ``n_files`` rows (the recordings, not
        their copies), folds holding ``groups`` out whole; without, it is
        the SVR on the projection alone. The fallback's is the SVR on its
        projection, its spread set on the same kind of folds.
        """
        if targets is None:
            return
        scaled, Z = self._project(Xn)
        if self.dimension_folds is None:
            self.dimension_model_ = CircumplexRegressor().fit(Z, targets)
        else:
            regressor = CircumplexRegressor(n_projected=Z.shape[1])
            self.dimension_model_ = regressor.fit(np.hstack([Z, scaled]), targets)
            with _quiet_steps():
                held = held_out_dimensions(
                    self.pipeline_[1:4], Xn, y, targets, groups,
                    n_splits=self.dimension_folds, regressor=regressor)[:n_files]
            self.dimension_model_.calibrate(held, targets[:n_files])
        if getattr(self, "fallback_columns_", None) is not None:
            Xf = Xn[:, self.fallback_columns_]
            with _quiet_steps():
                Zf = self.fallback_pipeline_[:-1].transform(Xf)
            self.fallback_dimension_model_ = CircumplexRegressor().fit(Zf, targets)
            if self.dimension_folds is not None:
                with _quiet_steps():
                    held = held_out_dimensions(
                        self.fallback_pipeline_[:-1], Xf, y, targets, groups,
                        n_splits=self.dimension_folds)[:n_files]
                self.fallback_dimension_model_.calibrate(held, targets[:n_files])

    def _project(self, Xn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Impute and scale normalised rows, then project them.

        Returns the scaled rows and their projection (what the SVM sees).

        Raises a :class:`ParameterError` (a ValueError) for rows whose
        values are too large to scale (they overflow to infinity), as for
        infinite features.
        """
        with _quiet_steps(), np.errstate(over="ignore", invalid="ignore"):
            overflow = np.isinf(Xn).any(axis=1)  # in normalising or adapting
            if not overflow.any():
                scaled = self.pipeline_[1:3].transform(Xn)
                overflow = ~np.isfinite(scaled).all(axis=1)
            huge = np.flatnonzero(overflow)
            if huge.size:
                raise ParameterError(
                    f"{huge.size} row(s) of X (first: row {huge[0]}) hold values "
                    "too large to analyse (they overflow to infinity when "
                    "scaled); sertk's features are nowhere near so large"
                )
            return scaled, self.pipeline_[3:4].transform(scaled)

    def _novel(self, Xn: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """Boolean mask of the projected rows that are out of distribution.

        Fails closed: a row whose distance is not a finite number within
        the threshold (it overflowed), or whose features are all missing,
        is out of distribution.
        """
        if getattr(self, "fallback_columns_", None) is None:
            return np.zeros(Z.shape[0], dtype=bool)
        with np.errstate(over="ignore", invalid="ignore"):
            distance = self.class_distance_.transform(Z)
        return ~(distance <= self.novelty_threshold_) | np.isnan(Xn).all(axis=1)

    def _outputs(self, X: Any, speakers: Sequence | None, methods: Sequence[str],
                 adapt: str | None = None, reference: Any = None
                 ) -> tuple[list[np.ndarray], np.ndarray]:
        """Each of ``methods``' outputs, and the out-of-distribution mask.

        An output is the SVM's, the fallback's on novel rows. ``X`` is
        prepared and projected once for them all, so that callers wanting
        labels, probabilities and the mask together pay for one pass.
        """
        Xn = self._prepare(X, speakers, adapt, reference)
        scaled, Z = self._project(Xn)
        novel = self._novel(Xn, Z)
        outputs = []
        for method in methods:
            if method == "predict_dimensions":
                outputs.append(self._dimensions(Xn, scaled, Z, novel))
                continue
            out = getattr(self.pipeline_.named_steps["svc"], method)(Z)
            if novel.any():
                with _quiet_steps():
                    out[novel] = getattr(self.fallback_pipeline_, method)(
                        Xn[novel][:, self.fallback_columns_])
            outputs.append(out)
        return outputs, novel

    def _dimensions(self, Xn: np.ndarray, scaled: np.ndarray, Z: np.ndarray,
                    novel: np.ndarray) -> np.ndarray:
        """Arousal and valence of projected rows; the fallback's on novel rows.

        The main regressor sees the projection ``Z``, and after it the
        ``scaled`` rows if it blends in a ridge (has ``n_projected``).
        """
        if not hasattr(self, "dimension_model_"):
            raise ParameterError(
                "this classifier has no dimensions (trained with dimensions="
                "None); train it with dimensions='circumplex'")
        blended = getattr(self.dimension_model_, "n_projected", None) is not None
        out = self.dimension_model_.predict(np.hstack([Z, scaled]) if blended else Z)
        if novel.any():
            with _quiet_steps():
                Zf = self.fallback_pipeline_[:-1].transform(
                    Xn[novel][:, self.fallback_columns_])
            out[novel] = self.fallback_dimension_model_.predict(Zf)
        return out

    def _with_fallback(self, method: str, X: Any, speakers: Sequence | None,
                       adapt: str | None = None, reference: Any = None
                       ) -> np.ndarray:
        """``method``'s output of the SVM, the fallback's on novel rows."""
        return self._outputs(X, speakers, [method], adapt, reference)[0][0]

    def out_of_distribution(self, X: Any, speakers: Sequence | None = None,
                            adapt: str | None = None, reference: Any = None
                            ) -> np.ndarray:
        """Tell which rows are unlike the training data (see ``fallback``).

        Parameters
        ----------
        X : DataFrame, array-like of shape (n_samples, n_features), or audio
            As in :meth:`predict`.
        speakers : array-like of shape (n_samples,), optional
            As in :meth:`predict`.

        Returns
        -------
        ndarray of bool, shape (n_samples,)
            True where the row lies farther from every training class than
            ``novelty_threshold_``, or its distance is not a finite number
            (values so large it overflows), or all its features are missing;
            its labels and probabilities then come from the fallback model.
            All False without a fallback.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> y = np.repeat(["anger", "sadness"], 30)
        >>> X = pd.DataFrame(rng.normal(size=(60, 2)) + (y == "anger")[:, None],
        ...                  columns=["f0_semitone__mean", "loudness__mean"])
        >>> clf = EmotionClassifier(speaker_norm=False).fit(X, y)
        >>> far = pd.DataFrame([[0.0, 50.0]], columns=X.columns)
        >>> clf.out_of_distribution(far).tolist()
        [True]
        """
        return self._outputs(X, speakers, [], adapt, reference)[1]

    def fit(self, X: Any, y: Any, speakers: Sequence | None = None,
            augmented: Any = None, corpus: Sequence | None = None,
            dimension_targets: Any = None):
        """Fit the classifier.

        Parameters
        ----------
        X : DataFrame, array-like of shape (n_samples, n_features), or audio
            Features (NaN allowed; all-NaN columns are dropped), or a list of
            audio paths, or a DataFrame with a ``path`` column.
        y : array-like of shape (n_samples,)
            Emotion labels; at least two distinct ones.
        speakers : array-like of shape (n_samples,), optional
            Speaker id of each row, for per-speaker normalisation (with
            ``speaker_norm``) and to hold out whole speakers when setting the
            out-of-distribution threshold (see ``fallback``).
        augmented : array-like of shape (n_samples, n_copies, n_features), optional
            Features of augmented copies of each row (or a list of
            ``n_copies`` tables of shape (n_samples, n_features)), such as
            :class:`~sertk.features.extractor.FeatureExtractor` with ``speed=0.9`` gives
            for the same recordings. They are trained on with their row's
            label and speaker, when ``speed_perturbation`` allows copies
            (with "auto", when the model does not normalise per speaker)
            or ``augment`` asks for condition copies;
            ``training_summary_["n_augmented"]`` counts them. When not given
            and ``X`` is audio, the classifier makes the copies itself.
        corpus : array-like of shape (n_samples,), optional
            Corpus id of each row: each training corpus is z-scored with its
            own median and IQR (``adapter_``, a
            :class:`~sertk.models.adaptation.CorpusNormalizer`), so that
            recordings of another corpus can be adapted the same way at
            prediction (``adapt``). Without it all rows are one corpus.
            Labels a corpus lacks are simply absent from its rows.
        dimension_targets : array-like of shape (n_samples, 2), optional
            Arousal and valence of each row in [-1, 1] (NaN where unknown:
            the label's point in the ``dimensions`` table is used), such as
            :func:`sertk.models.dimensions.dimension_targets` gives from a
            manifest's ``arousal``, ``valence`` or ``intensity`` columns.
            Only with ``dimensions``.

        Returns
        -------
        self : EmotionClassifier
            The fitted classifier.

        Raises
        ------
        ParameterError
            If a parameter is out of range, ``y`` has fewer than two classes,
            ``speakers``, ``augmented`` or ``dimension_targets`` has the wrong
            shape, a label has no point in the ``dimensions`` table, or the
            classes are too small for the LDA projection.
        ValueError
            If ``X`` holds inf or non-numeric values, or its length differs
            from ``y``'s.
        AudioError
            If ``X`` is audio and a file cannot be analysed (see
            :class:`sertk.features.extractor.FeatureExtractor`).
        """
        self._check_params()
        audio = audio_input(X)
        X = self._features(X, fitting=True)
        augmented = training_copies(
            self.get_params(deep=False), lambda: self.extractor_, audio, augmented,
            normalised=bool(self.speaker_norm) and speakers is not None,
            speakers=speakers)
        table = X
        X, y = validate_data(
            self, X, y, dtype=np.float64, ensure_all_finite="allow-nan"
        )
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ParameterError(
                f"y holds one class only ({self.classes_.tolist()}); a classifier "
                "needs at least two distinct labels"
            )
        speakers = check_speakers(speakers, X.shape[0])
        targets = self._dimension_targets(y, dimension_targets)
        n_files = X.shape[0]
        self.adapter_ = CorpusNormalizer().fit(X, corpus=corpus, speakers=speakers)
        groups = speakers  # held out together when setting the threshold
        source = np.arange(n_files)
        if augmented is not None:
            X, y, speakers, source = with_copies(table, y, speakers, augmented)
            groups = source if speakers is None else speakers
            targets = None if targets is None else targets[source]
        params = {name: getattr(self, name)
                  for name in inspect.signature(model_steps).parameters}
        if self.shrinkage == "cv":
            params["shrinkage"] = CV_SHRINKAGE[0]
        self.pipeline_ = Pipeline(model_steps(**params))
        normalizer = self.pipeline_.named_steps["normalize"]
        X = self.adapter_.transform(X, corpus=None if corpus is None else
                                    np.asarray(corpus, dtype=object)[source])
        if self.speaker_norm:
            Xn = normalizer.fit_transform(X, speakers=speakers)
        else:
            Xn = X
        try:
            shrinkage_cv = self._choose_shrinkage(Xn, y, speakers, n_files)
            with _quiet_steps():
                self.pipeline_[1:].fit(Xn, y)
            self._fit_fallback(Xn, y, groups, n_files)
            self._fit_dimensions(Xn, y, targets, groups, n_files)
        except np.linalg.LinAlgError as exc:
            raise ParameterError(
                "the LDA projection cannot be fitted: the classes have too few "
                f"recordings ({exc}); add recordings or pass projection=None"
            ) from exc

        empty = np.flatnonzero(np.isnan(X).all(axis=0))
        names = getattr(self, "feature_names_in_", None)
        used_speakers = self.speaker_norm and speakers is not None
        spk_ids = None
        if speakers is not None:
            spk_ids = sorted(map(str, pd.Series(speakers).dropna().unique()))
        self.training_summary_ = {
            "n_files": n_files,
            "n_augmented": int(X.shape[0] - n_files),
            "n_features": int(X.shape[1]),
            "speakers": spk_ids,
            "n_speakers": None if spk_ids is None else len(spk_ids),
            "class_counts": {
                str(k): int(v) for k, v in sorted(Counter(y[:n_files]).items())
            },
            "speaker_normalised": bool(used_speakers and normalizer.speakers_.size > 0),
            "shrinkage_cv": shrinkage_cv,
            "empty_features": [
                str(names[i]) if names is not None else int(i) for i in empty
            ],
        }
        return self

    def predict(self, X: Any, speakers: Sequence | None = None,
                adapt: str | None = None, reference: Any = None) -> np.ndarray:
        """Predict the emotion of each row.

        Parameters
        ----------
        X : DataFrame, array-like of shape (n_samples, n_features), or audio
            As in :meth:`fit`; NaN features are imputed.
        speakers : array-like of shape (n_samples,), optional
            Speaker id of each row. A speaker with at least
            ``min_speaker_samples`` rows here is normalised with statistics of
            these rows (no labels used); see :class:`SpeakerNormalizer`.
        adapt : {"none", "batch", "speaker"}, optional
            Whose statistics z-score the rows before the model sees them
            (:mod:`sertk.models.adaptation`): the training corpora's
            ("none"), these rows' own ("batch": assumes they mix emotions;
            fewer than 10 rows fall back to "none" with a warning), or each
            speaker's own ("speaker", needs ``speakers``). Default: "speaker"
            behaviour where ``speakers`` are given to a model trained with
            them (per-speaker normalisation), "none" otherwise.
        reference : features or audio, optional
            A few recordings of the same speaker or setting (neutral speech
            is best) whose statistics anchor the normalisation instead.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Predicted labels, from ``classes_``; the fallback model's on
            rows that are :meth:`out_of_distribution`.

        Raises
        ------
        ParameterError
            If ``speakers`` has the wrong length, or ``X`` is audio but the
            classifier was trained on features.
        ValueError
            If ``X`` has other columns than in :meth:`fit`.
        sklearn.exceptions.NotFittedError
            If called before :meth:`fit`.
        """
        return self._with_fallback("predict", X, speakers, adapt, reference)

    @available_if(lambda self: self.probability)
    def predict_proba(self, X: Any, speakers: Sequence | None = None,
                      adapt: str | None = None, reference: Any = None) -> np.ndarray:
        """Class probabilities of each row.

        Parameters
        ----------
        X : DataFrame, array-like of shape (n_samples, n_features), or audio
            As in :meth:`predict`.
        speakers : array-like of shape (n_samples,), optional
            As in :meth:`predict`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; rows sum to 1.

        Raises
        ------
        ParameterError
            As :meth:`predict`.
        ValueError
            As :meth:`predict`.
        sklearn.exceptions.NotFittedError
            If called before :meth:`fit`.
        """
        return self._with_fallback("predict_proba", X, speakers, adapt, reference)

    def decision_function(self, X: Any, speakers: Sequence | None = None,
                          adapt: str | None = None, reference: Any = None
                          ) -> np.ndarray:
        """SVM decision values of each row.

        Parameters
        ----------
        X : DataFrame, array-like of shape (n_samples, n_features), or audio
            As in :meth:`predict`.
        speakers : array-like of shape (n_samples,), optional
            As in :meth:`predict`.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            One-vs-rest decision values; one column for two classes.

        Raises
        ------
        ParameterError
            As :meth:`predict`.
        ValueError
            As :meth:`predict`.
        sklearn.exceptions.NotFittedError
            If called before :meth:`fit`.
        """
        return self._with_fallback("decision_function", X, speakers, adapt, reference)

    def predict_dimensions(self, X: Any, speakers: Sequence | None = None,
                           adapt: str | None = None, reference: Any = None
                           ) -> np.ndarray:
        """Arousal and valence of each row, in [-1, 1].

        Parameters
        ----------
        X : DataFrame, array-like of shape (n_samples, n_features), or audio
            As in :meth:`predict`.
        speakers : array-like of shape (n_samples,), optional
            As in :meth:`predict`.
        adapt : {"none", "batch", "speaker"}, optional
            As in :meth:`predict`.
        reference : features or audio, optional
            As in :meth:`predict`.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns in the order of :data:`sertk.models.dimensions.DIMENSIONS`
            (arousal, valence); on :meth:`out_of_distribution` rows, the
            fallback's.

        Raises
        ------
        ParameterError
            If the classifier was trained without ``dimensions``, or as
            :meth:`predict`.
        ValueError
            As :meth:`predict`.
        sklearn.exceptions.NotFittedError
            If called before :meth:`fit`.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> y = np.repeat(["anger", "sadness"], 20)
        >>> X = rng.normal(size=(40, 3)) + (y == "anger")[:, None] * 3.0
        >>> clf = EmotionClassifier(speaker_norm=False, dimensions="circumplex")
        >>> arousal = clf.fit(X, y).predict_dimensions(X)[:, 0]
        >>> anger, sadness = arousal[y == "anger"], arousal[y == "sadness"]
        >>> bool(anger.mean() > 0.5), bool(sadness.mean() < -0.5)
        (True, True)
        """
        return self._outputs(X, speakers, ["predict_dimensions"], adapt,
                             reference)[0][0]

    def score(
        self,
        X: Any,
        y: Any,
        speakers: Sequence | None = None,
        sample_weight: Any = None,
    ) -> float:
        """Unweighted average recall (balanced accuracy) on ``X``.

        Parameters
        ----------
        X : DataFrame, array-like of shape (n_samples, n_features), or audio
            As in :meth:`predict`.
        y : array-like of shape (n_samples,)
            True labels.
        speakers : array-like of shape (n_samples,), optional
            As in :meth:`predict`.
        sample_weight : array-like of shape (n_samples,), optional
            Row weights.

        Returns
        -------
        uar : float
            Mean over the classes present in ``y`` of their recall.

        Raises
        ------
        ParameterError
            As :meth:`predict`.
        ValueError
            As :meth:`predict`.
        """
        if speakers is None and getattr(self, "training_summary_", {}).get(
                "speaker_normalised"):
            warnings.warn(
                "score() without speakers: this model normalises per speaker, "
                "so every test row gets pooled statistics. Pass speakers=; in "
                "cross_val_score, enable metadata routing "
                "(sklearn.set_config(enable_metadata_routing=True)) and pass "
                "params={'speakers': ...}", UserWarning, stacklevel=2)
        y_pred = self.predict(X, speakers=speakers)
        with warnings.catch_warnings():
            # A test speaker need not have every class: UAR over those it has.
            warnings.filterwarnings("ignore", message="y_pred contains classes")
            return float(
                balanced_accuracy_score(y, y_pred, sample_weight=sample_weight)
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
