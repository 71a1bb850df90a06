"""Running one function over many items in worker processes, results as they finish."""

from __future__ import annotations

import concurrent.futures
import functools
import multiprocessing
import os
import signal
from typing import Callable, Iterable, Iterator, TypeVar

from grader.errors import Stopped

Item = TypeVar("Item")
Result = TypeVar("Result")
STOP_GRACE_S = 20.0  # how long stopped workers get to end their kernels


def as_finished(function: Callable[[Item], Result], items: Iterable[Item], jobs: int) -> Iterator[Result]:
    """``function(item)`` for each item: in this process, in order, when ``jobs`` is 1; else in
    ``jobs`` worker processes, in the order they finish. Stopping early (Ctrl-C, SIGTERM, or the
    caller closing the iterator) cancels what has not started and stops the workers, each
    ending its kernel, rather than waiting for what they are grading."""
    if jobs <= 1:
        yield from map(function, items)
        return
    # Spawned, not forked: a fork of a process that has run torch's thread pools can hang.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                                initializer=_worker_started) as pool:
        futures = [pool.submit(functools.partial(_in_worker, function), item) for item in items]
        try:
            for future in concurrent.futures.as_completed(futures):
                yield future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            _stop_workers()
            raise
        finally:
            for future in futures:
                future.cancel()


def _worker_started() -> None:
    # Ctrl-C reaches the whole process group: the parent stops the workers, which must not each
    # print a traceback of their own meanwhile. A grading still handles SIGINT (grader.grading).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_worker(function: Callable[[Item], Result], item: Item) -> Result:
    """``function(item)`` in a worker; a worker stopped during it ends (its kernel is ended by
    then), rather than go on to the next item."""
    try:
        return function(item)
    except Stopped as stop:
        os._exit(stop.exit_code)
    except KeyboardInterrupt:
        os._exit(130)


def _stop_workers() -> None:
    workers = multiprocessing.active_children()
    for worker in workers:
        worker.terminate()  # SIGTERM: a grading in it cancels itself, ending its kernel
    for worker in workers:
        worker.join(STOP_GRACE_S)
        if worker.is_alive():
            worker.kill()
