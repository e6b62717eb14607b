import json

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import KFold, LeaveOneGroupOut, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import sertk.features.extractor
from sertk.errors import ParameterError, SertkError
from sertk.evaluation.protocols import EvaluationReport, evaluate
from sertk.models.classifier import EmotionClassifier
from sertk.models.normalize import SpeakerNormalizer

LABELS = np.array(["anger", "neutral", "sadness"])


def speaker_data(rng, n_speakers=5, per_class=6, n_features=4, labels=LABELS):
    """Separable classes hidden under large per-speaker offsets and scales."""
    n_rows = per_class * len(labels)
    speakers = np.repeat([f"s{i}" for i in range(n_speakers)], n_rows)
    y = np.tile(labels, n_speakers * per_class)
    centres = rng.normal(0, 3, size=(len(labels), n_features))
    X = rng.normal(size=(len(y), n_features)) + centres[np.searchsorted(labels, y)]
    offset = rng.normal(0, 15, size=(n_speakers, n_features))
    scale = rng.uniform(0.5, 3, size=(n_speakers, n_features))
    codes = np.repeat(np.arange(n_speakers), n_rows)
    return X * scale[codes] + offset[codes], y, speakers


class SpeakerSpy(ClassifierMixin, BaseEstimator):
    """Predicts the first class; logs the speakers each call was given."""

    log: list = []
    # asks for speakers by metadata routing, as EmotionClassifier does
    __metadata_request__fit = {"speakers": True}
    __metadata_request__predict = {"speakers": True}

    def __init__(self, alpha=0.0):
        self.alpha = alpha

    def fit(self, X, y, speakers=None):
        self.log.append(("fit", None if speakers is None else set(speakers)))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X, speakers=None):
        self.log.append(("predict", None if speakers is None else set(speakers)))
        return np.full(len(X), self.classes_[0])


@pytest.fixture
def spy():
    SpeakerSpy.log = []
    return SpeakerSpy


def test_loso_never_trains_on_the_test_speaker(rng, spy):
    X, y, spk = speaker_data(rng)
    report = evaluate(X, y, spk, estimator=spy(), progress=False)
    fits = [s for call, s in spy.log if call == "fit"]
    predicts = [s for call, s in spy.log if call == "predict"]
    assert len(fits) == len(predicts) == len(report.folds) == 5
    for trained, tested, fold in zip(fits, predicts, report.folds, strict=True):
        assert len(tested) == 1 and not trained & tested
        assert trained | tested == set(spk)
        assert fold["speakers"] == sorted(tested)


def test_strict_gives_training_speakers_to_fit_and_none_to_predict(rng, spy):
    X, y, spk = speaker_data(rng)
    report = evaluate(X, y, spk, estimator=spy(), protocol="strict", progress=False)
    fits = [s for call, s in spy.log if call == "fit"]
    predicts = [s for call, s in spy.log if call == "predict"]
    assert len(fits) == len(predicts) == len(report.folds) == 5
    assert all(s is None for s in predicts)
    for trained, fold in zip(fits, report.folds, strict=True):
        assert trained == set(spk) - set(fold["speakers"])


@pytest.mark.parametrize(
    "estimator",
    [
        EmotionClassifier(),
        make_pipeline(StandardScaler(), SVC(kernel="linear", class_weight="balanced")),
    ],
    ids=["EmotionClassifier", "scaler+SVC"],
)
def test_only_speaker_normalisation_removes_speaker_offsets(rng, estimator):
    X, y, spk = speaker_data(rng)
    normalised = evaluate(X, y, spk, estimator=estimator, progress=False)
    strict = evaluate(X, y, spk, estimator=estimator, protocol="strict", progress=False)
    assert normalised.uar > 0.9
    assert strict.uar < 0.7
    assert (normalised.protocol, strict.protocol) == ("speaker-normalised", "strict")


def test_strict_test_rows_do_not_influence_each_other(rng):
    X, y, spk = speaker_data(rng)
    rows = np.flatnonzero(spk == "s2")
    kept, changed = rows[::2], rows[1::2]
    X2 = X.copy()
    X2[changed] += 25.0
    for protocol, same in (("strict", True), ("speaker-normalised", False)):
        a = evaluate(X, y, spk, protocol=protocol, progress=False).y_pred[kept]
        b = evaluate(X2, y, spk, protocol=protocol, progress=False).y_pred[kept]
        # Strict: a test row's prediction ignores the speaker's other rows.
        # Speaker-normalised uses them (this checks the test can notice).
        assert np.array_equal(a, b) is same


def test_nested_cv_searches_on_outer_training_speakers_only(rng, spy):
    X, y, spk = speaker_data(rng, n_speakers=4)
    report = evaluate(
        X, y, spk, estimator=spy(), param_grid={"alpha": [0.0, 1.0]}, progress=False
    )
    fits = [s for call, s in spy.log if call == "fit"]
    # A fold: 3 inner LOSO splits x 2 candidates, then the refit.
    assert len(fits) == 4 * 7
    for i, fold in enumerate(report.folds):
        (outer_test,) = fold["speakers"]
        chunk = fits[7 * i : 7 * (i + 1)]
        assert all(outer_test not in s for s in chunk)
        assert all(len(s) == 2 for s in chunk[:-1])  # inner training sets
        assert chunk[-1] == set(spk) - {outer_test}  # the refit
        assert fold["params"] in ({"alpha": 0.0}, {"alpha": 1.0})
        assert isinstance(fold["inner_uar"], float)


def test_nested_cv_picks_the_better_parameter(rng):
    X, y, spk = speaker_data(rng, n_speakers=4, per_class=5)
    report = evaluate(
        X,
        y,
        spk,
        param_grid={"gamma": [1e3, "scale"]},
        cv=4,
        inner_cv=3,
        progress=False,
    )
    # gamma=1000 makes every test row look unlike all training rows.
    assert [f["params"] for f in report.folds] == [{"gamma": "scale"}] * 4
    assert "Parameters chosen by nested CV" in report.summary()


def test_kfold_keeps_speakers_together(rng):
    X, y, spk = speaker_data(rng, n_speakers=6)
    report = evaluate(X, y, spk, cv=3, progress=False)
    groups = [set(f["speakers"]) for f in report.folds]
    assert len(groups) == 3 and set().union(*groups) == set(spk)
    assert sum(map(len, groups)) == 6  # disjoint
    assert "3-fold" in report.cv


@pytest.mark.filterwarnings("ignore:The groups parameter is ignored")
def test_a_splitter_that_mixes_speakers_is_refused(rng):
    X, y, spk = speaker_data(rng)
    with pytest.raises(SertkError, match="both training and test"):
        evaluate(X, y, spk, cv=KFold(3), progress=False)


def test_report_dict_summary_and_plot(rng, tmp_path):
    X, y, spk = speaker_data(rng)
    report = evaluate(pd.DataFrame(X), y, spk, progress=False)
    assert isinstance(report, EvaluationReport)
    d = report.to_dict()
    json.dumps(d)
    for key in ("uar", "war", "macro_f1", "labels", "confusion_matrix", "protocol"):
        assert key in d
    assert d["labels"] == sorted(LABELS)
    cm = np.array(d["confusion_matrix"])
    assert cm.sum() == len(y) and cm.sum(axis=1).tolist() == [30, 30, 30]
    assert np.trace(cm) / cm.sum() == pytest.approx(d["war"])
    assert d["uar"] == pytest.approx(np.mean(list(d["recall"].values())))
    assert [f["n"] for f in d["folds"]] == [18] * 5 and d["n_features"] == 4
    assert d["cv"] == "leave-one-speaker-out (5 folds)"
    json.dumps(report.to_dict(predictions=True))
    text = report.summary()
    assert "speaker-normalised" in text and "UAR" in text and "sadness" in text
    png = report.plot_confusion(tmp_path / "cm.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cross_corpus_keeps_the_shared_labels(rng):
    train_labels = np.array(["anger", "boredom", "neutral", "sadness"])
    test_labels = np.array(["anger", "neutral", "sadness", "surprise"])
    X, y, spk = speaker_data(rng, labels=train_labels)
    X_t, y_t, spk_t = speaker_data(np.random.default_rng(1), labels=test_labels)
    report = evaluate(X, y, spk, test=(X_t, y_t, spk_t), progress=False)
    assert report.labels == ["anger", "neutral", "sadness"]
    assert report.dropped_labels == {"train": ["boredom"], "test": ["surprise"]}
    assert report.n_samples == int(np.isin(y_t, report.labels).sum())
    assert report.cv.startswith("cross-corpus") and len(report.folds) == 1
    assert "Dropped labels" in report.summary()


def test_nan_features_are_imputed(rng):
    X, y, spk = speaker_data(rng)
    X[::5, 1] = np.nan
    X = np.column_stack([X, np.full(len(X), np.nan)])
    report = evaluate(X, y, spk, progress=False)
    assert report.n_features == 5 and report.uar > 0.8


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"protocol": "loose"}, "protocol='loose'"),
        ({"cv": 1}, "cv=1"),
        ({"cv": 99}, "cv=99"),
        ({"estimator": StandardScaler()}, "not a scikit-learn classifier"),
        ({"progress": "sometimes"}, "progress"),
    ],
)
def test_bad_arguments_raise_parameter_error(rng, kwargs, match):
    X, y, spk = speaker_data(rng)
    with pytest.raises(ParameterError, match=match):
        evaluate(X, y, spk, **kwargs)


def test_speakers_are_required_and_must_match(rng):
    X, y, spk = speaker_data(rng)
    with pytest.raises(ParameterError, match="speakers is None"):
        evaluate(X, y, None)
    with pytest.raises(ParameterError, match="speakers has shape"):
        evaluate(X, y, spk[:3])
    with pytest.raises(ParameterError, match="1 missing ids"):
        evaluate(X, y, np.where(np.arange(len(y)) == 4, None, spk))


def test_audio_is_extracted_once_with_the_estimators_settings(monkeypatch, rng):
    X, y, spk = speaker_data(rng)
    paths = [f"/corpus/{s}_{i:03d}.wav" for i, s in enumerate(spk)]
    table = pd.DataFrame(X, index=pd.Index(paths, name="path"))
    made, extracted = [], []

    class FakeExtractor:
        def __init__(self, feature_set="default", **params):
            made.append((feature_set, params))

        def fit(self, X=None, y=None):
            return self

        def transform(self, paths):
            extracted.append(len(paths))
            return table.loc[list(paths)]

        def get_feature_names_out(self):
            return np.asarray(table.columns)

    monkeypatch.setattr(sertk.features.extractor, "FeatureExtractor", FakeExtractor)
    clf = EmotionClassifier(feature_set="compact", extractor_params={"cache": None},
                            speed_perturbation=None)
    report = evaluate(paths, y, spk, estimator=clf, progress=False)
    assert extracted == [len(paths)]  # once, outside the folds
    # the extractor that extracted has the estimator's settings
    assert made[0] == ("compact", {"n_jobs": 1, "cache": None})
    assert report.uar > 0.9


def test_cross_val_score_routes_speakers_as_evaluate_does(rng):
    # one routing mechanism: scikit-learn's; speakers reach fit and score
    X, y, spk = speaker_data(rng)
    model = EmotionClassifier(probability=False)
    with sklearn.config_context(enable_metadata_routing=True):
        scores = cross_val_score(model, X, y, cv=LeaveOneGroupOut(),
                                 params={"speakers": spk, "groups": spk})
    report = evaluate(X, y, spk, estimator=model, progress=False)
    np.testing.assert_allclose(scores, [fold["uar"] for fold in report.folds])
    # without the test speakers' ids the test rows get pooled statistics
    with pytest.warns(UserWarning, match="without speakers"):
        cross_val_score(model, X, y, groups=spk, cv=LeaveOneGroupOut(),
                        params={"speakers": spk})


def test_metadata_reaches_a_pipeline_step_that_requests_it(rng):
    X, y, spk = speaker_data(rng)
    pipeline = make_pipeline(SpeakerNormalizer(), SVC())  # requests speakers
    report = evaluate(X, y, spk, estimator=pipeline, progress=False)
    plain = evaluate(X, y, spk, estimator=make_pipeline(SVC()), progress=False)
    assert report.uar == pytest.approx(plain.uar)  # the same normalisation
    strict = evaluate(X, y, spk, estimator=pipeline, protocol="strict",
                      progress=False)
    assert strict.uar < report.uar
