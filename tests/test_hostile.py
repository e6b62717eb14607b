"""Hostile input: every awkward file ends as a feature row or a readable error.

The corpus (``tests/hostile.py``) holds empty, header-only, truncated and
fake files, a folder and a FIFO named ``.wav``, odd rates, channel counts
and sample formats, non-finite samples, awkward names and a broken symlink.
Each must end, through every entry point, as a row or as an error that says
why: a :class:`~sertk.errors.SertkError` from the Python API, a line in the
errors file from ``sertk-extract``, never a traceback.
"""

import csv
import os
import re
import shutil
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hostile import make_corpus, tone, two_class_clips, unlock, write_long

from sertk.audio.reading import (
    MAX_DURATION,
    MIN_DURATION,
    audio_duration,
    iter_blocks,
    load,
    prepare_signal,
)
from sertk.cli import predict
from sertk.cli.extract import main
from sertk.errors import AudioError, ParameterError
from sertk.features.extractor import (
    FeatureExtractor,
    Segment,
    extract_signal,
    iter_extract,
)
from sertk.features.tables import partial_path, read_feature_table
from sertk.io.model_files import save_model
from sertk.models.classifier import EmotionClassifier

SR = 16000
#: The cases made from the 180 Hz test tone: their F0 must survive.
TONES = {"truncated", "8000Hz", "44100Hz", "96000Hz", "6_channels", "PCM_24",
         "FLOAT", "DOUBLE", "float_beyond_full_scale", "spaces", "quotes", "comma",
         "non_ascii", "newline", "leading_dash", "non_utf8_name"}
F0_SEMITONES = 12 * np.log2(180 / 27.5)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    cases = make_corpus(tmp_path_factory.mktemp("hostile"))
    yield {case.name: case for case in cases}
    unlock(cases)


def printable(path):
    """A path as sertk-extract writes it in its errors file."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def extract(*args):
    return main([*map(str, args), "--feature-set", "minimal", "--no-progress"])


def check_row(name, row, problems):
    values = np.asarray(row, dtype=float)
    if np.isinf(values).any():
        problems.append(f"{name}: inf in the row")
    if np.isnan(values).all():
        problems.append(f"{name}: the row is all NaN")
    if name in TONES and abs(row["f0_semitone__mean"] - F0_SEMITONES) > 0.3:
        problems.append(f"{name}: F0 {row['f0_semitone__mean']:.2f} semitones, "
                        f"expected {F0_SEMITONES:.2f}")


def test_the_corpus_covers_both_outcomes(corpus):
    assert len(corpus) >= 28
    assert {c.ok for c in corpus.values()} == {True, False}


def test_load_gives_a_clean_signal_or_an_audio_error(corpus):
    problems = []
    for name, case in corpus.items():
        try:
            x = load(case.path)
        except AudioError as error:
            if case.ok:
                problems.append(f"{name}: unexpected AudioError {error}")
            elif case.reason not in error.reason or error.path != case.path:
                problems.append(f"{name}: reason {error.reason!r}, path "
                                f"{error.path!r}; expected {case.reason!r}")
            continue
        except Exception as error:  # noqa: BLE001 - the point of the test
            problems.append(f"{name}: {type(error).__name__}: {error}")
            continue
        if not case.ok:
            problems.append(f"{name}: loaded, expected an error {case.reason!r}")
        elif not (x.ndim == 1 and x.dtype == np.float64 and np.isfinite(x).all()
                  and x.size >= MIN_DURATION * SR):
            problems.append(f"{name}: bad signal {x.dtype} {x.shape}")
    assert not problems, "\n".join(problems)


def test_header_readers_never_raise_anything_else(corpus):
    for case in corpus.values():
        try:
            assert audio_duration(case.path) >= 0
            for _, block in iter_blocks(case.path, 0.25):
                assert np.isfinite(block).all()
        except AudioError:
            pass


def test_feature_extractor_gives_every_row_and_lists_the_failures(corpus):
    cases = list(corpus.values())
    extractor = FeatureExtractor("minimal", on_error="nan", progress=False)
    with pytest.warns(UserWarning, match="could not be analysed"):
        table = extractor.transform([c.path for c in cases])
    assert table.index.get_level_values("path").tolist() == [c.path for c in cases]
    table = table.droplevel(["start", "end"])
    failed = [c for c in cases if not c.ok]
    assert extractor.errors_["path"].tolist() == [c.path for c in failed]
    for case, reason in zip(failed, extractor.errors_["error"], strict=True):
        assert case.reason in reason, case.name
    assert table.loc[[c.path for c in failed]].isna().all(axis=None)
    problems = []
    for case in cases:
        if case.ok:
            check_row(case.name, table.loc[case.path], problems)
    assert not problems, "\n".join(problems)


def test_feature_extractor_raises_the_audio_error_of_a_bad_file(corpus):
    for case in corpus.values():
        if case.ok:
            continue
        with pytest.raises(AudioError) as info:
            FeatureExtractor("minimal", progress=False).transform([case.path])
        assert info.value.path == case.path
        assert case.reason in info.value.reason


def test_iter_extract_in_parallel_reports_the_same_errors(corpus):
    paths = [c.path for c in corpus.values()]
    one = list(iter_extract(paths, feature_set="minimal", progress=False))
    two = list(iter_extract(paths, feature_set="minimal", n_jobs=2, progress=False))
    assert [r.error for r in one] == [r.error for r in two]
    assert [r.ok for r in one] == [c.ok for c in corpus.values()]


@pytest.mark.parametrize("signal, sr, error, match", [
    (np.zeros(0), SR, AudioError, "empty"),
    (np.zeros((6, 0)), SR, AudioError, "empty"),
    (np.zeros(int(0.05 * SR)), SR, AudioError, "shorter than the minimum"),
    (np.r_[np.zeros(SR), np.nan], SR, AudioError, "NaN or infinite"),
    (np.r_[np.zeros(SR), -np.inf], SR, AudioError, "NaN or infinite"),
    (np.zeros((2, 3, SR)), SR, ParameterError, "1-D or"),
    (np.array(["a"] * SR), SR, ParameterError, "numeric"),
    (np.zeros(SR, dtype=complex), SR, ParameterError, "numeric"),
    (np.zeros(SR), 0, ParameterError, "positive whole number"),
    (np.zeros(SR), 16000.5, ParameterError, "positive whole number"),
    (np.zeros(SR), -8000, ParameterError, "positive whole number"),
])
def test_extract_signal_rejects_what_it_cannot_analyse(signal, sr, error, match):
    with pytest.raises(error, match=match):
        extract_signal(signal, sr, feature_set="minimal")


@pytest.mark.parametrize("name, signal, sr", [
    ("silence", np.zeros(SR), SR),
    ("dc", np.full(SR, -0.7), SR),
    ("full-scale square", np.sign(np.sin(2 * np.pi * 150 * np.arange(SR) / SR)), SR),
    ("one impulse", np.eye(1, SR, SR // 2).ravel(), SR),
    ("int16 at 8 kHz", (tone(0.5, 8000) * 32767).astype(np.int16), 8000),
    ("int32 at 96 kHz", (tone(0.3, 96000) * 2**31).astype(np.int32), 96000),
    ("float32 at 44.1 kHz", tone(0.5, 44100).astype(np.float32), 44100),
    ("6 channels", np.vstack([tone(0.5)] * 6), SR),
    ("exactly the minimum", tone(MIN_DURATION), SR),
    ("tiny", 1e-9 * tone(0.5), SR),
])
def test_extract_signal_survives_odd_signals(name, signal, sr):
    row = extract_signal(signal, sr, feature_set="minimal")
    problems = []
    check_row(name, row, problems)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("start, end, error, match", [
    (5.0, 6.0, AudioError, "after the end of the file"),
    (1.5, 0.5, ParameterError, "0 <= start <= end"),
    (-1.0, 0.5, ParameterError, "0 <= start <= end"),
    (0.0, 0.05, AudioError, "shorter than the minimum"),
    (0.0, np.inf, ParameterError, "must be finite"),
    (np.nan, 1.0, ParameterError, "must be finite"),
])
def test_bad_segment_bounds(corpus, start, end, error, match):
    path = corpus["DOUBLE"].path  # 0.5 s
    with pytest.raises(error, match=match):
        load(path, start=start, end=end)
    result = next(iter_extract([Segment(path, start, end)], progress=False))
    assert not result.ok and re.search(match, result.error)


def test_segments_past_the_end_are_cut_to_the_file(corpus):
    path = corpus["DOUBLE"].path
    assert load(path, start=0.2, end=99.0).size == int(0.3 * SR)
    frame = pd.DataFrame({"path": [path, path], "start": [np.nan, 0.0],
                          "end": [np.nan, 0.5]})
    table = FeatureExtractor("minimal", progress=False).transform(frame)
    np.testing.assert_array_equal(table.iloc[0], table.iloc[1])


def test_sertk_extract_on_the_folder(corpus, tmp_path, capsys):
    folder = Path(next(iter(corpus.values())).path).parent
    out = tmp_path / "f.csv"
    assert extract(folder, "-o", out) == 1  # some failed
    err = capsys.readouterr().err
    assert "Traceback" not in err and "failed" in err
    table = read_feature_table(out)
    errors = pd.read_csv(tmp_path / "f.errors.csv", keep_default_na=False)
    rows, failed = set(table["path"]), dict(zip(errors["path"], errors["error"],
                                                strict=True))
    assert not rows & set(failed)
    # A folder given as input is searched: the folder named x.wav is a
    # folder to look in (it is empty), not a file.
    files = {c.name: c for c in corpus.values() if c.name != "folder_as_wav"}
    assert len(rows) + len(failed) == len(files)
    for name, case in files.items():
        if case.ok and name != "non_utf8_name":
            assert case.path in rows, name
        elif not case.ok:
            assert case.reason in failed[case.path], name
    assert "not valid UTF-8" in failed[printable(corpus["non_utf8_name"].path)]
    problems = []
    for _, row in table.set_index("path").iterrows():
        check_row(Path(row.name).name, row, problems)
    assert not problems, "\n".join(problems)


def write_manifest(path, cases):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        writer.writerows([c.path, c.name] for c in cases)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_sertk_extract_on_a_manifest(corpus, tmp_path, suffix):
    cases = [c for c in corpus.values() if c.name != "non_utf8_name"]
    write_manifest(tmp_path / "m.csv", cases)
    out = tmp_path / f"f{suffix}"
    assert extract("--manifest", tmp_path / "m.csv", "-o", out) == 1
    table = read_feature_table(out)
    errors = pd.read_csv(tmp_path / "f.errors.csv")
    assert table["label"].tolist() == [c.name for c in cases if c.ok]
    assert errors["path"].tolist() == [c.path for c in cases if not c.ok]
    for case, reason in zip([c for c in cases if not c.ok], errors["error"],
                            strict=True):
        assert case.reason in reason, case.name


def test_exit_status_is_0_when_nothing_failed(corpus, tmp_path):
    cases = [c for c in corpus.values() if c.ok and c.name != "non_utf8_name"]
    write_manifest(tmp_path / "m.csv", cases)
    assert extract("--manifest", tmp_path / "m.csv", "-o", tmp_path / "f.csv") == 0
    assert not (tmp_path / "f.errors.csv").exists()
    assert len(read_feature_table(tmp_path / "f.csv")) == len(cases)


def test_resume_from_a_partial_cut_inside_a_quoted_multiline_name(corpus, tmp_path):
    names = ["newline", "quotes", "comma", "non_ascii", "spaces", "dc"]
    write_manifest(tmp_path / "m.csv", [corpus[n] for n in names])
    reference = tmp_path / "reference.csv"
    assert extract("--manifest", tmp_path / "m.csv", "-o", reference) == 0
    text = reference.read_text(encoding="utf-8")
    cut = text.index("line\nbreak") + 3  # inside the first record
    out = tmp_path / "f.csv"
    for keep in (text[:cut], text[:text.index(corpus["comma"].path) + 5]):
        Path(partial_path(out)).write_text(keep, encoding="utf-8")
        Path(partial_path(tmp_path / "f.params.json")).write_bytes(
            (tmp_path / "reference.params.json").read_bytes())
        assert extract("--manifest", tmp_path / "m.csv", "-o", out, "--resume") == 0
        assert out.read_bytes() == reference.read_bytes()


SKIP_MARK = "cannot switch user: "


def run_as_nobody(function):
    """Run ``function() -> str`` in a forked child with uid/gid 65534."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.setgid(65534)
            os.setuid(65534)
        except OSError as error:
            os.write(write, f"{SKIP_MARK}{error}".encode())
            os._exit(0)
        try:
            message = function()
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            message = f"the child failed: {error!r}"
        os.write(write, message.encode("utf-8", "backslashreplace"))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as handle:
        message = handle.read().decode()
    os.waitpid(pid, 0)
    if message.startswith(SKIP_MARK):
        pytest.skip(f"running as root, and cannot become 'nobody' to test an "
                    f"unreadable file ({message.removeprefix(SKIP_MARK)})")
    return message


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_file_without_read_permission():
    # Root reads any file whatever its mode, so as root the check runs in a
    # child process that has become the unprivileged user 'nobody'; the
    # folder must then be one that user can enter (not pytest's tmp_path).
    folder = tempfile.mkdtemp(prefix="sertk-locked-")
    try:
        os.chmod(folder, 0o755)
        path = os.path.join(folder, "locked.wav")
        import soundfile as sf

        sf.write(path, tone(0.3), SR)
        os.chmod(path, 0)

        def reasons():
            try:
                load(path)
                loaded = "loaded"
            except AudioError as error:
                loaded = error.reason
            result = next(iter_extract([path], feature_set="minimal",
                                       progress=False))
            return f"{loaded}|{result.error}"

        message = run_as_nobody(reasons) if os.geteuid() == 0 else reasons()
        assert message == "permission denied|permission denied"
    finally:
        shutil.rmtree(folder)


@pytest.fixture(scope="module")
def hour(tmp_path_factory):
    """An hour of 8 kHz audio (58 MB), written block by block."""
    return write_long(tmp_path_factory.mktemp("long") / "hour.wav", 3600.0)


def peak_bytes(function):
    tracemalloc.start()
    try:
        result = function()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_an_hour_is_refused_from_its_header_without_reading_it(hour):
    assert audio_duration(hour) == 3600.0
    with pytest.raises(AudioError, match="3600.0 s is longer than the maximum of "
                                         "300 s") as info:
        peak_bytes(lambda: load(hour))
    assert "segments" in info.value.reason
    error, peak = peak_bytes(lambda: next(iter_extract([hour], progress=False)).error)
    assert "longer than the maximum" in error
    assert peak < 5e6  # the file holds 58 MB of samples: none were read
    assert load(hour, start=1800.0, end=1801.0).size == SR


def test_sertk_extract_lists_the_hour_as_an_error(hour, tmp_path):
    out = tmp_path / "f.csv"
    status, peak = peak_bytes(lambda: extract(hour, "-o", out))
    assert status == 1
    errors = pd.read_csv(tmp_path / "f.errors.csv")
    assert errors["path"].tolist() == [hour]
    assert "MAX_DURATION" in errors["error"][0]
    assert peak < 20e6


def test_sertk_predict_points_the_hour_to_its_timeline(hour, capsys):
    from sertk.cli.predict import main as predict

    assert predict([hour, "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "longer than the maximum" in captured.out  # the file's error
    assert ("1 file is longer than 300 s, the most analysed as one utterance; "
            "classify it window by window with --window 2") in captured.err
    assert predict([hour, "-q"]) == 1  # quiet: errors only, no advice
    assert capsys.readouterr().err == ""


def test_segments_of_the_hour_are_analysed(hour):
    segments = pd.DataFrame({"path": [hour, hour], "start": [0.0, 3590.0],
                             "end": [10.0, None]})
    table = FeatureExtractor("minimal", progress=False).transform(segments)
    assert table.shape[0] == 2
    np.testing.assert_allclose(table.iloc[0], table.iloc[1], rtol=1e-6)


def test_iter_blocks_streams_the_hour(hour):
    def read_all():
        n, last = 0, None
        for start, block in iter_blocks(hour, 60.0):
            n, last = n + 1, (start, block.size)
        return n, last

    (n_blocks, last), peak = peak_bytes(read_all)
    assert (n_blocks, last) == (60, (3540.0, 60 * SR))
    assert peak < 10 * 60 * SR * 8  # a few 60 s blocks (7.7 MB each), not 460 MB


def test_in_memory_signals_longer_than_the_maximum_are_refused():
    too_long = np.zeros(int(MAX_DURATION * 8000) + 8000, dtype=np.int16)
    with pytest.raises(AudioError, match="longer than the maximum"):
        extract_signal(too_long, 8000, feature_set="minimal")
    assert prepare_signal(too_long, 8000, sr=8000, max_duration=None).size == (
        too_long.size)


# No NaN or inf reaches the SVM ----------------------------------------------

@pytest.fixture(scope="module")
def trained():
    """A classifier trained on features extracted from synthetic 'emotions'.

    Three classes of voices (low and soft, middle, high and loud), two
    speakers, and a silent clip in each class: its row is mostly NaN.
    """
    rng = np.random.default_rng(0)
    rows, labels, speakers = [], [], []
    for label, f0, level in (("sadness", 100.0, 0.05), ("neutral", 160.0, 0.15),
                             ("anger", 260.0, 0.5)):
        for i in range(8):
            speaker = f"s{i % 2}"
            x = level * tone(0.4, SR, f0 * rng.uniform(0.9, 1.1))
            x = x + 0.002 * rng.standard_normal(x.size)
            if i == 0:
                x = np.zeros_like(x)
            rows.append(extract_signal(x, SR, feature_set="minimal"))
            labels.append(label)
            speakers.append(speaker)
    X = pd.DataFrame(rows).reset_index(drop=True)
    assert X.isna().any(axis=None)  # real extracted features have holes
    clf = EmotionClassifier().fit(X, labels, speakers=speakers)
    return clf, X


@pytest.mark.parametrize("speakers", [None, ["s0"] * 4, ["new"] * 4])
def test_nan_rows_get_a_label_and_valid_probabilities(trained, speakers):
    clf, X = trained
    rows = X.iloc[[1, 9, 17, 18]].copy()
    rows.iloc[0] = np.nan  # no feature at all
    rows.iloc[1, ::2] = np.nan  # half of them
    rows.iloc[2, :] = X.iloc[0]  # the features of silence
    rows.iloc[3, rows.columns.str.startswith("f0")] = np.nan  # unvoiced
    labels = clf.predict(rows, speakers=speakers)
    assert set(labels) <= set(clf.classes_) and len(labels) == 4
    proba = clf.predict_proba(rows, speakers=speakers)
    assert proba.shape == (4, 3) and np.isfinite(proba).all()
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.isfinite(clf.decision_function(rows, speakers=speakers)).all()


def test_inf_features_are_refused_with_a_value_error(trained):
    # Our extractor never gives inf (it gives NaN); inf comes from foreign
    # features or a bug, and is refused on entry rather than imputed away.
    clf, X = trained
    row = X.iloc[[3]].copy()
    row.iloc[0, 5] = np.inf
    for method in (clf.predict, clf.predict_proba, clf.decision_function):
        with pytest.raises(ValueError, match="infinity"):
            method(row)
    bad = X.copy()
    bad.iloc[4, 2] = -np.inf
    with pytest.raises(ValueError, match="infinity"):
        EmotionClassifier().fit(bad, clf.classes_[np.arange(len(X)) % 3])


def test_a_new_speaker_with_only_nan_rows_still_gets_labels(trained):
    clf, X = trained
    rows = pd.DataFrame(np.nan, index=range(6), columns=X.columns)
    rows.iloc[1:3] = X.iloc[[0, 8]].to_numpy()  # silent clips: mostly NaN
    proba = clf.predict_proba(rows, speakers=["new"] * 6)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(rows, speakers=["new"] * 6)) <= set(clf.classes_)


# sertk-predict ---------------------------------------------------------------

@pytest.fixture(scope="module")
def audio_model(tmp_path_factory):
    """A small model trained on audio (minimal set), saved as .joblib."""
    folder = tmp_path_factory.mktemp("model")
    paths, labels = two_class_clips(folder)
    clf = EmotionClassifier(feature_set="minimal",
                            extractor_params={"progress": False})
    return save_model(clf.fit(paths, labels), folder / "m.joblib")


def test_sertk_predict_gives_every_file_a_label_or_an_error(corpus, audio_model,
                                                            tmp_path, capsys):
    cases = [c for c in corpus.values() if c.name != "non_utf8_name"]
    out = tmp_path / "p.csv"
    status = predict.main([*(c.path for c in cases), "-m", str(audio_model), "--trust",
                           "-o", str(out), "--no-progress"])
    assert status == 1
    assert "Traceback" not in capsys.readouterr().err
    table = pd.read_csv(out)
    assert table["path"].tolist() == [c.path for c in cases]
    assert {c.name for c in cases if c.ok and not c.speech} == {
        "silence", "dc", "faint_hiss"}
    proba = table[["prob_anger", "prob_sadness"]].to_numpy()
    for case, (_, row), p in zip(cases, table.iterrows(), proba, strict=True):
        if case.ok and case.speech:
            assert row["label"] in ("anger", "sadness"), case.name
            assert pd.isna(row["error"]) and 0 < row["speech_fraction"] <= 1
            assert np.isfinite(p).all() and p.sum() == pytest.approx(1.0)
        elif case.ok:  # no speech: no emotion, no probabilities
            assert row["label"] == "silence" and pd.isna(row["error"]), case.name
            assert np.isnan(p).all() and 0 <= row["speech_fraction"] <= 1
        else:
            assert pd.isna(row["label"]) and np.isnan(p).all(), case.name
            assert pd.isna(row["speech_fraction"]), case.name
            assert isinstance(row["error"], str) and row["error"], case.name


def test_sertk_predict_leaves_missing_cells_empty(corpus, audio_model, tmp_path):
    paths = [corpus["dc"].path, corpus["text_as_wav"].path]
    out = tmp_path / "p.csv"
    assert predict.main([*paths, "-m", str(audio_model), "--trust", "-o", str(out),
                         "--no-progress"]) == 1
    table = pd.read_csv(out, keep_default_na=False)
    assert table["label"].tolist() == ["silence", ""]
    assert table["error"][0] == "" and table["prob_anger"].tolist() == ["", ""]
    assert table["speech_fraction"].tolist() == ["0.0", ""]  # constant: no level


def test_sertk_predict_and_a_name_that_is_not_utf8(corpus, audio_model, tmp_path):
    path = corpus["non_utf8_name"].path
    out = tmp_path / "p.csv"
    assert predict.main([path, "-m", str(audio_model), "--trust", "-o", str(out),
                         "--no-progress"]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert table["path"].tolist() == [printable(path)]
    assert table["label"][0] in ("anger", "sadness") and table["error"][0] == ""
