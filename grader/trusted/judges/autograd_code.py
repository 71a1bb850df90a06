"""Reading a notebook's code for autograd: the half of "is this gradient computed by hand?" that the
kernel has no say in (the other half is the probe's dispatch mode, which sees what the code did).

A function counts as using autograd when its own code, or the code of the notebook's other
functions it calls, reaches torch's differentiation: ``torch.autograd`` / ``torch.func`` /
``functorch`` (however imported or renamed, including ``from torch.autograd import grad`` at the top
of the notebook and ``torch.autograd.forward_ad``), ``.backward()``, ``.grad``, ``requires_grad``,
``torch.enable_grad``. A variable merely named ``grad`` or ``grads``, or the exercise's own
``mse_loss_grad``, does not count. The exercise's other functions are not followed: the probes run
the judged one with the grader's versions of them.
"""

from __future__ import annotations

import ast
from typing import Iterable

AUTOGRAD_MODULES = ("torch.autograd", "torch.func", "functorch", "torch._functorch")
AUTOGRAD_CALLS = ("torch.enable_grad", "torch.set_grad_enabled")
# What `from torch.autograd import *` (or torch.func, functorch) brings that computes derivatives.
STAR_NAMES = {"grad", "backward", "jacobian", "hessian", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "grad_and_value",
              "make_dual", "unpack_dual", "dual_level", "enable_grad", "Function"}
TENSOR_AUTOGRAD = {"backward", "grad", "requires_grad_", "retain_grad", "register_hook"}


def _parse(cell: str) -> ast.Module | None:
    # IPython's magics and shell escapes are not Python: blank them, keeping line numbers.
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in cell.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id] + parts[::-1])
    return None


def _is_autograd_name(dotted: str) -> bool:
    return any(dotted == m or dotted.startswith(m + ".") for m in AUTOGRAD_MODULES) or dotted in AUTOGRAD_CALLS


class _Aliases:
    """What the notebook's names stand for: ``import torch as t`` makes ``t`` torch,
    ``from torch.autograd import grad as g`` makes ``g`` torch.autograd.grad."""

    def __init__(self):
        self.names: dict[str, str] = {}
        self.star = False  # something was star-imported from an autograd module

    def bind(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    self.names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            module = self.resolve(node.module) or node.module
            for alias in node.names:
                if alias.name == "*":
                    self.star = self.star or _is_autograd_name(module)
                else:
                    self.names[alias.asname or alias.name] = f"{module}.{alias.name}"
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = self.resolve_node(node.value)
            if value is not None and _is_autograd_name(value):
                self.names[node.targets[0].id] = value

    def resolve(self, dotted: str) -> str:
        head, _, rest = dotted.partition(".")
        base = self.names.get(head, head)
        return f"{base}.{rest}" if rest else base

    def resolve_node(self, node: ast.AST) -> str | None:
        dotted = _dotted(node)
        return self.resolve(dotted) if dotted else None


def _evidence(body: ast.AST, aliases: _Aliases) -> list[str]:
    """Where ``body`` reaches autograd, as short descriptions."""
    local = _Aliases()
    local.names, local.star = dict(aliases.names), aliases.star
    found = []
    for node in ast.walk(body):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            local.bind(node)
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            found += [f"import {m}" for m in modules if _is_autograd_name(m)]
    for node in ast.walk(body):
        if isinstance(node, ast.Attribute):
            if node.attr in TENSOR_AUTOGRAD or (node.attr == "requires_grad" and isinstance(node.ctx, ast.Store)):
                found.append(f".{node.attr}")
                continue
            dotted = local.resolve_node(node)
            if dotted and _is_autograd_name(dotted):
                found.append(dotted)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            meaning = local.names.get(node.id)
            if meaning and _is_autograd_name(meaning):
                found.append(f"{node.id} ({meaning})")
            elif meaning is None and local.star and node.id in STAR_NAMES:
                found.append(f"{node.id} (star import)")
        elif isinstance(node, ast.keyword) and node.arg == "requires_grad":
            found.append("requires_grad=")
    return found


def autograd_in_code(cells: Iterable[str], functions: Iterable[str]) -> dict[str, list[str]]:
    """For each of ``functions``, where its code (with the notebook's other helpers it calls, but
    not the exercise's other functions) reaches autograd; an empty list when it does not."""
    functions = tuple(functions)
    aliases = _Aliases()
    definitions: dict[str, ast.AST] = {}
    for cell in cells:
        tree = _parse(cell)
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                definitions[node.name] = node
            elif isinstance(node, ast.Assign):
                aliases.bind(node)
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        if isinstance(node.value, ast.Lambda):
                            definitions[target.id] = node.value
                        else:
                            definitions.pop(target.id, None)
            else:
                aliases.bind(node)
                for inner in ast.walk(node):  # imports inside if/try at the top level
                    if inner is not node and isinstance(inner, (ast.Import, ast.ImportFrom)):
                        aliases.bind(inner)
    result = {}
    for name in functions:
        others = set(functions) - {name}
        evidence, seen, pending = [], set(), [name]
        while pending:
            current = pending.pop()
            if current in seen or current not in definitions:
                continue
            seen.add(current)
            node = definitions[current]
            evidence += _evidence(node, aliases)
            pending += [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in definitions
                        and n.id not in others and n.id not in seen]
        result[name] = evidence
    return result
