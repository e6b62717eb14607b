"""Dimensions and explanations through sertk-train, sertk-predict and sertk-evaluate."""

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from synthetic_corpus import write_audio_corpus, write_feature_table

from sertk.cli.evaluate import main as evaluate
from sertk.cli.predict import main as predict
from sertk.cli.train import main as train
from sertk.io.model_files import load_model

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def dims_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-dims")
    manifest = write_audio_corpus(folder / "corpus")
    model = folder / "model.skops"
    assert train(["--manifest", str(manifest), "-o", str(model), "--dimensions",
                  "--feature-set", "minimal", "--no-cache", "-q"]) == 0
    return model, folder / "corpus"


def test_train_dimensions_then_predict_prints_and_writes_them(dims_model, tmp_path,
                                                             capsys):
    model, corpus = dims_model
    assert load_model(model, trusted=False).dimensions == "circumplex"
    files = [str(corpus / "s0_anger_0.wav"), str(corpus / "s1_sadness_1.wav")]
    out = tmp_path / "p.csv"
    assert predict(["-m", str(model), *files, "-o", str(out), "-q"]) == 0
    table = pd.read_csv(out)
    assert list(table.columns[:8]) == ["path", "start", "end", "speech_fraction",
                                       "label", "out_of_distribution", "arousal",
                                       "valence"]
    assert table.loc[0, "arousal"] > table.loc[1, "arousal"]
    capsys.readouterr()
    assert predict(["-m", str(model), *files, "-q"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header[:4] == ["path", "speech_fraction", "label", "arousal"]


def test_explain_prints_the_reasons_and_writes_them_beside_the_csv(dims_model,
                                                                   tmp_path, capsys):
    model, corpus = dims_model
    files = [str(corpus / "s0_anger_0.wav"), str(corpus / "s2_sadness_0.wav")]
    assert predict(["-m", str(model), *files, "--explain", "3", "-q"]) == 0
    out = capsys.readouterr().out
    assert "Why (the features that pushed most toward each label" in out
    assert out.count("  1. ") == 2 and "SD" in out
    csv = tmp_path / "p.csv"
    assert predict(["-m", str(model), *files, "--explain", "-o", str(csv), "-q"]) == 0
    main = pd.read_csv(csv)
    assert main["explanation"].notna().all()
    why = pd.read_csv(tmp_path / "p.explanations.csv")
    assert set(why["path"]) == set(files)
    assert list(why.columns[:3]) == ["path", "start", "end"]  # the shared index
    assert {"feature", "words", "value", "reference", "sd", "share", "text"} <= set(
        why.columns)
    assert why.groupby("path").size().max() <= 5


def test_explain_with_plot_draws_a_chart_a_file_and_the_circumplex(dims_model,
                                                                   tmp_path):
    model, corpus = dims_model
    files = [str(corpus / "s0_anger_0.wav"), str(corpus / "s2_sadness_0.wav")]
    assert predict(["-m", str(model), *files, "--explain", "--plot",
                    str(tmp_path / "why.png"), "-q"]) == 0
    images = sorted(p.name for p in tmp_path.glob("*.png"))
    assert images == ["why-circumplex.png", "why-s0_anger_0.png",
                      "why-s2_sadness_0.png"]
    assert all((tmp_path / name).read_bytes().startswith(PNG) for name in images)


@pytest.mark.parametrize("extra", [["--explain"], ["--window", "1"]])
def test_a_plot_name_without_an_image_suffix_is_refused_before_any_work(
        dims_model, tmp_path, capsys, extra):
    model, corpus = dims_model
    out = tmp_path / "out.csv"
    assert predict(["-m", str(model), str(corpus / "s0_anger_0.wav"), *extra,
                    "--plot", str(tmp_path / "why"), "-o", str(out)]) == 2
    assert "end the image's name in .png, .svg, .pdf" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing analysed, nothing written


def test_explain_refuses_windows_and_skips_silence(dims_model, tmp_path, capsys):
    model, corpus = dims_model
    assert predict(["-m", str(model), str(corpus / "s0_anger_0.wav"), "--explain",
                    "--window", "1"]) == 2
    assert "--explain explains whole files" in capsys.readouterr().err
    silent = tmp_path / "zeros.wav"
    sf.write(silent, np.zeros(16000), 16000)
    assert predict(["-m", str(model), str(silent), "--explain"]) == 0
    captured = capsys.readouterr()
    assert "silence" in captured.out and "no file to explain" in captured.err


def test_a_timeline_from_a_dimensional_model_has_the_columns(dims_model, tmp_path):
    model, corpus = dims_model
    out = tmp_path / "t.csv"
    assert predict(["-m", str(model), str(corpus / "s0_anger_0.wav"), "--window",
                    "0.2", "--hop", "0.1", "-o", str(out), "-q"]) == 0
    assert {"arousal", "valence"} <= set(pd.read_csv(out).columns)


def test_train_uses_a_manifests_arousal_and_valence_columns(tmp_path, capsys):
    manifest = write_audio_corpus(tmp_path / "corpus")
    table = pd.read_csv(manifest)
    table["arousal"] = np.where(table["label"] == "anger", 0.9, -0.9)
    table["valence"] = 0.5  # a column the labels know nothing of
    table.to_csv(manifest, index=False)
    model = tmp_path / "m.joblib"
    assert train(["--manifest", str(manifest), "-o", str(model), "--dimensions",
                  "--feature-set", "minimal", "--no-cache", "-q"]) == 0
    assert "the manifest's arousal/valence columns" in capsys.readouterr().out
    loaded = load_model(model)
    dims = loaded.predict_dimensions([str(tmp_path / "corpus" / "s0_anger_0.wav")])
    assert dims[0, 1] == pytest.approx(0.5, abs=0.15)
    table.loc[0, "arousal"] = 4.0
    table.to_csv(manifest, index=False)
    assert train(["--manifest", str(manifest), "-o", str(model), "--dimensions",
                  "--feature-set", "minimal", "--no-cache", "-q"]) == 2
    assert "outside [-1, 1]" in capsys.readouterr().err


def test_evaluate_dimensions_prints_ccc_and_spearman_and_writes_a_report(tmp_path,
                                                                         capsys):
    path = tmp_path / "features.csv"
    write_feature_table(path)
    report = tmp_path / "r.json"
    assert evaluate([str(path), "--dimensions", "--protocol", "both", "--report",
                     str(report), "-q"]) == 0
    out = capsys.readouterr().out
    assert "Dimensions of feature table" in out and "adapt speaker" in out
    assert "adapt none" in out and "Spearman" in out
    data = json.loads(report.read_text())
    assert set(data) == {"speaker-normalised", "strict"}
    assert data["speaker-normalised"]["arousal"]["ccc"] > 0.8
    assert data["strict"]["cv"] == "loso"
