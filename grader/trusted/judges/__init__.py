"""One judge module per assignment: draws the inputs, computes what the reference expects, and
judges the artifacts. Each exposes ``draw_inputs``, ``expected`` and ``judge``."""

import importlib
from types import ModuleType


def judge_for(assignment: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{assignment}")
