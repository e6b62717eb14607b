"""Adaptation and several corpora on the command line (issue 22's bad input too)."""

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import SR
from synthetic_corpus import write_audio_corpus, write_feature_table

from sertk.cli.evaluate import main as evaluate
from sertk.cli.predict import main as predict
from sertk.cli.train import main as train
from sertk.io.model_files import load_model


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpora")
    a, b = folder / "a.csv", folder / "b.csv"
    table = write_feature_table(a, seed=0)
    features = [c for c in table.columns if "__" in c]
    rng = np.random.default_rng(1)
    # the same voices elsewhere: another microphone and room, new speakers' noise
    table[features] = (table[features] + rng.normal(size=(len(table), len(features)))
                       ) * 3 + 20
    table["label"] = table["label"].replace({"sadness": "calm"})
    table["speaker"] = "b" + table["speaker"]
    table.to_csv(b, index=False)
    return a, b


@pytest.fixture(scope="module")
def audio_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("adapt")
    manifest = write_audio_corpus(folder / "corpus", per_class=5)  # 10 a speaker
    model = folder / "model.skops"
    assert train(["--manifest", str(manifest), "-o", str(model),
                  "--feature-set", "minimal", "--no-cache", "-q"]) == 0
    return model, manifest


def test_train_on_two_manifests_keeps_each_corpus_statistics(tables, tmp_path, capsys):
    a, b = tables
    out = tmp_path / "two.skops"
    assert train(["--manifest", str(a), "--manifest", str(b), "-o", str(out),
                  "--label-map", "calm=sadness"]) == 0
    model = load_model(out, trusted=True)
    assert model.adapter_.corpora_.tolist() == ["a", "b"]
    assert sorted(model.classes_) == ["anger", "neutral", "sadness"]
    assert ("Corpora, each normalised with its own statistics: a (72 files), "
            "b (72 files)") in capsys.readouterr().out


def test_unknown_label_map_entries_are_a_usage_error(tables, tmp_path, capsys):
    a, b = tables
    code = train(["--manifest", str(a), "--manifest", str(b), "-o",
                  str(tmp_path / "m.skops"),
                  "--label-map", "calm=sadness,grumpy=anger"])
    assert code == 2
    assert "grumpy" in capsys.readouterr().err
    assert train([str(a), "-o", str(tmp_path / "m.skops"), "--label-map",
                  "no-equals-sign"]) == 2


def test_evaluate_cross_corpus_with_adapt_batch(tables, tmp_path):
    a, b = tables
    report = {}
    for mode in ("none", "batch"):
        out = tmp_path / f"{mode}.json"
        assert evaluate(["--manifest", str(a), "--test-manifest", str(b),
                         "--protocol", "strict", "--adapt", mode,
                         "--report", str(out), "-q"]) == 0
        report[mode] = json.loads(out.read_text())
    assert report["batch"]["adapt"] == "batch"
    assert report["batch"]["uar"] > report["none"]["uar"]


# corpus b is corpus a at 3 times the spread: adapted on itself, a varies
# a third as much as b, which the one-sided batch warning says
@pytest.mark.filterwarnings("ignore:the batch varies:UserWarning")
def test_evaluate_leave_one_corpus_out(tables, tmp_path, capsys):
    a, b = tables
    out = tmp_path / "loco.json"
    assert evaluate(["--manifest", str(a), "--manifest", str(b), "--cv", "loco",
                     "--protocol", "strict", "--adapt", "batch",
                     "--report", str(out), "-q"]) == 0
    report = json.loads(out.read_text())
    assert report["cv"] == "leave-one-corpus-out (2 folds)"
    assert [f["corpus"] for f in report["folds"]] == ["a", "b"]
    assert evaluate([str(a), "--cv", "loco", "--protocol", "strict", "-q"]) == 2
    assert "two corpora" in capsys.readouterr().err


def test_predict_adapt_batch_of_one_file_says_what_to_do(audio_model, capsys):
    model, manifest = audio_model
    one = next(manifest.parent.glob("*.wav"))
    assert predict(["-m", str(model), "--safe", str(one), "--adapt", "batch"]) == 2
    err = capsys.readouterr().err
    assert "--reference" in err and "--adapt none" in err


def test_predict_reference_without_speech_or_audio_is_an_error(audio_model, tmp_path,
                                                              capsys):
    model, manifest = audio_model
    one = str(next(manifest.parent.glob("*.wav")))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert predict(["-m", str(model), "--safe", one, "--reference", str(empty)]) == 2
    assert "no audio files" in capsys.readouterr().err
    quiet = tmp_path / "quiet"
    quiet.mkdir()
    sf.write(quiet / "zeros.wav", np.zeros(SR), SR)
    assert predict(["-m", str(model), "--safe", one, "--reference", str(quiet)]) == 2
    assert "holds speech" in capsys.readouterr().err


def test_predict_with_reference_batch_and_speaker(audio_model, tmp_path):
    model, manifest = audio_model
    files = sorted(map(str, manifest.parent.glob("*.wav")))
    outs = {}
    for name, extra in {"reference": ["--reference", *files[:6]],
                        "batch": ["--adapt", "batch"],
                        "speaker": ["--adapt", "speaker", "--manifest", str(manifest)]
                        }.items():
        out = tmp_path / f"{name}.csv"
        inputs = [] if name == "speaker" else files
        assert predict(["-m", str(model), "--safe", *inputs, *extra, "-o", str(out),
                        "-q"]) == 0
        outs[name] = pd.read_csv(out)
        assert len(outs[name]) == len(files)
        assert outs[name]["label"].isin(["anger", "sadness"]).all()
    truth = pd.read_csv(manifest)
    got = outs["speaker"].assign(name=outs["speaker"]["path"].str.split("/").str[-1])
    merged = got.merge(truth, left_on="name", right_on="path")
    assert (merged["label_x"] == merged["label_y"]).mean() > 0.8


def test_predict_adapt_speaker_needs_speakers(audio_model, capsys):
    model, manifest = audio_model
    files = sorted(map(str, manifest.parent.glob("*.wav")))
    assert predict(["-m", str(model), "--safe", *files, "--adapt", "speaker"]) == 2
    assert "speaker" in capsys.readouterr().err
