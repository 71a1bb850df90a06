"""The reference solution, taken from the reference notebook itself (the one source of truth).

Only the cells tagged ``definitions`` run: imports, classes and functions, no training.
"""

from __future__ import annotations

import functools
import types
from pathlib import Path

import nbformat
import torch

DEFINITIONS_TAG = "definitions"


def _silent_print(*args, **kwargs):
    pass


def _silent_progress(iterable, *args, **kwargs):
    return iterable


@functools.lru_cache(maxsize=None)
def load_reference(path: Path) -> types.SimpleNamespace:
    notebook = nbformat.read(path, as_version=4)
    # The reference runs in this process: silent, on the CPU, and without progress bars.
    namespace: dict = {"__name__": f"reference_{path.stem}", "print": _silent_print}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and DEFINITIONS_TAG in cell.metadata.get("tags", []):
            exec(compile(cell.source, f"{path.name}#cell{index}", "exec"), namespace)
    namespace["device"] = torch.device("cpu")
    namespace["tqdm"] = _silent_progress
    return types.SimpleNamespace(**namespace)
