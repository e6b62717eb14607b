from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from synthetic_corpus import write_audio_corpus, write_feature_table

import sertk.cli.predict
from sertk.cli.predict import main
from sertk.cli.train import main as train
from sertk.io.datasets import LABELS
from sertk.io.model_files import DEFAULT_MODEL, TIMELINE_MODEL, load_model
from sertk.models.augment import AUGMENT_MIX

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "data" / "examples").glob("*.wav"))


def test_the_bundled_model_names_an_emotion_for_each_example(monkeypatch, capsys):
    # The README's first command: sertk-predict data/examples
    monkeypatch.chdir(REPO)
    assert main(["data/examples", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, rows = lines[0].split(), lines[1:]
    assert header[:5] == ["path", "speech_fraction", "label", "arousal", "valence"]
    assert header[5:] == sorted(load_model().classes_)
    assert len(rows) == len(EXAMPLES) == 7
    for row, wav in zip(rows, EXAMPLES, strict=True):
        cells = row.split()
        assert cells[0] == f"data/examples/{wav.name}"
        assert 0.5 < float(cells[1]) <= 1
        assert cells[2] in LABELS
        assert all(-1 <= float(v) <= 1 for v in cells[3:5])
        probs = np.array(cells[5:], dtype=float)
        assert abs(probs.sum() - 1) < 0.01


def test_the_bundled_models_give_arousal_and_valence_in_the_right_order():
    # data/examples: EMO-DB's anger (W), boredom (L), happiness (F), sadness (T)
    paths = {code: next(str(p) for p in EXAMPLES if p.stem[5] == code)
             for code in "WLFT"}
    X = load_model().extractor_.transform(list(paths.values()))
    for model in (load_model(), load_model(TIMELINE_MODEL)):
        dims = dict(zip(paths, model.predict_dimensions(X), strict=True))
        assert dims["W"][0] > max(dims["L"][0], dims["T"][0]) + 0.3  # arousal
        assert dims["F"][1] > dims["W"][1] + 0.3  # valence


def test_the_bundled_model_names_no_emotion_without_speech(tmp_path):
    # It used to call each of these "disgust" (p = 0.75).
    sr, rng = 16000, np.random.default_rng(0)
    silent = {"zeros": np.zeros(2 * sr), "dc": np.full(2 * sr, 0.5),
              "hiss_-90dBFS": 10 ** (-90 / 20) * rng.standard_normal(2 * sr),
              "noise_-30dBFS": 10 ** (-30 / 20) * rng.standard_normal(2 * sr),
              "hum_50Hz": 0.1 * np.sin(2 * np.pi * 50 * np.arange(2 * sr) / sr)}
    for name, x in silent.items():
        sf.write(tmp_path / f"{name}.wav", x, sr, subtype="FLOAT")
    out = tmp_path / "p.csv"
    speech = str(EXAMPLES[0])
    assert main([*sorted(map(str, tmp_path.glob("*.wav"))), speech,
                 "-o", str(out), "-q"]) == 0
    table = pd.read_csv(out).set_index("path")
    nothing = table.drop(index=speech)
    assert len(nothing) == len(silent)
    assert (nothing["label"] == "silence").all(), nothing["label"]
    assert nothing.filter(like="prob_").isna().all(axis=None)
    assert nothing[["arousal", "valence"]].isna().all(axis=None)
    assert table.loc[speech, ["arousal", "valence"]].between(-1, 1).all()
    assert nothing["speech_fraction"].between(0, 1).all()
    assert table.loc[speech, "label"] in LABELS
    assert table.loc[speech].filter(like="prob_").sum() == pytest.approx(1.0)


def test_the_default_model_file_is_small_and_documented():
    # about 3.2 MB of classifier, and 0.5 MB of nearest-neighbour arousal and
    # valence regressions, which keep the projection of each of the 7,900
    # training rows (once for both dimensions and both k)
    assert DEFAULT_MODEL.stat().st_size < 4_500_000
    info = load_model().model_info_
    assert info["params"]["speaker_norm"] is False
    # trained on noise, telephone and room copies too (issue 21), with
    # arousal and valence (issue 20)
    assert list(info["params"]["augment"]) == list(AUGMENT_MIX)
    assert info["params"]["dimensions"] == "circumplex"
    # two corpora (issue 22): EMO-DB's 535 recordings and RAVDESS's 1440
    assert info["training_summary"]["n_files"] == 535 + 1440
    assert info["training_summary"]["n_speakers"] == 10 + 24
    # two speed copies and a condition copy of (nearly) every recording
    assert 2.9 * 1975 < info["training_summary"]["n_augmented"] <= 3 * 1975
    assert info["cv_report"]["protocol"] == "strict"
    assert set(info["cv_report"]["per_corpus"]) == {"emodb", "ravdess"}
    assert load_model().adapter_.corpora_.tolist() == ["emodb", "ravdess"]
    assert (DEFAULT_MODEL.parent / "default.json").is_file()


def test_the_timeline_model_file_is_small_and_documented():
    # 14,525 rows of two corpora (recordings, copies, windows) and their
    # arousal/valence regressors (0.9 MB of them the nearest neighbours' copy
    # of the projection, as in the default model)
    assert TIMELINE_MODEL.stat().st_size < 7_000_000
    model = load_model(TIMELINE_MODEL)
    info = model.model_info_
    assert info["params"]["speaker_norm"] is False
    assert info["params"]["speed_perturbation"] is None  # copies given as rows
    assert list(model.feature_names_in_) == list(load_model().feature_names_in_)
    assert info["params"]["dimensions"] == "circumplex"
    assert model.classes_.tolist() == load_model().classes_.tolist()
    assert model.adapter_.corpora_.tolist() == ["emodb", "ravdess"]
    training = info["provenance"]
    assert training["n_files"] == 535 + 1440 and training["n_windows"] > 1975
    # the default model's rows (recordings and all their copies) and the windows
    default = load_model().model_info_["training_summary"]
    assert info["training_summary"]["n_files"] == (
        default["n_files"] + default["n_augmented"] + training["n_windows"])
    for corpus in ("emodb", "ravdess"):
        assert 0 < training["estimate"]["windows"][corpus]["uar"] <= 1
    assert (TIMELINE_MODEL.parent / "timeline.json").is_file()


@pytest.mark.parametrize("argv, used", [([], DEFAULT_MODEL),
                                        (["--window", "2"], TIMELINE_MODEL)])
def test_without_m_files_and_timelines_get_their_bundled_model(
        monkeypatch, capsys, argv, used):
    loaded = []

    def load(path, **kwargs):
        loaded.append(path)
        return load_model(path, **kwargs)

    monkeypatch.setattr(sertk.cli.predict, "load_model", load)
    assert main([str(EXAMPLES[0]), *argv, "-q"]) == 0
    assert loaded == [used]
    capsys.readouterr()


@pytest.fixture(scope="module")
def audio_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("predict")
    manifest = write_audio_corpus(folder / "corpus")
    model = folder / "model.skops"
    assert train(["--manifest", str(manifest), "-o", str(model),
                  "--feature-set", "minimal", "--no-cache", "-q"]) == 0
    return model, folder / "corpus"


def test_csv_output_with_an_error_row_for_each_bad_file(audio_model, tmp_path,
                                                        capsys):
    model, corpus = audio_model
    bad = tmp_path / "broken.wav"
    bad.write_text("not audio")
    out = tmp_path / "predictions.csv"
    inputs = [str(corpus / "s0_anger_0.wav"), str(bad), str(tmp_path / "gone.wav"),
              str(corpus / "s1_sadness_1.wav")]
    assert main(["-m", str(model), *inputs, "-o", str(out)]) == 1
    assert "2 of 4 files failed" in capsys.readouterr().err
    table = pd.read_csv(out, dtype={"label": str})
    assert list(table.columns) == ["path", "start", "end", "speech_fraction",
                                   "label", "out_of_distribution", "prob_anger",
                                   "prob_sadness", "error"]
    # the index of every sertk table; unknown for what is no file or unreadable
    assert table["start"].tolist()[::3] == [0.0, 0.0]
    assert table["end"].tolist()[::3] == [sf.info(inputs[0]).duration,
                                          sf.info(inputs[3]).duration]
    assert table[["start", "end"]].iloc[2].isna().all()
    assert table["out_of_distribution"].tolist()[::3] == [False, False]
    assert table["path"].tolist() == inputs
    assert table["label"].tolist()[::3] == ["anger", "sadness"]
    np.testing.assert_allclose(table[["prob_anger", "prob_sadness"]].iloc[[0, 3]]
                               .sum(axis=1), 1.0)
    assert table["error"].isna().tolist() == [True, False, False, True]
    assert table.loc[2, "error"] == "no such file or folder"
    assert table.iloc[1:3][["speech_fraction", "label", "prob_anger"]
                           ].isna().all().all()


def test_a_folder_is_searched_and_the_table_printed(audio_model, capsys):
    model, corpus = audio_model
    assert main(["-m", str(model), str(corpus), "--safe", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["path", "speech_fraction", "label", "anger",
                                "sadness"]
    assert len(lines) == 1 + 24
    predicted = {line.split()[0]: line.split()[2] for line in lines[1:]}
    assert all(Path(p).name.split("_")[1] == label
               for p, label in predicted.items())


def test_a_printed_timeline_shows_a_failed_file_as_an_error_row(audio_model,
                                                                tmp_path, capsys):
    model, corpus = audio_model
    bad = tmp_path / "broken.wav"
    bad.write_text("not audio")
    good = str(corpus / "s0_anger_0.wav")
    assert main(["-m", str(model), "--window", "0.5", "--hop", "0.25", good,
                 str(bad), "-q"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["path", "start", "end", "speech_fraction",
                                    "label"]
    assert lines[0].split()[-1] == "error"
    assert lines[-1].split()[0] == str(bad) and "not readable as audio" in lines[-1]
    assert all(line.split()[0] == good for line in lines[1:-1])


def test_a_joblib_model_needs_trust(tmp_path, capsys):
    table = tmp_path / "features.csv"
    write_feature_table(table)
    model = tmp_path / "m.joblib"
    assert train([str(table), "-o", str(model), "-q"]) == 0
    for extra in ([], ["--safe"]):
        assert main([*extra, "-m", str(model), str(EXAMPLES[0])]) == 2
        err = capsys.readouterr().err
        assert "is a pickle" in err and "--trust" in err
        assert len(err.strip().splitlines()) == 1


def test_a_model_trained_on_features_is_refused(tmp_path, capsys):
    table = tmp_path / "features.csv"
    write_feature_table(table)
    model = tmp_path / "m.joblib"
    assert train([str(table), "-o", str(model), "-q"]) == 0
    assert main(["-m", str(model), "--trust", str(EXAMPLES[0])]) == 2
    assert "trained on feature columns" in capsys.readouterr().err


def test_a_file_that_is_no_model_is_refused(tmp_path, capsys):
    fake = tmp_path / "model.joblib"
    fake.write_text("{}")
    assert main(["-m", str(fake), "--trust", str(EXAMPLES[0])]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and "Traceback" not in err


def test_the_default_model_expects_the_current_default_features():
    from sertk.features.extractor import FeatureExtractor

    expected = FeatureExtractor("default").get_feature_names_out().tolist()
    assert load_model().feature_names_in_.tolist() == expected, (
        "the default feature set changed: rebuild the bundled model with "
        "python scripts/train_default_model.py")


def test_a_name_that_is_not_utf8_is_predicted_and_shown_escaped(audio_model,
                                                                tmp_path):
    import os
    import shutil

    model, corpus = audio_model
    name = os.fsdecode(b"caf\xe9.wav")
    shutil.copy(corpus / "s0_anger_0.wav", tmp_path / name)
    out = tmp_path / "p.csv"
    assert main(["-m", str(model), str(tmp_path / name), "-o", str(out),
                 "-q"]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert table["path"][0] == str(tmp_path / "caf\\xe9.wav")
    assert table["label"][0] == "anger" and table["error"][0] == ""


def test_out_of_distribution_files_are_marked_in_the_printed_table():
    from sertk.cli.predict import _aligned

    table = pd.DataFrame({
        "path": ["a.wav", "b.wav", "c.wav"], "speech_fraction": [0.9, 0.8, 0.0],
        "label": ["anger", "sadness", "silence"],
        "out_of_distribution": pd.array([True, False, pd.NA], dtype="boolean"),
        "prob_anger": [0.7, 0.2, np.nan], "error": [None, None, None]})
    lines = _aligned(table).splitlines()
    assert "out_of_distribution" in lines[0]
    assert [line.split()[3] for line in lines[1:3]] == ["yes", "0.200"]
    none = table.assign(out_of_distribution=pd.array([False, False, pd.NA],
                                                     dtype="boolean"))
    assert "out_of_distribution" not in _aligned(none)
