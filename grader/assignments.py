"""The exercises this grader knows, and how a notebook is matched to one of them."""

from __future__ import annotations

import ast
import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import nbformat

from grader.errors import UnusableInput

if TYPE_CHECKING:
    from grader.trusted.judges import Judge

COURSE_OPTION = "pass --course DIR (the folder holding reference/) or set GRADER_COURSE"


def _holds_course(folder: Path) -> bool:
    # A TA's checkout has reference/; a student bundle has exercises/ and its precomputed answers.
    return (folder / "reference").is_dir() or (folder / "exercises").is_dir()


def find_course(explicit: Path | str | None = None) -> Path | None:
    """The course folder: ``explicit`` (``--course``), else ``$GRADER_COURSE`` (or the older
    ``$GRADER_COURSE_DIR``), else the checkout this package was imported from (an editable
    install, a student bundle), else the current folder if it holds ``reference/``."""
    named = explicit or os.environ.get("GRADER_COURSE") or os.environ.get("GRADER_COURSE_DIR")
    if named:
        return Path(named).resolve()
    checkout = Path(__file__).resolve().parents[1]
    if _holds_course(checkout):
        return checkout
    if (Path.cwd() / "reference").is_dir():
        return Path.cwd().resolve()
    return None


# Where reference/, exercises/ and mutants/ are. When no course is found it is the package's
# parent, where nothing is; grading then says which option names the course (require_course).
COURSE_DIR = find_course() or Path(__file__).resolve().parents[1]


def use_course(folder: Path) -> None:
    """Grade the course in ``folder`` (the ``--course`` option), here and in worker processes."""
    global COURSE_DIR
    if not (folder / "reference").is_dir() and not (folder / "exercises").is_dir():
        raise UnusableInput(f"--course {folder}: no reference/ or exercises/ folder there; {COURSE_OPTION}")
    COURSE_DIR = folder.resolve()
    os.environ["GRADER_COURSE"] = str(COURSE_DIR)


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    # Names a notebook of this assignment defines, used to recognise one without metadata.
    defines: tuple[str, ...]
    # Its judge, imported when first needed (judges import torch, which a plain CLI call must not).
    load_judge: Callable[[], "Judge"] = field(repr=False, compare=False)

    @property
    def judge(self) -> "Judge":
        return self.load_judge()

    @property
    def reference(self) -> Path:
        return COURSE_DIR / "reference" / f"{self.name}.ipynb"

    @property
    def exercise(self) -> Path:
        return COURSE_DIR / "exercises" / f"{self.name}.ipynb"


def _xor_judge() -> "Judge":
    from grader.trusted.judges.xor import JUDGE

    return JUDGE


def _backprop_judge() -> "Judge":
    from grader.trusted.judges.backprop import JUDGE

    return JUDGE


ASSIGNMENTS = {
    assignment.name: assignment
    for assignment in (
        Assignment(
            name="xor",
            title="XOR con PyTorch",
            defines=("XORDataset", "ClasificadorSimple", "train_model", "eval_model",
                     "visualize_samples"),
            load_judge=_xor_judge,
        ),
        Assignment(
            name="backprop",
            title="Backpropagation a mano",
            defines=("sigmoid", "sigmoid_prime", "mse_loss", "mse_loss_grad", "output_delta", "hidden_delta",
                     "layer_gradients", "backprop"),
            load_judge=_backprop_judge,
        ),
    )
}


def require_course(assignment: Assignment, precomputed: Path) -> None:
    """Refuse to grade without the assignment's reference notebook or its precomputed answers,
    naming the option that finds them."""
    if not assignment.reference.exists() and not precomputed.exists():
        raise UnusableInput(f"no course found for {assignment.name!r}: {assignment.reference} does not exist "
                            f"(looked in {COURSE_DIR}); {COURSE_OPTION}")


def get_assignment(name: str) -> Assignment:
    try:
        return ASSIGNMENTS[name]
    except KeyError:
        close = difflib.get_close_matches(name, ASSIGNMENTS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnusableInput(
            f"unknown assignment {name!r} (known: {', '.join(sorted(ASSIGNMENTS))}){hint}"
        ) from None


def recognise(notebook: nbformat.NotebookNode) -> Assignment:
    """The assignment named in the notebook's metadata, else the one whose names it defines."""
    stamped = notebook.metadata.get("grader", {}).get("assignment")
    if isinstance(stamped, str) and stamped in ASSIGNMENTS:
        return ASSIGNMENTS[stamped]
    defined = defined_names(notebook)
    scores = {a.name: len(defined & set(a.defines)) for a in ASSIGNMENTS.values()}
    best = max(scores, key=scores.get)
    if scores[best] == 0:
        raise UnusableInput(
            "cannot tell which exercise this notebook is (no grader metadata and none of the "
            "expected names defined); pass --assignment "
            + "|".join(sorted(ASSIGNMENTS))
        )
    return ASSIGNMENTS[best]


def defined_names(notebook: nbformat.NotebookNode) -> set[str]:
    names: set[str] = set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        # IPython magics and shell escapes are not Python; blank them so the rest still parses.
        source = "\n".join(
            "" if line.lstrip().startswith(("%", "!")) else line
            for line in cell.source.splitlines()
        )
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            # Not Python the grader can read (a null byte, a 100,000-term expression): the kernel
            # says what is wrong with it when the cell runs.
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names
