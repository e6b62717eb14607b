"""Arousal and valence: circumplex table, targets, regressor, classifier, outputs."""

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from conftest import SR, harmonic_tone

from sertk import EmotionClassifier, ParameterError, load_model, save_model
from sertk.evaluation.dimensions import evaluate_dimensions, scores
from sertk.io.datasets import LABELS
from sertk.models.dimensions import (
    CIRCUMPLEX,
    RUSSELL_ANCHORS,
    STRONG_AROUSAL,
    CircumplexRegressor,
    concordance,
    dimension_targets,
)
from sertk.timeline.files import predict_files
from sertk.timeline.windows import plot_timeline, predict_timeline, smooth_timeline

COLUMNS = ["f0_semitone__mean", "loudness__mean", "jitter__local", "hnr_db__mean"]


def test_every_common_label_has_a_point_on_the_unit_circle_or_its_centre():
    for label in LABELS:
        arousal, valence = CIRCUMPLEX[label]
        radius = np.hypot(arousal, valence)
        assert radius == pytest.approx(0.0 if label == "neutral" else 1.0, abs=1e-6)


def test_points_are_russells_anchors():
    def point(angle):
        t = np.deg2rad(angle)
        return pytest.approx((np.sin(t), np.cos(t)), abs=1e-6)

    assert CIRCUMPLEX["anger"] == point(RUSSELL_ANCHORS["distress"])
    assert CIRCUMPLEX["sadness"] == point(RUSSELL_ANCHORS["depression"])
    assert CIRCUMPLEX["happiness"] == point(RUSSELL_ANCHORS["excitement"])
    assert CIRCUMPLEX["calm"] == point(RUSSELL_ANCHORS["relaxation"])
    assert CIRCUMPLEX["surprise"] == point(RUSSELL_ANCHORS["arousal"])
    # high-arousal categories above low-arousal ones; pleasant right of unpleasant
    assert min(CIRCUMPLEX[c][0] for c in ("anger", "fear", "happiness")) > max(
        CIRCUMPLEX[c][0] for c in ("sadness", "boredom", "calm", "neutral"))
    assert CIRCUMPLEX["happiness"][1] > 0 > CIRCUMPLEX["anger"][1]


def test_targets_use_given_values_intensity_and_the_table():
    targets = dimension_targets(
        ["anger", "anger", "sadness", "mystery"], intensity=["normal", "strong",
                                                             "strong", "normal"],
        arousal=[np.nan, np.nan, np.nan, 0.3], valence=["", None, -0.9, 0.2])
    assert targets[0] == pytest.approx(CIRCUMPLEX["anger"])
    anger, sadness = CIRCUMPLEX["anger"][0], CIRCUMPLEX["sadness"][0]
    assert targets[1, 0] == pytest.approx(min(1.0, anger + STRONG_AROUSAL))
    assert targets[2] == pytest.approx((sadness + STRONG_AROUSAL, -0.9))
    assert targets[3].tolist() == [0.3, 0.2]


def test_targets_name_labels_without_a_point_and_values_out_of_range():
    with pytest.raises(ParameterError, match=r"\['joy', 'zeal'\]"):
        dimension_targets(["joy", "anger", "zeal"])
    with pytest.raises(ParameterError, match="outside"):
        dimension_targets(["anger"], arousal=[3.0])
    with pytest.raises(ParameterError, match="pair"):
        dimension_targets(["anger"], table={"anger": (2.0, 0.0)})


def test_concordance_penalises_shift_and_scale_that_pearson_ignores(rng):
    a = rng.normal(size=200)
    assert concordance(a, a) == pytest.approx(1.0)
    assert np.corrcoef(a, a + 1)[0, 1] == pytest.approx(1.0)
    b = (a - a.mean()) / a.std()
    assert concordance(b, -b) == pytest.approx(-1.0)
    # var 1 + 1 + shift 1 -> 2 / 3 (population moments)
    assert concordance(b, b + 1) == pytest.approx(2 / 3)
    assert concordance(b, 2 * b) == pytest.approx(2 * 2 / (1 + 4))


def test_regressor_fits_each_column_ignores_missing_targets_and_clips(rng):
    Z = rng.uniform(-3, 3, size=(200, 1))
    T = np.column_stack([np.tanh(Z[:, 0]), 2 * np.tanh(-Z[:, 0])])
    T[::7, 0] = np.nan
    model = CircumplexRegressor().fit(Z, T)
    predicted = model.predict(Z)
    assert np.all(np.abs(predicted) <= 1.0)
    known = ~np.isnan(T[:, 0])
    assert np.corrcoef(predicted[known, 0], T[known, 0])[0, 1] > 0.99
    assert predicted[Z[:, 0] < -2, 1].min() == 1.0  # 2 tanh clipped at 1
    with pytest.raises(ParameterError, match="C="):
        CircumplexRegressor(C=0).fit(Z, T)


def _voices(rng, n=40, speakers=("a", "b")):
    """Rows whose first two columns rise with arousal; labels anger/sadness/neutral."""
    labels = np.tile(["anger", "sadness", "neutral", "happiness"], n // 4)
    arousal = np.array([CIRCUMPLEX[v][0] for v in labels])
    X = rng.normal(size=(n, len(COLUMNS)))
    X[:, 0] += 3 * arousal
    X[:, 1] += 3 * arousal + 2 * (labels == "happiness")
    return (pd.DataFrame(X, columns=COLUMNS), labels,
            np.repeat(speakers, -(-n // len(speakers)))[:n])


def test_classifier_learns_arousal_of_categories(rng):
    X, y, _ = _voices(rng, 80)
    model = EmotionClassifier(speaker_norm=False, dimensions="circumplex").fit(X, y)
    Xt, yt, _ = _voices(rng, 40)
    dims = model.predict_dimensions(Xt)
    assert dims.shape == (40, 2) and np.all(np.abs(dims) <= 1)
    assert dims[yt == "anger", 0].mean() > 0.4 > -0.4 > dims[yt == "sadness", 0].mean()
    assert concordance(dimension_targets(yt)[:, 0], dims[:, 0]) > 0.8


def test_classifier_learns_continuous_targets_where_given(rng):
    X, y, _ = _voices(rng, 120)
    truth = np.tanh(X["hnr_db__mean"].to_numpy())  # a column the labels ignore
    given = np.column_stack([np.full(len(y), np.nan), truth])
    model = EmotionClassifier(speaker_norm=False, projection=None,
                              dimensions="circumplex")
    model.fit(X, y, dimension_targets=given)
    valence = model.predict_dimensions(X)[:, 1]
    assert np.corrcoef(valence, truth)[0, 1] > 0.9


def test_held_out_calibration_restores_the_spread_of_new_speakers(rng):
    # The projection separates its training rows better than new ones, so
    # uncalibrated predictions of unseen speakers come out squeezed; the
    # held-out folds measure that on training speakers only.
    X, y, speakers = _voices(rng, 160, speakers=tuple("abcdefgh"))
    X.iloc[:, :] += rng.normal(scale=1.5, size=X.shape)  # a harder task
    reports = {k: evaluate_dimensions(
        X, y, speakers, adapt="none",
        estimator=EmotionClassifier(dimensions="circumplex", dimension_folds=k))
        for k in (None, 3)}
    spread = {k: r["predictions"][:, 0].std() for k, r in reports.items()}
    truth = reports[3]["targets"][:, 0].std()
    assert spread[None] < spread[3] <= 1.2 * truth
    assert reports[3]["arousal"]["ccc"] > reports[None]["arousal"]["ccc"]
    # a monotone rescaling: the ranks are the same
    assert reports[3]["arousal"]["spearman"] == pytest.approx(
        reports[None]["arousal"]["spearman"], abs=0.02)


def test_calibration_is_fitted_on_held_out_predictions_and_can_be_off(rng):
    X, y, speakers = _voices(rng, 80)
    model = EmotionClassifier(dimensions="circumplex").fit(X, y, speakers=speakers)
    assert np.all(model.dimension_model_.gain_ > 0)
    off = EmotionClassifier(dimensions="circumplex", dimension_folds=None,
                            fallback=None).fit(X, y, speakers=speakers)
    assert not hasattr(off.dimension_model_, "gain_")
    raw = np.clip(off.dimension_model_._raw(off._project(off._prepare(X, speakers))[1]),
                  -1, 1)
    np.testing.assert_allclose(off.predict_dimensions(X, speakers), raw)
    for bad in (1, 2.5, True, "3"):
        with pytest.raises(ParameterError, match="dimension_folds"):
            EmotionClassifier(dimensions="circumplex", dimension_folds=bad).fit(X, y)


def test_calibrate_matches_mean_and_spread_and_skips_unrelated_columns(rng):
    Z = rng.normal(size=(60, 2))
    T = np.column_stack([np.tanh(Z[:, 0]), np.tanh(Z[:, 1])])
    model = CircumplexRegressor().fit(Z, T)
    held = np.column_stack([0.5 * T[:, 0] + 0.1, -T[:, 1]])  # 2nd: anti-correlated
    model.calibrate(held, T)
    assert model.gain_[0] == pytest.approx(2.0)
    assert model.offset_[0] == pytest.approx(T[:, 0].mean() - 2.0 * held[:, 0].mean())
    assert (model.gain_[1], model.offset_[1]) == (1.0, 0.0)
    with pytest.raises(ParameterError, match="shape"):
        model.calibrate(held[:, :1], T)


def test_a_constant_target_column_is_left_uncalibrated_without_a_warning(rng):
    # training rows all of one valence (one class, or a table's choice):
    # nothing to correlate with, so that column stays the SVR alone
    X = rng.normal(size=(40, 3))
    T = np.column_stack([np.tanh(X[:, 0]), np.full(40, 0.5)])
    # no neighbours: on its own training rows, their output is the target
    model = CircumplexRegressor(n_projected=1, neighbors=()).fit(X, T)
    held = model.components(X)
    held[:, 1] += 1e-12 * rng.normal(size=held[:, 1].shape)  # folds' round-off
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.calibrate(held, T)
    assert (model.weight_[1], model.gain_[1], model.offset_[1]) == (1.0, 1.0, 0.0)
    assert model.gain_[0] != 1.0


def test_calibrate_chooses_each_columns_blend_on_held_out_correlation(rng):
    Z = rng.normal(size=(90, 1))
    F = rng.normal(size=(90, 3))
    T = np.column_stack([np.tanh(Z[:, 0]), np.tanh(F[:, 0])])
    X = np.column_stack([Z, F])
    model = CircumplexRegressor(n_projected=1).fit(X, T)
    # the SVR, the neighbours of 10 and 30, the ridges of 100, 1000, 10000
    assert model.components(X).shape == (90, 2, 6)
    assert not hasattr(model, "weight_")  # the SVR alone until calibrated
    np.testing.assert_allclose(model._raw(X), model.components(X)[:, :, 0])
    held = rng.normal(size=(90, 2, 6))
    held[:, 0, 2] = T[:, 0]  # arousal: the 30 neighbours are exact
    held[:, 1, 4] = T[:, 1] / 2  # valence: the 2nd ridge is, at half scale
    model.calibrate(held, T)
    assert model.base_index_[0] == 2 and model.weight_.tolist() == [1.0, 0.0]
    assert model.alpha_index_[1] == 1 and model.gain_[1] == pytest.approx(2.0)
    parts = model.components(X)
    np.testing.assert_allclose(model.predict(X)[:, 0],
                               np.clip(model.offset_[0] + parts[:, 0, 2], -1, 1))
    np.testing.assert_allclose(
        model.predict(X)[:, 1],
        np.clip(model.offset_[1] + 2.0 * parts[:, 1, 4], -1, 1))
    with pytest.raises(ParameterError, match="component"):
        model.calibrate(held[:, :, :2], T)
    for bad in ({"n_projected": 4}, {"n_projected": 0}, {"alphas": ()},
                {"alphas": (1.0, -1.0)}, {"neighbors": (0,)}, {"neighbors": "10"},
                {"clip": 0}):
        with pytest.raises(ParameterError, match=next(iter(bad))):
            CircumplexRegressor(**bad).fit(X, T)


def test_the_neighbours_average_the_nearest_rows_of_the_projection(rng):
    # two tight clusters of the projection, apart: a row near one gets its target
    Z = np.concatenate([rng.normal(-3, 0.1, 20), rng.normal(3, 0.1, 20)])[:, None]
    T = np.column_stack([np.repeat([-0.8, 0.8], 20), np.repeat([0.5, -0.5], 20)])
    X = np.column_stack([Z, rng.normal(size=(40, 2))])
    model = CircumplexRegressor(n_projected=1, neighbors=(5, 500)).fit(X, T)
    assert [knn.n_neighbors for knn in model.neighbors_[0]] == [5, 40]  # capped
    near = np.array([[2.5, 0.0, 0.0]])
    np.testing.assert_allclose(model.components(near)[0, :, 1], [0.8, -0.5])
    assert model.components(near)[0, 0, 2] < 0.8  # all 40 rows, weighted by distance


def test_the_ridge_reads_clipped_features_so_one_wild_value_cannot_swamp_it(rng):
    X = np.column_stack([rng.normal(size=(60, 1)), rng.normal(size=(60, 2))])
    T = np.column_stack([np.tanh(X[:, 1]), np.tanh(X[:, 2])])
    model = CircumplexRegressor(n_projected=1, clip=3.0).fit(X, T)
    wild, edge = X[:1].copy(), X[:1].copy()
    wild[0, 1], edge[0, 1] = 7405.0, 3.0
    np.testing.assert_allclose(model.components(wild)[:, :, 1:],
                               model.components(edge)[:, :, 1:])


def _intense_voices(rng, n=240, speakers=tuple("abcdefgh")):
    """Four categories in 3 columns; a 'strong' rendering raises arousal through
    a 4th column only, which no category separation needs."""
    X, y, spk = _voices(rng, n, speakers)
    strong = np.tile([0, 0, 0, 0, 1, 1, 1, 1], n // 8).astype(bool)
    X["hnr_db__mean"] = rng.normal(size=n) + 2.5 * strong
    for k in range(6):  # more columns than the projection's three
        X[f"noise_{k}"] = rng.normal(size=n)
    targets = dimension_targets(y, intensity=np.where(strong, "strong", "normal"))
    return X, y, spk, targets, strong


def test_held_out_speakers_choose_the_ridge_where_the_projection_cannot_see(rng):
    X, y, speakers, targets, _ = _intense_voices(rng)
    model = EmotionClassifier(dimensions="circumplex", speaker_norm=False,
                              fallback=None).fit(X, y, speakers=speakers,
                                                 dimension_targets=targets)
    assert model.dimension_model_.n_projected == 3
    assert model.dimension_model_.weight_[0] < 1  # arousal: blended with the ridge
    alone = EmotionClassifier(dimensions="circumplex", speaker_norm=False,
                              fallback=None, dimension_folds=None).fit(
        X, y, speakers=speakers, dimension_targets=targets)
    Xt, _, _, _, strong = _intense_voices(np.random.default_rng(1), 80)
    lift = {}
    for name, m in (("blend", model), ("alone", alone)):
        arousal = m.predict_dimensions(Xt)[:, 0]
        lift[name] = arousal[strong].mean() - arousal[~strong].mean()
    # strong renderings are 0.25 more aroused: only the blend with the ridge
    # sees some of it (the rest of the blend, on the projection, cannot)
    assert lift["blend"] > 0.1 * STRONG_AROUSAL > 0.01 > abs(lift["alone"])


def test_regressors_saved_before_the_blend_load_and_predict_as_before(rng):
    X, y, speakers = _voices(rng, 80)
    model = EmotionClassifier(dimensions="circumplex", fallback=None).fit(
        X, y, speakers=speakers)
    # a model of the SVR alone on the projection, calibrated, as saved before
    _, Z = model._project(model._prepare(X, speakers))
    targets = dimension_targets(y)
    svr = CircumplexRegressor().fit(Z, targets).calibrate(
        0.5 * targets + 0.01 * rng.normal(size=targets.shape), targets)
    state = svr.__getstate__()
    for key in ("n_projected", "alphas", "neighbors", "clip", "ridges_",
                "neighbors_", "base_index_", "weight_", "alpha_index_"):
        state.pop(key, None)
    old = CircumplexRegressor.__new__(CircumplexRegressor)
    old.__setstate__(state)
    assert old.get_params()["n_projected"] is None
    model.dimension_model_ = old
    np.testing.assert_allclose(model.predict_dimensions(X, speakers),
                               np.clip(svr.offset_ + svr.gain_ * svr._raw(Z), -1, 1))


def test_blends_saved_before_the_neighbours_load_and_predict_as_before(rng):
    X = rng.normal(size=(60, 4))
    T = np.column_stack([np.tanh(X[:, 0]), np.tanh(X[:, 2])])
    blend = CircumplexRegressor(n_projected=2, neighbors=()).fit(X, T)
    blend.calibrate(blend.components(X) + 0.3 * rng.normal(size=(60, 2, 4)), T)
    state = blend.__getstate__()
    for key in ("neighbors", "neighbors_", "base_index_"):
        state.pop(key)
    old = CircumplexRegressor.__new__(CircumplexRegressor)
    old.__setstate__(state)
    assert old.neighbors == () and old.base_index_.tolist() == [0, 0]
    np.testing.assert_array_equal(old.predict(X), blend.predict(X))


def test_a_saved_regressor_keeps_its_neighbours_training_rows_once(rng, tmp_path):
    X = rng.normal(size=(3000, 10))
    T = np.column_stack([np.tanh(X[:, 0]), np.tanh(X[:, 8])])
    size = {}
    for neighbors in ((), (10,), (10, 30)):
        model = CircumplexRegressor(n_projected=8, neighbors=neighbors).fit(X, T)
        path = tmp_path / f"{len(neighbors)}.joblib"
        joblib.dump(model, path)
        size[neighbors] = path.stat().st_size
    projection, targets = X[:, :8].nbytes, T[:, 0].nbytes
    # the first k: the projection once (not once a column) and each column's
    # targets; the second k: nothing new
    assert size[(10,)] - size[()] < projection + 3 * targets
    assert size[(10, 30)] - size[(10,)] < 0.1 * projection
    np.testing.assert_array_equal(joblib.load(path).components(X), model.components(X))
    assert model.neighbors_[0][0]._fit_X.shape == (3000, 8)  # saving left it whole


def test_neighbours_saved_with_their_own_training_rows_load_and_predict(rng):
    X = rng.normal(size=(60, 4))
    T = np.column_stack([np.tanh(X[:, 0]), np.tanh(X[:, 2])])
    model = CircumplexRegressor(n_projected=2).fit(X, T)
    old = CircumplexRegressor.__new__(CircumplexRegressor)
    old.__setstate__(dict(vars(model)))  # as saved before the arrays were shared
    np.testing.assert_array_equal(old.components(X), model.components(X))


def test_dimensions_need_the_parameter_and_a_trained_regressor(rng):
    X, y, _ = _voices(rng)
    with pytest.raises(ParameterError, match="dimensions=None"):
        EmotionClassifier(speaker_norm=False).fit(X, y,
                                                  dimension_targets=np.zeros((40, 2)))
    model = EmotionClassifier(speaker_norm=False).fit(X, y)
    with pytest.raises(ParameterError, match="no dimensions"):
        model.predict_dimensions(X)
    with pytest.raises(ParameterError, match="shape"):
        EmotionClassifier(dimensions="circumplex").fit(X, y,
                                                       dimension_targets=np.zeros(40))
    with pytest.raises(ParameterError, match="dimensions="):
        EmotionClassifier(dimensions="russell").fit(X, y)


def test_copies_carry_their_recordings_targets(rng):
    X, y, _ = _voices(rng)
    copies = np.stack([X.to_numpy() + 0.01, X.to_numpy() - 0.01], axis=1)
    model = EmotionClassifier(speaker_norm=False, dimensions="circumplex",
                              speed_perturbation=(0.9, 1.1)).fit(X, y, augmented=copies)
    assert model.training_summary_["n_augmented"] == 80
    assert model.predict_dimensions(X)[y == "anger", 0].mean() > 0.4


def test_out_of_distribution_rows_get_the_fallbacks_dimensions(rng):
    X, y, _ = _voices(rng, 80)
    model = EmotionClassifier(speaker_norm=False, dimensions="circumplex").fit(X, y)
    far = pd.DataFrame([[0.0, 80.0, 0.0, 0.0]], columns=COLUMNS)
    assert model.out_of_distribution(far).tolist() == [True]
    dims = model.predict_dimensions(far)
    # the fallback reads F0 only: a high F0 is aroused whatever the loudness
    Xn = model._prepare(far, None)[:, model.fallback_columns_]
    assert dims[0] == pytest.approx(model.fallback_dimension_model_.predict(
        model.fallback_pipeline_[:-1].transform(Xn))[0])


def test_the_fallbacks_dimensions_are_calibrated_like_the_main_ones(rng):
    X, y, speakers = _voices(rng, 80)
    fitted = {
        folds: EmotionClassifier(speaker_norm=False, dimensions="circumplex",
                                 dimension_folds=folds).fit(X, y, speakers=speakers)
        for folds in (3, None)}
    calibrated = fitted[3].fallback_dimension_model_
    assert not hasattr(fitted[None].fallback_dimension_model_, "gain_")
    assert np.all(calibrated.gain_ > 1)  # held-out speakers: too small a spread
    Zf = fitted[3].fallback_pipeline_[:-1].transform(
        fitted[3]._prepare(X, None)[:, fitted[3].fallback_columns_])
    np.testing.assert_allclose(
        calibrated.predict(Zf),
        np.clip(calibrated.offset_ + calibrated.gain_ * calibrated._raw(Zf), -1, 1))


@pytest.mark.parametrize("suffix", [".skops", ".joblib"])
def test_a_saved_model_keeps_its_dimensions(rng, tmp_path, suffix):
    X, y, _ = _voices(rng)
    model = EmotionClassifier(speaker_norm=False, dimensions="circumplex").fit(X, y)
    path = save_model(model, tmp_path / f"m{suffix}")
    loaded = load_model(path, trusted=False if suffix == ".skops" else True)
    np.testing.assert_array_equal(loaded.predict_dimensions(X),
                                  model.predict_dimensions(X))


def test_old_model_files_without_the_parameter_load_without_dimensions(rng):
    X, y, _ = _voices(rng)
    model = EmotionClassifier(speaker_norm=False).fit(X, y)
    state = model.__getstate__()
    del state["dimensions"]
    old = EmotionClassifier.__new__(EmotionClassifier)
    old.__setstate__(state)
    assert old.dimensions is None


# the squeezed corpus varies 0.3 times as much: the one-sided batch warning
@pytest.mark.filterwarnings("ignore:the batch varies:UserWarning")
def test_evaluation_scores_loso_and_batch_adaptation_rescues_a_shifted_corpus(rng):
    X, y, speakers = _voices(rng, 120, speakers=("a", "b", "c", "d"))
    report = evaluate_dimensions(X, y, speakers, adapt="none")
    assert report["cv"] == "loso" and report["arousal"]["ccc"] > 0.7
    assert set(report["arousal"]) >= {"ccc", "spearman", "pearson", "n",
                                      "fold_ccc_mean", "fold_ccc_std"}
    Xt, yt, st = _voices(rng, 80)
    shifted = Xt * 0.3 - 6.0  # another channel: every level moved and squeezed
    none = evaluate_dimensions(X, y, speakers, adapt="none", test=(shifted, yt, st))
    batch = evaluate_dimensions(X, y, speakers, adapt="batch", test=(shifted, yt, st))
    assert batch["cv"] == "cross-corpus"
    assert batch["arousal"]["spearman"] > 0.7
    assert batch["arousal"]["ccc"] > none["arousal"]["ccc"] + 0.3
    with pytest.raises(ParameterError, match="adapt="):
        evaluate_dimensions(X, y, speakers, adapt="corpus")


def test_scores_of_a_constant_prediction_are_nan_not_an_error():
    t = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    out = scores(t, np.zeros_like(t))
    assert out["arousal"]["ccc"] == 0.0 and np.isnan(out["arousal"]["spearman"])


@pytest.fixture(scope="module")
def audio_model(tmp_path_factory):
    """A dimensional model trained on short tones: low and quiet vs high and loud."""
    import soundfile as sf

    folder = tmp_path_factory.mktemp("dims")
    paths, labels = [], []
    n = int(0.5 * SR)
    for i in range(6):
        for label, f0, amp in (("sadness", 110.0, 0.1), ("anger", 260.0, 0.6)):
            path = folder / f"{label}{i}.wav"
            sf.write(path, harmonic_tone(np.linspace(1, 1.2, n) * f0 * (1 + 0.03 * i),
                                         amplitude=amp), SR)
            paths.append(str(path))
            labels.append(label)
    sf.write(folder / "zeros.wav", np.zeros(SR), SR)
    model = EmotionClassifier(feature_set="minimal", speaker_norm=False,
                              dimensions="circumplex",
                              extractor_params={"progress": False}).fit(paths, labels)
    return model, paths, folder


def test_predict_files_gives_dimensions_and_nan_for_silence(audio_model):
    model, paths, folder = audio_model
    table = predict_files(model, [paths[0], paths[1], str(folder / "zeros.wav")],
                          progress=False)
    assert list(table.columns[:8]) == ["path", "start", "end", "speech_fraction",
                                       "label", "out_of_distribution", "arousal",
                                       "valence"]
    assert table["label"].tolist() == ["sadness", "anger", "silence"]
    assert table.loc[1, "arousal"] > 0.3 > -0.3 > table.loc[0, "arousal"]
    assert table.loc[2, ["arousal", "valence"]].isna().all()


def test_timelines_carry_smooth_and_draw_dimensions(audio_model, tmp_path):
    import soundfile as sf

    model, paths, _ = audio_model
    low, _ = sf.read(paths[0])
    high, _ = sf.read(paths[1])
    recording = np.concatenate([np.tile(low, 4), np.zeros(2 * SR), np.tile(high, 4)])
    path = tmp_path / "talk.wav"
    sf.write(path, recording, SR)
    timeline = predict_timeline(model, path, window=1.0, hop=0.5, progress=False)
    assert {"arousal", "valence"} <= set(timeline.columns)
    silent = timeline["label"] == "silence"
    assert silent.any() and timeline.loc[silent, "arousal"].isna().all()
    assert timeline.loc[~silent, "arousal"].notna().all()
    speech = timeline[~silent]
    assert speech["arousal"].iloc[-1] > speech["arousal"].iloc[0]
    smoothed = smooth_timeline(timeline, 1)
    rows = np.flatnonzero(~silent)[1:3]
    assert smoothed.loc[rows[0], "arousal"] == pytest.approx(
        timeline.loc[np.flatnonzero(~silent)[:3], "arousal"].mean())
    assert smoothed.loc[silent, "arousal"].isna().all()
    image = plot_timeline(timeline, tmp_path / "t.png")
    assert image.read_bytes().startswith(b"\x89PNG")


def test_a_live_stream_gives_the_same_dimensions_as_the_file(audio_model, tmp_path):
    import soundfile as sf

    import sertk
    from sertk.timeline.live import causal_timeline, row_columns

    model, paths, _ = audio_model
    low, _ = sf.read(paths[0])
    high, _ = sf.read(paths[1])
    x = np.concatenate([np.tile(low, 3), np.zeros(SR), np.tile(high, 3)])
    path = tmp_path / "live.wav"
    sf.write(path, x, SR, subtype="PCM_16")
    samples = sf.read(path, dtype="int16")[0]  # the file's own samples
    assert {"arousal", "valence"} <= set(row_columns(model))
    rows = pd.DataFrame(list(sertk.stream([samples[:SR], samples[SR:]], model,
                                          window=1.0, hop=0.5)))
    file_rows = causal_timeline(model, path, window=1.0, hop=0.5)
    # the same samples give the same rows, dimensions included
    rows["out_of_distribution"] = rows["out_of_distribution"].astype("boolean")
    pd.testing.assert_frame_equal(rows, file_rows.drop(columns="path"))
    silent = rows["label"] == "silence"
    assert rows.loc[silent, "arousal"].isna().all()
    assert rows.loc[~silent, "arousal"].notna().all()
