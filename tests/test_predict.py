"""Per-file predictions: an emotion for speech, ``silence`` for files without.

The model tells two synthetic "emotions" apart: calm (a low harmonic tone)
and anger (a high one). The files without speech are those the bundled
model used to call "disgust": digital silence, a DC offset, faint hiss and
a faint voice below the -70 dBFS floor, and loud sounds without a voice
(noise, 50 Hz hum).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import SR, harmonic_tone
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sertk import predict_files
from sertk.errors import ParameterError
from sertk.features.feature_sets import FeatureSet
from sertk.models.classifier import EmotionClassifier
from sertk.timeline.windows import SILENCE, predict_timeline

PROBS = ["prob_anger", "prob_calm"]


def voice(f0, seconds, rng):
    return harmonic_tone(f0, seconds) + 0.002 * rng.standard_normal(int(seconds * SR))


def no_speech(rng):
    """Files without speech, by name; each 1 s."""
    t = np.arange(SR) / SR
    faint = harmonic_tone(150.0, 1.0)
    return {"zeros": np.zeros(SR),
            "dc": np.full(SR, 0.5),
            "hiss_-90dBFS": 10 ** (-90 / 20) * rng.standard_normal(SR),
            # voiced to Praat, whose thresholds are relative, but inaudible
            "voice_-85dBFS_peak": faint / np.abs(faint).max() * 10 ** (-85 / 20),
            "noise_-30dBFS": 10 ** (-30 / 20) * rng.standard_normal(SR),
            "hum_50Hz": 0.1 * np.sin(2 * np.pi * 50 * t)}


def train(folder, labels=("calm", "anger"), **params):
    """A classifier of low and high voices, trained on eight 1 s files."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    paths, y = [], []
    for i in range(4):
        for label, f0 in zip(labels, (120.0, 280.0), strict=True):
            paths.append(str(folder / f"{label}{i}.wav"))
            sf.write(paths[-1], voice(f0 * (1 + 0.03 * i), 1.0, rng), SR)
            y.append(label)
    params = {"feature_set": "minimal", **params}
    model = EmotionClassifier(speaker_norm=False, extractor_params={"progress": False},
                              **params)
    return model.fit(paths, y)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train(tmp_path_factory.mktemp("training"))


@pytest.fixture
def files(write_wav):
    """Two voices, then the files without speech, then a broken file."""
    rng = np.random.default_rng(1)
    paths = {"calm": write_wav("calm.wav", voice(125.0, 1.5, rng)),
             "anger": write_wav("anger.wav", voice(270.0, 1.5, rng))}
    for name, x in no_speech(rng).items():
        paths[name] = write_wav(f"{name}.wav", x, subtype="FLOAT")
    paths["broken"] = str(Path(paths["calm"]).with_name("missing.wav"))
    return paths


def test_speech_gets_an_emotion_and_the_rest_silence(model, files):
    table = predict_files(model, list(files.values()), progress=False)
    assert list(table.columns) == ["path", "start", "end", "speech_fraction", "label",
                                   "out_of_distribution", *PROBS, "error"]
    assert table["path"].tolist() == list(files.values())
    # whole files: from 0 to their duration (unknown for a missing file)
    assert (table["start"] == 0.0).all()
    np.testing.assert_array_equal(table["end"], [1.5, 1.5, *[1.0] * 6, np.nan])
    rows = table.set_index(pd.Index(list(files)))
    assert rows.loc[["calm", "anger"], "label"].tolist() == ["calm", "anger"]
    np.testing.assert_allclose(rows.loc[["calm", "anger"], PROBS].sum(axis=1), 1.0)
    quiet = rows.loc[list(no_speech(np.random.default_rng()))]
    assert (quiet["label"] == SILENCE).all(), quiet["label"]
    assert quiet[PROBS].isna().all(axis=None) and quiet["error"].isna().all()
    assert rows.loc[["calm", "anger"], "out_of_distribution"].tolist() == [False,
                                                                           False]
    assert quiet["out_of_distribution"].isna().all()
    # below the floor, or constant (DC), nothing is speech; loud sounds are,
    # by level alone
    assert quiet["speech_fraction"].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    assert rows.loc[["calm", "anger"], "speech_fraction"].tolist() == [1.0, 1.0]
    broken = rows.loc["broken"]
    assert broken["error"] == "no such file"
    assert broken[["speech_fraction", "label", "out_of_distribution",
                   *PROBS]].isna().all()


def test_predictions_and_features_share_one_index(model, files, write_wav):
    # predict_files' rows and FeatureExtractor's join on path, start, end
    paths = [files["calm"], files["zeros"], files["anger"], files["broken"]]
    table = predict_files(model, paths, progress=False)
    extractor = clone(model.extractor_).set_params(on_error="nan")
    with pytest.warns(UserWarning, match="could not be analysed"):
        features = extractor.transform(paths)
    joined = table.set_index(["path", "start", "end"]).join(features, how="inner")
    assert joined.index.equals(features.index)  # the missing file too (NaN end)
    assert joined["label"].tolist()[:3] == ["calm", SILENCE, "anger"]
    np.testing.assert_array_equal(joined[features.columns], features)
    # and a segment's row keeps its bounds
    segment = pd.DataFrame({"path": [files["calm"]], "start": [0.25], "end": [1.0]})
    assert extractor.transform(segment).index.tolist() == [(files["calm"], 0.25, 1.0)]


def test_predict_keeps_scikit_learns_contract(model, files):
    # predict labels every row from classes_, silence included: only
    # predict_files answers "silence".
    paths = [files["calm"], files["zeros"], files["dc"]]
    assert set(model.predict(paths)) <= {"calm", "anger"}


def test_without_vad_every_file_is_classified(model, files):
    paths = [files["calm"], files["zeros"], files["dc"], files["broken"]]
    table = predict_files(model, paths, vad=False, progress=False)
    assert table["label"].tolist()[:3] == list(model.predict(paths[:3]))
    assert table["speech_fraction"].tolist()[:3] == [1.0, 0.0, 0.0]
    assert table[PROBS].iloc[:3].notna().all(axis=None)
    assert pd.isna(table["label"][3]) and table["error"][3] == "no such file"


def test_same_speech_fraction_as_a_timeline_window(model, write_wav):
    # one window over the whole file: the same voice activity detection
    rng = np.random.default_rng(2)
    x = np.concatenate([voice(125.0, 1.2, rng), 0.0005 * rng.standard_normal(
        int(1.8 * SR)), np.zeros(SR)])
    path = write_wav("half.wav", x)
    row = predict_files(model, [path], progress=False).iloc[0]
    window = predict_timeline(model, path, window=4.0, progress=False).iloc[0]
    assert (window["start"], window["end"]) == (0.0, 4.0)
    assert row["speech_fraction"] == window["speech_fraction"]
    assert row["speech_fraction"] == pytest.approx(0.3, abs=0.02)
    assert row["label"] == "calm"


def test_a_dc_offset_changes_no_speech_fraction(model, write_wav):
    # the level of a frame leaves out its mean: speech over a DC offset is
    # as much speech as without it, and the offset alone is none
    rng = np.random.default_rng(3)
    x = np.concatenate([voice(125.0, 1.2, rng), np.zeros(int(0.8 * SR))])
    paths = [write_wav("speech.wav", x, subtype="FLOAT"),
             write_wav("speech_dc.wav", x + 0.4, subtype="FLOAT"),
             write_wav("dc.wav", np.full(2 * SR, 0.5), subtype="FLOAT")]
    table = predict_files(model, paths, progress=False)
    assert table["speech_fraction"][0] == pytest.approx(0.6, abs=0.02)
    assert table["speech_fraction"].tolist() == [table["speech_fraction"][0]] * 2 + [
        0.0]
    assert table["label"].tolist()[1:] == ["calm", SILENCE]


def test_a_feature_set_without_voicing_still_finds_no_voice(tmp_path, files):
    # No voiced__fraction column: whether Praat finds a voice is measured
    # afresh.
    fs = FeatureSet("no-voicing", (("loudness", ("mean", "std")),
                                   ("mfcc01", ("mean",))))
    model = train(tmp_path, feature_set=fs)
    assert "voiced__fraction" not in model.feature_names_in_
    paths = [files["calm"], files["dc"], files["hum_50Hz"], files["zeros"]]
    table = predict_files(model, paths, progress=False)
    assert table["label"].tolist()[1:] == [SILENCE] * 3
    assert table["label"][0] in {"calm", "anger"}
    # nor in a timeline's windows: 1.5 s of voice, then 1 s of hum
    x = np.concatenate([sf.read(files["calm"])[0], sf.read(files["hum_50Hz"])[0]])
    sf.write(tmp_path / "calm_hum.wav", x, SR)
    rows = predict_timeline(model, tmp_path / "calm_hum.wav", window=0.5, hop=0.5,
                            progress=False)
    assert rows["label"].tolist()[3:] == [SILENCE] * 2
    assert set(rows["label"][:3]) <= {"calm", "anger"}


def test_models_that_cannot_make_the_table(model, files, tmp_path):
    path = [files["calm"]]
    with pytest.raises(NotFittedError):
        predict_files(EmotionClassifier(), path)
    X = model.extractor_.transform([files["calm"], files["anger"]] * 3)
    by_features = EmotionClassifier(speaker_norm=False, projection=None).fit(
        X, ["calm", "anger"] * 3)
    with pytest.raises(ParameterError, match="trained on feature columns"):
        predict_files(by_features, path)
    no_proba = train(tmp_path / "a", probability=False)
    with pytest.raises(ParameterError, match="probability=True"):
        predict_files(no_proba, path)
    silence_class = train(tmp_path / "b", labels=("calm", SILENCE))
    with pytest.raises(ParameterError, match="vad=False"):
        predict_files(silence_class, path)
    table = predict_files(silence_class, path, vad=False, progress=False)
    assert table["label"].tolist() == ["calm"]
