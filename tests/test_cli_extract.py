"""sertk-extract, run through main([...]) and as a real process."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sertk.cli.extract import main
from sertk.features.feature_sets import get_feature_set
from sertk.features.tables import partial_path, read_feature_table

SR = 16000
MINIMAL = get_feature_set("minimal").feature_names(16)


def tone(path, f0=200.0, seconds=0.5, noise=0.0, seed=0):
    t = np.arange(int(seconds * SR)) / SR
    x = 0.3 * np.sin(2 * np.pi * f0 * t)
    x += noise * np.random.default_rng(seed).standard_normal(t.size)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, SR)
    return path


def tones(folder, n, **kwargs):
    return [tone(folder / f"t{i:02d}.wav", f0=120.0 + 10 * i, seed=i, **kwargs)
            for i in range(n)]


def extract(*args):
    return main([*map(str, args), "--feature-set", "minimal", "--no-progress"])


def data_lines(path):
    return Path(path).read_text().splitlines()[1:]


def test_files_and_folders(tmp_path, capsys):
    folder = tmp_path / "wavs"
    tone(folder / "b.wav")
    tone(folder / "sub" / "a.wav", f0=300.0)
    (folder / "notes.txt").write_text("not audio, and not looked at")
    single = tone(tmp_path / "single.wav", f0=150.0)
    out = tmp_path / "f.csv"
    assert extract(single, folder, "-o", out) == 0
    table = read_feature_table(out)
    assert list(table.columns) == ["path", "start", "end", *MINIMAL]
    assert table["path"].tolist() == [str(single), str(folder / "b.wav"),
                                      str(folder / "sub" / "a.wav")]
    # whole files: from 0 to their duration, as FeatureExtractor indexes them
    assert table["start"].tolist() == [0.0] * 3 and table["end"].tolist() == [0.5] * 3
    f0 = table["f0_semitone__mean"].to_numpy()
    assert f0 == pytest.approx(12 * np.log2(np.array([150, 200, 300]) / 27.5),
                               abs=0.2)
    assert not (tmp_path / "f.errors.csv").exists()
    assert not os.path.exists(partial_path(out))
    summary = capsys.readouterr().err.strip().splitlines()
    assert len(summary) == 1
    assert summary[0].startswith("3 files, 0 failed, 0.00 h of audio in ")
    assert summary[0].endswith(f"real time) -> {out}")


def test_the_speed_option_writes_a_speed_perturbed_table(tmp_path, capsys):
    wav = tone(tmp_path / "a.wav", f0=200.0, seconds=1.0)
    assert extract(wav, "-o", tmp_path / "slow.csv", "--speed", "0.9") == 0
    slow = read_feature_table(tmp_path / "slow.csv")
    assert slow["f0_semitone__mean"].iloc[0] == pytest.approx(
        12 * np.log2(180 / 27.5), abs=0.1)
    params = json.loads((tmp_path / "slow.params.json").read_text())
    assert params["settings"]["speed"] == 0.9
    assert extract(wav, "-o", tmp_path / "x.csv", "--speed", "3") == 2
    assert "speed must be a number from 0.5 to 2" in capsys.readouterr().err


def test_manifest_carries_columns_and_resolves_relative_paths(tmp_path):
    corpus = tmp_path / "corpus"
    tone(corpus / "wav" / "x.wav")
    tone(corpus / "wav" / "y.wav", f0=250.0)
    (corpus / "manifest.csv").write_text(
        "path,label,speaker,note\nwav/y.wav,anger,03,\nwav/x.wav,neutral,10,ok\n")
    out = tmp_path / "f.csv"
    assert extract("--manifest", corpus / "manifest.csv", "-o", out) == 0
    table = read_feature_table(out)
    assert list(table.columns[:6]) == ["path", "start", "end", "label", "speaker",
                                       "note"]
    assert list(table.columns[6:]) == MINIMAL
    assert table["path"].tolist() == [str(corpus / "wav" / "y.wav"),
                                      str(corpus / "wav" / "x.wav")]
    assert table["speaker"].tolist() == ["03", "10"]
    assert data_lines(out)[0].startswith(
        f"{corpus / 'wav' / 'y.wav'},0.0,0.5,anger,03,,")


def test_a_broken_file_is_listed_and_the_others_go_on(tmp_path, capsys):
    tones(tmp_path / "wavs", 3)
    (tmp_path / "wavs" / "t01.wav").write_text("this is text, not audio")
    out = tmp_path / "f.csv"
    assert extract(tmp_path / "wavs", "-o", out) == 1
    table = read_feature_table(out)
    assert [Path(p).name for p in table["path"]] == ["t00.wav", "t02.wav"]
    errors = pd.read_csv(tmp_path / "f.errors.csv")
    assert list(errors.columns) == ["path", "error"]
    assert errors["path"].tolist() == [str(tmp_path / "wavs" / "t01.wav")]
    assert "not readable as audio" in errors["error"][0]
    err = capsys.readouterr().err
    assert "3 files, 1 failed" in err and "f.errors.csv" in err


def test_errors_option_and_a_stale_errors_file(tmp_path):
    tones(tmp_path / "wavs", 2)
    out = tmp_path / "f.csv"
    (tmp_path / "f.errors.csv").write_text("path,error\nold.wav,gone\n")
    assert extract(tmp_path / "wavs", "-o", out) == 0
    assert not (tmp_path / "f.errors.csv").exists()
    assert extract(tmp_path / "wavs", "-o", out, "--errors", tmp_path / "e.csv") == 0
    assert (tmp_path / "e.csv").read_text() == "path,error\n"


@pytest.mark.parametrize("args, message", [
    (["{tmp}/missing.wav"], "missing.wav: no such file or folder"),
    (["--manifest", "{tmp}/none.csv"], "cannot read manifest"),
    (["--manifest", "{tmp}/nopath.csv"], "has no 'path' column"),
    (["--manifest", "{tmp}/nopath.csv", "{tmp}/a.wav"], "not both"),
    ([], "no input"),
    (["{tmp}/empty"], "name no audio files"),
    (["{tmp}/a.wav", "--n-jobs", "0"], "--n-jobs must be a whole number"),
    (["{tmp}/a.wav", "--f0-min", "-5"], "f0_min must be a positive number"),
    (["{tmp}/a.wav", "--f0-min", "300", "--f0-max", "200"], "must be above f0_min"),
    (["{tmp}/a.wav", "--feature-set", "huge"], "invalid choice: 'huge'"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path, capsys, args, message):
    tone(tmp_path / "a.wav")
    (tmp_path / "empty").mkdir()
    (tmp_path / "nopath.csv").write_text("file,label\na.wav,x\n")
    out = tmp_path / "f.csv"
    argv = [a.format(tmp=tmp_path) for a in args] + ["-o", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("sertk-extract: error: ") and message in err
    assert not out.exists() and not os.path.exists(partial_path(out))


@pytest.mark.parametrize("output, message", [
    ("f.txt", "must end in .csv or .parquet"),
    ("no/such/folder/f.csv", "does not exist"),
])
def test_bad_output_names_are_usage_errors(tmp_path, capsys, output, message):
    tone(tmp_path / "a.wav")
    assert main([str(tmp_path / "a.wav"), "-o", str(tmp_path / output)]) == 2
    assert message in capsys.readouterr().err


def test_params_are_saved_without_runtime_arguments(tmp_path):
    tones(tmp_path / "wavs", 2)
    out = tmp_path / "f.csv"
    assert extract(tmp_path / "wavs", "-o", out, "--f0-min", "60", "--n-jobs", "1",
                   "--cache", tmp_path / "cache") == 0
    params = json.loads((tmp_path / "f.params.json").read_text())
    assert params["feature_set"]["name"] == "minimal"
    assert params["settings"]["f0_min"] == 60.0
    assert params["settings"]["sr"] == 16000
    assert params["n_inputs"] == 2
    assert "praat-parselmouth" in params["versions"]
    text = json.dumps(params)
    assert "n_jobs" not in text and "cache" not in text and "progress" not in text


def test_parquet_output_matches_csv(tmp_path):
    corpus = tmp_path / "corpus"
    tones(corpus, 3)
    (corpus / "m.csv").write_text(
        "path,speaker\nt00.wav,03\nt01.wav,04\nt02.wav,05\n")
    assert extract("--manifest", corpus / "m.csv", "-o", tmp_path / "f.csv") == 0
    assert extract("--manifest", corpus / "m.csv", "-o", tmp_path / "f.parquet") == 0
    from_csv = read_feature_table(tmp_path / "f.csv")
    from_parquet = pd.read_parquet(tmp_path / "f.parquet")
    assert from_parquet["speaker"].tolist() == ["03", "04", "05"]
    assert from_parquet.equals(from_csv)
    assert (tmp_path / "f.params.json").exists()


def test_resume_keeps_done_rows_as_they_are_and_adds_the_rest(tmp_path, capsys):
    paths = tones(tmp_path / "wavs", 5)
    out = tmp_path / "f.csv"
    assert extract(*paths[:3], "-o", out) == 0
    lines = out.read_text().splitlines()
    marked = lines[1].split(",")
    marked[3] = "123.0"  # a value no analysis gives: proves the row was kept
    lines[1] = ",".join(marked)
    out.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert extract(tmp_path / "wavs", "-o", out, "--resume") == 0
    assert "2 files (+3 kept from before), 0 failed" in capsys.readouterr().err
    new = out.read_text().splitlines()
    assert new[:4] == lines[:4]
    assert [line.split(",")[0] for line in new[1:]] == [str(p) for p in paths]


def test_resume_goes_on_from_a_table_written_before_start_and_end(tmp_path, capsys):
    paths = tones(tmp_path / "wavs", 4)
    reference = tmp_path / "reference.csv"
    assert extract(tmp_path / "wavs", "-o", reference) == 0
    out = tmp_path / "f.csv"  # as an older sertk-extract wrote it: path, features
    old = read_feature_table(reference).drop(columns=["start", "end"]).iloc[:2]
    old.loc[0, MINIMAL[0]] = 123.0  # a value no analysis gives: proves it was kept
    old.to_csv(out, index=False)
    (tmp_path / "f.params.json").write_bytes(
        (tmp_path / "reference.params.json").read_bytes())
    capsys.readouterr()
    assert extract(*paths, "-o", out, "--resume") == 0
    assert "2 files (+2 kept from before), 0 failed" in capsys.readouterr().err
    table = read_feature_table(out)
    expected = read_feature_table(reference)
    expected.loc[0, MINIMAL[0]] = 123.0
    pd.testing.assert_frame_equal(table, expected)  # start 0 and end 0.5 added


def test_resume_goes_on_from_a_partial_with_a_cut_last_line(tmp_path):
    paths = tones(tmp_path / "wavs", 5)
    reference = tmp_path / "reference.csv"
    assert extract(tmp_path / "wavs", "-o", reference) == 0
    lines = reference.read_text().splitlines(keepends=True)
    out = tmp_path / "f.csv"
    Path(partial_path(out)).write_text("".join(lines[:4]) + lines[4][:40])
    Path(partial_path(tmp_path / "f.params.json")).write_bytes(
        (tmp_path / "reference.params.json").read_bytes())
    assert extract(*paths, "-o", out, "--resume") == 0
    assert out.read_bytes() == reference.read_bytes()
    assert not os.path.exists(partial_path(out))


def test_resume_refuses_other_settings(tmp_path, capsys):
    tones(tmp_path / "wavs", 2)
    out = tmp_path / "f.csv"
    assert extract(tmp_path / "wavs", "-o", out) == 0
    before = out.read_bytes()
    assert extract(tmp_path / "wavs", "-o", out, "--resume", "--f0-min", "60") == 2
    assert "cannot resume" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_without_resume_a_leftover_partial_is_discarded(tmp_path, capsys):
    tones(tmp_path / "wavs", 2)
    out = tmp_path / "f.csv"
    Path(partial_path(out)).write_text("path,junk\nx.wav,1\n")
    assert extract(tmp_path / "wavs", "-o", out) == 0
    assert "discarding" in capsys.readouterr().err
    assert len(data_lines(out)) == 2


def test_output_is_byte_identical_whatever_n_jobs(tmp_path):
    tones(tmp_path / "wavs", 6, noise=0.01)
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    assert extract(tmp_path / "wavs", "-o", one, "--n-jobs", "1") == 0
    assert extract(tmp_path / "wavs", "-o", two, "--n-jobs", "2") == 0
    assert one.read_bytes() == two.read_bytes()


@pytest.mark.emodb
@pytest.mark.slow
def test_emodb_minimal(emodb_root, tmp_path, capsys):
    out = tmp_path / "emodb.csv"
    status = main(["--manifest", str(emodb_root / "manifest.csv"), "-o", str(out),
                   "--n-jobs", "2", "--feature-set", "minimal", "--no-progress"])
    summary = capsys.readouterr().err
    print(summary)  # the measured throughput, shown with pytest -s or -rP
    assert status == 0
    table = read_feature_table(out)
    assert len(table) == 535
    assert table["path"].is_unique
    assert list(table.columns[:7]) == ["path", "start", "end", "label", "speaker",
                                       "gender", "text"]
    assert not table[MINIMAL].isna().all().any()
    assert not (tmp_path / "emodb.errors.csv").exists()
    assert summary.startswith("535 files, 0 failed")
