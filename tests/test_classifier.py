import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
import soundfile as sf
from conftest import SR, harmonic_tone
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    LeaveOneGroupOut,
    cross_validate,
)
from sklearn.pipeline import Pipeline

import sertk.features.extractor
from sertk.errors import ParameterError
from sertk.features.extractor import FeatureExtractor
from sertk.features.feature_sets import get_feature_set
from sertk.models.classifier import EmotionClassifier, emotion_pipeline, model_steps

LABELS = np.array(["anger", "neutral", "sadness"])


def speaker_data(rng, n_speakers=5, per_class=8, n_features=4):
    """Three classes; each speaker shifts and scales every feature strongly."""
    n_rows = per_class * len(LABELS)
    speakers = np.repeat([f"s{i}" for i in range(n_speakers)], n_rows)
    y = np.tile(LABELS, n_speakers * per_class)
    centres = rng.normal(0, 3, size=(len(LABELS), n_features))
    X = rng.normal(size=(len(y), n_features)) + centres[np.searchsorted(LABELS, y)]
    offset = rng.normal(0, 8, size=(n_speakers, n_features))
    scale = rng.uniform(0.5, 3, size=(n_speakers, n_features))
    codes = np.repeat(np.arange(n_speakers), n_rows)
    X = X * scale[codes] + offset[codes]
    columns = [f"feat{i}__mean" for i in range(n_features)]
    return pd.DataFrame(X, columns=columns), y, speakers


def test_fit_predict_on_a_feature_dataframe(rng):
    X, y, spk = speaker_data(rng)
    clf = EmotionClassifier().fit(X, y, speakers=spk)
    assert clf.classes_.tolist() == sorted(LABELS)
    assert list(clf.feature_names_in_) == list(X.columns)
    assert clf.n_features_in_ == 4
    summary = clf.training_summary_
    assert summary["n_files"] == len(y)
    assert summary["speakers"] == [f"s{i}" for i in range(5)]
    assert summary["class_counts"] == {"anger": 40, "neutral": 40, "sadness": 40}
    assert summary["speaker_normalised"] is True
    pred = clf.predict(X, speakers=spk)
    assert set(pred) <= set(LABELS)
    assert clf.score(X, y, speakers=spk) == balanced_accuracy_score(y, pred)


def test_speaker_normalisation_is_what_generalises_to_a_new_speaker(rng):
    X, y, spk = speaker_data(rng, n_speakers=6)
    train, test = spk != "s5", spk == "s5"
    X[test] = X[test] * 2.0 + 40.0  # a voice unlike any training speaker's
    clf = EmotionClassifier().fit(X[train], y[train], speakers=spk[train])
    assert clf.score(X[test], y[test], speakers=spk[test]) > 0.9
    # Without the test speaker's ids (pooled statistics), or without speaker
    # normalisation at all, the unseen speaker's offset ruins it.
    with pytest.warns(UserWarning, match="without speakers"):
        assert clf.score(X[test], y[test]) < 0.7
    plain = EmotionClassifier(speaker_norm=False).fit(X[train], y[train], spk[train])
    assert plain.score(X[test], y[test], speakers=spk[test]) < 0.7
    assert plain.training_summary_["speaker_normalised"] is False


def test_all_nan_training_column_and_nan_rows_still_predict(rng):
    X, y, spk = speaker_data(rng)
    X["empty__mean"] = np.nan
    X.iloc[::7, 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = EmotionClassifier().fit(X, y, speakers=spk)
    assert clf.training_summary_["empty_features"] == ["empty__mean"]
    X_new = X.iloc[:4].copy()
    X_new.iloc[0] = np.nan  # a row with no feature at all
    X_new.iloc[1, 2] = np.nan
    X_new.iloc[2, -1] = 1.0  # a value where training had none
    pred = clf.predict(X_new)
    assert len(pred) == 4 and set(pred) <= set(LABELS)
    proba = clf.predict_proba(X_new)
    assert proba.shape == (4, 3) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1)


def test_predict_proba_is_in_classes_order_and_mostly_agrees(rng):
    X, y, spk = speaker_data(rng)
    clf = EmotionClassifier().fit(X, y, speakers=spk)
    proba = clf.predict_proba(X, speakers=spk)
    agree = clf.classes_[proba.argmax(axis=1)] == clf.predict(X, speakers=spk)
    assert agree.mean() > 0.9
    assert clf.decision_function(X, speakers=spk).shape == (len(y), 3)


def test_probability_false_skips_calibration(rng):
    X, y, spk = speaker_data(rng, n_speakers=1)
    clf = EmotionClassifier(probability=False).fit(X, y)
    assert not hasattr(clf, "predict_proba")
    with pytest.raises(ParameterError, match="probability=False"):
        EmotionClassifier(projection=None).fit(X.iloc[:4], y[:4])  # 1 neutral, 1 sad
    with pytest.raises(ParameterError, match="projection=None"):
        EmotionClassifier(probability=False).fit(X.iloc[:4], y[:4])
    clf = EmotionClassifier(probability=False, projection=None).fit(X.iloc[:4], y[:4])
    assert clf.predict(X.iloc[:2]).shape == (2,)


def test_a_class_of_one_recording_fits_without_warnings(rng):
    X, y, _ = speaker_data(rng)
    first = np.flatnonzero(y == LABELS[0])[0]
    keep = (y != LABELS[0]) | (np.arange(len(y)) == first)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = EmotionClassifier(speaker_norm=False, probability=False).fit(
            X[keep], y[keep])
    assert clf.classes_.tolist() == sorted(LABELS)
    assert clf.pipeline_[1:-1].transform(X.to_numpy()).shape == (len(y), 2)


def test_arrays_work_without_speakers(rng):
    X, y, _ = speaker_data(rng, n_speakers=1)
    clf = EmotionClassifier().fit(X.to_numpy(), y)
    assert clf.training_summary_["speakers"] is None
    assert clf.training_summary_["speaker_normalised"] is False
    assert not hasattr(clf, "feature_names_in_")
    assert clf.score(X.to_numpy(), y) > 0.8


def test_metadata_routing_with_cross_validate(rng):
    X, y, spk = speaker_data(rng)
    with sklearn.config_context(enable_metadata_routing=True):
        clf = EmotionClassifier(probability=False).set_fit_request(speakers=True)
        clf.set_score_request(speakers=True)
        result = cross_validate(
            clf, X, y, cv=LeaveOneGroupOut(), params={"speakers": spk, "groups": spk}
        )
    assert result["test_score"].mean() > 0.9  # score is UAR with test speakers


class FakeExtractor:
    """Stands in for sertk.FeatureExtractor: features from a table."""

    table: pd.DataFrame
    made: list = []

    def __init__(self, feature_set="default", **params):
        self.feature_set = feature_set
        self.params = params
        FakeExtractor.made.append(self)

    def fit(self, X=None, y=None):
        return self

    def transform(self, X):
        paths = X["path"] if isinstance(X, pd.DataFrame) else X
        out = self.table.loc[list(paths)]
        out.index.name = "path"
        return out


@pytest.fixture
def fake_extract(monkeypatch, rng):
    X, y, spk = speaker_data(rng)
    paths = [f"/corpus/{s}_{i:03d}.wav" for i, s in enumerate(spk)]
    FakeExtractor.table = X.set_axis(paths)
    FakeExtractor.made = []
    monkeypatch.setattr(sertk.features.extractor, "FeatureExtractor", FakeExtractor)
    return paths, y, spk


def test_audio_paths_are_extracted_with_the_classifiers_settings(fake_extract):
    paths, y, spk = fake_extract
    clf = EmotionClassifier(feature_set="compact", extractor_params={"n_jobs": 2},
                            speed_perturbation=None)
    clf.fit(paths, y, speakers=spk)
    (extractor,) = FakeExtractor.made
    assert extractor.feature_set == "compact" and extractor.params == {"n_jobs": 2}
    assert clf.extractor_ is extractor
    assert list(clf.feature_names_in_) == list(FakeExtractor.table.columns)
    # A manifest-like frame: path plus non-float columns (speaker read as int).
    manifest = pd.DataFrame({"path": paths, "label": y, "speaker": np.arange(len(y))})
    from_frame = clf.predict(manifest, speakers=spk)
    np.testing.assert_array_equal(from_frame, clf.predict(np.array(paths), spk))
    assert clf.score(paths, y, speakers=spk) > 0.9


def test_a_feature_set_that_gained_columns_still_feeds_a_saved_model(fake_extract, rng):
    """A model trained on audio predicts on its own columns of a wider table."""
    paths, y, spk = fake_extract
    clf = EmotionClassifier(speed_perturbation=None).fit(paths, y, speakers=spk)
    before = clf.predict(paths, speakers=spk)
    table = FakeExtractor.table
    # The set gains a column in front (as `default` gained the rates of change).
    FakeExtractor.table = table.assign(new__mean=rng.normal(size=len(table)))[
        ["new__mean", *table.columns]]
    np.testing.assert_array_equal(clf.predict(paths, speakers=spk), before)
    FakeExtractor.table = table.drop(columns=table.columns[0])
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(paths, speakers=spk)  # a column it needs is missing


def test_a_model_trained_on_columns_takes_its_own_from_a_built_in_table(rng):
    """Trained on part of a built-in set's table, it reads that part of a whole one."""
    names = get_feature_set("minimal").feature_names()
    whole = pd.DataFrame(rng.normal(size=(60, len(names))), columns=names)
    y = np.repeat(["anger", "neutral", "sadness"], 20)
    whole.iloc[:, :3] += 3 * (y == "anger")[:, None]
    part = whole[names[:40]]  # as if the set had 40 columns then
    clf = EmotionClassifier(speaker_norm=False).fit(part, y)
    np.testing.assert_array_equal(clf.predict(whole), clf.predict(part))
    with pytest.raises(ValueError, match="feature names"):  # not a set's table
        clf.predict(part.assign(extra__mean=1.0))


def test_audio_for_a_model_trained_on_features_is_refused(fake_extract, rng):
    paths, y, spk = fake_extract
    clf = EmotionClassifier().fit(FakeExtractor.table, y, speakers=spk)
    with pytest.raises(ParameterError, match="trained on feature columns"):
        clf.predict(paths)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"kernel": "cubic"}, "kernel='cubic'"),
        ({"C": 0}, "C=0"),
        ({"shrinkage": 1.5}, "shrinkage=1.5"),
        ({"shrinkage": "ledoit"}, "shrinkage='ledoit'"),
        ({"shrinkage": True}, "shrinkage=True"),
        ({"speaker_norm": "yes"}, "speaker_norm"),
        ({"min_speaker_samples": 0}, "min_samples=0"),
        ({"extractor_params": {"feature_set": "x"}}, "feature_set"),
    ],
)
def test_bad_parameters_raise_parameter_error(rng, params, match):
    X, y, spk = speaker_data(rng, n_speakers=1)
    with pytest.raises(ParameterError, match=match):
        EmotionClassifier(**params).fit(X, y, speakers=spk)


def test_shrinkage_sets_the_projection_s_covariance_shrinkage(rng):
    # two features that covary within each class: with no shrinkage the LDA
    # discounts their shared direction, with full shrinkage (identity
    # covariance) it cannot, so the projections differ
    X, y, spk = speaker_data(rng, n_speakers=2, n_features=2)
    X["feat1__mean"] = X["feat0__mean"] + 0.3 * X["feat1__mean"]
    fits = {value: EmotionClassifier(speaker_norm=False, shrinkage=value)
            .fit(X, y, speakers=spk) for value in ("auto", 0.0, 1.0)}
    for value, clf in fits.items():
        assert clf.pipeline_.named_steps["project"].shrinkage == value
    project = {value: clf.pipeline_[1:-1].transform(X.to_numpy())
               for value, clf in fits.items()}
    assert not np.allclose(np.abs(project[0.0]), np.abs(project[1.0]), atol=1e-3)


def test_bad_inputs_name_the_problem(rng):
    X, y, spk = speaker_data(rng, n_speakers=1)
    with pytest.raises(ParameterError, match="one class"):
        EmotionClassifier().fit(X, np.full(len(y), "anger"))
    with pytest.raises(ParameterError, match="speakers has shape"):
        EmotionClassifier().fit(X, y, speakers=spk[:3])
    with pytest.raises(ParameterError, match="single path"):
        EmotionClassifier().fit("clip.wav", ["anger"])


def test_the_classifier_is_its_parts(rng):
    # EmotionClassifier is the one-line default built from model_steps
    y = np.repeat(["anger", "calm", "sadness"], 20)
    X = rng.normal(size=(60, 6)) + (y[:, None] == "anger") * 1.5
    spk = np.tile(["a", "b", "c", "d"], 15)
    clf = EmotionClassifier(fallback=None, speed_perturbation=None).fit(
        X, y, speakers=spk)
    with sklearn.config_context(enable_metadata_routing=True):
        parts = Pipeline(model_steps()).fit(X, y, speakers=spk)
        np.testing.assert_array_equal(parts.predict(X, speakers=spk),
                                      clf.predict(X, speakers=spk))
        np.testing.assert_allclose(parts.predict_proba(X, speakers=spk),
                                   clf.predict_proba(X, speakers=spk))


# Steady tones have no pause, so pause__mean_length and pause__std_length are
# NaN in every file (by design); the imputer says it skips them.
@pytest.mark.filterwarnings("ignore:Skipping features without any observed")
def test_a_grid_search_reaches_the_extractor_through_the_pipeline(tmp_path):
    paths, labels, speakers = tone_corpus(tmp_path)
    pipeline = emotion_pipeline("minimal", probability=False, progress=False)
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(pipeline, {"features__f0_min": [60.0, 90.0]},
                              cv=GroupKFold(n_splits=2))
        search.fit(paths, labels, groups=speakers, speakers=speakers)
    assert list(search.cv_results_["param_features__f0_min"]) == [60.0, 90.0]
    assert search.best_estimator_.named_steps["features"].f0_min in (60.0, 90.0)
    assert search.best_score_ > 0.9


def tone_corpus(folder):
    """Low and high voices of four speakers: 32 files of 0.5 s."""
    paths, labels, speakers = [], [], []
    for s, base in enumerate((100.0, 120.0, 140.0, 160.0)):
        for i in range(4):
            for label, factor in (("low", 1.0), ("high", 1.8)):
                path = folder / f"s{s}_{label}{i}.wav"
                sf.write(path, harmonic_tone(base * factor + 3 * i, 0.5), SR)
                paths.append(str(path))
                labels.append(label)
                speakers.append(f"s{s}")
    return paths, labels, speakers


@pytest.mark.filterwarnings("ignore:Skipping features without any observed")
def test_a_grid_search_reaches_the_classifiers_extractor(tmp_path):
    # the scikit-learn way: features__f0_min, on the one-line default
    paths, labels, speakers = tone_corpus(tmp_path)
    model = EmotionClassifier("minimal", probability=False,
                              extractor_params={"progress": False})
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(model, {"features__f0_min": [60.0, 90.0]},
                              cv=GroupKFold(n_splits=2))
        search.fit(paths, labels, groups=speakers, speakers=speakers)
    assert list(search.cv_results_["param_features__f0_min"]) == [60.0, 90.0]
    best = search.best_estimator_
    assert best.extractor_.f0_min == search.best_params_["features__f0_min"]
    assert best.extractor_.progress is False  # extractor_params moved into it
    assert search.best_score_ > 0.9
    # the parameter reaches the analysis: a floor above a voice loses its pitch
    model = EmotionClassifier("minimal", speaker_norm=False, probability=False)
    low = [p for p, y in zip(paths, labels, strict=True) if y == "low"][:1]
    f0 = [clone(model).set_params(features__f0_min=f0_min, features__progress=False)
          .fit(paths, labels).extractor_.transform(low)["f0_semitone__mean"].iloc[0]
          for f0_min in (60.0, 400.0)]
    assert not np.isnan(f0[0]) and np.isnan(f0[1])
    # without any pitch the "auto" fallback has nothing to learn from: none
    blind = clone(model).set_params(features__f0_min=400.0, features__progress=False)
    assert blind.fit(paths, labels).fallback_columns_ is None
    with pytest.raises(ParameterError, match="no value in any training recording"):
        blind.set_params(fallback=["f0_semitone"]).fit(paths, labels)


def test_features_and_extractor_params_make_the_same_model(tmp_path):
    paths, labels, _ = tone_corpus(tmp_path)
    settings = {"f0_min": 60.0, "progress": False}
    given = EmotionClassifier(features=FeatureExtractor("minimal", **settings),
                              speaker_norm=False).fit(paths, labels)
    old = EmotionClassifier("minimal", speaker_norm=False,
                            extractor_params=settings).fit(paths, labels)
    assert given.extractor_.get_params() == old.extractor_.get_params()
    np.testing.assert_array_equal(given.decision_function(paths),
                                  old.decision_function(paths))
    assert "features__f0_min" in given.get_params(deep=True)
    assert clone(given).features is not given.features  # a sub-estimator


def test_features_is_checked_against_the_other_extractor_settings():
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.repeat(["a", "b"], 10)
    for params, message in (
            ({"features": "minimal"}, "not a FeatureExtractor"),
            ({"features": FeatureExtractor(), "extractor_params": {"f0_min": 60.0}},
             "not both"),
            ({"features": FeatureExtractor("default"), "feature_set": "minimal"},
             "differs")):
        with pytest.raises(ParameterError, match=message):
            EmotionClassifier(**params).fit(X, y)
    # given, an extractor's own feature set may be repeated
    EmotionClassifier(features=FeatureExtractor("minimal"), feature_set="minimal",
                      fallback=None).fit(X, y)
