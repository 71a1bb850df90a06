"""The mutation suite as data: known-wrong versions of each reference notebook (``mutants/<name>.toml``)
and correct ones written in other styles (``mutants/<name>_correct_variants.toml``). Each is a list
of text replacements applied to the reference, so that an instructor who meets a new mistake adds
a few lines of TOML, not Python:

    [[mutant]]
    name = "no_zero_grad"                       # unique in the file
    description = "optimizer.zero_grad() never called: gradients pile up"
    tags = ["train_model"]                      # the graded objects it must cost points in, exactly
    checks = ["train_model_matches_reference"]  # checks it must fail, at least
    messages = ["train_mismatch", "hint.zero_grad"]  # catalog keys its feedback must contain
    replace = [["            optimizer.zero_grad()\\n", ""]]

A variant has ``name``, ``description``, ``replace`` and optionally ``advice`` (keys its feedback
must contain; advice never costs points).
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field

import nbformat

from grader.assignments import COURSE_DIR
from grader.errors import GraderError

MUTANTS_DIR = COURSE_DIR / "mutants"


@dataclass(frozen=True)
class Mutant:
    assignment: str
    name: str
    description: str
    replace: tuple[tuple[str, str], ...]
    tags: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    correct: bool = False  # a correct variant: full marks expected
    advice: tuple[str, ...] = field(default=())

    def notebook(self, reference: nbformat.NotebookNode) -> nbformat.NotebookNode:
        return apply_replacements(reference, self.replace, f"{self.assignment}:{self.name}")


def apply_replacements(reference: nbformat.NotebookNode, replacements, label: str = "") -> nbformat.NotebookNode:
    """A copy of ``reference`` with each ``old`` replaced by ``new``; ``old`` must occur exactly once
    in exactly one code cell, so that a mutant never silently stops applying when the reference
    is edited."""
    notebook = copy.deepcopy(reference)
    for old, new in replacements:
        hits = [cell for cell in notebook.cells if cell.cell_type == "code" and old in cell.source]
        if len(hits) != 1 or hits[0].source.count(old) != 1:
            raise GraderError(f"{label or 'replacement'}: the text to replace occurs "
                              f"{sum(c.source.count(old) for c in hits)} times in the reference, not once: "
                              f"{old[:80]!r}; update the mutant to the reference's current code")
        hits[0].source = hits[0].source.replace(old, new)
    return notebook


def load_mutants(assignment: str) -> list[Mutant]:
    return _load(assignment, f"{assignment}.toml", "mutant", correct=False)


def load_variants(assignment: str) -> list[Mutant]:
    return _load(assignment, f"{assignment}_correct_variants.toml", "variant", correct=True)


def _load(assignment: str, file_name: str, kind: str, correct: bool) -> list[Mutant]:
    path = MUTANTS_DIR / file_name
    if not path.exists():
        return []
    try:
        entries = tomllib.loads(path.read_text("utf-8")).get(kind, [])
    except tomllib.TOMLDecodeError as err:
        raise GraderError(f"{path}: not valid TOML: {err}") from None
    found, names = [], set()
    for entry in entries:
        try:
            mutant = Mutant(assignment, entry["name"], entry["description"],
                            tuple(tuple(pair) for pair in entry["replace"]), tuple(entry.get("tags", ())),
                            tuple(entry.get("checks", ())), tuple(entry.get("messages", ())), correct,
                            tuple(entry.get("advice", ())))
        except (KeyError, TypeError) as err:
            raise GraderError(f"{path}: a [[{kind}]] lacks or misshapes {err}; see grader/authoring/mutants.py") from None
        if mutant.name in names:
            raise GraderError(f"{path}: two [[{kind}]] entries are named {mutant.name!r}")
        if any(len(pair) != 2 for pair in mutant.replace):
            raise GraderError(f"{path}: {mutant.name}: each replace entry is [old, new]")
        names.add(mutant.name)
        found.append(mutant)
    return found
