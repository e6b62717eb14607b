"""Speed-perturbed training copies: extraction, the classifier and evaluation."""

import numpy as np
import pandas as pd
import pytest
from conftest import SR, harmonic_tone
from sklearn.base import BaseEstimator, ClassifierMixin

import sertk.features.extractor
import sertk.models.classifier
from sertk.errors import ParameterError
from sertk.evaluation.protocols import evaluate
from sertk.features.extractor import FeatureExtractor, extract_windows
from sertk.models.augment import (
    check_speed_factors,
    copies_array,
    speed_copies,
    with_copies,
)
from sertk.models.classifier import EmotionClassifier
from sertk.settings import AnalysisSettings

LABELS = np.array(["anger", "neutral", "sadness"])
COLUMNS = ["f0_semitone__mean", "h1_h2__mean", "mfcc01__mean", "mfcc02__mean"]


def corpus(rng, n_speakers=5, per_class=8):
    n = n_speakers * per_class * len(LABELS)
    y = np.tile(LABELS, n // len(LABELS))
    speakers = np.repeat([f"s{i}" for i in range(n_speakers)], n // n_speakers)
    code = np.searchsorted(LABELS, y)[:, None]
    X = 2.0 * code + rng.normal(size=(n, len(COLUMNS)))
    return pd.DataFrame(X, columns=COLUMNS), y, speakers


@pytest.mark.parametrize("speed", [0.9, 1.1])
def test_a_speed_copy_moves_f0_by_the_speed(write_wav, speed):
    path = write_wav("tone.wav", harmonic_tone(200.0, duration=1.0), SR)
    extractor = FeatureExtractor("minimal")
    (copy,) = speed_copies(extractor, [path], [speed])[0]
    original = extractor.transform([path]).iloc[0]
    names = list(extractor.get_feature_names_out())
    shift = copy[names.index("f0_semitone__mean")] - original["f0_semitone__mean"]
    assert shift == pytest.approx(12 * np.log2(speed), abs=0.05)


def test_speed_changes_the_analysed_duration(write_wav):
    path = write_wav("tone.wav", harmonic_tone(200.0, duration=1.0), SR)
    (result,) = FeatureExtractor("minimal", speed=1.25).iter_results([path])
    assert result.duration == pytest.approx(0.8, abs=0.002)


def test_extraction_params_name_speed_only_when_it_is_not_1():
    assert "speed" not in FeatureExtractor("minimal").extraction_params()["settings"]
    params = FeatureExtractor("minimal", speed=0.9).extraction_params()
    assert params["settings"]["speed"] == 0.9


@pytest.mark.parametrize("speed", [0.4, 2.5, True, "fast"])
def test_bad_speeds_are_refused(speed):
    with pytest.raises(ParameterError, match="speed"):
        AnalysisSettings(speed=speed)


def test_windows_are_analysed_at_speed_1_only():
    signal = harmonic_tone(200.0, duration=1.0)
    with pytest.raises(ParameterError, match="speed"):
        extract_windows(signal, SR, [(0, 1)], settings=AnalysisSettings(speed=0.9))


@pytest.mark.parametrize(
    ("factors", "match"),
    [((1.0,), "must not be 1"), ((0.9, 0.9), "repeats"), ((3,), "0.5 to 2"),
     ("fast", "not 'auto'"), ((True,), "0.5 to 2")],
)
def test_bad_speed_factors(factors, match):
    if not isinstance(factors, str):
        with pytest.raises(ParameterError, match=match):
            check_speed_factors(factors)
    with pytest.raises(ParameterError, match=match):
        EmotionClassifier(speed_perturbation=factors).fit(*corpus(np.random.default_rng(0))[:2])


def test_with_copies_keeps_labels_and_speakers_and_drops_failed_copies():
    X = np.arange(6.0).reshape(3, 2)
    copies = np.stack([X + 100, X + 200], axis=1)
    copies[1, 0] = np.nan  # row 1's first copy could not be analysed
    X_all, y_all, spk_all, source = with_copies(
        X, np.array(["a", "b", "c"]), np.array(["s1", "s1", "s2"]), copies)
    assert source.tolist() == [0, 1, 2, 0, 2, 0, 1, 2]
    assert y_all.tolist() == ["a", "b", "c", "a", "c", "a", "b", "c"]
    assert spk_all.tolist() == ["s1", "s1", "s2", "s1", "s2", "s1", "s1", "s2"]
    np.testing.assert_array_equal(X_all[3], X[0] + 100)
    np.testing.assert_array_equal(X_all[5], X[0] + 200)


def test_copies_tables_are_put_in_the_rows_column_order():
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    copy = pd.DataFrame({"b": [30.0, 40.0], "a": [10.0, 20.0]})
    np.testing.assert_array_equal(copies_array([copy], X)[:, 0], [[10, 30], [20, 40]])
    with pytest.raises(ParameterError, match="lack 1 columns"):
        copies_array([copy[["a"]].assign(c=0.0)], X)
    with pytest.raises(ParameterError, match=r"shape \(2, n_copies, 2\)"):
        copies_array(np.zeros((3, 1, 2)), X)


def test_the_classifier_trains_on_the_copies(rng):
    X, y, spk = corpus(rng)
    copies = np.stack([X.to_numpy() + 0.5, X.to_numpy() + 1.5], axis=1)
    plain = EmotionClassifier().fit(X, y, speakers=spk)
    augmented = EmotionClassifier(speed_perturbation=(0.9, 1.1)).fit(
        X, y, speakers=spk, augmented=copies)
    assert plain.training_summary_["n_augmented"] == 0
    summary = augmented.training_summary_
    assert summary["n_files"] == len(y) and summary["n_augmented"] == 2 * len(y)
    assert summary["class_counts"] == {"anger": 40, "neutral": 40, "sadness": 40}
    # the per-speaker statistics pool the copies' rows with the recordings'
    # (after the corpus z-score, a per-column affine map, which keeps means)
    pooled = (X[spk == "s0"].mean().to_numpy() + 2 / 3)[None]
    np.testing.assert_allclose(augmented.pipeline_["normalize"].speaker_mean_[0],
                               augmented.adapter_.transform(pooled)[0])
    assert not np.allclose(plain.decision_function(X, spk),
                           augmented.decision_function(X, spk))


@pytest.mark.parametrize(
    ("speed_perturbation", "speaker_norm", "with_speakers", "used"),
    [("auto", False, True, True),  # strict: the copies add voices
     ("auto", True, False, True),  # no speakers to normalise with
     ("auto", True, True, False),  # per-speaker z-scores: no copies
     ((0.9,), True, True, True),
     (None, False, True, False)],
)
def test_auto_uses_copies_unless_the_model_normalises_per_speaker(
        rng, speed_perturbation, speaker_norm, with_speakers, used):
    X, y, spk = corpus(rng)
    clf = EmotionClassifier(speed_perturbation=speed_perturbation,
                            speaker_norm=speaker_norm)
    clf.fit(X, y, speakers=spk if with_speakers else None,
            augmented=X.to_numpy()[:, None, :] + 0.3)
    assert clf.training_summary_["n_augmented"] == (len(y) if used else 0)


@pytest.mark.parametrize("with_speakers", [True, False])
def test_copies_are_held_out_with_their_recording_for_the_threshold(
        rng, monkeypatch, with_speakers):
    X, y, spk = corpus(rng)
    seen = {}
    real = sertk.models.classifier.held_out_distances

    def spy(space, Xn, y_, groups=None, **kwargs):
        seen["groups"] = groups
        seen["distances"] = real(space, Xn, y_, groups=groups, **kwargs)
        return seen["distances"]

    monkeypatch.setattr(sertk.models.classifier, "held_out_distances", spy)
    copies = X.to_numpy()[:, None, :] + 0.1
    clf = EmotionClassifier(speaker_norm=False).fit(
        X, y, speakers=spk if with_speakers else None, augmented=copies)
    expected = spk if with_speakers else np.arange(len(y))
    np.testing.assert_array_equal(seen["groups"], np.concatenate([expected] * 2))
    # the threshold is a quantile of the recordings' distances, not the copies'
    assert clf.novelty_threshold_ == pytest.approx(
        np.quantile(seen["distances"][: len(y)], 0.99))


class CopySpy(ClassifierMixin, BaseEstimator):
    """Logs the rows and copies each fit gets; predicts the first class."""

    log: list = []
    # asks for speakers and copies by metadata routing, as EmotionClassifier does
    __metadata_request__fit = {"speakers": True, "augmented": True}
    __metadata_request__predict = {"speakers": True}
    __metadata_request__score = {"speakers": True}

    def __init__(self, alpha=0.0, speed_perturbation=None):
        self.alpha = alpha
        self.speed_perturbation = speed_perturbation

    def fit(self, X, y, speakers=None, augmented=None):
        self.log.append((len(X), set(speakers), augmented))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X, speakers=None):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y, speakers=None):
        return 0.5


def test_evaluation_trains_on_training_speakers_copies_only(rng):
    X, y, spk = corpus(rng)
    code = np.searchsorted(np.unique(spk), spk).astype(float)
    copies = np.repeat(code[:, None, None], len(COLUMNS), axis=2)  # speaker marker
    CopySpy.log = []
    report = evaluate(X, y, spk, estimator=CopySpy(), protocol="strict",
                      augmented=copies, progress=False)
    assert report.n_samples == len(y)  # copies are never tested
    assert len(CopySpy.log) == 5
    for n_rows, speakers, augmented in CopySpy.log:
        assert augmented.shape == (n_rows, 1, len(COLUMNS))
        trained = {np.unique(spk)[int(c)] for c in np.unique(augmented)}
        assert trained == speakers and len(speakers) == 4


def test_nested_search_slices_the_copies_with_their_rows(rng):
    X, y, spk = corpus(rng)
    copies = X.to_numpy()[:, None, :] + 1.0
    CopySpy.log = []
    evaluate(X, y, spk, estimator=CopySpy(), protocol="strict", augmented=copies,
             param_grid={"alpha": [0.0, 1.0]}, inner_cv=2, progress=False)
    inner = [entry for entry in CopySpy.log if len(entry[1]) < 4]
    assert inner and all(a.shape[0] == n for n, _, a in inner)


def test_an_estimator_without_augmented_gets_the_copies_as_rows(rng):
    from sklearn.svm import SVC

    X, y, spk = corpus(rng)
    seen = []

    class Rows(SVC):
        def fit(self, X, y, sample_weight=None):
            seen.append(len(X))
            return super().fit(X, y)

    copies = np.stack([X.to_numpy() + 0.1, X.to_numpy() - 0.1], axis=1)
    evaluate(X, y, spk, estimator=Rows(), augmented=copies, progress=False)
    assert seen == [3 * 96] * 5  # 4 training speakers' 96 rows, thrice


def test_evaluating_audio_makes_the_estimators_copies_once(monkeypatch, rng):

    X, y, spk = corpus(rng)
    paths = [f"/corpus/{i}.wav" for i in range(len(y))]
    table = X.set_axis(pd.Index(paths, name="path"))
    made = []

    class FakeExtractor(BaseEstimator):
        def __init__(self, feature_set="default", n_jobs=1, speed=1.0,
                     on_error="raise"):
            self.feature_set, self.n_jobs = feature_set, n_jobs
            self.speed, self.on_error = speed, on_error

        def fit(self, X=None, y=None):
            return self

        def transform(self, audio):
            made.append(self.speed)
            return table.loc[list(audio)] * self.speed

    monkeypatch.setattr(sertk.features.extractor, "FeatureExtractor", FakeExtractor)
    CopySpy.log = []
    evaluate(paths, y, spk, estimator=CopySpy(speed_perturbation=(0.9, 1.1)),
             progress=False)
    assert sorted(made) == [0.9, 1.0, 1.1]
    n_rows, _, augmented = CopySpy.log[0]
    train = np.flatnonzero(spk != "s0")
    np.testing.assert_allclose(augmented[:, 1], 1.1 * X.to_numpy()[train])
