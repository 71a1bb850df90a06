"""Reading a submitted notebook: every way a file can be unusable becomes one clear line.

A ``.py`` file is read with jupytext as the notebook it represents: a "percent" script (``# %%``
cells, as Jupytext, VS Code and Spyder write them) or a plain script (jupytext's light format), so
that it is graded exactly as that notebook would be."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import nbformat

from grader.errors import UnusableInput
from grader.text import encodable_data

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Return the notebook at ``path`` upgraded to nbformat 4, or raise ``UnusableInput``."""
    path = Path(path)
    if not path.exists():
        raise UnusableInput(f"{path}: no such file")
    if path.is_dir():
        raise UnusableInput(f"{path}: is a folder; give the path of one .ipynb file")
    size = path.stat().st_size
    if size == 0:
        raise UnusableInput(f"{path}: the file is empty")
    if size > MAX_NOTEBOOK_BYTES:
        raise UnusableInput(
            f"{path}: {size / 2**20:.1f} MiB is over the {MAX_NOTEBOOK_BYTES // 2**20} MiB limit "
            "for a notebook; clear its outputs (Kernel > Restart & Clear Output) and save it again"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        kind = "a Python script" if path.suffix == ".py" else "a notebook"
        raise UnusableInput(f"{path}: not UTF-8 text (byte {err.start}); is it {kind}?") from None
    if path.suffix == ".py":
        return _read_script(path, text)
    try:
        raw = json.loads(text)
        # "\ud800" in a JSON string is a lone surrogate, which no kernel message can carry.
        clean = encodable_data(raw)
    except json.JSONDecodeError as err:
        raise UnusableInput(
            f"{path}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}); "
            "the file may be truncated"
        ) from None
    except RecursionError:
        raise UnusableInput(f"{path}: JSON nested too deeply to be a notebook; save it again from Jupyter") from None
    if not isinstance(clean, dict) or "cells" not in clean and "worksheets" not in clean:
        raise UnusableInput(f"{path}: JSON, but not a Jupyter notebook (it has no cells)")
    try:
        notebook = nbformat.reads(json.dumps(clean) if clean != raw else text, as_version=4)
        nbformat.validate(notebook)
    except RecursionError:
        raise UnusableInput(f"{path}: JSON nested too deeply to be a notebook; save it again from Jupyter") from None
    except Exception as err:  # nbformat raises several unrelated types for a malformed notebook
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UnusableInput(f"{path}: not a valid notebook ({first_line})") from None
    return notebook


def _read_script(path: Path, text: str) -> nbformat.NotebookNode:
    import jupytext

    if "\x00" in text:
        raise UnusableInput(f"{path}: not a Python script (it holds NUL bytes)")
    if text.lstrip().startswith("{"):
        try:
            raw = json.loads(text)
        except json.JSONDecodeError:
            raw = None
        if isinstance(raw, dict) and "cells" in raw:
            raise UnusableInput(f"{path}: a notebook saved under a .py name; rename it to .ipynb")
    try:
        notebook = jupytext.reads(text, fmt="py")
        nbformat.validate(notebook)
    except Exception as err:  # jupytext and nbformat raise several unrelated types
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UnusableInput(f"{path}: not a script jupytext can read ({first_line[:200]})") from None
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip()]
    if not code:
        raise UnusableInput(f"{path}: no Python code in it")
    # A plain script is Python as a whole (each cell of a percent script is its own, as in a notebook).
    problem = _syntax_error(text) if "# %%" not in text else None
    if problem is None and all(_syntax_error(source) for source in code):
        problem = _syntax_error(code[0])
    if problem is not None:
        raise UnusableInput(f"{path}: not a valid Python script ({problem}); fix it or submit the .ipynb")
    return notebook


def _syntax_error(source: str) -> str | None:
    """Where ``source`` (IPython magics and shell lines left aside) is not Python, or None."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        ast.parse("\n".join(lines))
    except SyntaxError as err:
        return f"line {err.lineno}: {err.msg}"
    except (ValueError, RecursionError, MemoryError) as err:  # nested past what the parser takes
        return type(err).__name__
    return None


def code_digest(notebook: nbformat.NotebookNode) -> bytes:
    """A digest of the code the notebook runs: re-running it (new outputs) keeps the digest."""
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    return hashlib.sha256(json.dumps(sources).encode("utf-8")).digest()


def uncompilable_cells(notebook: nbformat.NotebookNode) -> dict[int, str]:
    """Code cells that Python itself cannot compile other than for a syntax error (a 100,000-term
    expression: RecursionError), by index, with the error's name. IPython's kernel meets that
    error before it runs the cell and never answers, so these cells are not sent to it. A syntax
    error, or IPython syntax (magics), is left to the kernel, which reports it."""
    found = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        try:
            compile(cell.source, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        except SyntaxError:
            pass
        except Exception as err:  # RecursionError, MemoryError, ValueError
            found[index] = type(err).__name__
    return found
