import json
import time

import numpy as np
import pytest
from synthetic_corpus import FEATURES, write_audio_corpus, write_feature_table

import sertk.features._batch
from sertk.cli.evaluate import main

REQUIRED = {"uar", "war", "macro_f1", "labels", "confusion_matrix", "protocol",
            "cv", "folds", "recall", "source"}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "features.csv"
    write_feature_table(path)
    return path


def test_default_is_speaker_normalised_loso_with_report_and_plot(
        table, tmp_path, capsys):
    report, plot = tmp_path / "r.json", tmp_path / "cm.png"
    assert main([str(table), "--report", str(report), "--plot", str(plot),
                 "-q"]) == 0
    out = capsys.readouterr().out
    assert "Protocol: speaker-normalised" in out
    assert "Scheme:   leave-one-speaker-out (4 folds)" in out
    assert "UAR " in out and "WAR " in out and "macro-F1" in out
    assert "Per fold:" in out and out.count("\n   3  s3 ") == 1
    data = json.loads(report.read_text())
    assert REQUIRED <= set(data)
    assert data["protocol"] == "speaker-normalised"
    assert data["labels"] == ["anger", "neutral", "sadness"]
    assert len(data["folds"]) == 4 and data["uar"] > 0.9
    assert plot.read_bytes().startswith(PNG)


def test_both_protocols_one_report_two_plots(table, tmp_path, capsys):
    report, plot = tmp_path / "r.json", tmp_path / "cm.png"
    assert main([str(table), "--protocol", "both", "--cv", "2", "--report",
                 str(report), "--plot", str(plot), "-q"]) == 0
    out = capsys.readouterr().out
    assert "Protocol: speaker-normalised" in out and "Protocol: strict" in out
    assert out.count("2-fold speaker-grouped CV") == 2
    data = json.loads(report.read_text())
    assert set(data) == {"speaker-normalised", "strict"}
    for protocol, entry in data.items():
        assert REQUIRED <= set(entry) and entry["protocol"] == protocol
        assert len(entry["folds"]) == 2
        assert (tmp_path / f"cm.{protocol}.png").read_bytes().startswith(PNG)
    assert not plot.exists()
    # Speaker normalisation removes the synthetic speakers' offsets.
    assert data["speaker-normalised"]["uar"] > data["strict"]["uar"]


def test_search_reports_the_chosen_parameters(table, capsys):
    assert main([str(table), "--search", "--C", "0.01", "1", "--kernel",
                 "linear", "--protocol", "strict", "-q"]) == 0
    out = capsys.readouterr().out
    assert "Parameters chosen by nested CV:" in out
    assert "'kernel': 'linear'" in out


def test_cross_corpus_maps_labels_and_says_which_were_dropped(tmp_path, capsys):
    train, test = tmp_path / "a.csv", tmp_path / "b.csv"
    write_feature_table(train, labels=("angry", "sad", "neutral"), seed=1)
    write_feature_table(test, labels=("anger", "sadness", "happy"), seed=1)
    report = tmp_path / "r.json"
    assert main([str(train), "--test-manifest", str(test), "--report",
                 str(report), "-q"]) == 0
    out = capsys.readouterr().out
    assert "cross-corpus: train 48 files / 4 speakers, test 48 files" in out
    assert "Dropped labels (not shared): train ['neutral'], test ['happiness']" in out
    data = json.loads(report.read_text())
    assert data["labels"] == ["anger", "sadness"]
    assert data["dropped_labels"] == {"train": ["neutral"], "test": ["happiness"]}
    assert data["source"] == f"feature table {train} -> feature table {test}"


def test_cross_corpus_says_how_many_test_recordings_fell_back(tmp_path, capsys):
    train, test = tmp_path / "a.csv", tmp_path / "b.csv"
    write_feature_table(train)
    shifted = write_feature_table(test)
    shifted[FEATURES] += 40.0  # another channel: every feature moved far
    shifted.to_csv(test, index=False)
    report = tmp_path / "r.json"
    argv = [str(train), "--test-manifest", str(test), "--protocol", "strict",
            "--report", str(report), "-q"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert ("Out of distribution: 72 of 72 recordings (100.0 %), labelled by "
            "the classifier's fallback model") in out
    assert "  UAR    WAR    OOD" in out and out.rstrip().endswith("   72")
    data = json.loads(report.read_text())
    assert data["out_of_distribution_share"] == 1.0
    assert data["folds"][0]["n_out_of_distribution"] == 72
    # without a fallback nothing is flagged, and nothing is said
    assert main([*argv, "--fallback", "none"]) == 0
    out = capsys.readouterr().out
    assert "Out of distribution" not in out and "OOD" not in out
    data = json.loads(report.read_text())
    assert data["out_of_distribution_share"] is None
    assert data["folds"][0]["n_out_of_distribution"] is None


@pytest.fixture
def extractions(monkeypatch):
    """The paths of every file extraction, in order (a list that grows)."""
    calls = []
    real = sertk.features._batch._extract_one

    def counting(segment, *args):
        calls.append(segment.path)
        return real(segment, *args)

    monkeypatch.setattr(sertk.features._batch, "_extract_one", counting)
    return calls


def test_audio_is_extracted_once_then_read_from_the_cache(tmp_path, extractions,
                                                          capsys):
    manifest = write_audio_corpus(tmp_path / "corpus", per_class=2)
    calls = extractions
    argv = ["--manifest", str(manifest), "--feature-set", "minimal", "--cache",
            str(tmp_path / "cache"), "--protocol", "strict", "-q"]
    report = tmp_path / "r.json"
    assert main([*argv, "--report", str(report)]) == 0
    assert len(calls) == 48  # 16 files, each also at speeds 0.9 and 1.1
    first = json.loads(report.read_text())
    assert main([*argv, "--report", str(report)]) == 0
    assert len(calls) == 48  # nothing extracted the second time, copies included
    assert json.loads(report.read_text()) == first
    assert first["n_samples"] == 16 and first["n_features"] == 114
    capsys.readouterr()


def test_speaker_normalised_runs_make_no_copies(tmp_path, extractions, capsys):
    manifest = write_audio_corpus(tmp_path / "corpus", per_class=2)
    calls = extractions
    argv = ["--manifest", str(manifest), "--feature-set", "minimal", "--no-cache",
            "-q"]
    assert main([*argv, "--protocol", "speaker-normalised"]) == 0
    assert len(calls) == 16  # "auto": copies only for strict models
    assert main([*argv, "--protocol", "speaker-normalised",
                 "--speed-perturbation", "0.9"]) == 0
    assert len(calls) == 16 + 32
    capsys.readouterr()


def test_search_over_the_copies(tmp_path, capsys):
    manifest = write_audio_corpus(tmp_path / "corpus")
    report = tmp_path / "r.json"
    assert main(["--manifest", str(manifest), "--feature-set", "minimal",
                 "--no-cache", "--protocol", "strict", "--search", "--C", "1",
                 "--kernel", "rbf", "--speed-perturbation", "none", "auto",
                 "--report", str(report), "-q"]) == 0
    folds = json.loads(report.read_text())["folds"]
    assert all(set(f["params"]) == {"C", "kernel", "speed_perturbation"}
               for f in folds)
    assert {f["params"]["speed_perturbation"] for f in folds} <= {None, "auto"}
    capsys.readouterr()


def test_a_file_that_cannot_be_analysed_is_left_out(tmp_path, capsys):
    manifest = write_audio_corpus(tmp_path / "corpus", per_class=2)
    (tmp_path / "corpus" / "s0_anger_0.wav").write_text("not audio")
    assert main(["--manifest", str(manifest), "--feature-set", "minimal",
                 "--no-cache", "--protocol", "strict"]) == 0
    captured = capsys.readouterr()
    assert "left out 1 file(s) that could not be analysed" in captured.err
    assert "s0_anger_0.wav" in captured.err
    assert "Data:     15 files" in captured.out


@pytest.mark.parametrize("args, message", [
    (["--protocol", "lenient"], "invalid choice: 'lenient'"),
    (["--plot", "{tmp}/cm.txt"], "must end in .png, .pdf or .svg"),
    (["--report", "{tmp}/no/r.json"], "does not exist"),
    (["--speaker-column", "actor"], "no speaker column 'actor'"),
    (["--test-manifest", "{tmp}/missing.csv"], "does not exist"),
])
def test_usage_errors_take_one_line(table, tmp_path, capsys, args, message):
    argv = [str(table)] + [a.format(tmp=tmp_path) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_speakers_are_required(tmp_path, capsys):
    path = tmp_path / "t.csv"
    write_feature_table(path).drop(columns="speaker").to_csv(path, index=False)
    assert main([str(path)]) == 2
    assert "needs one speaker id a recording" in capsys.readouterr().err


@pytest.mark.emodb
@pytest.mark.slow
def test_emodb_loso_from_audio_meets_the_protocol_figures(
        emodb_root, tmp_path, capsys):
    report, plot = tmp_path / "r.json", tmp_path / "cm.png"
    started = time.perf_counter()
    assert main(["--manifest", str(emodb_root / "manifest.csv"), "--protocol",
                 "both", "--report", str(report), "--plot", str(plot),
                 "--cache", str(tmp_path / "cache"), "--n-jobs", "2",
                 "-q"]) == 0
    seconds = time.perf_counter() - started
    out = capsys.readouterr().out
    data = json.loads(report.read_text())
    normalised, strict = data["speaker-normalised"], data["strict"]
    with capsys.disabled():
        print(f"\nEMO-DB LOSO from audio in {seconds:.0f} s: speaker-normalised "
              f"UAR {normalised['uar']:.3f} WAR {normalised['war']:.3f}; strict "
              f"UAR {strict['uar']:.3f} WAR {strict['war']:.3f}")
    assert normalised["n_samples"] == 535 and len(normalised["folds"]) == 10
    assert normalised["uar"] >= 0.80
    assert strict["uar"] >= 0.70
    assert f"UAR {normalised['uar']:.3f}   WAR {normalised['war']:.3f}" in out
    for protocol in data:
        assert (tmp_path / f"cm.{protocol}.png").read_bytes().startswith(PNG)


def test_any_numeric_feature_table_is_evaluated_with_features(tmp_path, capsys):
    # bring your own features (openSMILE's, say): --features makes it explicit
    path = tmp_path / "opensmile.csv"
    frame = write_feature_table(path)
    foreign = frame.rename(columns={c: f"F{i}" for i, c in enumerate(FEATURES)})
    for i in range(len(FEATURES), 24):  # as many columns as a real set, more
        foreign[f"F{i}"] = np.random.default_rng(i).normal(size=len(foreign))
    foreign.to_csv(path, index=False)
    assert main([str(path), "-q"]) == 2  # ambiguous: an error, not extraction
    assert "pass --features" in capsys.readouterr().err
    report = tmp_path / "r.json"
    assert main([str(path), "--features", "--report", str(report), "-q"]) == 0
    data = json.loads(report.read_text())
    assert data["n_features"] == 24 and data["uar"] > 0.8


@pytest.mark.parametrize("foreign", [False, True])
def test_start_and_end_are_the_index_never_features(tmp_path, foreign):
    # tables made before start/end existed, and those with them, give one result
    frame = write_feature_table(tmp_path / "old.csv")
    if foreign:  # bring your own: numeric columns, chosen by --features
        frame = frame.rename(columns={c: f"F{i}" for i, c in enumerate(FEATURES)})
        frame.to_csv(tmp_path / "old.csv", index=False)
    durations = np.random.default_rng(0).uniform(1.0, 4.0, len(frame))
    frame.insert(1, "start", 0.0)
    frame.insert(2, "end", durations)
    frame.to_csv(tmp_path / "new.csv", index=False)
    reports = []
    for name in ("old", "new"):
        report = tmp_path / f"{name}.json"
        extra = ["--features"] if foreign else []
        assert main([str(tmp_path / f"{name}.csv"), *extra, "--report", str(report),
                     "-q"]) == 0
        reports.append(json.loads(report.read_text()))
    assert reports[0]["n_features"] == reports[1]["n_features"] == len(FEATURES)
    assert reports[0]["folds"] == reports[1]["folds"]
    assert reports[0]["uar"] == reports[1]["uar"] > 0.8
