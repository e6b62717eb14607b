"""Run extraction batches on a Dask ``distributed`` cluster, in input order.

:func:`run_on_dask` is the Dask side of :func:`sertk.features.extractor.iter_extract`:
it submits batches a few at a time (never more than
:data:`BATCHES_PER_THREAD` per worker thread in flight), yields each batch's
result in input order as soon as it and all before it are done, and releases
it from the cluster, so memory does not grow with the number of files (the
clusters and clients it starts also keep distributed's developer logs short
and the worker profiler off; see ``_SETTINGS``). On Ctrl-C, which a terminal
sends to the workers of a ``"local"`` cluster too, the client shuts the
cluster down quietly: its workers ignore SIGINT (:func:`dask_setup`), and
Ctrl-C is ignored for the few seconds the cluster takes to start. The
worker-side function must be importable by the workers (sertk installed, or
on their ``sys.path``); its arguments travel by value.

Needs the ``dask`` extra: ``pip install sertk[dask]``.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from types import ModuleType
from typing import Any

from ..errors import ParameterError, SertkError
from .contours._librosa import import_spectral

__all__ = ["BATCHES_PER_THREAD", "forked_local_workers", "run_on_dask"]

#: Batches submitted ahead per worker thread; more waits until results are
#: consumed.
BATCHES_PER_THREAD = 4

#: Dask settings while sertk starts a cluster or a client. distributed keeps
#: developer logs of the last 1000 messages, transitions and stimuli (a
#: message holds a whole task) in the client, the scheduler and every worker,
#: which grow memory over the first thousand batches of a run: keep 50. The
#: workers' statistical profiler (for the dashboard, which a sertk cluster
#: does not start) grows its call trees as the extraction code runs: off.
#: The nanny's ``MALLOC_TRIM_THRESHOLD_=65536`` turns off glibc's adaptive
#: mmap threshold, so every array over 128 kB is mapped and unmapped afresh:
#: three times the system time, about 15 % more CPU time a file, and no lower
#: peak; not set (a value in the environment still applies).
_SETTINGS = {
    "distributed.admin.low-level-log-length": 50,
    "distributed.worker.profile.enabled": False,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}
#: The dask setting that starts worker processes from a forkserver.
_START_METHOD = "distributed.worker.multiprocessing-method"


def dask_setup(worker: Any) -> None:
    """Prepare a worker process of a cluster sertk started (its preload hook).

    Ctrl-C in a terminal sends SIGINT to every process of the foreground
    process group, the cluster's workers included; each would die with a
    ``KeyboardInterrupt`` traceback. The client owns the cluster and shuts
    it down on Ctrl-C, so the workers ignore SIGINT. A shutdown cancels the
    tasks still running, and distributed warns about each
    ("Async instruction ... ended with CancelledError"); those warnings are
    dropped, as the cancellation is the point of the shutdown. So is the
    error of a worker whose heartbeat finds the scheduler already closed:
    the scheduler runs in the client's process, which ends the run itself
    and reports why. Last, the worker imports librosa
    (:func:`~sertk.features.contours._librosa.import_spectral`) while the
    cluster starts, and freezes what it has loaded (``gc.freeze``): seconds
    of import in a first task, or of garbage collection at exit, would hold
    up a shutdown past the nanny's patience ("Worker process still alive
    after 4.0 seconds, killing").

    Parameters
    ----------
    worker : distributed.Worker
        The worker being started (unused).

    Examples
    --------
    >>> import signal
    >>> previous = signal.getsignal(signal.SIGINT)
    >>> dask_setup(None)
    >>> signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    True
    >>> _ = signal.signal(signal.SIGINT, previous)
    >>> gc.unfreeze()
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("distributed.worker.state_machine").addFilter(
        _not_a_cancelled_task)
    logging.getLogger("distributed.worker").addFilter(
        _not_a_heartbeat_to_a_closed_scheduler)
    import_spectral()
    # what is loaded so far lives as long as the worker: out of the garbage
    # collector's sight, the worker's collections and its exit (which the
    # nanny allows 4 s) take a tenth of the time with librosa and numba
    gc.freeze()


def _not_a_cancelled_task(record: logging.LogRecord) -> bool:
    return not record.getMessage().endswith("ended with CancelledError")


def _not_a_heartbeat_to_a_closed_scheduler(record: logging.LogRecord) -> bool:
    from distributed.comm import CommClosedError

    error = record.exc_info[1] if record.exc_info else None
    return not (record.getMessage().startswith(
        "Failed to communicate with scheduler during heartbeat")
        and isinstance(error, CommClosedError))


def _not_a_forgotten_gather(record: logging.LogRecord) -> bool:
    # Ctrl-C while the client waits for a result: the run's futures are
    # cancelled, the scheduler forgets their keys, and the gather in flight
    # fails with "Couldn't gather keys: {...: 'forgotten'}". A run releases a
    # key only after its result arrived, so only a shutdown gets there.
    message = record.getMessage()
    return not (message.startswith("Couldn't gather keys")
                and "'forgotten'" in message)


def _not_a_slow_worker_killed(record: logging.LogRecord) -> bool:
    # A loaded machine: a worker of the cluster sertk is closing takes more
    # than the nanny's few seconds to stop, and the nanny kills it, as the
    # close asked; its warning says nothing the user must act on.
    return not record.getMessage().startswith("Worker process still alive after")


def _close_quietly(cluster: Any) -> None:
    """Close a cluster sertk started, without the nanny's warning on a slow worker."""
    nanny_log = logging.getLogger("distributed.nanny")
    nanny_log.addFilter(_not_a_slow_worker_killed)
    try:
        cluster.close()
    finally:
        nanny_log.removeFilter(_not_a_slow_worker_killed)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while a cluster starts (a few seconds).

    A SIGINT then would cut ``LocalCluster`` half-way, leaving a cluster that
    fails noisily at exit, and reach its worker processes while they import
    sertk, before :func:`dask_setup` runs: each would print a
    ``KeyboardInterrupt`` traceback. The worker processes spawned meanwhile
    inherit the ignored signal. (Blocking the signal instead, to deliver it
    once the cluster is up, does not work: another thread of the process
    takes it, and the spawned processes do not inherit the block.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)


def _import_distributed() -> ModuleType:
    try:
        import distributed
    except ImportError as exc:
        raise SertkError(
            "running on a Dask cluster needs the 'distributed' package; install "
            "it with `pip install sertk[dask]`, or leave scheduler=None to use "
            "local processes") from exc
    return distributed


def _n_workers(n_jobs: int) -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ParameterError(
            f"n_jobs must be a non-zero whole number (-1: one worker a core), "
            f"got {n_jobs!r}")
    if n_jobs > 0:
        return n_jobs
    return max(1, (os.cpu_count() or 1) + 1 + n_jobs)


def _connect(distributed: ModuleType, address: str):
    from dask.config import get as get_setting
    from dask.utils import parse_timedelta

    timeout = parse_timedelta(get_setting("distributed.comm.timeouts.connect"))
    try:
        # Checked before making a client: a client that fails to start lingers
        # and complains at interpreter exit while an exception refers to it.
        distributed.comm.resolve_address(address)
    except ValueError as exc:
        raise ParameterError(
            f"scheduler must be 'local' or a Dask scheduler address such as "
            f"'tcp://127.0.0.1:8786', got {address!r} ({exc})") from None
    except OSError as exc:  # unknown host
        reason = str(exc)
    else:
        try:
            return distributed.Client(address, set_as_default=False)
        except OSError as exc:  # TimeoutError included
            reason = str(exc)
    raise SertkError(
        f"cannot reach the Dask scheduler at {address!r} ({reason}); check the "
        "address and that a scheduler runs there (`dask scheduler`), raise the "
        f"dask setting 'distributed.comm.timeouts.connect' (now {timeout:g} s), "
        "or use scheduler='local' to start a cluster for this run")


def _ordered(client, function: Callable, batches: Iterable, args: tuple) -> Iterator:
    # Futures wait in submission order; one that finishes before those ahead
    # of it keeps its result on its worker until its turn, and is released
    # once yielded, so at most `window` results exist at any time.
    threads = sum(client.nthreads().values())
    window = BATCHES_PER_THREAD * max(threads, 1)
    todo = iter(batches)
    pending = deque(client.submit(function, batch, *args, pure=False)
                    for batch in islice(todo, window))
    try:
        while pending:
            future = pending.popleft()
            result = future.result()
            future.release()
            for batch in islice(todo, 1):
                pending.append(client.submit(function, batch, *args, pure=False))
            yield result
    finally:
        if pending:
            client.cancel(list(pending))


@contextmanager
def forked_local_workers() -> Iterator[None]:
    """Within the block, local clusters fork their workers from a forkserver.

    Worker processes are spawned afresh by default (dask's
    ``distributed.worker.multiprocessing-method``), and each imports librosa,
    numba and Praat into memory of its own, about 200 MB. Forked from one
    forkserver that has imported them (:mod:`sertk.features._worker_libraries`)
    they share those pages, and start in a fraction of the time. The
    forkserver stays until the Python process ends, so ``sertk-extract``
    (whose process ends with the run) runs in this block, and a library
    session does so only if it sets that dask option to ``"forkserver"``.
    Without ``distributed`` installed the block changes nothing (a cluster
    then fails with sertk's own message). ``distributed`` is imported first:
    its defaults then exist before the block sets one of them, and leaving
    the block restores that one setting, where dask would otherwise remove
    every ``distributed`` default that a cluster still closing needs.

    Examples
    --------
    >>> import dask
    >>> with forked_local_workers():
    ...     dask.config.get(_START_METHOD)
    'forkserver'
    """
    try:
        import distributed  # noqa: F401  (its defaults, before the block sets one)
        from dask.config import set as dask_settings
    except ImportError:
        yield
        return
    with dask_settings({_START_METHOD: "forkserver"}):
        yield


def _share_worker_libraries(distributed: ModuleType) -> None:
    """Have a forkserver, if workers come from one, import their libraries."""
    from dask.config import get as get_setting

    if get_setting(_START_METHOD) == "forkserver":
        distributed.utils.get_mp_context().set_forkserver_preload(
            ["distributed", "sertk.features._worker_libraries"])


def run_on_dask(
    function: Callable[..., Any],
    batches: Iterable[Any],
    args: tuple,
    scheduler: str,
    n_jobs: int,
) -> Iterator[Any]:
    """Apply ``function(batch, *args)`` to each batch on a Dask cluster.

    Batches are submitted lazily, at most :data:`BATCHES_PER_THREAD` per
    worker thread ahead of the consumer, and each result is released from the
    cluster once yielded. The cluster (for ``"local"``) or the client (for an
    address) is closed when the iterator ends, fails or is closed early.

    Parameters
    ----------
    function : callable
        Importable (module-level) function run on the workers.
    batches : iterable
        The first argument of each call; read only as far as needed.
    args : tuple
        Further arguments, the same for every call, sent by value.
    scheduler : str
        ``"local"`` starts a ``distributed.LocalCluster`` of ``n_jobs``
        single-threaded worker processes for this run; anything else is the
        address of a running scheduler (``"tcp://host:8786"``), whose workers
        are used as they are.
    n_jobs : int
        Workers of the ``"local"`` cluster (-1: one a core; -2: all but one);
        ignored for an address.

    Yields
    ------
    object
        ``function(batch, *args)`` for each batch, in input order.

    Raises
    ------
    SertkError
        If ``distributed`` is not installed or the scheduler cannot be reached
        within the dask ``distributed.comm.timeouts.connect`` setting.
    ParameterError
        If ``scheduler`` is not a string or an address, or ``n_jobs`` is 0.
    Exception
        Whatever ``function`` raised on a worker, or
        ``distributed.KilledWorker`` if the workers running a batch died.

    Examples
    --------
    >>> from operator import add
    >>> list(run_on_dask(add, [1, 2, 3], (10,), "local", 1))
    [11, 12, 13]
    """
    if not isinstance(scheduler, str) or not scheduler:
        raise ParameterError(
            f"scheduler must be 'local' or a Dask scheduler address such as "
            f"'tcp://127.0.0.1:8786', got {scheduler!r}")
    distributed = _import_distributed()
    from dask.config import set as dask_settings

    cluster = client = None
    scheduler_log = logging.getLogger("distributed.scheduler")
    scheduler_log.addFilter(_not_a_forgotten_gather)
    try:
        with dask_settings(_SETTINGS):
            if scheduler == "local":
                with _sigint_ignored():
                    _share_worker_libraries(distributed)
                    # No dashboard; the scheduler's small HTTP server (health
                    # checks) on a free local port rather than 8787, which
                    # another cluster may hold; dask_setup run in each worker.
                    cluster = distributed.LocalCluster(
                        n_workers=_n_workers(n_jobs), threads_per_worker=1,
                        processes=True, dashboard_address=None,
                        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                        preload=[__name__])
                    client = _connect(distributed, cluster.scheduler_address)
            else:
                client = _connect(distributed, scheduler)
        yield from _ordered(client, function, batches, args)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            _close_quietly(cluster)
        scheduler_log.removeFilter(_not_a_forgotten_gather)
