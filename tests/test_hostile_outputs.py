"""Hostile use of outputs: nothing lost, nothing overwritten, one writer a file.

Each case is what an adversarial (or just unlucky) user did: an output
named like an input, two runs writing one file, a resume from another
run's rows, a full disk, a folder where a file belongs, a stop at the
worst moment. The answer is a one-line message, an exit status of 1 or 2,
inputs unchanged and no temporary file left behind.
"""

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf
from hostile import SR, tone, two_class_clips
from synthetic_corpus import write_feature_table

from sertk.cli import evaluate as evaluate_cli
from sertk.cli import extract as extract_cli
from sertk.cli import predict as predict_cli
from sertk.cli import train as train_cli
from sertk.features.tables import TableWriter, partial_path, read_feature_table
from sertk.files import OutputLock, lock_path
from sertk.io.model_files import save_model
from sertk.models.classifier import EmotionClassifier

REPO = Path(__file__).resolve().parent.parent


def wavs(folder, n, seconds=0.5):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"t{i:02d}.wav"
        sf.write(path, tone(seconds, SR, 120.0 + 15 * i), SR)
        paths.append(path)
    return paths


def manifest(folder, paths, labels=None):
    labels = labels or ["anger", "sadness"] * (len(paths) // 2) + ["anger"] * (
        len(paths) % 2)
    path = folder / "m.csv"
    pd.DataFrame({"path": [p.name for p in paths], "label": labels,
                  "speaker": [f"s{i % 2}" for i in range(len(paths))]}
                 ).to_csv(path, index=False)
    return path


def extract(*args):
    return extract_cli.main([*map(str, args), "--feature-set", "minimal",
                             "--no-progress"])


def one_line(capsys, *phrases):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for phrase in phrases:
        assert phrase in err, err
    return err


def leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir()
                  if p.name.endswith((".partial", ".tmp", ".lock")))


@pytest.fixture(scope="module")
def skops_model(tmp_path_factory):
    """A small audio model saved as .skops (loaded without --trust)."""
    pytest.importorskip("skops")
    folder = tmp_path_factory.mktemp("model")
    paths, labels = two_class_clips(folder)
    clf = EmotionClassifier(feature_set="minimal", speaker_norm=False,
                            fallback=None, extractor_params={"progress": False})
    return str(save_model(clf.fit(paths, labels), folder / "m.skops"))


# An output is never an input ---------------------------------------------------

def test_predict_refuses_to_write_over_its_recording(skops_model, tmp_path, capsys):
    wav = wavs(tmp_path, 1)[0]
    before = wav.read_bytes()
    assert predict_cli.main(["-m", skops_model, str(wav), "-o", str(wav)]) == 2
    one_line(capsys, "-o", "same file as the input")
    assert wav.read_bytes() == before


@pytest.mark.parametrize("link", ["symlink", "hardlink", "dotted"])
def test_the_same_file_under_another_name_is_refused(skops_model, tmp_path, capsys,
                                                     link):
    wav = wavs(tmp_path, 1)[0]
    before = wav.read_bytes()
    other = tmp_path / "other.wav"
    if link == "symlink":
        other.symlink_to(wav)
    elif link == "hardlink":
        os.link(wav, other)
    else:
        (tmp_path / "sub").mkdir()
        other = tmp_path / "sub" / ".." / wav.name
    assert predict_cli.main(["-m", skops_model, str(wav), "-o", str(other)]) == 2
    one_line(capsys, "same file as the input")
    assert wav.read_bytes() == before


def test_extract_refuses_to_write_over_its_manifest(tmp_path, capsys):
    m = manifest(tmp_path, wavs(tmp_path, 2))
    before = m.read_bytes()
    assert extract("--manifest", m, "-o", m) == 2
    one_line(capsys, "same file as the manifest")
    assert m.read_bytes() == before and leftovers(tmp_path) == []


def test_extract_refuses_errors_and_output_in_one_file(tmp_path, capsys):
    wavs(tmp_path / "w", 2)
    out = tmp_path / "out.csv"
    assert extract(tmp_path / "w", "--errors", out, "-o", out) == 2
    one_line(capsys, "are the same file")
    assert not out.exists() and leftovers(tmp_path) == []


def test_evaluate_refuses_a_report_over_its_table(tmp_path, capsys):
    table = tmp_path / "t.csv"
    write_feature_table(table)
    before = table.read_bytes()
    assert evaluate_cli.main([str(table), "--report", str(table), "-q"]) == 2
    one_line(capsys, "--report", "same file as the data")
    assert table.read_bytes() == before


def test_predict_refuses_a_plot_over_its_output(skops_model, tmp_path, capsys):
    wav = wavs(tmp_path, 1, seconds=3.0)[0]
    out = tmp_path / "t.png"
    assert predict_cli.main(["-m", skops_model, str(wav), "--window", "1",
                             "-o", str(out), "--plot", str(out)]) == 2
    one_line(capsys, "are the same file")


def test_train_refuses_a_model_over_its_table(tmp_path, capsys):
    table = tmp_path / "t.skops"  # a feature table with an odd name
    write_feature_table(table)
    before = table.read_bytes()
    assert train_cli.main([str(table), "-o", str(table), "-q"]) == 2
    one_line(capsys, "same file as the data")
    assert table.read_bytes() == before


@pytest.mark.parametrize("command", ["extract", "predict"])
def test_an_output_that_is_a_folder_is_refused(skops_model, tmp_path, capsys,
                                               command):
    folder = tmp_path / "out.csv"
    folder.mkdir()
    wavs(tmp_path / "w", 1)
    if command == "extract":
        status = extract(tmp_path / "w", "-o", folder)
    else:
        status = predict_cli.main(["-m", skops_model, str(tmp_path / "w"),
                                   "-o", str(folder)])
    assert status == 2
    one_line(capsys, "is a folder")
    assert leftovers(tmp_path) == [] and list(folder.iterdir()) == []


def test_a_table_writer_refuses_a_folder(tmp_path):
    from sertk.errors import OutputError

    with pytest.raises(OutputError, match="is a folder"):
        with TableWriter(tmp_path, ["path"]):
            pass
    assert list(tmp_path.parent.glob(f"{tmp_path.name}.*")) == []


# One writer an output -----------------------------------------------------------

HOLD = textwrap.dedent("""
    import sys, time
    from sertk.files import OutputLock
    with OutputLock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(60)
""")


def test_a_second_writer_fails_at_once_naming_the_first(tmp_path, capsys):
    wavs(tmp_path / "w", 2)
    out = tmp_path / "out.csv"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)],
                              env={**os.environ, "PYTHONPATH": str(REPO)},
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        assert extract(tmp_path / "w", "-o", out) == 2
        assert time.monotonic() - started < 30
        one_line(capsys, "being written by another run",
                 f"process {holder.pid}")
        assert not out.exists() and not Path(partial_path(out)).exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed: its lock file is stale, and is taken over
    assert Path(lock_path(out)).exists()
    assert extract(tmp_path / "w", "-o", out) == 0
    assert len(read_feature_table(out)) == 2
    assert leftovers(tmp_path) == []


def test_a_stale_lock_file_with_a_dead_pid_is_taken_over(tmp_path):
    Path(lock_path(tmp_path / "o.csv")).write_text("999999999\n")
    with OutputLock(tmp_path / "o.csv"):
        assert Path(lock_path(tmp_path / "o.csv")).read_text().strip() == str(
            os.getpid())
    assert not Path(lock_path(tmp_path / "o.csv")).exists()


def test_locks_are_reentrant_in_a_process(tmp_path):
    with OutputLock(tmp_path / "o.csv"), OutputLock(tmp_path / "o.csv"):
        pass
    assert leftovers(tmp_path) == []


PAUSE = textwrap.dedent("""
    import os, sys, time
    from sertk.features.tables import TableWriter
    from sertk.cli.extract import main

    go = sys.argv[1]
    write_row = TableWriter.write_row

    def pausing(self, values):
        write_row(self, values)
        if self.n_written == 1:
            print("writing", flush=True)
            while not os.path.exists(go):
                time.sleep(0.01)

    TableWriter.write_row = pausing
    sys.exit(main(sys.argv[2:]))
""")


def test_two_extractions_into_one_output_keep_the_first(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    ma = manifest(a, wavs(a, 3))
    mb = manifest(b, wavs(b, 2))
    out, go = tmp_path / "out.csv", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    options = ["--feature-set", "minimal", "--no-progress", "-o", str(out)]
    first = subprocess.Popen(  # stops after its first row until `go` exists
        [sys.executable, "-c", PAUSE, str(go), *options, "--manifest", str(ma)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "writing", first.communicate()
        second = subprocess.run(
            [sys.executable, "-m", "sertk.cli.extract", *options, "--manifest",
             str(mb)], env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        assert "being written by another run" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
    finally:
        go.touch()
    assert first.wait(timeout=300) == 0, first.communicate()
    table = read_feature_table(out)
    assert sorted(Path(p).parent.name for p in table["path"]) == ["a"] * 3
    assert leftovers(tmp_path) == []


# --resume resumes only what this run would have made ---------------------------

def _interrupt_after(monkeypatch, n_rows, error=KeyboardInterrupt):
    """Make the table writer stop the run after its n-th row (no race)."""
    write_row = TableWriter.write_row

    def stopping(self, values):
        if self.n_written >= n_rows:
            raise error() if error is KeyboardInterrupt else error
        write_row(self, values)

    monkeypatch.setattr(TableWriter, "write_row", stopping)


def test_an_interrupted_run_is_resumed_to_the_same_table(tmp_path, monkeypatch,
                                                         capsys):
    m = manifest(tmp_path, wavs(tmp_path, 6))
    whole = tmp_path / "whole.csv"
    assert extract("--manifest", m, "-o", whole) == 0
    out = tmp_path / "out.csv"
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 3)
        assert extract("--manifest", m, "-o", out) == 130
    assert "--resume" in capsys.readouterr().err
    assert not out.exists()
    assert len(Path(partial_path(out)).read_text().splitlines()) == 4
    assert extract("--manifest", m, "-o", out, "--resume") == 0
    assert out.read_bytes() == whole.read_bytes()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("change", ["label", "fewer", "speaker"])
def test_resume_refuses_rows_from_other_inputs(tmp_path, monkeypatch, capsys,
                                               change):
    paths = wavs(tmp_path, 6)
    m = manifest(tmp_path, paths)
    out = tmp_path / "out.csv"
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 3)
        assert extract("--manifest", m, "-o", out) == 130
    capsys.readouterr()
    table = pd.read_csv(m)
    if change == "label":
        table.loc[0, "label"] = "neutral"
    elif change == "fewer":
        table = table.iloc[2:]
    else:
        table.loc[1, "speaker"] = "NA"
    table.to_csv(m, index=False)
    assert extract("--manifest", m, "-o", out, "--resume") == 2
    one_line(capsys, "cannot resume", {"label": "label 'anger' where this run's "
                                       "inputs say 'neutral'",
                                       "fewer": "which this run does not list",
                                       "speaker": "speaker"}[change])
    assert Path(partial_path(out)).exists()  # kept for the right run


def test_resume_refuses_a_table_without_its_parameters(tmp_path, capsys):
    m = manifest(tmp_path, wavs(tmp_path, 2))
    out = tmp_path / "out.csv"
    assert extract("--manifest", m, "-o", out) == 0
    capsys.readouterr()
    (tmp_path / "out.params.json").unlink()
    assert extract("--manifest", m, "-o", out, "--resume") == 2
    one_line(capsys, "cannot resume", "is missing")


def test_resume_refuses_a_committed_table_cut_inside_its_last_cell(tmp_path):
    from sertk.errors import DatasetError

    out = tmp_path / "t.csv"
    with TableWriter(out, ["path", "hnr_db__mean"]) as table:
        table.write_row(["a.wav", 1.25])
        table.write_row(["b.wav", 2.5])
    out.write_bytes(out.read_bytes()[:-2])  # "b.wav,2." : as many cells
    with pytest.raises(DatasetError, match="ends inside its last row"):
        with TableWriter(out, ["path", "hnr_db__mean"], resume=True):
            pass


# A full disk --------------------------------------------------------------------

def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_while_writing_rows(tmp_path, monkeypatch, capsys):
    m = manifest(tmp_path, wavs(tmp_path, 4))
    out = tmp_path / "out.csv"
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 2, OSError(errno.ENOSPC, "No space left on device"))
        assert extract("--manifest", m, "-o", out) == 1
    one_line(capsys, "No space left on device", "--resume")
    assert not out.exists()
    # the rows done are kept on purpose, for --resume once space is freed
    assert len(Path(partial_path(out)).read_text().splitlines()) == 3
    assert extract("--manifest", m, "-o", out, "--resume") == 0
    assert len(read_feature_table(out)) == 4
    assert leftovers(tmp_path) == []


def test_a_full_disk_before_any_row_leaves_nothing(tmp_path, monkeypatch, capsys):
    m = manifest(tmp_path, wavs(tmp_path, 2))
    out = tmp_path / "out.csv"
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 0, OSError(errno.ENOSPC, "No space left on device"))
        assert extract("--manifest", m, "-o", out) == 1
    one_line(capsys, "No space left on device")
    assert leftovers(tmp_path) == [] and not out.exists()


def test_a_full_disk_while_writing_the_errors_file(tmp_path, monkeypatch, capsys):
    wavs(tmp_path / "w", 1)
    (tmp_path / "w" / "broken.wav").write_text("not audio")
    out = tmp_path / "out.csv"
    from sertk import files

    replace = files.replace_durably

    def full_for_errors(source, target):
        if str(target).endswith(".errors.csv"):
            _enospc()
        replace(source, target)

    monkeypatch.setattr(files, "replace_durably", full_for_errors)
    assert extract(tmp_path / "w", "-o", out) == 1
    one_line(capsys, "out.errors.csv", "No space left on device")
    assert leftovers(tmp_path) == [] and not (tmp_path / "out.errors.csv").exists()


def test_a_full_disk_while_saving_a_model(tmp_path, monkeypatch, capsys):
    import joblib

    table = tmp_path / "t.csv"
    write_feature_table(table)

    def dump_half(value, filename, **kwargs):
        Path(filename).write_bytes(b"half a model")
        _enospc()

    monkeypatch.setattr(joblib, "dump", dump_half)
    out = tmp_path / "m.joblib"
    assert train_cli.main([str(table), "-o", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert "m.joblib" in err and "No space left on device" in err
    assert "Traceback" not in err
    assert not out.exists() and leftovers(tmp_path) == []


def test_a_full_disk_while_drawing_a_plot_keeps_the_timeline(skops_model, tmp_path,
                                                              monkeypatch, capsys):
    from matplotlib.figure import Figure

    wav = wavs(tmp_path, 1, seconds=3.0)[0]
    monkeypatch.setattr(Figure, "savefig", _enospc)
    out, image = tmp_path / "t.csv", tmp_path / "t.png"
    assert predict_cli.main(["-m", skops_model, str(wav), "--window", "1",
                             "-o", str(out), "--plot", str(image), "-q"]) == 1
    err = one_line(capsys, "cannot draw", "t.png", "No space left on device")
    assert "rows are kept" in err
    assert len(pd.read_csv(out)) >= 3 and not image.exists()
    assert leftovers(tmp_path) == []


def test_a_plot_to_an_unwritable_place_keeps_the_timeline(skops_model, tmp_path,
                                                           capsys):
    wav = wavs(tmp_path, 1, seconds=3.0)[0]
    out = tmp_path / "t.csv"
    assert predict_cli.main(["-m", skops_model, str(wav), "--window", "1",
                             "-o", str(out), "--plot", "/proc/sertk.png",
                             "-q"]) == 1
    one_line(capsys, "cannot draw", "/proc/sertk.png")
    assert len(pd.read_csv(out)) >= 3


def test_a_full_disk_while_writing_predictions(skops_model, tmp_path, monkeypatch,
                                               capsys):
    from sertk import files

    wav = wavs(tmp_path, 1)[0]
    monkeypatch.setattr(files, "replace_durably", _enospc)
    out = tmp_path / "p.csv"
    assert predict_cli.main(["-m", skops_model, str(wav), "-o", str(out)]) == 1
    one_line(capsys, "p.csv", "No space left on device")
    assert leftovers(tmp_path) == [] and not out.exists()


# Signals ------------------------------------------------------------------------

STOP = textwrap.dedent("""
    import os, signal, sys
    from sertk.features.tables import TableWriter
    from sertk.cli.extract import main

    how, after, record = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    write_row = TableWriter.write_row

    def children():
        out = []
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if entry.isdigit() and int(fields[1]) == os.getpid():
                out.append(entry)
        return out

    def stopping(self, values):
        write_row(self, values)
        if self.n_written == after:
            with open(record, "w") as handle:
                handle.write(" ".join(children()))
            os.kill(os.getpid(), getattr(signal, how))

    TableWriter.write_row = stopping
    sys.exit(main(sys.argv[4:]))
""")


def _stop(tmp_path, how, *args):
    record = tmp_path / "children.txt"
    process = subprocess.run(
        [sys.executable, "-c", STOP, how, "3", str(record), *map(str, args),
         "--feature-set", "minimal", "--no-progress"],
        env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
        text=True, timeout=300)
    return process, record.read_text().split()


@pytest.mark.parametrize("how,status", [("SIGKILL", -9), ("SIGINT", 130),
                                        ("SIGTERM", 143)])
def test_a_run_stopped_after_three_rows_is_resumed(tmp_path, how, status):
    paths = wavs(tmp_path / "w", 8)
    out = tmp_path / "out.csv"
    process, _ = _stop(tmp_path, how, tmp_path / "w", "-o", out)
    assert process.returncode == status, process.stderr
    assert not out.exists()
    assert len(Path(partial_path(out)).read_text().splitlines()) == 4
    if how != "SIGKILL":
        assert "--resume" in process.stderr and "Traceback" not in process.stderr
        assert not Path(lock_path(out)).exists()
    assert extract(tmp_path / "w", "-o", out, "--resume") == 0
    assert read_feature_table(out)["path"].tolist() == [str(p) for p in paths]
    assert leftovers(tmp_path) == []


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_a_stop_ends_the_worker_processes(tmp_path, how):
    wavs(tmp_path / "w", 12, seconds=1.0)
    out = tmp_path / "out.csv"
    process, workers = _stop(tmp_path, how, tmp_path / "w", "-o", out,
                             "--n-jobs", "2")
    assert process.returncode in (130, 143), process.stderr
    assert workers, "the run had no worker processes to stop"
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)]
    for pid in workers:  # leave nothing behind if the test fails
        if _alive(pid):
            os.kill(int(pid), signal.SIGKILL)
