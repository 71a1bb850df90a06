"""The skeletons' optional check cells, and taking every use of ``check()`` out of a notebook that is
being graded.

A released skeleton has a check cell after each exercise (``check_cell``), wrapped so that a
notebook without the grader installed still runs. When a notebook is graded, its check cells
must cost no time and change nothing (the sandboxed kernel may not even have the grader), so
``without_checks`` blanks every top-level statement that only imports or calls ``check`` (the
released cell, or the student's own ``from grader import check`` / ``check("XORDataset")``, and
Colab's ``!pip install`` of the grader), keeping every other line where it was, so that the
feedback's cell and line numbers stay those of the student's notebook. A use deeper in the code
is left alone: in a grading kernel, check() does nothing (grader.selfcheck.check.GRADING_ENV).
"""

from __future__ import annotations

import ast
import copy
import re

import nbformat

CHECK_TAG = "check"
INSTALL_HINT = ("(Opcional) Para comprobar aquí tu código, instala el corrector del curso: "
                "pip install grader-{version}-py3-none-any.whl")
_PIP_GRADER = re.compile(r"^\s*[!%]\s*pip3?\s+install\b.*\bgrader\b")


def check_cell(parts: list[str], version: str) -> nbformat.NotebookNode:
    """The optional cell a skeleton gets after an exercise: ``check(*parts)``, or a one-line message
    where the grader is not installed."""
    call = ", ".join(repr(p) for p in parts)
    source = (
        "# Comprobación opcional: no cuenta para la nota (el corrector ignora esta celda)\n"
        "try:\n"
        "    from grader import check\n"
        "except ImportError:\n"
        f"    print({INSTALL_HINT.format(version=version)!r})\n"
        "else:\n"
        f"    check({call})\n"
    )
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [CHECK_TAG]
    return cell


def _is_check_call(node: ast.AST, imported: bool = True) -> bool:
    """``check(...)`` (only where the notebook imports it from the grader: a function of the
    student's own may have that name) or ``grader.check(...)``, with constant arguments."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    call = node.value
    named = (imported and isinstance(call.func, ast.Name) and call.func.id == "check") or (
        isinstance(call.func, ast.Attribute) and call.func.attr == "check"
        and isinstance(call.func.value, ast.Name) and call.func.value.id == "grader")
    constants = all(isinstance(a, ast.Constant) for a in call.args) and all(
        isinstance(k.value, ast.Constant) for k in call.keywords)
    return named and constants


def _is_check_import(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.module in ("grader", "grader.selfcheck") and node.level == 0 and all(
            alias.name == "check" and alias.asname in (None, "check") for alias in node.names)
    if isinstance(node, ast.Import):
        return all(alias.name == "grader" and alias.asname is None for alias in node.names)
    return False


def _is_message(node: ast.AST) -> bool:
    """``pass`` or ``print(...)`` of constants: what the released cell does without the grader."""
    if isinstance(node, ast.Pass):
        return True
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name) and node.value.func.id == "print"
            and all(isinstance(a, ast.Constant) for a in node.value.args))


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return all(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names)


def is_check_statement(node: ast.AST, imported: bool = True) -> bool:
    if _is_check_import(node) or _is_check_call(node, imported):
        return True
    if isinstance(node, ast.Try) and not node.finalbody:
        return (all(is_check_statement(n, imported) for n in node.body + node.orelse)
                and all(handler.type is not None and _catches_import_error(handler)
                        and all(_is_message(n) for n in handler.body) for handler in node.handlers))
    return False


def _parse(source: str) -> tuple[ast.Module | None, list[str], set[int]]:
    lines = source.split("\n")
    pip = {i for i, line in enumerate(lines) if _PIP_GRADER.match(line)}
    # Other IPython magics and shell lines are not Python: blanked only to parse the rest.
    parsed = ["" if i in pip or line.lstrip().startswith(("%", "!")) else line for i, line in enumerate(lines)]
    try:
        return ast.parse("\n".join(parsed)), lines, pip
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # not Python, or nested past the parser
        return None, lines, pip


def imports_check(source: str) -> bool:
    tree, _, _ = _parse(source)
    return tree is not None and any(_is_check_import(node) for node in ast.walk(tree))


def neutral_source(source: str, imported: bool = True) -> str:
    """``source`` with its check statements (and pip installs of the grader) blanked, line numbers
    kept; "" when nothing else is left. ``imported``: whether the notebook imports ``check`` from
    the grader (else a bare ``check(...)`` is the student's own function)."""
    tree, lines, pip = _parse(source)
    if tree is None:
        return source
    checks, others = set(), set()
    for node in tree.body:
        span = set(range(node.lineno - 1, node.end_lineno))
        (checks if is_check_statement(node, imported) else others).update(span)
    blank = pip | (checks - others)
    if not blank:
        return source
    # At the top level a statement can go without leaving anything in its place.
    kept = ["" if i in blank else line for i, line in enumerate(lines)]
    if all(not line.strip() or line.lstrip().startswith("#") for line in kept):
        return ""
    return "\n".join(kept)


def without_checks(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with every top-level use of check() blanked (see the module's doc)."""
    notebook = copy.deepcopy(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    imported = any(imports_check(cell.source) for cell in code)
    for cell in code:
        cell.source = neutral_source(cell.source, imported)
    return notebook
