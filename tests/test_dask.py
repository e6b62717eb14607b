"""Extraction on a Dask cluster: same results as a local run, bounded, closed.

The cluster tests start real ``distributed.LocalCluster`` worker processes;
the whole module is skipped when ``distributed`` is not installed.
"""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402 - installed with distributed
import psutil  # noqa: E402 - a dependency of distributed

from sertk.cli.extract import main as extract_main  # noqa: E402
from sertk.errors import AudioError, ParameterError, SertkError  # noqa: E402
from sertk.features._dask import (  # noqa: E402
    BATCHES_PER_THREAD,
    forked_local_workers,
    run_on_dask,
)
from sertk.features.extractor import FeatureExtractor, iter_extract  # noqa: E402

SR = 16000
N_WORKERS = 2
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def address():
    """A scheduler with two single-threaded worker processes."""
    with distributed.LocalCluster(n_workers=N_WORKERS, threads_per_worker=1,
                                  processes=True, dashboard_address=None,
                                  scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}
                                  ) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def wavs(tmp_path_factory):
    """Nine voiced-like clips of varied F0 and length, and one broken file."""
    folder = tmp_path_factory.mktemp("wavs")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(9):
        t = np.arange(int(SR * rng.uniform(0.5, 1.0))) / SR
        f0 = rng.uniform(90, 300) * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        x = sum(0.2 / k * np.sin(k * phase) for k in range(1, 6))
        x = x + 0.005 * rng.standard_normal(t.size)
        path = folder / f"clip{i}.wav"
        sf.write(path, x, SR, subtype="PCM_16")
        paths.append(str(path))
    broken = folder / "broken.wav"
    broken.write_bytes(b"RIFF but not really a wave file")
    paths.insert(4, str(broken))
    return paths


def _extract(paths, **params):
    extractor = FeatureExtractor(feature_set="minimal", on_error="nan",
                                 progress=False, **params)
    with pytest.warns(UserWarning, match="1 of 10 files"):
        table = extractor.transform(paths)
    return table, extractor.errors_


def _children():
    return {p.pid for p in psutil.Process().children(recursive=True)}


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def _slow_identity(x):
    time.sleep(x)
    return x


@pytest.mark.slow
def test_cluster_gives_the_local_table_exactly(address, wavs):
    local, local_errors = _extract(wavs)
    remote, remote_errors = _extract(wavs, scheduler=address)
    assert len(local) == 10
    assert local.iloc[[4]].isna().all(axis=None)
    assert local.drop(index=wavs[4], level="path").notna().any(axis=None)
    pd.testing.assert_frame_equal(remote, local, check_exact=True)
    assert local_errors["path"].tolist() == [wavs[4]]
    pd.testing.assert_frame_equal(remote_errors, local_errors)


@pytest.mark.slow
def test_cluster_raises_the_local_error(address, wavs):
    messages = []
    for scheduler in (None, address):
        extractor = FeatureExtractor(feature_set="minimal", progress=False,
                                     scheduler=scheduler)
        with pytest.raises(AudioError) as info:
            extractor.transform(wavs)
        messages.append((info.value.path, str(info.value)))
    assert messages[0] == messages[1]
    assert messages[0][0] == wavs[4]


@pytest.mark.slow
def test_cluster_forgets_the_tasks_of_a_run_stopped_early(address, wavs):
    results = iter_extract(wavs * 8, feature_set="minimal", scheduler=address,
                           progress=False)
    assert next(results).ok
    results.close()
    with distributed.Client(address, set_as_default=False) as client:
        def n_tasks():
            return client.run_on_scheduler(lambda dask_scheduler:
                                           len(dask_scheduler.tasks))
        assert _wait_for(lambda: n_tasks() == 0)


@pytest.mark.slow
def test_batches_are_read_lazily_and_results_come_in_order(address):
    pulled = []

    def batches():
        for delay in [0.5] + [0.0] * 29:
            pulled.append(delay)
            yield delay

    window = BATCHES_PER_THREAD * N_WORKERS
    results = run_on_dask(_slow_identity, batches(), (), address, 1)
    for done, result in enumerate(results, start=1):
        assert result == (0.5 if done == 1 else 0.0)
        assert len(pulled) <= done + window
    assert done == 30


@pytest.mark.slow
def test_local_cluster_matches_and_stops(wavs):
    before = _children()
    local, local_errors = _extract(wavs)
    remote, remote_errors = _extract(wavs, scheduler="local", n_jobs=N_WORKERS)
    pd.testing.assert_frame_equal(remote, local, check_exact=True)
    pd.testing.assert_frame_equal(remote_errors, local_errors)
    assert _wait_for(lambda: _children() <= before)


@pytest.mark.slow
def test_local_cluster_stops_when_the_consumer_stops_early(wavs):
    before = _children()
    results = iter_extract(wavs * 8, feature_set="minimal", scheduler="local",
                           n_jobs=1, progress=False)
    assert next(results).ok
    assert _children() - before  # the worker process is running
    results.close()
    assert _wait_for(lambda: _children() <= before)


@pytest.mark.slow
def test_cli_writes_the_local_table_byte_for_byte(address, wavs, tmp_path):
    folder = os.path.dirname(wavs[0])
    outputs = {}
    for name, extra in (("local", []), ("dask", ["--scheduler", address])):
        out = tmp_path / f"{name}.csv"
        status = extract_main([folder, "-o", str(out), "--feature-set",
                                   "minimal", "-q", *extra])
        assert status == 1  # the broken file failed
        outputs[name] = (out.read_bytes(),
                         (tmp_path / f"{name}.errors.csv").read_bytes())
    assert outputs["local"][0].count(b"\n") == 10  # header and nine rows
    assert b"broken.wav" in outputs["local"][1]
    assert outputs["dask"] == outputs["local"]


def _worker_settings(_):
    return (dask.config.get("distributed.admin.low-level-log-length"),
            dask.config.get("distributed.worker.profile.enabled"),
            os.environ.get("MALLOC_TRIM_THRESHOLD_"))


@pytest.mark.slow
def test_local_cluster_workers_get_the_flat_memory_settings():
    # Without them, worker memory grows over the first thousand batches.
    (settings,) = run_on_dask(_worker_settings, [None], (), "local", 1)
    assert settings == (50, False, os.environ.get("MALLOC_TRIM_THRESHOLD_"))


def _libraries_came_with_the_process(_):
    return "sertk.features._worker_libraries" in sys.modules


@pytest.mark.slow
def test_forked_workers_come_with_their_libraries():
    # from a forkserver that imported them (sertk-extract's choice); spawned
    # workers (dask's default) import them each
    (spawned,) = run_on_dask(_libraries_came_with_the_process, [None], (), "local", 1)
    with forked_local_workers():
        (forked,) = run_on_dask(_libraries_came_with_the_process, [None], (),
                                "local", 1)
    assert (spawned, forked) == (False, True)


_CLOSED_AFTER_THE_BLOCK = """
from operator import add
from sertk.features._dask import forked_local_workers, run_on_dask
if __name__ == "__main__":
    with forked_local_workers():
        results = run_on_dask(add, [1, 2, 3], (10,), "local", 1)
        print(next(results))
    results.close()
"""


@pytest.mark.slow
def test_a_run_closed_after_the_forked_block_closes_quietly():
    # Ctrl-C between two results leaves the run's generator open until the
    # command's frame ends, after the block; dask's settings must still hold
    # every distributed default the closing cluster reads. A fresh process:
    # in this one, distributed was imported long before any block.
    done = subprocess.run([sys.executable, "-c", _CLOSED_AFTER_THE_BLOCK],
                          env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "11\n", "")


def test_unreachable_scheduler_is_named(wavs):
    extractor = FeatureExtractor(feature_set="minimal", progress=False,
                                 scheduler="tcp://127.0.0.1:1")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(SertkError, match=r"tcp://127\.0\.0\.1:1.*timeouts"):
            extractor.transform(wavs)


@pytest.mark.parametrize("scheduler", ["no-port", "foo://host:1", ""])
def test_malformed_address_is_a_parameter_error(wavs, scheduler):
    extractor = FeatureExtractor(feature_set="minimal", progress=False,
                                 scheduler=scheduler)
    with pytest.raises(ParameterError, match="scheduler must be"):
        extractor.transform(wavs)


def test_zero_workers_is_a_parameter_error(wavs):
    with pytest.raises(ParameterError, match="n_jobs"):
        list(iter_extract(wavs, scheduler="local", n_jobs=0, progress=False))


def test_missing_distributed_names_the_extra(wavs, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    extractor = FeatureExtractor(feature_set="minimal", progress=False,
                                 scheduler="local")
    with pytest.raises(SertkError, match=r"pip install sertk\[dask\]"):
        extractor.transform(wavs)


def _session(sid):
    """The processes still alive in session ``sid``."""
    alive = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) == sid and process.status() != "zombie":
                alive.append(process.pid)
        except (OSError, psutil.Error):
            pass
    return alive


@pytest.mark.slow
def test_ctrl_c_stops_a_local_cluster_run_quietly(tmp_path):
    # A terminal's Ctrl-C sends SIGINT to its whole foreground process group:
    # the command and the worker processes of its cluster. The command runs
    # in a session of its own here, and the signal goes to that group.
    folder = tmp_path / "wavs"
    folder.mkdir()
    t = np.arange(3 * SR) / SR
    for i in range(40):
        x = 0.3 * np.sin(2 * np.pi * (120 + 5 * i) * t)
        sf.write(folder / f"t{i:02d}.wav", x, SR)
    out = tmp_path / "f.csv"
    args = [folder, "-o", out, "--feature-set", "minimal", "--no-progress"]
    process = subprocess.Popen(
        [sys.executable, "-m", "sertk.cli.extract", *map(str, args),
         "--scheduler", "local", "--n-jobs", str(N_WORKERS)],
        env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = tmp_path / "f.csv.partial"

    def some_rows():  # rows come only once the cluster runs
        assert process.poll() is None, f"the run ended: {process.communicate()}"
        return partial.exists() and len(partial.read_text().splitlines()) > 2

    try:
        assert _wait_for(some_rows, timeout=120)
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130
    lines = err.splitlines()
    assert len(lines) == 1, err  # no traceback, no warning from a worker
    assert "interrupted" in lines[0] and "--resume" in lines[0]
    assert _wait_for(lambda: not _session(process.pid))  # the workers are gone
    assert not out.exists() and partial.exists()
    assert extract_main([*map(str, args), "--resume", "-q"]) == 0
    assert len(pd.read_csv(out)) == 40


def test_a_shutdown_gather_error_is_dropped_and_others_kept():
    from sertk.features._dask import _not_a_forgotten_gather

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("distributed.scheduler", logging.ERROR, __file__,
                                 0, message, None, None)

    assert not _not_a_forgotten_gather(
        record("Couldn't gather keys: {'_extract_batch-be73': 'forgotten'}"))
    assert _not_a_forgotten_gather(
        record("Couldn't gather keys: {'_extract_batch-be73': 'memory'}"))
    assert _not_a_forgotten_gather(record("Worker failed to heartbeat"))


def test_a_heartbeat_to_a_closed_scheduler_is_dropped_and_others_kept():
    # a worker heartbeat racing the scheduler's shutdown (seen under load
    # after Ctrl-C) logs this with the closed connection's traceback
    from distributed.comm import CommClosedError

    from sertk.features._dask import _not_a_heartbeat_to_a_closed_scheduler as keep

    def record(message: str, error: BaseException | None) -> logging.LogRecord:
        info = (type(error), error, None) if error else None
        return logging.LogRecord("distributed.worker", logging.ERROR, __file__,
                                 0, message, None, info)

    heartbeat = "Failed to communicate with scheduler during heartbeat."
    assert not keep(record(heartbeat, CommClosedError("Stream is closed")))
    assert keep(record(heartbeat, ValueError("a bug")))
    assert keep(record(heartbeat, None))
    assert keep(record("Compute Failed", CommClosedError("Stream is closed")))
