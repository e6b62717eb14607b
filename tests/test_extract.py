import numpy as np
import pandas as pd
import pytest
from conftest import SR, harmonic_tone
from sklearn.base import clone

from sertk.errors import AudioError, ParameterError
from sertk.features.extractor import (
    FeatureExtractor,
    Segment,
    extract_signal,
    extract_windows,
    iter_extract,
)
from sertk.features.feature_sets import FeatureSet


@pytest.fixture
def wav_files(write_wav, rng):
    paths = []
    for i, f0 in enumerate((110, 150, 190, 230, 270)):
        x = harmonic_tone(f0, duration=0.6) + 0.01 * rng.standard_normal(int(0.6 * SR))
        paths.append(write_wav(f"speaker/clip{i}.wav", x))
    return paths


def test_extract_signal_gives_one_named_row():
    row = extract_signal(harmonic_tone(200.0), SR, feature_set="minimal")
    assert isinstance(row, pd.Series)
    expected = FeatureExtractor("minimal").get_feature_names_out().tolist()
    assert list(row.index) == expected
    assert row["f0_semitone__mean"] == pytest.approx(12 * np.log2(200 / 27.5), abs=0.2)


def test_extract_signal_resamples_and_mixes_to_mono():
    tone = harmonic_tone(200.0, sr=44100)
    stereo = np.vstack([tone, tone])
    row16 = extract_signal(harmonic_tone(200.0), SR, feature_set="minimal")
    row44 = extract_signal(stereo, 44100, feature_set="minimal")
    assert row44["f0_semitone__mean"] == pytest.approx(row16["f0_semitone__mean"],
                                                       abs=0.05)


def test_features_are_finite_or_nan_never_inf(rng):
    for x in (np.zeros(SR), 0.5 * np.ones(SR), rng.standard_normal(SR) * 1e-6,
              np.sign(np.sin(2 * np.pi * 100 * np.arange(SR) / SR))):
        row = extract_signal(x, SR)
        assert not np.isinf(row.to_numpy()).any()


def test_transform_returns_dataframe_indexed_by_path_start_end(wav_files, write_wav):
    fx = FeatureExtractor(feature_set="minimal", progress=False)
    table = fx.transform(wav_files)
    assert list(table.index.names) == ["path", "start", "end"]
    assert table.index.get_level_values("path").tolist() == wav_files
    assert (table.index.get_level_values("start") == 0.0).all()
    assert table.index.get_level_values("end").tolist() == [0.6] * len(wav_files)
    # a whole file ends at its duration from the header, whatever its rate
    odd = write_wav("odd.wav", harmonic_tone(200.0, sr=44100)[:22051], sr=44100)
    _, start, end = fx.transform([odd]).index[0]
    assert (start, end) == (0.0, 22051 / 44100)
    assert list(table.columns) == list(fx.get_feature_names_out())
    f0 = table["f0_semitone__mean"].to_numpy()
    assert np.all(np.diff(f0) > 0)  # the tones rise from file to file


def test_parallel_equals_sequential_exactly(wav_files):
    files = wav_files * 4  # several batches
    sequential = FeatureExtractor("minimal", progress=False).transform(files)
    parallel = FeatureExtractor("minimal", n_jobs=2, progress=False).transform(files)
    pd.testing.assert_frame_equal(sequential, parallel, check_exact=True)


def test_dataframe_input_and_segments(wav_files):
    duration_only = FeatureSet("duration", (), ("duration__seconds",))
    fx = FeatureExtractor(duration_only, progress=False)
    frame = pd.DataFrame({"path": wav_files[:2], "start": [0.0, 0.1],
                          "end": [0.3, None]})
    table = fx.transform(frame)
    assert list(table.index.names) == ["path", "start", "end"]
    first = table.loc[(wav_files[0], 0.0, 0.3), "duration__seconds"]
    assert first == pytest.approx(0.3)
    # a segment keeps its bounds; one without an end runs to the file's end
    assert table.index.tolist() == [(wav_files[0], 0.0, 0.3), (wav_files[1], 0.1, 0.6)]
    assert table["duration__seconds"].iloc[1] == pytest.approx(0.5)
    with pytest.raises(ParameterError, match="'path' column"):
        fx.transform(pd.DataFrame({"file": wav_files}))


def test_on_error_raise_and_nan(wav_files, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_text("this is not audio")
    files = [wav_files[0], str(bad), wav_files[1]]
    with pytest.raises(AudioError, match="broken.wav"):
        FeatureExtractor("minimal", progress=False).transform(files)
    fx = FeatureExtractor("minimal", on_error="nan", progress=False)
    with pytest.warns(UserWarning, match="1 of 3 files"):
        table = fx.transform(files)
    assert table.iloc[1].isna().all() and table.iloc[[0, 2]].notna().any(axis=None)
    assert table.index[1][1] == 0.0 and np.isnan(table.index[1][2])  # no duration
    assert table.index[0][2] == pytest.approx(0.6)
    assert fx.errors_["path"].tolist() == [str(bad)]
    assert "not readable as audio" in fx.errors_["error"].iloc[0]


def test_iter_extract_reports_errors_in_order(wav_files):
    results = list(iter_extract(["missing.wav", Segment(wav_files[0])],
                                feature_set="minimal", progress=False))
    assert [r.ok for r in results] == [False, True]
    assert results[0].error == "no such file"
    assert results[1].duration == pytest.approx(0.6)


def test_cache_returns_the_same_rows(wav_files, tmp_path):
    fx = FeatureExtractor("minimal", cache=str(tmp_path / "cache"), progress=False)
    first = fx.transform(wav_files)
    assert any((tmp_path / "cache").rglob("*"))
    pd.testing.assert_frame_equal(first, fx.transform(wav_files), check_exact=True)


def test_parameters_are_validated_at_use_not_construction():
    fx = FeatureExtractor(f0_min=500, f0_max=100)
    assert clone(fx).get_params()["f0_min"] == 500
    with pytest.raises(ParameterError, match="f0_max"):
        fx.fit()
    with pytest.raises(ParameterError, match="on_error"):
        FeatureExtractor(on_error="skip").fit()


def test_set_output_pandas_keeps_the_frame(wav_files):
    fx = FeatureExtractor("minimal", progress=False).set_output(transform="pandas")
    assert isinstance(fx.fit_transform(wav_files[:1]), pd.DataFrame)


@pytest.mark.emodb
def test_emodb_sample_has_no_all_nan_column(emodb_root):
    manifest = pd.read_csv(emodb_root / "manifest.csv")
    sample = manifest.groupby("label").head(2)
    paths = [str(emodb_root / p) for p in sample["path"]]
    table = FeatureExtractor(n_jobs=2, progress=False).transform(paths)
    assert table.shape == (len(paths), len(FeatureExtractor().get_feature_names_out()))
    assert not table.isna().all().any(), table.columns[table.isna().all()].tolist()


def test_extract_windows_follows_the_signal():
    x = np.concatenate([harmonic_tone(150.0, duration=2.0),
                        harmonic_tone(300.0, duration=2.0)])
    table = extract_windows(x, SR, [(0.0, 2.0), (2.0, 4.0), (1.0, 3.0)])
    f0 = table["f0_hz__p50"].to_numpy()
    assert f0[0] == pytest.approx(150, rel=0.02)
    assert f0[1] == pytest.approx(300, rel=0.02)
    assert table["duration__seconds"].tolist() == pytest.approx([2.0, 2.0, 2.0])
    assert list(table.index.names) == ["path", "start", "end"]
    assert table.index.get_level_values("path").isna().all()  # from no file
    bounds = table.index.droplevel("path").tolist()
    assert bounds == [(0.0, 2.0), (2.0, 4.0), (1.0, 3.0)]
    named = extract_windows(x, SR, [(1.0, 3.0)], feature_set="minimal", path="a.wav")
    assert named.index.tolist() == [("a.wav", 1.0, 3.0)]
    assert table["jitter__local"].notna().all()


def test_window_over_the_whole_signal_matches_extract_signal():
    x = harmonic_tone(180.0, duration=1.5)
    whole = extract_signal(x, SR, feature_set="minimal")
    window = extract_windows(x, SR, [(0.0, 1.5)], feature_set="minimal").iloc[0]
    np.testing.assert_allclose(window.to_numpy(), whole.to_numpy(), rtol=0.02,
                               atol=1e-6)


def test_no_windows_give_an_empty_table_with_the_columns():
    table = extract_windows(harmonic_tone(150.0), SR, [], feature_set="minimal")
    one = extract_windows(harmonic_tone(150.0), SR, [(0.0, 0.5)], feature_set="minimal")
    assert table.shape == (0, one.shape[1])
    assert list(table.columns) == list(one.columns)
    assert list(table.index.names) == ["path", "start", "end"]


def test_extract_windows_rejects_bad_windows():
    with pytest.raises(ParameterError, match="start < end"):
        extract_windows(harmonic_tone(150.0), SR, [(0.5, 0.5)])


def test_cache_is_not_served_after_the_code_changes(wav_files, tmp_path, monkeypatch):
    from sertk.features import _batch

    fx = FeatureExtractor("minimal", cache=str(tmp_path / "cache"), progress=False)
    fx.transform(wav_files[:1])
    calls = []
    original = _batch._extract_one

    def counting(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(_batch, "_extract_one", counting)
    fx.transform(wav_files[:1])
    assert calls == []  # served from the cache
    monkeypatch.setattr(_batch, "_code_version", lambda: "edited code")
    fx.transform(wav_files[:1])
    assert len(calls) == 1  # analysed afresh
