"""Hostile inputs around the audio: tables, ids, options and odd feature values.

Each case was found by trying to break sertk: a corpus of one speaker, an
infinite feature, speaker ``NA``, a window of a nanosecond, features near
1e300, a file named like a spreadsheet formula. The answer is a one-line
error with exit status 2, or a result that says what it is.
"""

import itertools

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from hostile import SR, tone
from synthetic_corpus import FEATURES, write_feature_table

from sertk.cli import evaluate as evaluate_cli
from sertk.cli import extract as extract_cli
from sertk.cli import predict as predict_cli
from sertk.cli import train as train_cli
from sertk.errors import ParameterError
from sertk.features.tables import (
    excel_safe,
    read_feature_table,
    read_path_table,
    unescape_text,
)
from sertk.io.datasets import read_manifest
from sertk.models.classifier import EmotionClassifier
from sertk.timeline import smooth_timeline, window_features


def one_line(capsys, *phrases):
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for phrase in phrases:
        assert phrase in err, err
    return err


# One speaker, infinite features --------------------------------------------------

@pytest.fixture
def one_speaker(tmp_path):
    table = write_feature_table(tmp_path / "all.csv")
    path = tmp_path / "one.csv"
    table[table["speaker"] == "s0"].to_csv(path, index=False)
    return path


def test_evaluate_with_one_speaker_is_a_one_line_error(one_speaker, capsys):
    assert evaluate_cli.main([str(one_speaker), "-q"]) == 2
    one_line(capsys, "needs at least 2 speakers")


def test_train_evaluate_with_one_speaker_is_a_one_line_error(one_speaker, tmp_path,
                                                              capsys):
    out = tmp_path / "m.joblib"
    assert train_cli.main([str(one_speaker), "--evaluate", "-o", str(out),
                           "-q"]) == 2
    one_line(capsys, "needs at least 2 speakers")
    assert not out.exists()


def test_an_infinite_feature_in_a_table_is_a_one_line_error(tmp_path, capsys):
    table = write_feature_table(tmp_path / "t.csv")
    table.loc[3, FEATURES[1]] = np.inf
    table.to_csv(tmp_path / "t.csv", index=False)
    assert evaluate_cli.main([str(tmp_path / "t.csv"), "-q"]) == 2
    one_line(capsys, "infinite value", f"row 4, column {FEATURES[1]!r}")
    assert train_cli.main([str(tmp_path / "t.csv"), "-o",
                           str(tmp_path / "m.joblib"), "-q"]) == 2
    one_line(capsys, "infinite value")


# Speaker ids are text --------------------------------------------------------------

IDS = ["NA", "null", "NaN", "None", "03"]


def test_speaker_ids_that_look_missing_stay_ids_in_a_feature_table(tmp_path):
    table = write_feature_table(tmp_path / "t.csv", n_speakers=5)
    table["speaker"] = table["speaker"].map(dict(zip(
        [f"s{i}" for i in range(5)], IDS, strict=True)))
    table.loc[0, "speaker"] = ""  # a truly missing one stays missing
    table.to_csv(tmp_path / "t.csv", index=False)
    back = read_feature_table(tmp_path / "t.csv")
    assert set(back["speaker"].dropna()) == set(IDS)
    assert back["speaker"].isna().sum() == 1
    assert back[FEATURES].dtypes.eq(float).all()


def test_speaker_ids_that_look_missing_stay_ids_in_a_parquet_table(tmp_path):
    pytest.importorskip("pyarrow")
    wav = tmp_path / "a.wav"
    sf.write(wav, tone(0.5), SR)
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,speaker,label\na.wav,NA,null\n")
    out = tmp_path / "f.parquet"
    assert extract_cli.main(["--manifest", str(manifest), "-o", str(out),
                             "--feature-set", "minimal", "-q"]) == 0
    back = read_feature_table(out)
    assert back["speaker"].tolist() == ["NA"] and back["label"].tolist() == ["null"]


def test_speaker_ids_that_look_missing_stay_ids_in_a_manifest(tmp_path):
    manifest = tmp_path / "m.csv"
    rows = "".join(f"{i}.wav,anger,{s}\n" for i, s in enumerate(IDS))
    manifest.write_text("path,label,speaker\n" + rows)
    assert read_manifest(manifest)["speaker"].tolist() == IDS
    assert read_path_table(manifest)["speaker"].tolist() == IDS


def test_evaluate_groups_by_speakers_named_na_and_null(tmp_path, capsys):
    table = write_feature_table(tmp_path / "t.csv")
    table["speaker"] = table["speaker"].map({"s0": "NA", "s1": "null",
                                             "s2": "s2", "s3": "s3"})
    table.to_csv(tmp_path / "t.csv", index=False)
    assert evaluate_cli.main([str(tmp_path / "t.csv"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "NA" in out and "null" in out and "4 speakers" in out


# Timeline options --------------------------------------------------------------------

@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "r.wav"
    sf.write(path, tone(3.0), SR)
    return str(path)


@pytest.mark.parametrize("options,match", [
    ({"window": 1e-9}, "window=1e-09 must be a number of seconds from 0.1"),
    ({"window": 1e-4}, "the shortest recording sertk analyses"),
    ({"window": 0.01}, "the shortest recording sertk analyses"),
    ({"window": 1e6}, "window=1000000.0"),
    ({"window": 1.0, "hop": 1e-6}, "hop=1e-06 must be a number of seconds from"),
])
def test_timeline_windows_out_of_bounds_are_refused(recording, options, match):
    with pytest.raises(ParameterError, match=match):
        window_features(recording, "minimal", progress=False, **options)


def test_huge_smoothing_is_refused():
    table = pd.DataFrame({"start": [0.0], "end": [1.0], "speech_fraction": [1.0],
                          "label": ["x"], "prob_x": [1.0]})
    with pytest.raises(ParameterError, match="smooth=100000000000000000000 must"):
        smooth_timeline(table, 10**20)


@pytest.mark.parametrize("argv,match", [
    (["--window", "1e-9", "--hop", "1e-9"], "the shortest recording sertk analyses"),
    (["--window", "2", "--smooth", "99999999999999999999"], "smooth="),
    (["--window", "2", "--hop", "0.000001"], "hop="),
])
def test_sertk_predict_refuses_such_timelines_in_one_line(recording, capsys, argv,
                                                          match):
    assert predict_cli.main([*argv, recording, "-q"]) == 2
    one_line(capsys, match)


# The out-of-distribution check fails closed -------------------------------

@pytest.fixture(scope="module")
def three_classes():
    rng = np.random.default_rng(0)
    y = np.repeat(["anger", "sadness", "neutral"], 30)
    columns = ["f0_semitone__mean", "loudness__mean", "h1_h2__mean"]
    X = pd.DataFrame(rng.normal(size=(90, 3)) + (y == "anger")[:, None]
                     + 2 * (y == "neutral")[:, None] * [1, -1, 0], columns=columns)
    clf = EmotionClassifier(speaker_norm=False).fit(X, y)
    assert clf.fallback_columns_ is not None
    return clf, columns


def test_rows_whose_distance_overflows_are_out_of_distribution(three_classes):
    clf, columns = three_classes
    rows = pd.DataFrame(list(itertools.product([1e300, -1e300, 0.0], repeat=3)),
                        columns=columns)
    with np.errstate(all="ignore"):
        _, Z = clf._project(clf._prepare(rows, None))
        distance = clf.class_distance_.transform(Z)
    assert np.isnan(distance).any()  # the case: NaN is never > a threshold
    novel = clf.out_of_distribution(rows)
    assert novel[~np.isfinite(distance)].all()
    assert novel[(rows != 0).any(axis=1)].all()
    proba = clf.predict_proba(rows)
    assert np.isfinite(proba).all()


def test_an_all_nan_row_is_out_of_distribution(three_classes):
    clf, columns = three_classes
    rows = pd.DataFrame([[np.nan] * 3, [0.0, 0.0, 0.0]], columns=columns)
    assert clf.out_of_distribution(rows).tolist() == [True, False]
    assert set(clf.predict(rows)) <= set(clf.classes_)


def test_values_that_overflow_when_scaled_are_refused(three_classes):
    clf, columns = three_classes
    rng = np.random.default_rng(1)
    y = np.repeat(["a", "b"], 20)
    X = pd.DataFrame(rng.normal(size=(40, 3)) * 1e-3, columns=columns)
    tight = EmotionClassifier(speaker_norm=False, fallback=None).fit(X, y)
    with pytest.raises(ValueError, match="too large to analyse"):
        tight.predict(pd.DataFrame([[1e308, -1e308, 1e308]], columns=columns))


# Spreadsheet formulas ---------------------------------------------------------

EVIL = "=cmd|' -C calc'!A0"


def test_excel_safe_prefixes_formula_cells_and_reads_back():
    for text in (EVIL, "+1", "-2", "@SUM(A1)", "\tx", "'quoted", "plain", ""):
        assert unescape_text(excel_safe(text)) == text
        assert not excel_safe(text).startswith(("=", "+", "-", "@", "\t"))


@pytest.fixture
def evil_corpus(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    wav = folder / f"{EVIL}.wav"
    sf.write(wav, tone(0.5), SR)
    manifest = folder / "m.csv"
    pd.DataFrame({"path": [wav.name], "label": ['=HYPERLINK("http://x","y")'],
                  "speaker": ["-1"]}).to_csv(manifest, index=False)
    return folder, wav, manifest


def test_extract_excel_safe_escapes_and_round_trips(evil_corpus, tmp_path):
    folder, wav, manifest = evil_corpus
    out = tmp_path / "f.csv"
    assert extract_cli.main(["--manifest", str(manifest), "-o", str(out),
                             "--feature-set", "minimal", "-q", "--excel-safe"]) == 0
    raw = pd.read_csv(out, dtype=str, keep_default_na=False)
    for column in ("label", "speaker"):  # paths are absolute: "/..." is safe
        assert raw[column][0].startswith("'"), column
    back = read_feature_table(out)
    assert back["path"][0] == str(wav)
    assert back["label"][0] == '=HYPERLINK("http://x","y")'
    assert back["speaker"][0] == "-1"
    assert extract_cli.main(["--manifest", str(manifest), "-o", str(out),
                             "--feature-set", "minimal", "-q", "--excel-safe",
                             "--resume"]) == 0
    assert read_feature_table(out)["path"].tolist() == [str(wav)]


def test_extract_without_excel_safe_writes_cells_as_they_are(evil_corpus,
                                                             tmp_path):
    folder, wav, manifest = evil_corpus
    out = tmp_path / "f.csv"
    assert extract_cli.main(["--manifest", str(manifest), "-o", str(out),
                             "--feature-set", "minimal", "-q"]) == 0
    raw = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert raw["label"][0].startswith("=")  # the default keeps data unchanged
    assert extract_cli.main(["--manifest", str(manifest), "-o", str(out),
                             "--feature-set", "minimal", "-q", "--excel-safe",
                             "--resume"]) == 2


def test_predict_excel_safe_escapes_text_cells(evil_corpus, tmp_path, monkeypatch):
    folder, wav, _ = evil_corpus
    monkeypatch.chdir(folder)  # sertk-predict *.wav: the name is the cell
    out = tmp_path / "p.csv"
    assert predict_cli.main([wav.name, "-o", str(out), "-q", "--excel-safe"]) == 0
    raw = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert raw["path"][0] == "'" + EVIL + ".wav"
    # text cells escaped; numbers (a valence of -0.8, say) stay numbers
    text = [c for c in raw.to_numpy().ravel() if pd.isna(pd.to_numeric(c, "coerce"))]
    assert text and not any(c.startswith(("=", "+", "-", "@")) for c in text)
    assert predict_cli.main([wav.name, "-o", str(out), "-q"]) == 0
    assert pd.read_csv(out)["path"][0] == EVIL + ".wav"
