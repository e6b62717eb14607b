import json

import numpy as np
import pandas as pd
import pytest
from synthetic_corpus import FEATURES, write_audio_corpus, write_feature_table

from sertk.cli.train import main
from sertk.io.model_files import load_model


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "features.csv"
    return path, write_feature_table(path)


def test_trains_on_a_feature_table(table, tmp_path, capsys):
    path, frame = table
    out = tmp_path / "model.joblib"
    assert main([str(path), "-o", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "Trained on 72 files, 4 speakers, 3 classes" in printed
    assert "speaker normalisation off" in printed
    model = load_model(out)
    assert list(model.feature_names_in_) == FEATURES
    assert model.speaker_norm is False  # the default: strict
    assert np.mean(model.predict(frame[FEATURES]) == frame["label"]) > 0.9
    info = model.model_info_
    assert info["features"]["input"] == "features"
    assert info["provenance"]["source"] == f"feature table {path}"
    assert info["training_summary"]["speakers"] == ["s0", "s1", "s2", "s3"]
    assert info["cv_report"] is None


def test_the_manifest_option_and_other_columns(tmp_path):
    path = tmp_path / "t.csv"
    frame = write_feature_table(path).rename(
        columns={"label": "emotion", "speaker": "actor"})
    frame.to_csv(path, index=False)
    out = tmp_path / "m.skops"
    assert main(["--manifest", str(path), "--label-column", "emotion",
                 "--speaker-column", "actor", "--speaker-norm", "-o", str(out),
                 "-q"]) == 0
    model = load_model(out, trusted=False)
    assert model.speaker_norm is True
    assert model.training_summary_["speaker_normalised"] is True


def test_evaluate_stores_a_strict_loso_report(table, tmp_path, capsys):
    path, _ = table
    out = tmp_path / "model.joblib"
    assert main([str(path), "-o", str(out), "--evaluate", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "Protocol: strict" in printed and "leave-one-speaker-out" in printed
    report = load_model(out).cv_report_
    assert report["protocol"] == "strict"
    assert report["cv"] == "leave-one-speaker-out (4 folds)"
    assert len(report["folds"]) == 4 and 0 <= report["uar"] <= 1
    n_out = sum(f["n_out_of_distribution"] for f in report["folds"])
    assert report["out_of_distribution_share"] == pytest.approx(n_out / 72)
    assert ("Out of distribution:" in printed) == (n_out > 0)
    with_norm = tmp_path / "norm.joblib"
    assert main([str(path), "-o", str(with_norm), "--evaluate", "--speaker-norm",
                 "--cv", "2", "-q"]) == 0
    report = load_model(with_norm).cv_report_
    assert report["protocol"] == "speaker-normalised"
    assert report["cv"].startswith("2-fold")


def test_search_refits_with_the_parameters_chosen_most_often(table, tmp_path,
                                                              capsys):
    path, _ = table
    out = tmp_path / "model.joblib"
    assert main([str(path), "-o", str(out), "--search", "--C", "0.001", "10",
                 "--kernel", "linear", "-q"]) == 0
    assert "Parameters chosen by nested CV" in capsys.readouterr().out
    model = load_model(out)
    report = model.cv_report_
    chosen = [f["params"] for f in report["folds"]]
    assert all(set(p) == {"C", "kernel"} for p in chosen)
    winner = max(chosen, key=chosen.count)
    assert (model.C, model.kernel) == (winner["C"], winner["kernel"])
    search = model.model_info_["provenance"]["search"]
    assert search["grid"] == {"C": [0.001, 10.0], "kernel": ["linear"]}
    assert search["chosen"] == winner


def test_trains_on_audio_and_predicts_audio(tmp_path):
    manifest = write_audio_corpus(tmp_path / "corpus")
    out = tmp_path / "audio.skops"
    assert main(["--manifest", str(manifest), "-o", str(out), "--feature-set",
                 "minimal", "--no-cache", "-q"]) == 0
    model = load_model(out, trusted=False)
    assert model.model_info_["features"]["feature_set"] == "minimal"
    frame = pd.read_csv(manifest)
    paths = [str(tmp_path / "corpus" / p) for p in frame["path"]]
    assert model.predict(paths).tolist() == frame["label"].tolist()
    assert model.extractor_.cache is None
    # a strict model also trains on each recording at speeds 0.9 and 1.1
    assert model.speed_perturbation == "auto"
    assert model.training_summary_["n_augmented"] == 2 * len(frame)
    assert model.extractor_.speed == 1.0  # predictions analyse audio as it is


def test_speed_perturbation_none_trains_on_the_recordings_only(tmp_path, capsys):
    manifest = write_audio_corpus(tmp_path / "corpus", per_class=2)
    out = tmp_path / "m.joblib"
    assert main(["--manifest", str(manifest), "-o", str(out), "--feature-set",
                 "minimal", "--no-cache", "--speed-perturbation", "none",
                 "--evaluate"]) == 0
    model = load_model(out)
    assert model.speed_perturbation is None
    assert model.training_summary_["n_augmented"] == 0
    assert "speed-perturbed" not in capsys.readouterr().err


def test_search_chooses_whether_to_train_on_copies(tmp_path):
    manifest = write_audio_corpus(tmp_path / "corpus")
    n_files = len(pd.read_csv(manifest))
    out = tmp_path / "m.joblib"
    assert main(["--manifest", str(manifest), "-o", str(out), "--feature-set",
                 "minimal", "--no-cache", "--search", "--C", "1", "--kernel",
                 "rbf", "--speed-perturbation", "none", "auto", "-q"]) == 0
    model = load_model(out)
    search = model.model_info_["provenance"]["search"]
    assert search["grid"] == {"C": [1.0], "kernel": ["rbf"],
                              "speed_perturbation": [None, "auto"]}
    chosen = [f["params"]["speed_perturbation"] for f in model.cv_report_["folds"]]
    assert set(chosen) <= {None, "auto"} and len(chosen) == 4
    assert model.speed_perturbation == search["chosen"]["speed_perturbation"]
    copies = 0 if model.speed_perturbation is None else 2 * n_files
    assert model.training_summary_["n_augmented"] == copies


def test_a_feature_table_is_trained_on_without_copies(table, tmp_path, capsys):
    path, _ = table
    out = tmp_path / "m.joblib"
    assert main([str(path), "-o", str(out)]) == 0
    assert load_model(out).training_summary_["n_augmented"] == 0
    assert "no speed-perturbed copies" in capsys.readouterr().err


def test_trains_on_a_corpus_reader(tmp_path):
    write_audio_corpus(tmp_path / "flat")
    root = tmp_path / "folders"
    for label in ("sadness", "anger"):
        (root / label).mkdir(parents=True)
        for wav in (tmp_path / "flat").glob(f"*_{label}_*.wav"):
            wav.rename(root / label / wav.name)
    out = tmp_path / "m.joblib"
    assert main(["--corpus", "folders", str(root), "-o", str(out),
                 "--feature-set", "minimal", "--cache", str(tmp_path / "c"),
                 "-q"]) == 0
    model = load_model(out)
    assert model.classes_.tolist() == ["anger", "sadness"]
    assert model.training_summary_["speakers"] is None
    assert any((tmp_path / "c").iterdir())  # the cache was used


@pytest.mark.parametrize("args, message", [
    ([], "give one source"),
    (["{table}", "--corpus", "emodb", "x"], "give one source"),
    (["{table}", "-o", "{tmp}/m.pkl"], "must end in .joblib or .skops"),
    (["{table}", "-o", "{tmp}/no/m.joblib"], "does not exist"),
    (["{table}", "--C", "1", "10"], "--C has 2 values"),
    (["{table}", "--C", "-1"], "--C must be a number > 0"),
    (["{table}", "--cv", "1"], "--cv must be 'loso'"),
    (["{table}", "--speed-perturbation", "none", "0.9"], "not several of them"),
    (["{table}", "--speed-perturbation", "auto", "auto"], "not several of them"),
    (["{table}", "--speed-perturbation", "1"], "other than 1"),
    (["{table}", "--speed-perturbation", "0.9", "0.9"], "repeats a speed"),
    (["{table}", "--search", "--speed-perturbation", "auto", "0.9"],
     "chooses between none and one setting of copies"),
    (["{table}", "--search", "--speed-perturbation", "none", "auto", "--speaker-norm"],
     "so there is nothing to choose"),
    (["{table}", "--label-column", "mood"], "no label column 'mood'"),
    (["{nospk}", "--evaluate"], "--evaluate need speaker ids"),
    (["{tmp}/missing.csv"], "does not exist"),
])
def test_usage_errors_take_one_line(table, tmp_path, capsys, args, message):
    path, frame = table
    nospk = tmp_path / "nospk.csv"
    frame.drop(columns="speaker").to_csv(nospk, index=False)
    argv = [a.format(table=path, tmp=tmp_path, nospk=nospk) for a in args]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "m.joblib")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "m.joblib").exists()


def test_feature_table_detected_by_its_params_file(tmp_path):
    # Columns that do not follow the grammar, but sertk-extract's params.json
    # beside the table says what it is.
    path = tmp_path / "t.csv"
    frame = write_feature_table(path)
    (tmp_path / "t.params.json").write_text(json.dumps({"feature_set": {}}))
    out = tmp_path / "m.joblib"
    assert main([str(path), "-o", str(out), "-q"]) == 0
    assert load_model(out).model_info_["provenance"]["feature_table_params"] == {
        "feature_set": {}}
    assert np.isin(frame["label"], load_model(out).classes_).all()


def test_the_fallback_option(table, tmp_path, capsys):
    path, _ = table
    auto, off = tmp_path / "auto.joblib", tmp_path / "off.joblib"
    assert main([str(path), "-o", str(auto), "-q"]) == 0
    assert "Fallback for out-of-distribution recordings" in capsys.readouterr().out
    assert load_model(auto).fallback_columns_ is not None
    assert main([str(path), "-o", str(off), "--fallback", "none", "-q"]) == 0
    assert "Fallback" not in capsys.readouterr().out
    assert load_model(off).fallback is None
    assert main([str(path), "-o", str(off), "--fallback", "f0_semitone,pitchh"]) == 2
    assert "unknown contour 'pitchh'" in capsys.readouterr().err


def test_the_shrinkage_option(table, tmp_path, capsys):
    path, _ = table
    out = tmp_path / "m.joblib"
    assert main([str(path), "-o", str(out), "-q"]) == 0
    assert load_model(out).shrinkage == "cv"
    assert main([str(path), "-o", str(out), "--shrinkage", "0.5", "-q"]) == 0
    model = load_model(out)
    assert model.shrinkage == 0.5
    assert model.pipeline_.named_steps["project"].shrinkage == 0.5
    for bad in ("1.5", "ledoit", "nan"):
        assert main([str(path), "-o", str(out), "--shrinkage", bad]) == 2
        assert "--shrinkage must be cv, auto or a number from 0 to 1" in \
            capsys.readouterr().err
    assert main([str(path), "-o", str(out), "--shrinkage", "auto", "0.5"]) == 2
    assert "--shrinkage has 2 values" in capsys.readouterr().err


def test_search_chooses_the_shrinkage_among_several(table, tmp_path):
    path, _ = table
    out = tmp_path / "m.joblib"
    assert main([str(path), "-o", str(out), "--search", "--C", "1",
                 "--kernel", "rbf", "--shrinkage", "auto", "0.5", "-q"]) == 0
    model = load_model(out)
    search = model.model_info_["provenance"]["search"]
    assert search["grid"] == {"C": [1.0], "kernel": ["rbf"],
                              "shrinkage": ["auto", 0.5]}
    assert {f["params"]["shrinkage"] for f in model.cv_report_["folds"]} <= {
        "auto", 0.5}
    assert model.shrinkage == search["chosen"]["shrinkage"]
