"""Why a recording got its label: the features that pushed it there, in words.

:func:`explain` gives, for each row, the few features that moved the
classifier's decision most toward the label it gave, with their values
relative to a *reference*: the speaker's usual (a model that normalises per
speaker, given the speaker's recordings), or else the training corpus's
average. Each comes as numbers (raw units and standard deviations) and as
a phrase: "median pitch 3.1 semitones above the speaker's usual".

Method
------
An :class:`~sertk.models.classifier.EmotionClassifier` scores a row by normalising,
imputing and scaling its features, projecting them (a linear discriminant
analysis) and applying an SVM. Everything before the SVM is linear, so a
feature's effect on the projection is exact. The explained quantity is the
label's *margin* ``S``: the sum of the SVM's one-vs-one decision values in
favour of the label (the confidence scikit-learn's one-vs-rest decision adds
up). ``S`` is not linear in the features when the kernel is RBF, so each
feature's share is its *integrated gradient* (Sundararajan, Taly & Yan,
"Axiomatic attribution for deep networks", ICML 2017): its difference from
the reference, times the mean gradient of ``S`` along the straight line from
the reference to the row (``steps`` midpoints; gradients by central
differences in the projected space, mapped back to the features through the
exact linear map). The shares add up to ``S(row) - S(reference)``
(completeness; each table states the rounding error), and are exact for a
linear kernel. Rows out of distribution are explained through the fallback
model that labelled them, on its own features.

Faithfulness is checked, not assumed: :func:`removal_effect` sets features to
their reference value and returns how much the margin falls; the test suite
checks that removing a row's top features lowers it more than removing as
many random ones, for every bundled example.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sertk.models.classifier import EmotionClassifier
>>> rng = np.random.default_rng(0)
>>> y = np.repeat(["anger", "sadness"], 30)
>>> X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["loudness__mean",
...                  "f0_semitone__p50", "jitter__local"])
>>> X["loudness__mean"] += 3 * (y == "anger")
>>> model = EmotionClassifier(speaker_norm=False, fallback=None).fit(X, y)
>>> table = explain(model, X.iloc[[0]], top=2)
>>> table[["feature", "rank"]].values.tolist()  # the only one for "anger"
[['loudness__mean', 1]]
>>> print(table.loc[0, "text"])
loudness (mean) +0.9 SD above the training average (+1.79 sone-like units)
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from sertk.errors import ParameterError
from sertk.features.contours import DESCRIPTORS, RATE_UNIT_SUFFIX, contour_info
from sertk.features.extractor import audio_input
from sertk.features.feature_sets import parse_feature_name
from sertk.models.adaptation import AdaptationWarning
from sertk.models.normalize import SpeakerNormalizer

__all__ = ["METHOD", "explain", "feature_words", "removal_effect"]

#: How the attributions are computed, as the tables say.
METHOD = ("integrated gradients of the label's SVM margin (sum of its "
          "one-vs-one decision values), through the exact linear map of the "
          "normaliser, scaler and discriminant projection")

#: Plain words for contours (the rest use their documented description).
_CONTOUR_WORDS = {
    "f0_semitone": "pitch", "f0_hz": "pitch", "intensity_db": "intensity",
    "rms_db": "level", "loudness": "loudness", "hnr_db": "harmonics-to-noise ratio",
    "h1_h2": "H1-H2 (breathiness)", "spectral_centroid": "brightness",
    "spectral_rolloff": "spectral roll-off", "spectral_flatness": "spectral flatness",
    "spectral_flux": "spectral change", "alpha_ratio": "alpha ratio",
    "hammarberg": "Hammarberg index",
    "spectral_slope_0_500": "spectral slope 0-500 Hz",
    "spectral_slope_500_1500": "spectral slope 500-1500 Hz",
    "zcr": "zero-crossing rate",
    "f1_hz": "F1", "f2_hz": "F2", "f3_hz": "F3", "f1_bw": "F1 bandwidth",
    "f2_bw": "F2 bandwidth", "f3_bw": "F3 bandwidth",
}
_FUNCTIONAL_WORDS = {
    "mean": "mean", "std": "variability", "cv": "relative variability",
    "p20": "low end (20th pct)", "p50": "median", "p80": "high end (80th pct)",
    "range_p20_p80": "range", "min": "minimum", "max": "maximum",
    "skew": "skewness", "kurtosis": "peakedness", "slope": "trend",
    "rising_slope_mean": "rises", "falling_slope_mean": "falls",
    "step_std": "jumpiness",
}
_DESCRIPTOR_WORDS = {
    "jitter__local": "jitter", "shimmer__local": "shimmer",
    "shimmer__local_db": "shimmer (dB)", "duration__seconds": "duration",
    "voiced__fraction": "voiced share", "voiced_segment__count": "voiced segments",
    "voiced_segment__rate": "voiced segments a second (tempo)",
    "voiced_segment__mean_length": "voiced segment length",
    "voiced_segment__std_length": "voiced segment length variability",
    "pause__count": "pauses", "pause__rate": "pauses a second",
    "pause__mean_length": "pause length",
    "pause__std_length": "pause length variability",
}
_UNIT_WORDS = {"semitones re 27.5 Hz": "semitones", "dB re 2e-5": "dB", "dBFS": "dB",
               "arbitrary (sone-like)": "sone-like units"}


def feature_words(name: str) -> tuple[str, str | None]:
    """Return plain words for a feature column, and its unit (None if unknown).

    Parameters
    ----------
    name : str
        A sertk column (``f0_semitone__p50``); other names come back as
        they are.

    Returns
    -------
    words : str
    unit : str or None
        The unit of a difference in this feature (None for ratios of unknown
        scale and foreign columns).

    Examples
    --------
    >>> feature_words("f0_semitone__p50")
    ('pitch (median)', 'semitones')
    >>> feature_words("loudness_voiced__std")
    ('loudness, voiced frames (variability)', 'sone-like units')
    >>> feature_words("f0_semitone_delta__p80")
    ('pitch, delta (high end (80th pct))', 'semitones/s')
    >>> feature_words("F0semitoneFrom27.5Hz_sma3nz_amean")
    ('F0semitoneFrom27.5Hz_sma3nz_amean', None)
    """
    try:
        parsed = parse_feature_name(name)
    except ParameterError:
        return name, None
    if name in DESCRIPTORS:
        unit = contour_info(name).unit
        words = _DESCRIPTOR_WORDS.get(name, name.replace("__", " ").replace("_", " "))
        unit = _UNIT_WORDS.get(unit, unit)
        return words, None if unit in ("ratio", "count") else unit
    info = contour_info(parsed.contour)
    contour, frames = parsed.contour, ""
    for suffix in ("_voiced", "_unvoiced", "_delta"):
        if contour.endswith(suffix):
            contour, frames = contour[: -len(suffix)], suffix[1:]
    words = _CONTOUR_WORDS.get(contour)
    if words is None:
        words = contour.replace("mfcc", "MFCC ").replace("melband", "mel band ")
    if frames:
        words += ", delta" if frames == "delta" else f", {frames} frames"
    words += f" ({_FUNCTIONAL_WORDS.get(parsed.functional, parsed.functional)})"
    unit = info.unit.removesuffix(RATE_UNIT_SUFFIX)
    rate = unit != info.unit
    unit = _UNIT_WORDS.get(unit, unit) + ("/s" if rate else "")
    if parsed.functional in ("cv", "skew", "kurtosis"):
        unit = None
    elif parsed.functional in ("slope", "rising_slope_mean", "falling_slope_mean",
                               "step_std"):
        unit = f"{unit}/s"
    if unit in ("ratio", "arbitrary"):
        unit = None
    return words, unit


@dataclass
class _Chain:
    """The linear steps and the SVM that scored a row."""

    inputs: np.ndarray  # columns of the normalised row the chain reads
    impute: Any
    scale: Any
    project: Any  # a transformer, or None
    svc: Any  # fitted sklearn SVC

    @property
    def columns(self) -> np.ndarray:
        """Columns of the row each scaled feature is (the imputer drops empty ones)."""
        return self.inputs[~np.isnan(self.impute.statistics_)]

    def scaled(self, Xn: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():  # empty training columns: dropped on purpose
            warnings.filterwarnings("ignore", message="Skipping features without")
            return self.scale.transform(self.impute.transform(Xn[:, self.inputs]))

    def projection(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(W, b)`` with ``project(x) == x @ W + b`` (exact, affine)."""
        n = self.scale.mean_.size
        if self.project is None:
            return np.eye(n), np.zeros(n)
        b = self.project.transform(np.zeros((1, n)))[0]
        return self.project.transform(np.eye(n)) - b, b


def _chains(model: Any) -> tuple[_Chain, _Chain | None]:
    steps = model.pipeline_.named_steps
    project = None if isinstance(steps["project"], str) else steps["project"]
    main = _Chain(np.arange(model.n_features_in_), steps["impute"], steps["scale"],
                  project, steps["svc"].svc_)
    fallback = None
    if getattr(model, "fallback_columns_", None) is not None:
        f = model.fallback_pipeline_.named_steps
        fproject = None if isinstance(f["project"], str) else f["project"]
        fallback = _Chain(np.asarray(model.fallback_columns_), f["impute"], f["scale"],
                          fproject, f["svc"].svc_)
    return main, fallback


def _margin(svc: Any, Z: np.ndarray, c: int) -> np.ndarray:
    """Sum of the one-vs-one decision values in favour of class index ``c``."""
    ovo = copy.copy(svc)
    ovo.decision_function_shape = "ovo"
    values = ovo.decision_function(Z)
    n = len(svc.classes_)
    if n == 2:
        return values.ravel() if c == 1 else -values.ravel()
    total = np.zeros(Z.shape[0])
    k = 0
    for i in range(n):
        for j in range(i + 1, n):
            if i == c:
                total += values[:, k]
            elif j == c:
                total -= values[:, k]
            k += 1
    return total


def _attribute(chain: _Chain, x: np.ndarray, c: int, steps: int
               ) -> tuple[np.ndarray, float, float]:
    """Integrated gradients of the margin from the reference (0) to scaled ``x``.

    Returns the attributions (one a scaled feature), the margin change
    ``S(x) - S(0)`` and the completeness error (|sum - change|).
    """
    W, b = chain.projection()
    z0, z1 = b, x @ W + b
    alphas = (np.arange(steps) + 0.5) / steps
    path = z0 + alphas[:, None] * (z1 - z0)
    d = W.shape[1]
    h = 1e-4 * max(1.0, float(np.abs(path).max()))
    offsets = np.vstack([np.eye(d) * h, -np.eye(d) * h])
    probes = (path[:, None, :] + offsets[None]).reshape(-1, d)
    values = _margin(chain.svc, probes, c).reshape(steps, 2, d)
    gradient = (values[:, 0] - values[:, 1]).mean(axis=0) / (2 * h)
    attributions = x * (W @ gradient)
    ends = _margin(chain.svc, np.vstack([z0, z1]), c)
    change = float(ends[1] - ends[0])
    return attributions, change, abs(float(attributions.sum()) - change)


def _reference_words(model: Any, speakers: Any, adapt: str | None) -> str:
    normaliser = model.pipeline_.named_steps["normalize"]
    if adapt == "batch":
        return "the batch's average"
    if (adapt == "speaker" or isinstance(normaliser, SpeakerNormalizer)) and (
            speakers is not None):
        return "the speaker's usual"
    return "the training average"


def _raw_reference(model: Any, X: np.ndarray, speakers: Any, adapt: str | None,
                   reference: Any, chain: _Chain) -> np.ndarray:
    """Raw feature values at which a row's scaled features are 0 (the reference).

    Every step before the scaler is a per-cell affine map, ``(x - centre) /
    scale``: the corpus adapter's (median and IQR of the training corpus,
    batch, speaker or reference recordings, as ``adapt`` says), then the
    speaker normaliser's. Composing them and inverting at the scaler's mean
    gives the reference in the feature's own units.
    """
    X, reference = model._validated(X, reference)
    mode, groups = model._routes(adapt, speakers, reference, X.shape[0])
    center, scale = np.zeros_like(X), np.ones_like(X)
    if mode is not None:
        with warnings.catch_warnings():  # predicting warned already
            warnings.simplefilter("ignore", AdaptationWarning)
            center, scale = model.adapter_.statistics(
                X, adapt=mode, speakers=speakers, reference=reference)
    normaliser = model.pipeline_.named_steps["normalize"]
    if isinstance(normaliser, SpeakerNormalizer):
        mean, spread = normaliser.statistics((X - center) / scale, groups)
        center, scale = center + scale * mean, scale * spread
    cols = chain.columns
    return center[:, cols] + scale[:, cols] * chain.scale.mean_


def _number(value: float) -> str:
    return f"{value:+.2f}" if abs(value) < 10 else f"{value:+.0f}"


def _phrase(words: str, sd: float, difference: float, unit: str | None,
            reference: str) -> str:
    side = "above" if sd >= 0 else "below"
    text = f"{words} {sd:+.1f} SD {side} {reference}"
    if unit is not None and np.isfinite(difference):
        text += f" ({_number(difference)} {unit})"
    return text


def explain(model: Any, X: Any, speakers: Any = None, *, top: int = 5,
            steps: int = 32, adapt: str | None = None,
            reference: Any = None) -> pd.DataFrame:
    """Name the features that pushed each row toward its label.

    Parameters
    ----------
    model : EmotionClassifier
        A fitted classifier.
    X : DataFrame or array-like of shape (n_samples, n_features)
        Feature rows (as for ``model.predict``; not audio).
    speakers : array-like of shape (n_samples,), optional
        Speaker ids, as for ``model.predict``: a model that normalises per
        speaker then explains relative to each speaker's usual.
    top : int in [1, 20], default=5
        Features a row.
    steps : int >= 4, default=32
        Points on the integration path.
    adapt, reference : optional
        As for ``model.predict`` (adaptation to a batch, speakers or
        reference recordings): the explanation is of the label given so,
        and ``reference`` / ``difference`` are in the feature's units
        relative to what the row was normalised by (the adapter's and the
        speaker normaliser's statistics inverted).

    Returns
    -------
    pd.DataFrame
        ``top`` rows a row of ``X`` (positively contributing features, the
        largest first; fewer if fewer pushed toward the label): ``row``
        (position in ``X``), ``label``, ``out_of_distribution``, ``rank``,
        ``feature`` (column name, or ``column N`` for a model trained on an
        array), ``words``, ``value`` (raw), ``reference`` (raw value at the
        reference), ``difference`` (``value - reference``), ``unit``,
        ``sd`` (difference in standard deviations, as the model scales
        it), ``contribution`` (to the label's margin), ``share`` (of the
        margin's change from the reference), ``text``. ``attrs`` hold
        ``method``, ``reference`` (words), ``by_index`` (True for a model
        without feature names) and ``completeness_error`` (largest
        |sum of contributions - margin change| over the rows).

    Raises
    ------
    ParameterError
        If ``top`` or ``steps`` is out of range, or ``X`` is audio.
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    """
    check_is_fitted(model)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 20:
        raise ParameterError(f"top={top!r} is not a whole number from 1 to 20")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 4:
        raise ParameterError(f"steps={steps!r} is not a whole number >= 4")
    if audio_input(X) is not None:
        raise ParameterError(
            "X is audio; extract its features first (model.extractor_.transform)")
    names = getattr(model, "feature_names_in_", None)
    by_index = names is None
    raw = model._validated(X, None)[0]
    Xn = model._prepare(X, speakers, adapt, reference)
    (labels,), novel = model._outputs(X, speakers, ["predict"], adapt, reference)
    main, fallback = _chains(model)
    words = _reference_words(model, speakers, adapt)
    references = {id(c): _raw_reference(model, X, speakers, adapt, reference, c)
                  for c in (main, fallback) if c is not None}
    rows, worst = [], 0.0
    for i in range(raw.shape[0]):
        chain = fallback if novel[i] and fallback is not None else main
        c = int(np.flatnonzero(chain.svc.classes_ == labels[i])[0])
        x = chain.scaled(Xn[i:i + 1])[0]
        attributions, change, error = _attribute(chain, x, c, steps)
        worst = max(worst, error)
        ref = references[id(chain)][i]
        order = [j for j in np.argsort(-attributions) if attributions[j] > 0][:top]
        for rank, j in enumerate(order, 1):
            column = int(chain.columns[j])
            name = f"column {column}" if by_index else str(names[column])
            words_of, unit = (name, None) if by_index else feature_words(name)
            value = raw[i, column]
            difference = value - ref[j]
            sd = float(x[j])
            rows.append({
                "row": i, "label": labels[i], "out_of_distribution": bool(novel[i]),
                "rank": rank, "feature": name, "words": words_of, "value": value,
                "reference": ref[j], "difference": difference, "unit": unit,
                "sd": sd, "contribution": float(attributions[j]),
                "share": float(attributions[j] / change) if change else np.nan,
                "text": _phrase(words_of, sd, difference, unit, words)})
    table = pd.DataFrame(rows, columns=[
        "row", "label", "out_of_distribution", "rank", "feature", "words", "value",
        "reference", "difference", "unit", "sd", "contribution", "share", "text"])
    table.attrs.update(method=METHOD, reference=words, by_index=by_index,
                       completeness_error=worst)
    return table


def removal_effect(model: Any, X: Any, features: Any, speakers: Any = None,
                   adapt: str | None = None, reference: Any = None) -> np.ndarray:
    """How much each row's label margin falls when features are set to the reference.

    The margin is that of :func:`explain` (the label ``model`` gives the
    row as it is, through the model that labelled it); a removed feature
    takes its reference value (0 once scaled: the speaker's usual or the
    training average).

    Parameters
    ----------
    model : EmotionClassifier
        A fitted classifier.
    X : DataFrame or array-like of shape (n_samples, n_features)
        Feature rows.
    features : sequence of sequences of str or int
        For each row, the columns to remove (names, or indices of ``X``).
    speakers : array-like of shape (n_samples,), optional
        As in :func:`explain`.
    adapt, reference : optional
        As in :func:`explain`.

    Returns
    -------
    ndarray of shape (n_samples,)
        Margin as it is minus margin with the features removed (positive:
        the removed features had pushed toward the label).

    Raises
    ------
    ParameterError
        If ``features`` has not one entry a row, or names an unknown column.

    Examples
    --------
    >>> import numpy as np
    >>> from sertk.models.classifier import EmotionClassifier
    >>> y = np.repeat(["a", "b"], 20)
    >>> X = np.random.default_rng(0).normal(size=(40, 2)) + 2 * (y == "a")[:, None]
    >>> model = EmotionClassifier(speaker_norm=False).fit(X, y)
    >>> bool(removal_effect(model, X[:1], [[0, 1]])[0] > 0)
    True
    """
    check_is_fitted(model)
    names = getattr(model, "feature_names_in_", None)
    if len(features) != len(X):
        raise ParameterError(
            f"features has {len(features)} entries for {len(X)} rows; give the "
            "columns to remove for each row")
    Xn = model._prepare(X, speakers, adapt, reference)
    (labels,), novel = model._outputs(X, speakers, ["predict"], adapt, reference)
    main, fallback = _chains(model)
    effects = np.empty(len(X))
    for i, removed in enumerate(features):
        chain = fallback if novel[i] and fallback is not None else main
        c = int(np.flatnonzero(chain.svc.classes_ == labels[i])[0])
        x = chain.scaled(Xn[i:i + 1])
        cut = x.copy()
        for feature in removed:
            column = _column_index(feature, names)
            where = np.flatnonzero(chain.columns == column)
            cut[0, where] = 0.0
        W, b = chain.projection()
        margins = _margin(chain.svc, np.vstack([x @ W + b, cut @ W + b]), c)
        effects[i] = margins[0] - margins[1]
    return effects


def _column_index(feature: Any, names: Any) -> int:
    if isinstance(feature, int | np.integer):
        return int(feature)
    if isinstance(feature, str) and feature.startswith("column ") and names is None:
        return int(feature.removeprefix("column "))
    if names is not None:
        found = np.flatnonzero(np.asarray(names) == feature)
        if found.size:
            return int(found[0])
    raise ParameterError(f"unknown feature {feature!r}")
