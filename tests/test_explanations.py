"""Explanations: exact on linear models, complete, faithful on the bundled examples."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sertk import EmotionClassifier, ParameterError, load_model
from sertk.models.explanations import explain, feature_words, removal_effect
from sertk.timeline.explanation_plots import plot_circumplex, plot_explanation

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((REPO / "data" / "examples").glob("*.wav"))
COLUMNS = ["f0_semitone__p50", "loudness__mean", "alpha_ratio__mean",
           "jitter__local", "hnr_db__mean", "mfcc03__std"]


def _data(rng, n=90):
    y = np.repeat(["anger", "sadness", "neutral"], n // 3)
    X = rng.normal(size=(n, len(COLUMNS)))
    X[:, 0] += 2.5 * (y == "anger") - 2.5 * (y == "sadness")
    X[:, 1] += 2.0 * (y == "anger")
    X[:, 2] += 1.5 * (y == "neutral")
    return pd.DataFrame(X, columns=COLUMNS), y


def test_a_linear_model_is_explained_exactly(rng):
    X, y = _data(rng)
    y2 = np.where(y == "anger", "anger", "other")
    model = EmotionClassifier(speaker_norm=False, projection=None, kernel="linear",
                              fallback=None).fit(X, y2)
    table = explain(model, X.iloc[:3], top=6)
    svc = model.pipeline_.named_steps["svc"].svc_
    scaler = model.pipeline_.named_steps["scale"]
    w = svc.coef_.ravel()  # positive toward classes_[1] = "other"
    Xn = model._prepare(X.iloc[:3], None)  # adapted to the training corpus
    for i in range(3):
        x = (Xn[i] - scaler.mean_) / scaler.scale_
        sign = 1 if model.predict(X.iloc[[i]])[0] == "other" else -1
        exact = sign * w * x
        rows = table[table["row"] == i]
        for row in rows.itertuples():
            assert row.contribution == pytest.approx(exact[COLUMNS.index(row.feature)],
                                                     rel=1e-4, abs=1e-8)
        assert (exact > 0).sum() == len(rows)  # every positive one, largest first
        assert rows["contribution"].is_monotonic_decreasing
    assert table.attrs["completeness_error"] < 1e-6


def test_attributions_add_up_to_the_margin_change_with_the_rbf_svm(rng):
    X, y = _data(rng)
    model = EmotionClassifier(speaker_norm=False, fallback=None).fit(X, y)
    table = explain(model, X.iloc[:10], top=6, steps=64)
    assert table.attrs["completeness_error"] < 1e-2
    assert "integrated gradients" in table.attrs["method"]
    # the shares of the features that pushed toward the label exceed the rest
    assert table.groupby("row")["share"].sum().min() > 0.5


def test_the_top_features_move_the_decision_more_than_random_ones(rng):
    X, y = _data(rng)
    model = EmotionClassifier(speaker_norm=False, fallback=None).fit(X, y)
    rows = X.iloc[::9]
    table = explain(model, rows, top=2)
    top = [table.loc[table["row"] == i, "feature"].tolist() for i in range(len(rows))]
    effect = removal_effect(model, rows, top)
    draws = [[list(rng.choice(COLUMNS, 2, replace=False)) for _ in range(len(rows))]
             for _ in range(20)]
    random = np.mean([removal_effect(model, rows, d) for d in draws], axis=0)
    assert np.all(effect > random)


def test_the_reference_is_the_speakers_usual_with_per_speaker_normalisation(rng):
    X, y = _data(rng, 120)
    speakers = np.tile(["a", "b", "c", "d"], 30)
    X.loc[speakers == "b", "f0_semitone__p50"] += 12  # a voice an octave up
    model = EmotionClassifier(fallback=None).fit(X, y, speakers=speakers)
    table = explain(model, X, speakers=speakers, top=6)
    assert table.attrs["reference"] == "the speaker's usual"
    texts = " ".join(table["text"])
    assert "the speaker's usual" in texts and " SD " in texts
    # raw units through the adapter (median/IQR) and the speaker normaliser
    pitch = table[table["feature"] == "f0_semitone__p50"]
    assert pitch["text"].str.contains("semitones").all()
    ref = pitch.groupby(speakers[pitch["row"]])["reference"].agg(["min", "max"])
    assert np.allclose(ref["min"], ref["max"])  # one usual a speaker
    assert ref.loc["b", "min"] - ref.loc[["a", "c", "d"], "min"].mean() == \
        pytest.approx(12, abs=1.5)
    assert np.allclose(pitch["value"] - pitch["reference"], pitch["difference"])


@pytest.mark.parametrize(("speaker_norm", "adapt"), [
    (False, None), (False, "batch"), (False, "speaker"), (True, "batch"),
    (True, "speaker")])
def test_raw_units_follow_a_shift_of_the_recordings(rng, speaker_norm, adapt):
    # Explained relative to what the rows are normalised by, a shift of every
    # recording moves the reference with it and leaves the difference; with
    # the training corpus as reference (adapt none), the difference moves.
    X, y = _data(rng, 120)
    speakers = np.tile(["a", "b", "c", "d"], 30)
    model = EmotionClassifier(speaker_norm=speaker_norm, fallback=None).fit(
        X, y, speakers=speakers)
    shifted = X.copy()
    shifted["f0_semitone__p50"] += 5.0
    before, after = (explain(model, data, speakers=speakers, adapt=adapt, top=6)
                     for data in (X, shifted))
    pick = before["feature"] == "f0_semitone__p50"
    assert pick.any()
    a = before[pick].set_index("row")
    b = after[after["feature"] == "f0_semitone__p50"].set_index("row")
    rows = a.index.intersection(b.index)
    if adapt is None:
        assert np.allclose(b.loc[rows, "reference"], a.loc[rows, "reference"])
        assert np.allclose(b.loc[rows, "difference"] - a.loc[rows, "difference"], 5)
    else:
        assert np.allclose(b.loc[rows, "reference"] - a.loc[rows, "reference"], 5)
        assert np.allclose(b.loc[rows, "difference"], a.loc[rows, "difference"])
    # the SD is the raw difference over the spread the model divides by
    assert (np.sign(a["difference"]) == np.sign(a["sd"])).all()


def test_the_raw_reference_is_where_the_scaled_feature_is_zero(rng):
    X, y = _data(rng)
    model = EmotionClassifier(speaker_norm=False, fallback=None).fit(X, y)
    table = explain(model, X.iloc[:5], top=3)
    scaler = model.pipeline_.named_steps["scale"]
    for row in table.itertuples():
        moved = X.iloc[[row.row]].copy()
        moved[row.feature] = row.reference
        j = COLUMNS.index(row.feature)
        normalised = model._prepare(moved, None)[0, j]
        assert (normalised - scaler.mean_[j]) / scaler.scale_[j] == pytest.approx(
            0, abs=1e-9)
        assert row.difference / row.sd > 0  # raw units per SD


def test_a_model_trained_on_an_array_explains_by_column_index(rng):
    X, y = _data(rng)
    model = EmotionClassifier(speaker_norm=False).fit(X.to_numpy(), y)
    table = explain(model, X.to_numpy()[:2], top=3)
    assert table.attrs["by_index"] is True
    assert table["feature"].str.fullmatch(r"column \d").all()
    assert table["unit"].isna().all()
    effect = removal_effect(model, X.to_numpy()[:2],
                            [table.loc[table["row"] == i, "feature"].tolist()
                             for i in range(2)])
    assert np.all(effect > 0)


def test_bad_arguments_are_refused(rng):
    X, y = _data(rng)
    model = EmotionClassifier(speaker_norm=False).fit(X, y)
    with pytest.raises(ParameterError, match="top="):
        explain(model, X, top=0)
    with pytest.raises(ParameterError, match="audio"):
        explain(model, ["a.wav"])
    with pytest.raises(ParameterError, match="entries"):
        removal_effect(model, X.iloc[:2], [["loudness__mean"]])


def test_feature_words_name_contours_functionals_and_units():
    assert feature_words("f0_semitone__p50") == ("pitch (median)", "semitones")
    assert feature_words("intensity_db__std") == ("intensity (variability)", "dB")
    assert feature_words("f0_semitone__slope") == ("pitch (trend)", "semitones/s")
    assert feature_words("loudness__skew")[1] is None
    assert feature_words("mfcc03_delta__mean")[0].startswith("MFCC 03, delta")
    assert feature_words("voiced_segment__rate")[0].endswith("(tempo)")
    assert feature_words("pcm_RMSenergy_sma_amean") == ("pcm_RMSenergy_sma_amean", None)


def test_the_plots_are_written(rng, tmp_path):
    X, y = _data(rng)
    model = EmotionClassifier(speaker_norm=False, dimensions="circumplex").fit(X, y)
    table = explain(model, X.iloc[:1], top=3)
    assert plot_explanation(table, tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"
    batch = pd.DataFrame(model.predict_dimensions(X.iloc[:5]), columns=["arousal",
                                                                         "valence"])
    batch["label"] = model.predict(X.iloc[:5])
    batch["path"] = [f"f{i}.wav" for i in range(5)]
    assert plot_circumplex(batch, tmp_path / "c.svg").read_text().startswith("<?xml")
    with pytest.raises(ParameterError, match="arousal"):
        plot_circumplex(batch.drop(columns="arousal"), tmp_path / "d.png")
    with pytest.raises(ParameterError, match="no explanation"):
        plot_explanation(table.iloc[:0], tmp_path / "f.png")


@pytest.mark.skipif(not EXAMPLES, reason="data/examples has no recordings")
def test_faithful_for_every_bundled_example():
    """Removing a file's top five features moves its margin more than random five."""
    model = load_model()
    X = model.extractor_.transform([str(p) for p in EXAMPLES])
    table = explain(model, X, top=5)
    assert table.attrs["completeness_error"] < 0.05
    assert sorted(set(table["row"])) == list(range(len(EXAMPLES)))
    top = [table.loc[table["row"] == i, "feature"].tolist() for i in range(len(X))]
    effect = removal_effect(model, X, top)
    rng = np.random.default_rng(0)
    names = model.feature_names_in_
    random = np.array([removal_effect(model, X, [list(rng.choice(names, 5, False))
                                                  for _ in range(len(X))])
                       for _ in range(20)])
    assert np.all(effect > random.mean(axis=0))
    assert np.all(effect > np.percentile(random, 95, axis=0))
