"""Live input: sertk.stream, raw PCM from a pipe, sertk-predict --stream.

The recording is that of test_timeline in short: a calm tone, a pause, an
angry tone, so the rows have speech, silence and both labels. The promise
tested throughout: the rows depend on the samples only, never on how they
arrive (in what pieces, how fast, with what pauses), and equal the rows of
``causal_timeline`` on the same samples in a file.
"""

import csv
import io
import os
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import SR, harmonic_tone

import sertk
from sertk.cli.predict import main as predict_main
from sertk.errors import AudioError, ParameterError
from sertk.features.extractor import extract_windows
from sertk.models.classifier import EmotionClassifier
from sertk.timeline import SILENCE, predict_timeline, smooth_timeline
from sertk.timeline.live import _LevelHistogram, causal_timeline, row_columns
from sertk.timeline.pcm import read_pcm

REPO = Path(__file__).resolve().parent.parent


def calm(seconds, rng):
    return harmonic_tone(120.0, seconds) + 0.002 * rng.normal(size=int(seconds * SR))


def anger(seconds, rng):
    t = np.arange(int(seconds * SR)) / SR
    tone = harmonic_tone(280.0 * (1 + 0.15 * np.sin(2 * np.pi * 8 * t)))
    return tone * (1 + 0.5 * np.sin(2 * np.pi * 4 * t)) / 1.5 + 0.04 * rng.normal(
        size=t.size)


def pause(seconds, rng):
    return 0.001 * rng.normal(size=int(seconds * SR))


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(1)
    spans = [(s, s + 2.0) for s in np.arange(0.0, 2.01, 0.5)]
    X = pd.concat([extract_windows(f(4, rng), SR, spans, feature_set="minimal")
                   for f in (calm, anger)])
    return EmotionClassifier(speaker_norm=False).fit(
        X, ["calm"] * len(spans) + ["anger"] * len(spans))


@pytest.fixture(scope="module")
def audio():
    """7.3 s of int16 samples: calm, a pause, anger (a partial last hop)."""
    rng = np.random.default_rng(2)
    x = np.concatenate([calm(3, rng), pause(1.5, rng), anger(2.8, rng)])
    return np.round(x * 32767).astype(np.int16)


@pytest.fixture(scope="module")
def wav(audio, tmp_path_factory):
    path = tmp_path_factory.mktemp("live") / "talk.wav"
    sf.write(path, audio, SR, subtype="PCM_16")
    return str(path)


@pytest.fixture(scope="module")
def file_rows(model, wav):
    """The rows of the file path, without ``path``."""
    return causal_timeline(model, wav).drop(columns="path")


def table(rows):
    out = pd.DataFrame(list(rows))
    out["out_of_distribution"] = out["out_of_distribution"].astype("boolean")
    return out


def random_pieces(x, rng, longest=SR):
    pieces, i = [], 0
    while i < x.size:
        n = int(rng.integers(1, longest + 1))
        pieces.append(x[i:i + n])
        i += n
    return pieces


def test_rows_equal_the_file_path(model, audio, file_rows):
    rows = table(sertk.stream([audio], model))
    pd.testing.assert_frame_equal(rows, file_rows)
    assert list(rows.columns) == row_columns(model)
    assert set(rows["label"]) == {"calm", "anger", SILENCE}


def test_pieces_of_random_sizes_give_identical_rows(model, audio, file_rows):
    rng = np.random.default_rng(3)
    for longest in (SR, 200):  # 1 sample to 1 s; many tiny pieces
        pieces = random_pieces(audio, rng, longest)
        pd.testing.assert_frame_equal(table(sertk.stream(pieces, model)), file_rows)


def test_windows_end_with_the_input_the_last_cut_short(model, audio, file_rows):
    bounds = file_rows[["start", "end"]].to_numpy()
    np.testing.assert_allclose(bounds[:, 0], np.arange(0, 5.51, 0.5))
    assert (bounds[:-1, 1] - bounds[:-1, 0] == 2.0).all()
    assert bounds[-1, 1] == pytest.approx(audio.size / SR)  # 7.3 s, flushed at end


def test_a_row_never_depends_on_later_audio(model, audio, file_rows):
    # causal: the rows of a prefix are the first rows of the whole, except
    # the windows the prefix cuts short
    prefix = table(sertk.stream([audio[:int(4.2 * SR)]], model))
    full = prefix["end"] - prefix["start"] == 2.0
    pd.testing.assert_frame_equal(prefix[full], file_rows.iloc[:int(full.sum())])


def test_rows_come_as_soon_as_their_window_ends(model, audio):
    seen = []  # samples pushed when each row came

    def pieces():
        for i in range(0, audio.size, 400):
            seen.append(i + 400)
            yield audio[i:i + 400]

    for row in sertk.stream(pieces(), model, window=2.0, hop=0.5):
        if row["end"] - row["start"] == 2.0:
            # the piece holding the window's last sample was the last one pushed
            assert seen[-1] - 400 < row["end"] * SR <= seen[-1]
    assert len(seen) == -(-audio.size // 400)


def test_causal_smoothing_looks_back_only(model, audio, wav, file_rows):
    smoothed = table(sertk.stream(random_pieces(audio, np.random.default_rng(4)),
                                  model, smooth=2))
    expected = smooth_timeline(file_rows.assign(path="x"), 2, causal=True)
    pd.testing.assert_frame_equal(smoothed, expected.drop(columns="path"))
    pd.testing.assert_frame_equal(
        causal_timeline(model, wav, smooth=2).drop(columns="path"), smoothed)
    two_sided = smooth_timeline(file_rows.assign(path="x"), 2)
    assert not np.allclose(smoothed["prob_calm"].fillna(-1),
                           two_sided["prob_calm"].fillna(-1))


def test_other_rates_and_channels_are_resampled_and_mixed(model, audio, tmp_path):
    x = audio.astype(float) / 32768
    stereo = np.column_stack([x, x])
    path = tmp_path / "stereo-22k.wav"
    import soxr

    up = soxr.resample(stereo, SR, 22050)
    sf.write(path, up, 22050, subtype="FLOAT")
    file_rows = causal_timeline(model, path).drop(columns="path")
    rows = table(sertk.stream(random_pieces(up.astype(np.float32),
                                            np.random.default_rng(5), 22050),
                              model, sr=22050))
    pd.testing.assert_frame_equal(rows, file_rows)
    # close to, though not bit for bit, the rows at the model's own rate
    assert (rows["label"] == table(sertk.stream([audio], model))["label"]).mean() > 0.9


def test_agrees_with_the_recording_wide_timeline(model, wav, file_rows):
    whole = predict_timeline(model, wav, progress=False)
    assert (whole["label"] == file_rows["label"]).mean() >= 0.9
    assert causal_timeline(model, wav, smooth=1).shape == whole.shape


def test_silent_stream_gives_silent_rows_and_a_warning(model):
    with pytest.warns(UserWarning, match="all zeros"):
        rows = table(sertk.stream([np.zeros(6 * SR, dtype=np.int16)], model))
    assert (rows["label"] == SILENCE).all()
    assert rows[["prob_anger", "prob_calm"]].isna().all().all()


def test_short_and_empty_streams_give_no_rows(model):
    assert list(sertk.stream([], model)) == []
    with pytest.warns(UserWarning, match="all zeros"):
        assert list(sertk.stream([np.zeros(100)], model)) == []
    rows = list(sertk.stream([harmonic_tone(150.0, 0.3)], model))
    assert [(r["start"], r["end"]) for r in rows] == [(0.0, 0.3)]


def test_bad_samples_warn_once_and_do_not_crash(model, audio, file_rows):
    x = audio.astype(np.float32) / 32768
    x[1000:1010] = np.nan
    x[5000] = np.inf
    with pytest.warns(UserWarning, match="NaN or infinite") as caught:
        rows = table(sertk.stream([x[:SR], x[SR:]], model))
    assert sum("NaN" in str(w.message) for w in caught) == 1
    assert len(rows) == len(file_rows)
    loud = np.clip(audio.astype(float) / 32768 * 40, -1, 1)
    with pytest.warns(UserWarning, match="clips"):
        list(sertk.stream([loud], model))


def test_bad_options_and_pieces_are_refused(model):
    with pytest.raises(ParameterError, match="hop"):
        list(sertk.stream([], model, window=1.0, hop=2.0))
    with pytest.raises(ParameterError, match="sr"):
        list(sertk.stream([], model, sr=0))
    with pytest.raises(ParameterError, match="numeric"):
        list(sertk.stream([np.array(["a", "b"])], model))
    with pytest.raises(AudioError, match="too short"):
        causal_timeline(model, _tiny_wav())


def _tiny_wav():
    import tempfile

    path = os.path.join(tempfile.mkdtemp(), "tiny.wav")
    sf.write(path, np.zeros(800), SR)
    return path


def test_level_histogram_percentile_matches_numpy():
    rng = np.random.default_rng(6)
    levels = rng.uniform(-90, -5, size=5001)
    histogram = _LevelHistogram(-70.0)
    histogram.add(levels[:3000])
    histogram.add(levels[3000:])
    expected = np.percentile(levels[levels > -70], 99.0)
    assert histogram.speech_level() == pytest.approx(expected, abs=0.011)
    assert _LevelHistogram(-70.0).speech_level() == -70.0


# -- raw PCM -------------------------------------------------------------------

def test_pcm_is_decoded_across_reads_cut_anywhere(audio):
    data = audio.tobytes()
    pieces = list(read_pcm(io.BytesIO(data), read_size=777))
    np.testing.assert_array_equal(np.concatenate(pieces)[:, 0], audio)
    stereo = np.column_stack([audio, -audio]).astype("<f4") / 32768
    pieces = list(read_pcm(io.BytesIO(stereo.tobytes()), channels=2, fmt="f32le",
                           read_size=5))
    np.testing.assert_array_equal(np.concatenate(pieces), stereo)


def test_a_stream_cut_mid_sample_drops_the_partial_sample(audio):
    with pytest.warns(UserWarning, match="middle of a sample"):
        pieces = list(read_pcm(io.BytesIO(audio[:1000].tobytes()[:-1])))
    np.testing.assert_array_equal(np.concatenate(pieces)[:, 0], audio[:999])
    with pytest.warns(UserWarning, match="middle of a frame"):
        list(read_pcm(io.BytesIO(audio[:1000].tobytes()), channels=3))


def test_file_headers_and_text_are_pointed_out(wav):
    with pytest.warns(UserWarning, match="WAV"):
        list(read_pcm(io.BytesIO(Path(wav).read_bytes())))
    with pytest.warns(UserWarning, match="text"):
        list(read_pcm(io.BytesIO(b"hello, this is not audio at all; " * 40)))
    with pytest.raises(ParameterError, match="fmt"):
        list(read_pcm(io.BytesIO(b""), fmt="mp3"))


# -- sertk-predict --stream ----------------------------------------------------

def csv_rows(text):
    return list(csv.reader(io.StringIO(text)))


def start_stream(*args):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "sertk.cli.predict", "--stream", "-", *map(str, args)],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def feed(process, data, *, pace, chunk=0.05, pause_after=None, pause=0.0):
    """Write ``data`` (16 kHz s16le) at ``pace`` x real time; return what came.

    Starts once the CSV header is out (start-up done). Returns the stdout
    lines with the seconds of audio written when each arrived, and stderr.
    """
    lines = [(process.stdout.readline().decode(), 0.0)]
    written = [0.0]

    def read():
        for line in process.stdout:
            lines.append((line.decode(), written[0]))

    reader = threading.Thread(target=read)
    reader.start()
    step = int(chunk * SR) * 2
    begin = time.monotonic()
    for i in range(0, len(data), step):
        due = begin + (i / 2 / SR) / pace
        time.sleep(max(0.0, due - time.monotonic()))
        process.stdin.write(data[i:i + step])
        process.stdin.flush()
        written[0] = min(len(data), i + step) / 2 / SR
        if pause_after is not None and written[0] >= pause_after > written[0] - chunk:
            time.sleep(pause)
            begin += pause
    process.stdin.close()
    reader.join(timeout=120)
    error = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0, error
    return lines, error


@pytest.fixture(scope="module")
def file_csv(wav, tmp_path_factory):
    """``sertk-predict --window 2 --causal`` on the file, without path and error."""
    out = tmp_path_factory.mktemp("csv") / "rows.csv"
    assert predict_main(["--window", "2", "--causal", wav, "-o", str(out), "-q"]) == 0
    rows = csv_rows(out.read_text())
    keep = [i for i, c in enumerate(rows[0]) if c not in ("path", "error")]
    return [[row[i] for i in keep] for row in rows]


def test_a_pipe_at_real_time_gives_the_file_rows(audio, file_csv):
    data = audio[:int(3.5 * SR)].tobytes()
    lines, _ = feed(start_stream(), data, pace=1.0)
    rows = csv_rows("".join(line for line, _ in lines))
    assert rows[:5] == file_csv[:5]  # header and the four whole windows
    # the first rows came while the audio was still being written (how soon
    # is for benchmarks/live.py to measure)
    assert lines[1][1] < 3.5


def test_a_fast_pipe_with_a_pause_gives_the_file_rows_in_time(audio, file_csv):
    lines, error = feed(start_stream("--plot"), audio.tobytes() + b"\x01", pace=8.0,
                        pause_after=3.0, pause=2.5)
    assert csv_rows("".join(line for line, _ in lines)) == file_csv
    # the windows ended before the pause were written out during it
    assert [float(line.split(",")[1]) for line, written in lines[1:]
            if written <= 3.0] == [2.0, 2.5, 3.0]
    assert "middle of a sample" in error
    assert "0.0-2.0 s" in error and "#" in error  # the live view, on stderr


def run_main(args, stdin_bytes, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin_bytes)))
    status = predict_main(args)
    out, err = capsys.readouterr()
    return status, out, err


def test_wav_text_and_wrong_format_warn_but_run(wav, file_csv, capsys, monkeypatch):
    status, out, err = run_main(["--stream", "-"], Path(wav).read_bytes(), capsys,
                                monkeypatch)
    assert status == 0 and "WAV (RIFF)" in err
    assert len(csv_rows(out)) == len(file_csv)
    status, out, err = run_main(["--stream", "-"], b"not audio, just words\n" * 4000,
                                capsys, monkeypatch)
    assert status == 0 and "text" in err
    status, out, err = run_main(["--stream", "-", "--format", "f32le"],
                                Path(wav).read_bytes()[44:], capsys, monkeypatch)
    assert status == 0 and ("NaN or infinite" in err or "clips" in err)
    assert err.count("warning") <= 3


def test_a_figure_at_the_end(audio, tmp_path, capsys, monkeypatch):
    image = tmp_path / "live.png"
    status, out, err = run_main(["--stream", "-", "--plot", str(image)],
                                audio.tobytes(), capsys, monkeypatch)
    assert status == 0 and image.stat().st_size > 0 and "live.png" in err


@pytest.mark.parametrize("args, message", [
    (["--stream", "talk.wav"], "not 'talk.wav'"),
    (["--stream", "-", "talk.wav"], "reads no INPUT"),
    (["--stream", "-", "-o", "x.csv"], "redirect"),
    (["--stream", "mic", "--format", "f32le"], "--format is for"),
    (["--stream", "-", "--device", "1"], "--device"),
    (["--rate", "8000", "talk.wav"], "needs --stream"),
    (["--window", "2", "--plot", "--", "talk.wav"], "--plot needs an image"),
    ([], "give audio files"),
    (["--stream", "-", "--hop", "3"], "longer than --window"),
])
def test_usage_errors(args, message, capsys):
    assert predict_main(args) == 2
    assert message in capsys.readouterr().err


def test_a_terminal_on_standard_input_is_a_usage_error(monkeypatch, capsys):
    terminal = io.TextIOWrapper(io.BytesIO(b""))
    terminal.isatty = lambda: True
    monkeypatch.setattr(sys, "stdin", terminal)
    assert predict_main(["--stream", "-"]) == 2
    assert "a terminal" in capsys.readouterr().err


# -- microphone ----------------------------------------------------------------

def test_missing_sounddevice_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    assert predict_main(["--stream", "mic"]) == 2
    assert "pip install 'sertk[live]'" in capsys.readouterr().err
    assert predict_main(["--list-devices"]) == 2


class _End:
    """The last block of the fake microphone: its copy is None."""

    def copy(self):
        return None


def fake_sounddevice(audio, fail=False):
    """A stand-in for sounddevice whose input stream plays ``audio``."""
    module = types.ModuleType("sounddevice")
    module.PortAudioError = type("PortAudioError", (Exception,), {})

    class InputStream:
        def __init__(self, device, samplerate, channels, dtype, blocksize, callback):
            if fail:
                raise module.PortAudioError("Error querying device 7")
            self.callback, self.blocksize = callback, blocksize
            self.channels = channels

        def __enter__(self):
            x = (audio.astype(np.float32) / 32768)[:, None].repeat(self.channels, 1)
            status = types.SimpleNamespace(input_overflow=False)
            for i in range(0, len(x), self.blocksize):
                self.callback(x[i:i + self.blocksize], self.blocksize, None, status)
            self.callback(_End(), 0, None, status)  # Ctrl-C stand-in: see below
            return self

        def __exit__(self, *exc):
            return False

    module.InputStream = InputStream
    module.query_devices = lambda: [
        {"name": "out", "max_input_channels": 0, "default_samplerate": 48000.0},
        {"name": "USB mic", "max_input_channels": 2, "default_samplerate": 16000.0}]
    return module


def test_microphone_rows_equal_the_file_rows(audio, file_csv, monkeypatch, capsys):
    import queue

    module = fake_sounddevice(audio)
    monkeypatch.setitem(sys.modules, "sounddevice", module)
    real_get = queue.Queue.get

    def get(self, *args, **kwargs):  # the None block stands for Ctrl-C
        block = real_get(self, *args, **kwargs)
        if block is None:
            raise KeyboardInterrupt
        return block

    monkeypatch.setattr(queue.Queue, "get", get)
    assert predict_main(["--stream", "mic", "--channels", "2"]) == 0
    assert csv_rows(capsys.readouterr().out) == file_csv
    assert predict_main(["--list-devices"]) == 0
    assert "1  USB mic  (2 channels, 16000 Hz)" in capsys.readouterr().out


def test_a_missing_device_is_a_clear_error(audio, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(audio, fail=True))
    assert predict_main(["--device", "7"]) == 2
    assert "--list-devices" in capsys.readouterr().err
