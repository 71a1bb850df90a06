"""The cells the grader itself runs in a kernel: the bootstrap of its keeper, and probe calls.

Both are source files of their own (grader/untrusted/probes/bootstrap.py and probe_cell.py), read
as text; the values a cell needs replace the string placeholders of its lambda's defaults in the
parsed tree, each as the literal of a plain value, so that no program is assembled from text."""

from __future__ import annotations

import ast
from importlib import resources
from pathlib import Path

import nbformat

from grader.untrusted.probes import preamble_source

READY = "grader-ready"


def _template(name: str) -> str:
    return resources.files("grader.untrusted.probes").joinpath(name).read_text("utf-8")


def _filled(template: str, values: dict[str, object]) -> str:
    """``template`` with each string default of its lambdas named in ``values`` replaced by that
    value's literal (only defaults: the same string elsewhere, a dict key, stays as it is)."""

    def literal(node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in values:
            return ast.copy_location(ast.parse(repr(values[node.value]), mode="eval").body, node)
        return node

    tree = ast.parse(template)
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda):
            node.args.defaults = [literal(default) for default in node.args.defaults]
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def preamble_cell(threads: int, seed: int, token: str, exchange: Path | None, seals: Path | None = None,
                  own_pids: bool = False) -> str:
    """The bootstrap cell: the keeper with its settings (see probes/preamble.py)."""
    settings = {"threads": threads, "seed": seed, "token": token, "exchange": str(exchange) if exchange else None,
                "ipython": True, "seals": str(seals) if seals else None, "own_pids": own_pids}
    return _filled(_template("bootstrap.py"), {"PREAMBLE": preamble_source(), "SETTINGS": settings})


def probe_cell(token: str, name: str, folder: str, source_file: str, alone: bool) -> str:
    """The cell that runs probe ``name``, writing into ``folder`` of the exchange folder."""
    return _filled(_template("probe_cell.py"), {"CALL": (token, name, folder, source_file, alone)})


def is_ready(cell: nbformat.NotebookNode) -> bool:
    """Whether the keeper said it is in place (trusted: no student code had run in this kernel)."""
    return any(output.get("output_type") == "stream" and READY in output.get("text", "")
               for output in cell.get("outputs", []))
