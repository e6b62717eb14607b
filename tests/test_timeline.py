"""Timelines of long recordings: windows, voice activity, blocks, smoothing, plot.

The recording alternates two synthetic "emotions" -- calm (a low, steady
harmonic tone) and anger (a high tone with fast vibrato and tremolo, and
more noise) -- with pauses of faint noise, so the right answer of every
window is known.
"""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import SR, harmonic_tone
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sertk.cli._timeline import plot_paths
from sertk.cli.predict import main as predict_main
from sertk.errors import AudioError, ParameterError
from sertk.features.extractor import extract_windows
from sertk.io.model_files import save_model
from sertk.models.classifier import EmotionClassifier
from sertk.timeline.windows import (
    SILENCE,
    model_analysis,
    plot_timeline,
    predict_timeline,
    smooth_timeline,
    window_features,
)

#: (kind, seconds) of the test recording: 40 s in all.
PLAN = [("calm", 8), ("pause", 3), ("anger", 8), ("pause", 3), ("calm", 6),
        ("pause", 2), ("anger", 10)]
PROBS = ["prob_anger", "prob_calm"]


def calm(seconds, rng, f0=120.0):
    return harmonic_tone(f0, seconds) + 0.002 * rng.normal(size=int(seconds * SR))


def anger(seconds, rng, f0=280.0):
    t = np.arange(int(seconds * SR)) / SR
    tone = harmonic_tone(f0 * (1 + 0.15 * np.sin(2 * np.pi * 8 * t)))
    return tone * (1 + 0.5 * np.sin(2 * np.pi * 4 * t)) / 1.5 + 0.04 * rng.normal(
        size=t.size)


def pause(seconds, rng):
    return 0.001 * rng.normal(size=int(seconds * SR))  # -60 dBFS of noise


SIGNALS = {"calm": calm, "anger": anger, "pause": pause}


def stretches():
    """(kind, start, end) of each stretch of PLAN."""
    out, t = [], 0.0
    for kind, seconds in PLAN:
        out.append((kind, t, t + seconds))
        t += seconds
    return out


def inside(timeline, kind):
    """Rows whose window lies wholly inside a stretch of ``kind``."""
    keep = np.zeros(len(timeline), dtype=bool)
    for k, a, b in stretches():
        if k == kind:
            keep |= (timeline["start"] >= a) & (timeline["end"] <= b)
    return timeline[keep]


@pytest.fixture(scope="module")
def training():
    """Features of 2 s windows of other calm and anger signals, and labels."""
    rng = np.random.default_rng(1)
    tables, labels = [], []
    spans = [(s, s + 2.0) for s in np.arange(0.0, 4.01, 0.5)]
    for f0_calm, f0_anger in [(110, 260), (120, 280), (130, 300)]:
        for kind, x in (("calm", calm(6, rng, f0_calm)),
                        ("anger", anger(6, rng, f0_anger))):
            tables.append(extract_windows(x, SR, spans, feature_set="minimal"))
            labels += [kind] * len(spans)
    return pd.concat(tables), np.array(labels)


@pytest.fixture(scope="module")
def model(training):
    return EmotionClassifier(speaker_norm=False).fit(*training)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    rng = np.random.default_rng(2)
    x = np.concatenate([SIGNALS[kind](seconds, rng) for kind, seconds in PLAN])
    path = tmp_path_factory.mktemp("timeline") / "long.wav"
    sf.write(path, x, SR)
    return str(path)


@pytest.fixture(scope="module")
def timeline(model, recording):
    return predict_timeline(model, recording, block=60.0, progress=False)


def test_rows_cover_the_file_every_hop(timeline, recording):
    assert list(timeline.columns) == ["path", "start", "end", "speech_fraction",
                                      "label", "out_of_distribution", *PROBS]
    np.testing.assert_allclose(timeline["start"], np.arange(0, 38.01, 0.5))
    np.testing.assert_allclose(timeline["end"], timeline["start"] + 2.0)
    assert (timeline["path"] == recording).all()


def test_pauses_are_silent(timeline):
    pauses = inside(timeline, "pause")
    assert len(pauses) == 7
    assert (pauses["label"] == SILENCE).all()
    assert pauses[PROBS].isna().all().all()
    assert (pauses["speech_fraction"] == 0).all()


def test_each_stretch_gets_its_label(timeline):
    for kind in ("calm", "anger"):
        rows = inside(timeline, kind)
        assert len(rows) > 10
        assert (rows["label"] == kind).all()
        assert (rows["speech_fraction"] == 1).all()
    speech = timeline[timeline["label"] != SILENCE]
    np.testing.assert_allclose(speech[PROBS].sum(axis=1), 1.0)


def test_a_window_half_speech_is_speech(timeline):
    # [7, 9]: 1 s of calm, 1 s of pause -> speech_fraction 0.5 = min_speech
    row = timeline[timeline["start"] == 7.0].iloc[0]
    assert row["speech_fraction"] == pytest.approx(0.5)
    assert row["label"] != SILENCE  # at min_speech: classified, whatever as
    assert np.isfinite(row[PROBS].to_numpy(dtype=float)).all()
    row = timeline[timeline["start"] == 7.5].iloc[0]
    assert row["speech_fraction"] == pytest.approx(0.25)
    assert row["label"] == SILENCE


@pytest.fixture(scope="module")
def small_blocks(model, recording):
    return predict_timeline(model, recording, block=10.0, progress=False)


def test_windows_like_the_training_data_are_in_distribution(timeline):
    assert timeline["out_of_distribution"].dtype == "boolean"
    silent = timeline["label"] == SILENCE
    assert timeline.loc[silent, "out_of_distribution"].isna().all()
    # windows wholly inside a stretch of speech are like the training
    # windows; a few of the noisier "anger" ones still lie beyond the 99th
    # percentile of the small training set's held-out distances
    speech = pd.concat([inside(timeline, "calm"), inside(timeline, "anger")])
    assert speech["out_of_distribution"].notna().all()
    assert speech["out_of_distribution"].mean() < 0.25
    assert inside(timeline, "calm")["out_of_distribution"].mean() < 0.1


def test_a_stretch_unlike_the_training_data_is_out_of_distribution(
        model, write_wav, rng):
    # a steady 600 Hz tone, an octave above any training F0, between calm
    # speech: its windows are flagged, and the fallback labels them
    x = np.concatenate([calm(6, rng), harmonic_tone(600.0, 6), calm(6, rng)])
    rows = predict_timeline(model, write_wav("odd_voice.wav", x), window=2.0,
                            hop=2.0, progress=False)
    novel = rows["out_of_distribution"].to_numpy(dtype=bool)
    assert novel.tolist() == [False] * 3 + [True] * 3 + [False] * 3
    odd = rows[novel]
    assert odd[PROBS].notna().all().all()  # the fallback's probabilities
    np.testing.assert_allclose(odd[PROBS].sum(axis=1), 1.0)


def test_block_edges_change_nothing_but_rounding(timeline, small_blocks):
    small = small_blocks
    columns = ["path", "start", "end", "speech_fraction", "label",
               "out_of_distribution"]
    pd.testing.assert_frame_equal(small[columns], timeline[columns])
    # Analysis windows near block edges see slightly different context.
    np.testing.assert_allclose(small[PROBS], timeline[PROBS], atol=0.01)


def test_workers_give_identical_rows(model, recording, small_blocks):
    two = predict_timeline(model, recording, block=10.0, n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(two, small_blocks)


def test_without_vad_every_window_is_classified(model, recording, timeline):
    every = predict_timeline(model, recording, vad=False, progress=False)
    assert (every["label"] != SILENCE).all()
    assert every[PROBS].notna().all().all()
    pd.testing.assert_series_equal(every["speech_fraction"],
                                   timeline["speech_fraction"])


def test_smoothing_in_predict_timeline(model, recording, timeline):
    smoothed = predict_timeline(model, recording, smooth=2, progress=False)
    pd.testing.assert_frame_equal(smoothed, smooth_timeline(timeline, 2))
    assert not smoothed[PROBS].equals(timeline[PROBS])


def noisy_timeline(rng, n=200):
    truth = np.repeat([0.7, 0.3, 0.7, 0.3], n // 4)
    p = np.clip(truth + rng.normal(scale=0.3, size=n), 0, 1)
    table = pd.DataFrame({"path": "a.wav", "start": np.arange(n) * 0.5,
                          "end": np.arange(n) * 0.5 + 2, "prob_anger": p,
                          "prob_calm": 1 - p})
    table["label"] = np.where(p > 0.5, "anger", "calm")
    table.loc[50:54, PROBS] = np.nan
    table.loc[50:54, "label"] = SILENCE
    return table


def changes(labels):
    labels = labels[labels != SILENCE].to_numpy()
    return int((labels[1:] != labels[:-1]).sum())


def test_smoothing_reduces_label_changes(rng):
    table = noisy_timeline(rng)
    smoothed = smooth_timeline(table, 3)
    assert changes(smoothed["label"]) < changes(table["label"]) / 3
    assert (smoothed.loc[50:54, "label"] == SILENCE).all()
    assert smoothed.loc[50:54, PROBS].isna().all().all()
    np.testing.assert_allclose(smoothed[PROBS].dropna().sum(axis=1), 1.0)


def test_smoothing_averages_speech_neighbours_only(rng):
    table = noisy_timeline(rng)
    smoothed = smooth_timeline(table, 2)
    p = table["prob_anger"]
    assert smoothed.loc[10, "prob_anger"] == pytest.approx(p[8:13].mean())
    # row 48: neighbours 46-50, of which 50 is silent
    assert smoothed.loc[48, "prob_anger"] == pytest.approx(p[46:50].mean())
    assert smoothed.loc[0, "prob_anger"] == pytest.approx(p[0:3].mean())
    pd.testing.assert_frame_equal(smooth_timeline(table, 0), table)


def test_smoothing_keeps_files_apart():
    table = pd.DataFrame({"path": ["a", "a", "b", "b"], "start": [0.0, 1, 0, 1],
                          "end": [1.0, 2, 1, 2], "label": "x",
                          "prob_x": [1.0, 1.0, 0.0, 0.0],
                          "prob_y": [0.0, 0.0, 1.0, 1.0]})
    smoothed = smooth_timeline(table, 1)
    assert smoothed["label"].tolist() == ["x", "x", "y", "y"]


def test_plot_is_written(timeline, tmp_path):
    out = plot_timeline(timeline, tmp_path / "timeline.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["timeline.png"]
    smaller = plot_timeline(timeline[timeline["start"] < 10], tmp_path / "t.svg")
    assert b"<svg" in smaller.read_bytes()[:500]


def test_plot_hatches_windows_out_of_distribution(timeline, tmp_path):
    def hatched_area(table, name):
        svg = plot_timeline(table, tmp_path / name).read_text()
        # legend entry; patches filled with a hatch (the legend's is one)
        return svg.count("out of distribution"), svg.count("url(#h")

    plain = timeline.assign(out_of_distribution=timeline["out_of_distribution"]
                            & False)
    flagged = plain.copy()
    flagged.loc[flagged["start"].between(0, 5), "out_of_distribution"] = True
    legend, patterns = hatched_area(flagged, "flagged.svg")
    assert legend == 1 and patterns == 2  # one span of windows, one legend key
    assert hatched_area(plain, "plain.svg") == (0, 0)
    assert hatched_area(timeline.drop(columns="out_of_distribution"),
                        "old.svg") == (0, 0)


def test_plot_refuses_bad_input(timeline, tmp_path):
    with pytest.raises(ParameterError, match="cannot write a figure"):
        plot_timeline(timeline, tmp_path / "timeline.xyz")
    two = pd.concat([timeline, timeline.assign(path="other.wav")])
    with pytest.raises(ParameterError, match="2 files"):
        plot_timeline(two, tmp_path / "timeline.png")
    with pytest.raises(ParameterError, match="not a timeline"):
        plot_timeline(timeline.drop(columns=PROBS), tmp_path / "timeline.png")
    assert list(tmp_path.iterdir()) == []


def test_silent_and_short_files(model, write_wav, rng):
    silent = predict_timeline(model, write_wav("zeros.wav", np.zeros(5 * SR)),
                              progress=False)
    assert (silent["label"] == SILENCE).all()
    assert len(silent) == 7
    short = predict_timeline(model, write_wav("short.wav", calm(1.5, rng)),
                             progress=False)
    assert short[["start", "end", "label"]].values.tolist() == [[0.0, 1.5, "calm"]]
    with pytest.raises(AudioError):
        predict_timeline(model, write_wav("tiny.wav", np.zeros(800)), progress=False)


def test_last_window_stops_at_the_end(model, write_wav, rng):
    path = write_wav("odd.wav", calm(5.3, rng))
    rows = predict_timeline(model, path, progress=False)
    assert rows["start"].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    assert rows["end"].iloc[-1] == pytest.approx(5.3)
    assert (rows["label"] == "calm").all()


def test_a_dc_offset_changes_no_voice_activity(model, write_wav, rng):
    # a frame's level leaves out its mean: the same windows are speech with
    # an offset as without, and an offset alone is silent
    x = np.concatenate([calm(3, rng), pause(2, rng), anger(3, rng)])
    clean, offset = (
        predict_timeline(model, write_wav(name, signal, subtype="FLOAT"),
                         window=1.0, hop=0.5, progress=False)
        for name, signal in (("clean.wav", x), ("offset.wav", x + 0.3)))
    assert 0 < (clean["label"] == SILENCE).sum() < len(clean)
    np.testing.assert_allclose(offset["speech_fraction"], clean["speech_fraction"],
                               atol=0.02)
    pd.testing.assert_series_equal(offset["label"] == SILENCE,
                                   clean["label"] == SILENCE)
    dc = predict_timeline(model, write_wav("dc.wav", np.full(3 * SR, 0.5),
                                           subtype="FLOAT"), progress=False)
    assert (dc["label"] == SILENCE).all() and (dc["speech_fraction"] == 0).all()
    assert dc[PROBS].isna().all(axis=None)


@pytest.mark.emodb
def test_hum_without_a_voice_is_silent(model, emodb_root, write_wav):
    # 2 s of EMO-DB speech, then 3 s of 50 Hz hum (below f0_min) at the
    # speech level: loud enough to be speech by level, but no voiced frame
    x, sr = sf.read(emodb_root / "wav" / "15b03Wb.wav")
    speech = x[:2 * sr]
    frames = speech[:speech.size // 160 * 160].reshape(-1, 160)
    level = np.percentile(frames.std(axis=1), 99)
    hum = np.sqrt(2) * level * np.sin(2 * np.pi * 50 * np.arange(3 * sr) / sr)
    path = write_wav("speech_hum.wav", np.concatenate([speech, hum]), sr=sr)
    rows = predict_timeline(model, path, window=1.0, hop=0.5, progress=False)
    in_speech, in_hum = rows[rows["end"] <= 2.0], rows[rows["start"] >= 2.0]
    assert len(in_speech) == 3 and len(in_hum) == 5
    assert in_speech["label"].isin(["calm", "anger"]).all()
    assert (in_hum["speech_fraction"] > 0.9).all()
    assert (in_hum["label"] == SILENCE).all() and in_hum[PROBS].isna().all(axis=None)
    # without vad the hum is classified like anything else
    every = predict_timeline(model, path, window=1.0, hop=0.5, vad=False,
                             progress=False)
    assert every[PROBS].notna().all(axis=None)


@pytest.fixture(scope="module")
def audio_model(tmp_path_factory):
    """A calm/anger classifier trained on 2 s wav files (it has extractor_)."""
    rng = np.random.default_rng(3)
    folder = tmp_path_factory.mktemp("training")
    paths, labels = [], []
    for i in range(5):
        for kind in ("calm", "anger"):
            paths.append(str(folder / f"{kind}{i}.wav"))
            sf.write(paths[-1], SIGNALS[kind](2.0, rng), SR)
            labels.append(kind)
    model = EmotionClassifier(feature_set="minimal", speaker_norm=False,
                              extractor_params={"progress": False})
    return model.fit(paths, labels)


def test_model_trained_on_audio(audio_model, recording):
    rows = predict_timeline(audio_model, recording, progress=False)
    assert (inside(rows, "calm")["label"] == "calm").all()
    assert (inside(rows, "anger")["label"] == "anger").all()
    # a model whose feature set gained columns since it was trained (as if
    # "default" had been "minimal" then): the same timeline, from its columns
    grown = clone(audio_model)
    grown.__dict__.update(audio_model.__dict__)
    grown.extractor_ = clone(audio_model.extractor_).set_params(feature_set="default")
    fs, _, names = model_analysis(grown)
    assert fs.feature_names() == names == list(audio_model.feature_names_in_)
    pd.testing.assert_frame_equal(predict_timeline(grown, recording, progress=False),
                                  rows)
    # a model whose set lost one of its columns since
    changed = clone(grown)
    changed.__dict__.update(grown.__dict__)
    changed.feature_names_in_ = np.array([*names[:-1], "jitter__ddp"], dtype=object)
    with pytest.raises(ParameterError, match="changed since the model was trained"):
        predict_timeline(changed, recording, progress=False)


def test_window_features_are_the_rows_a_timeline_classifies(model, recording,
                                                              timeline):
    rows = window_features(recording, "minimal", progress=False)
    speech = timeline[timeline["label"] != SILENCE].reset_index(drop=True)
    assert rows.columns[:4].tolist() == ["path", "start", "end", "speech_fraction"]
    assert rows.shape[1] == 4 + len(model.feature_names_in_)
    pd.testing.assert_frame_equal(rows[["path", "start", "end", "speech_fraction"]],
                                  speech[["path", "start", "end", "speech_fraction"]])
    proba = model.predict_proba(rows[model.feature_names_in_])
    np.testing.assert_allclose(proba, speech[PROBS].to_numpy())
    assert inside(rows, "pause").empty  # silent windows are left out


def test_window_features_train_a_model_for_timelines(audio_model, recording,
                                                     tmp_path):
    """Windows of training recordings, labelled as their recording."""
    folder = tmp_path / "training"
    folder.mkdir()
    rng = np.random.default_rng(4)
    tables = []
    for i, kind in enumerate(["calm", "anger"] * 3):
        path = folder / f"{kind}{i}.wav"
        sf.write(path, SIGNALS[kind](4.0, rng), SR)
        tables.append(window_features(path, audio_model.extractor_.feature_set,
                                      audio_model.extractor_.settings(),
                                      progress=False).assign(label=kind))
    windows = pd.concat(tables, ignore_index=True)
    assert len(windows) == 6 * 5  # 2 s windows every 0.5 s of 4 s files
    names = audio_model.feature_names_in_
    model = EmotionClassifier(feature_set="minimal", speaker_norm=False).fit(
        windows[names], windows["label"])
    rows = predict_timeline(model, recording, progress=False)
    assert (inside(rows, "calm")["label"] == "calm").all()
    assert (inside(rows, "anger")["label"] == "anger").all()


def test_window_features_of_a_silent_file_and_bad_options(write_wav, recording):
    silent = write_wav("silent.wav", np.zeros(3 * SR))
    rows = window_features(silent, "minimal", progress=False)
    assert rows.shape == (0, 4 + 114)
    with pytest.raises(ParameterError, match="hop"):
        window_features(recording, "minimal", hop=3.0, progress=False)
    with pytest.raises(ParameterError):
        window_features(recording, "no-such-set", progress=False)


@pytest.fixture(scope="module")
def model_file(audio_model, tmp_path_factory):
    return str(save_model(audio_model, tmp_path_factory.mktemp("model") / "m.joblib"))


def test_cli_timeline_of_one_file(model_file, recording, tmp_path):
    out, image = tmp_path / "timeline.csv", tmp_path / "timeline.png"
    assert predict_main(["-m", model_file, "--trust", "--window", "2.0",
                         "--hop", "0.5",
                         recording, "-o", str(out), "--plot", str(image),
                         "-q"]) == 0
    rows = pd.read_csv(out)
    assert list(rows.columns) == ["path", "start", "end", "speech_fraction",
                                  "label", "out_of_distribution", *PROBS, "error"]
    assert len(rows) == 77 and rows["error"].isna().all()
    assert (inside(rows, "calm")["label"] == "calm").all()
    assert (inside(rows, "pause")["label"] == SILENCE).all()
    assert inside(rows, "pause")[PROBS].isna().all().all()
    assert image.read_bytes()[:4] == b"\x89PNG"


def test_cli_timelines_of_several_files(model_file, recording, tmp_path,
                                        capsys, rng):
    short = tmp_path / "short.wav"
    sf.write(short, calm(3.0, rng), SR)
    broken = tmp_path / "broken.wav"
    broken.write_text("not audio")
    plots = tmp_path / "plots"
    plots.mkdir()
    out = tmp_path / "timeline.csv"
    status = predict_main(["-m", model_file, "--trust", "--window", "2",
                           "--smooth", "1",
                           recording, str(short), str(broken), "-o", str(out),
                           "--plot", str(plots / "t.png"), "--no-progress"])
    assert status == 1
    assert "1 of 3 files failed" in capsys.readouterr().err
    rows = pd.read_csv(out)
    assert rows["path"].unique().tolist() == [recording, str(short), str(broken)]
    assert rows.groupby("path", sort=False).size().tolist() == [77, 3, 1]
    bad = rows[rows["path"] == str(broken)].iloc[0]
    assert "not readable as audio" in bad["error"] and pd.isna(bad["label"])
    assert sorted(p.name for p in plots.iterdir()) == ["t-long.png", "t-short.png"]


def test_cli_plot_names():
    assert plot_paths("t.png", ["a.wav"]) == ["t.png"]
    assert plot_paths("o/t.svg", ["a/x.wav", "b/x.wav", "c/y.wav"]) == [
        "o/t-x.svg", "o/t-x-2.svg", "o/t-y.svg"]


@pytest.mark.parametrize("argv, message", [
    (["--hop", "0.5"], "--hop needs --window"),
    (["--plot", "t.png"], "--plot needs --window"),
    (["--window", "1", "--hop", "2"], "longer than --window"),
    (["--window", "0"], "seconds > 0"),
    (["--window", "2", "--smooth", "-1"], "whole number"),
    (["--window", "2", "--plot", "no/such/folder/t.png"], "does not exist"),
])
def test_cli_timeline_usage_errors(argv, message, recording, capsys):
    assert predict_main([*argv, recording]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("option", [
    {"window": 0}, {"window": float("nan")}, {"hop": 3.0}, {"hop": 0},
    {"smooth": -1}, {"smooth": 1.5}, {"vad_threshold_db": 0},
    {"min_speech": 1.5}, {"block": 0}, {"n_jobs": 0}, {"n_jobs": 1.5},
])
def test_bad_options(model, recording, option):
    with pytest.raises(ParameterError, match=next(iter(option))):
        predict_timeline(model, recording, progress=False, **option)


def test_models_it_cannot_use(training, recording):
    rng = np.random.default_rng(0)
    y = np.repeat(["anger", "calm"], 10)
    with pytest.raises(NotFittedError):
        predict_timeline(EmotionClassifier(), recording)
    array_model = EmotionClassifier(speaker_norm=False).fit(
        rng.normal(size=(20, 3)), y)
    with pytest.raises(ParameterError, match="without column names"):
        predict_timeline(array_model, recording)
    odd = pd.DataFrame(rng.normal(size=(20, 3)), columns=["a", "b", "c"])
    with pytest.raises(ParameterError, match="built-in feature set"):
        predict_timeline(EmotionClassifier(speaker_norm=False).fit(odd, y),
                         recording)
    no_proba = EmotionClassifier(speaker_norm=False, probability=False).fit(
        odd, y)
    with pytest.raises(ParameterError, match="probabilit"):
        predict_timeline(no_proba, recording)
    X, labels = training
    silence_class = EmotionClassifier(speaker_norm=False).fit(
        X, np.where(labels == "calm", SILENCE, labels))
    with pytest.raises(ParameterError, match="class named 'silence'"):
        predict_timeline(silence_class, recording)
