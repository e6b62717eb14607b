"""The out-of-distribution fallback of EmotionClassifier, sertk.models.novelty, and
how evaluation reports the rows that fell back."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sertk.errors import ParameterError
from sertk.evaluation.protocols import evaluate
from sertk.features.feature_sets import get_feature_set
from sertk.models.classifier import FALLBACK_CONTOURS, EmotionClassifier
from sertk.models.novelty import ClassDistance, held_out_distances

LABELS = np.array(["anger", "neutral", "sadness"])
PITCH = ["f0_semitone__mean", "f0_semitone__std", "h1_h2__mean"]
SPECTRAL = [f"mfcc{k:02d}__mean" for k in range(1, 9)]


def corpus(rng, n_speakers=6, per_class=10):
    """Every column tells the classes apart; spectral ones more sharply."""
    n = n_speakers * per_class * len(LABELS)
    y = np.tile(LABELS, n // len(LABELS))
    speakers = np.repeat([f"s{i}" for i in range(n_speakers)], n // n_speakers)
    code = np.searchsorted(LABELS, y)[:, None]
    pitch = 1.5 * code + rng.normal(size=(n, len(PITCH)))
    spectral = 3.0 * code + rng.normal(size=(n, len(SPECTRAL)))
    X = pd.DataFrame(np.hstack([pitch, spectral]), columns=PITCH + SPECTRAL)
    return X, y, speakers


def noisy(X, rng):
    """What broadband noise does to a clean-trained model's input: every
    spectral column moves far, all the same way; pitch columns stay."""
    out = X.copy()
    out[SPECTRAL] += 40.0 + rng.normal(size=(len(X), len(SPECTRAL)))
    return out


def test_noisy_rows_fall_back_to_pitch_and_keep_their_labels(rng):
    X, y, spk = corpus(rng)
    test = spk == "s0"
    shifted = noisy(X[test], rng)
    kept = EmotionClassifier(speaker_norm=False).fit(X[~test], y[~test],
                                                     speakers=spk[~test])
    plain = EmotionClassifier(speaker_norm=False, fallback=None).fit(
        X[~test], y[~test], speakers=spk[~test])
    assert kept.out_of_distribution(shifted).all()
    # without the fallback, the shifted rows collapse onto one or two labels
    assert balanced_accuracy_score(y[test], plain.predict(shifted)) < 0.7
    assert balanced_accuracy_score(y[test], kept.predict(shifted)) > 0.8
    # the fallback sees the rows as the main pipeline does: after the
    # training corpus's own z-scores (adapter_, adapt='none')
    adapted = kept.adapter_.transform(shifted.to_numpy(), adapt="none")
    pitch_only = kept.fallback_pipeline_.predict_proba(
        adapted[:, kept.fallback_columns_])
    np.testing.assert_allclose(kept.predict_proba(shifted), pitch_only)
    assert kept.decision_function(shifted).shape == (test.sum(), len(LABELS))


def test_clean_rows_of_a_new_speaker_rarely_fall_back(rng):
    X, y, spk = corpus(rng, n_speakers=8)
    test = np.isin(spk, ["s0", "s1"])
    clf = EmotionClassifier(speaker_norm=False, probability=False).fit(
        X[~test], y[~test], speakers=spk[~test])
    assert clf.out_of_distribution(X[test]).mean() < 0.1
    plain = EmotionClassifier(speaker_norm=False, probability=False,
                              fallback=None).fit(X[~test], y[~test])
    # the rows that do not fall back get the main model's labels
    inside = ~clf.out_of_distribution(X[test])
    np.testing.assert_array_equal(clf.predict(X[test])[inside],
                                  plain.predict(X[test])[inside])


def test_the_quantile_sets_how_many_new_speakers_rows_fall_back(rng):
    X, y, spk = corpus(rng, n_speakers=10)
    test = np.isin(spk, ["s0", "s1", "s2"])
    shares = [EmotionClassifier(speaker_norm=False, probability=False,
                                novelty_quantile=q)
              .fit(X[~test], y[~test], speakers=spk[~test])
              .out_of_distribution(X[test]).mean() for q in (0.5, 0.99)]
    assert 0.3 < shares[0] < 0.7 and shares[1] < 0.1


def test_the_fallback_uses_only_the_named_contours(rng):
    X, y, spk = corpus(rng)
    auto = EmotionClassifier(probability=False).fit(X, y, speakers=spk)
    assert [X.columns[i] for i in auto.fallback_columns_] == PITCH
    assert set(FALLBACK_CONTOURS) >= {"f0_semitone", "h1_h2"}
    named = EmotionClassifier(probability=False, fallback=["h1_h2"]).fit(X, y)
    assert [X.columns[i] for i in named.fallback_columns_] == ["h1_h2__mean"]


def test_auto_is_off_where_it_cannot_work(rng):
    X, y, spk = corpus(rng)
    arrays = EmotionClassifier(probability=False).fit(X.to_numpy(), y)
    foreign = EmotionClassifier(probability=False).fit(
        X.set_axis([f"c{i}" for i in range(X.shape[1])], axis=1), y)
    no_lda = EmotionClassifier(probability=False, projection=None).fit(X, y)
    for clf, rows in ((arrays, X.to_numpy()), (foreign, None), (no_lda, X)):
        assert clf.fallback_columns_ is None
        if rows is not None:
            assert not clf.out_of_distribution(noisy(X, rng) if rows is X
                                               else rows + 50).any()


@pytest.mark.parametrize(("params", "match"), [
    ({"fallback": ["f0_semitone"]}, "neither column names nor the 11 columns"),
    ({"fallback": ["no_such_contour"]}, "no_such_contour"),
    ({"fallback": "f0_semitone"}, "list of contour names"),
    ({"novelty_quantile": 1.0}, "between 0 and 1"),
    ({"novelty_quantile": 0}, "between 0 and 1"),
])
def test_bad_fallback_parameters_say_what_is_wrong(rng, params, match):
    X, y, _ = corpus(rng)
    with pytest.raises(ParameterError, match=match):
        EmotionClassifier(**params).fit(X.to_numpy(), y)


def test_the_fallback_projects_with_the_classifier_s_shrinkage(rng):
    X, y, _ = corpus(rng)
    clf = EmotionClassifier(probability=False, shrinkage=0.5).fit(X, y)
    assert clf.fallback_pipeline_.named_steps["project"].shrinkage == 0.5


def test_named_contours_absent_from_x_are_refused(rng):
    X, y, _ = corpus(rng)
    with pytest.raises(ParameterError, match="no column of the contours"):
        EmotionClassifier(fallback=["loudness"]).fit(X, y)


def test_models_pickled_before_the_fallback_still_predict(rng):
    X, y, spk = corpus(rng)
    clf = EmotionClassifier(probability=False, fallback=None).fit(X, y)
    for name in ("fallback", "novelty_quantile", "fallback_columns_",
                 "shrinkage"):
        del clf.__dict__[name]  # as in a model file from an older sertk
    old = pickle.loads(pickle.dumps(clf))
    assert old.get_params()["fallback"] is None
    assert old.get_params()["shrinkage"] == "auto"
    assert not old.out_of_distribution(noisy(X, rng)).any()
    assert len(old.predict(X)) == len(y)


def test_class_distance_is_the_squared_mahalanobis_distance(rng):
    y = np.repeat([0, 1], 2000)
    Z = rng.normal(size=(4000, 2)) * [1.0, 3.0] + 10.0 * y[:, None]
    d = ClassDistance().fit(Z, y).transform(np.array([[0.0, 6.0], [12.0, 10.0]]))
    # within-class standard deviations 1 and 3: (6 / 3)^2 and (2 / 1)^2
    np.testing.assert_allclose(d, [4.0, 4.0], rtol=0.05)


def test_held_out_distances_hold_out_whole_groups(rng):
    y = np.tile([0, 1], 50)
    groups = np.tile(np.arange(5), 20)  # interleaved: no fold is a group by chance
    X = rng.normal(size=(100, 2)) + 3.0 * y[:, None]
    X[groups == 4] += 30.0  # a speaker unlike the others
    grouped = held_out_distances(StandardScaler(), X, y, groups=groups)
    mixed = held_out_distances(StandardScaler(), X, y)
    # held out as a whole, the odd speaker is far from everything learned;
    # mixed into every fold, it is not
    assert grouped[groups == 4].min() > 10 * np.median(mixed[groups == 4])


def test_cross_corpus_evaluation_counts_the_test_rows_that_fell_back(rng):
    X, y, spk = corpus(rng)
    X_t, y_t, spk_t = corpus(np.random.default_rng(1))
    shifted = noisy(X_t, rng)
    report = evaluate(X, y, spk, test=(shifted, y_t, spk_t), protocol="strict",
                      progress=False)
    # the model evaluate fits under the strict protocol, fitted by hand
    clf = EmotionClassifier(speaker_norm=False, probability=False).fit(
        X, y, speakers=spk)
    mask = clf.out_of_distribution(shifted)
    assert mask.mean() > 0.9
    np.testing.assert_array_equal(report.out_of_distribution, mask)
    np.testing.assert_array_equal(report.y_pred, clf.predict(shifted))
    assert report.out_of_distribution_share == pytest.approx(mask.mean())
    assert report.folds[0]["n_out_of_distribution"] == mask.sum()
    assert (f"Out of distribution: {mask.sum()} of {len(y_t)} recordings "
            f"({100 * mask.mean():.1f} %)") in report.summary()
    d = report.to_dict(predictions=True)
    json.dumps(d)
    assert d["out_of_distribution"] == mask.tolist()
    assert d["out_of_distribution_share"] == pytest.approx(mask.mean())


def test_loso_counts_each_folds_rows_out_of_distribution(rng):
    X, y, spk = corpus(rng)
    odd = spk == "s3"
    X.loc[odd] = noisy(X.loc[odd], rng)
    report = evaluate(X, y, spk, protocol="strict", progress=False)
    counts = {f["speakers"][0]: f["n_out_of_distribution"] for f in report.folds}
    assert sum(counts.values()) == report.out_of_distribution.sum()
    assert counts["s3"] > 0.9 * odd.sum()
    assert report.out_of_distribution[odd].all()
    assert report.out_of_distribution[~odd].mean() < 0.1


def test_in_distribution_loso_rarely_falls_back(rng):
    X, y, spk = corpus(rng)
    report = evaluate(X, y, spk, progress=False)
    assert report.out_of_distribution.shape == y.shape
    assert report.out_of_distribution_share < 0.1
    assert sum(f["n_out_of_distribution"] for f in report.folds) == (
        report.out_of_distribution.sum())


@pytest.mark.parametrize("estimator", [
    make_pipeline(StandardScaler(), SVC()),
    EmotionClassifier(fallback=None),
], ids=["scaler+SVC", "no fallback"])
def test_estimators_that_cannot_fall_back_report_no_share(rng, estimator):
    X, y, spk = corpus(rng)
    report = evaluate(X, y, spk, test=(noisy(X, rng), y, spk),
                      estimator=estimator, protocol="strict", progress=False)
    assert report.out_of_distribution is None
    assert report.out_of_distribution_share is None
    assert report.folds[0]["n_out_of_distribution"] is None
    d = report.to_dict(predictions=True)
    assert d["out_of_distribution_share"] is None
    assert d["out_of_distribution"] is None
    assert "Out of distribution" not in report.summary()


def test_the_same_numbers_make_the_same_model_as_a_dataframe_or_an_array(rng):
    # issue 17: the fallback was built only for a DataFrame with sertk's names
    names = get_feature_set("minimal").feature_names()
    y = np.repeat(LABELS, 20)
    codes = np.searchsorted(LABELS, y)
    centres = rng.normal(0, 2, size=(len(LABELS), len(names)))
    X = pd.DataFrame(rng.normal(size=(len(y), len(names))) + centres[codes],
                     columns=names)
    spk = np.tile([f"s{i}" for i in range(5)], len(y) // 5)
    far = X.iloc[:10] + 50.0
    models = [EmotionClassifier(feature_set="minimal", speaker_norm=False,
                                probability=False).fit(data, y, speakers=spk)
              for data in (X, X.to_numpy())]
    frame, array = models
    assert frame.fallback_columns_ is not None
    np.testing.assert_array_equal(frame.fallback_columns_, array.fallback_columns_)
    assert frame.out_of_distribution(far).all()
    np.testing.assert_array_equal(frame.out_of_distribution(far),
                                  array.out_of_distribution(far.to_numpy()))
    np.testing.assert_array_equal(frame.predict(far), array.predict(far.to_numpy()))
    np.testing.assert_array_equal(frame.decision_function(far),
                                  array.decision_function(far.to_numpy()))
