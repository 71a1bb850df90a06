"""Running one function over many items in worker processes, results as they finish."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from typing import Callable, Iterable, Iterator, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def as_finished(function: Callable[[Item], Result], items: Iterable[Item], jobs: int) -> Iterator[Result]:
    """``function(item)`` for each item: in this process, in order, when ``jobs`` is 1; else in
    ``jobs`` worker processes, in the order they finish. Stopping early (Ctrl-C) cancels what has
    not started."""
    if jobs <= 1:
        yield from map(function, items)
        return
    # Spawned, not forked: a fork of a process that has run torch's thread pools can hang.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(function, item) for item in items]
        try:
            for future in concurrent.futures.as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
