"""The LDA's shrinkage chosen by cross-validation over training speakers."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

import sertk.models.shrinkage
from sertk.models.classifier import EmotionClassifier
from sertk.models.shrinkage import CV_SHRINKAGE, choose_shrinkage


def correlated_table(seed, n=120, n_speakers=6, p=300, loadings=None):
    """Few recordings, many columns: 5 latent factors (2 carry the class)
    seen through ``p`` columns, plus per-speaker offsets of every column.

    Ledoit-Wolf shrinks too little here: new speakers' offsets fall in
    directions the training speakers barely span.
    """
    rng = np.random.default_rng(seed)
    y = np.tile(["anger", "neutral", "sadness"], n)[:n]
    speakers = np.repeat(np.arange(n_speakers), n // n_speakers)
    factors = rng.normal(size=(n, 5))
    factors[:, 0] += 1.5 * (y == "anger")
    factors[:, 1] += 1.5 * (y == "sadness")
    offsets = 4.0 * rng.normal(size=(n_speakers, p))[speakers]
    X = factors @ loadings + 0.4 * (rng.normal(size=(n, p)) + offsets)
    return X, y, np.char.add(f"{seed}-", speakers.astype(str))


def test_cv_shrinks_more_than_ledoit_wolf_and_does_better_on_new_speakers():
    chosen, scores = [], {"auto": [], "cv": []}
    for seed in range(4):
        loadings = np.random.default_rng(100 + seed).normal(size=(5, 300))
        X, y, speakers = correlated_table(seed, loadings=loadings)
        X_new, y_new, _ = correlated_table(1000 + seed, n=240, loadings=loadings)
        for value in ("auto", "cv"):
            model = EmotionClassifier(speaker_norm=False, shrinkage=value,
                                      probability=False).fit(X, y, speakers=speakers)
            scores[value].append(model.score(X_new, y_new))
        chosen.append(model.shrinkage_)
        summary = model.training_summary_["shrinkage_cv"]
        assert set(summary) == {str(v) for v in CV_SHRINKAGE}
        assert summary[str(model.shrinkage_)] == max(summary.values())
        assert model.pipeline_.named_steps["project"].shrinkage == model.shrinkage_
    assert "auto" not in chosen
    assert np.mean(scores["cv"]) > np.mean(scores["auto"]) + 0.02


@pytest.mark.parametrize("case", ["many recordings", "many columns", "no speakers",
                                  "two speakers"])
def test_the_search_is_skipped_where_it_cannot_or_need_not_run(case, monkeypatch):
    loadings = np.random.default_rng(0).normal(size=(5, 300))
    X, y, speakers = correlated_table(0, loadings=loadings)
    if case == "many recordings":
        monkeypatch.setattr(sertk.models.shrinkage, "CV_MAX_FILES", len(y) - 1)
    elif case == "many columns":
        monkeypatch.setattr(sertk.models.shrinkage, "CV_MAX_FEATURES", 299)
    elif case == "no speakers":
        speakers = None
    else:
        speakers = np.repeat(["a", "b"], len(y) // 2)
    model = EmotionClassifier(speaker_norm=False, probability=False).fit(
        X, y, speakers=speakers)
    assert model.shrinkage_ == "auto"
    assert model.training_summary_["shrinkage_cv"] is None
    assert model.pipeline_.named_steps["project"].shrinkage == "auto"


def test_a_fixed_shrinkage_is_used_as_given(rng):
    X = rng.normal(size=(60, 5))
    y = np.tile(["anger", "sadness"], 30)
    speakers = np.repeat(list("abcdef"), 10)
    model = EmotionClassifier(speaker_norm=False, shrinkage=0.5).fit(
        X, y, speakers=speakers)
    assert model.shrinkage_ == 0.5
    assert model.training_summary_["shrinkage_cv"] is None
    assert EmotionClassifier(projection=None).fit(
        X, y, speakers=speakers).shrinkage_ is None


class _Spy(ClassifierMixin, BaseEstimator):
    """Records the row ids (column 0) it is fitted on and asked about."""

    calls: list = []

    def __init__(self, shrinkage="auto"):
        self.shrinkage = shrinkage

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.fitted_rows_ = X[:, 0].astype(int)
        return self

    def predict(self, X):
        _Spy.calls.append((self.fitted_rows_, X[:, 0].astype(int)))
        return np.full(X.shape[0], self.classes_[0])


def test_inner_folds_hold_out_whole_speakers_copies_included_and_score_recordings():
    # 40 recordings of 8 speakers, then one copy of each (rows 40-79)
    speakers = np.tile(np.repeat(list("abcdefgh"), 5), 2)
    y = np.tile(["anger", "sadness"], 40)
    X = np.column_stack([np.arange(80), np.zeros(80)])
    _Spy.calls = []
    value, scores = choose_shrinkage(Pipeline([("project", _Spy())]), X, y,
                                     speakers, n_files=40)
    assert len(_Spy.calls) == 5 * len(CV_SHRINKAGE)
    asked = np.concatenate([held for _, held in _Spy.calls])
    assert np.all(asked < 40)  # copies are never scored
    assert sorted(asked) == sorted(np.tile(np.arange(40), len(CV_SHRINKAGE)))
    for fitted, held in _Spy.calls:
        assert not set(speakers[fitted]) & set(speakers[held])
        assert np.any(fitted >= 40)  # training speakers' copies are trained on
    assert value == CV_SHRINKAGE[0]  # a tie: the first candidate
    assert len(set(scores.values())) == 1
