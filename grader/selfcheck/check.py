"""``check("train_model")``, ``check()``: the parts of an exercise judged as ``grade submit`` judges
them, shown in the notebook.

Which probes run: every probe of the assignment, except the expensive ones (``TRAINING``) whose
part was not asked for; a probe not run is given to the judge as ``grade submit`` gives it a probe
that could not run. Only the checks of the parts asked for are shown, so a part's verdicts are
the full judge's verdicts on the same records (a test compares them with ``grade submit``).
"""

from __future__ import annotations

import difflib
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import __version__
from grader.assignments import ASSIGNMENTS
from grader.trusted import precomputed
from grader.trusted.artifacts import Artifact
from grader.trusted.points import checks_of
from grader.trusted.results import GradeResult

# Probes that train a model, by assignment: run only when their part is checked. The rest take
# well under a second together.
TRAINING = {"xor": {"end_to_end": "end_to_end"}, "backprop": {"backprop_training": "backprop_training"}}
# Set in the kernels grade submit runs (grader.untrusted.runner): there check() does nothing.
GRADING_ENV = "GRADER_GRADING"


@dataclass
class SelfCheck:
    """What ``check()`` found: the result in grade submit's shape, for the parts asked for."""

    result: GradeResult
    parts: tuple[str, ...]
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # [selfcheck] catalog keys
    training_seconds: float | None = None


class CheckRequestError(ValueError):
    """check() was asked for something it cannot do; ``key`` and ``params`` name the sentence."""

    def __init__(self, key: str, **params: Any):
        super().__init__(key)
        self.key, self.params = key, params


def parts_of(assignment: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(spec.tag for spec in checks_of(assignment)))


def _choose(parts: tuple[str, ...], namespace: dict[str, Any], assignment: str | None) -> tuple[str, tuple[str, ...]]:
    if assignment is None:
        owners = {a for a in ASSIGNMENTS for p in parts if p in parts_of(a) or p in _check_names(a)}
        if len(owners) == 1:
            assignment = owners.pop()
        elif parts:
            known = [p for a in sorted(ASSIGNMENTS) for p in parts_of(a)]
            unknown = next(p for p in parts if not any(p in parts_of(a) or p in _check_names(a) for a in ASSIGNMENTS))
            close = difflib.get_close_matches(unknown, known, n=1)
            raise CheckRequestError("unknown_part", name=unknown, suggestion=close[0] if close else "",
                                    parts=", ".join(known))
        else:
            defined = {a: sum(n in namespace for n in ASSIGNMENTS[a].defines) for a in ASSIGNMENTS}
            assignment = max(sorted(defined), key=defined.get)
            if defined[assignment] == 0:
                raise CheckRequestError("no_assignment", names=", ".join(
                    n for a in sorted(ASSIGNMENTS) for n in ASSIGNMENTS[a].defines[:2]))
    if assignment not in ASSIGNMENTS:
        raise CheckRequestError("unknown_part", name=assignment, suggestion="", parts=", ".join(sorted(ASSIGNMENTS)))
    tags = []
    for part in parts or parts_of(assignment):
        if part in parts_of(assignment):
            tags.append(part)
        elif part in _check_names(assignment):
            tags.append(next(s.tag for s in checks_of(assignment) if s.name == part))
        else:
            close = difflib.get_close_matches(part, parts_of(assignment), n=1)
            raise CheckRequestError("unknown_part", name=part, suggestion=close[0] if close else "",
                                    parts=", ".join(parts_of(assignment)))
    return assignment, tuple(dict.fromkeys(tags))


def _check_names(assignment: str) -> set[str]:
    return {spec.name for spec in checks_of(assignment)}


def _device(namespace: dict[str, Any]) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """Where the end-to-end training runs: on the notebook's own ``device`` where this machine has
    it (Colab's GPU runtime: cuda), else where grade submit's ``--device auto`` would."""
    import torch

    available = "cuda" if torch.cuda.is_available() else "cpu"
    wanted = namespace.get("device")
    if wanted is None:
        return available, []
    try:
        wanted = torch.device(wanted)
    except (TypeError, RuntimeError, ValueError):
        return available, []
    if wanted.type == "cpu" or (wanted.type == "cuda" and torch.cuda.is_available()):
        return str(wanted), []
    return "cpu", [("device_fallback", {"device": str(wanted)})]


def run_checks(*parts: str, namespace: dict[str, Any] | None = None, seed: int | None = None,
               assignment: str | None = None) -> SelfCheck:
    """Judge ``parts`` (graded objects such as ``"train_model"``, or check names; all when none)
    of the notebook whose globals are ``namespace`` (the caller's when not given)."""
    from grader.grading import scored_checks
    from grader.selfcheck import answers
    from grader.selfcheck.in_kernel import run_probes

    started = time.monotonic()
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    assignment, tags = _choose(tuple(parts), namespace, assignment)
    seed = precomputed.seed_for(precomputed.SEEDS[0] if seed is None else int(seed))
    device, notes = _device(namespace)
    inputs, hidden, expected = answers.load(assignment, seed)
    inputs = dict(inputs, device=device)
    # What the judges read of the code itself (autograd used): here, the cells this kernel ran, as
    # IPython keeps them; grade submit reads the notebook's cells.
    history = namespace.get("In")
    hidden = dict(hidden, notebook_code=[str(c) for c in history if isinstance(c, str)]
                  if isinstance(history, list) else [])
    judge = ASSIGNMENTS[assignment].judge
    skipped = {probe for probe, tag in TRAINING[assignment].items() if tag not in tags}
    with tempfile.TemporaryDirectory(prefix="grader-check-") as folder:
        ran, seconds = run_probes(assignment, [p for p in judge.probes if p not in skipped], namespace, inputs,
                                  Path(folder))
        artifacts = {p: ran.get(p) or Artifact(p, problem="not_run") for p in judge.probes}
        # In the student's kernel a frame's execution count is what Jupyter shows as [N] beside its cell.
        verdicts = judge.judge(artifacts, inputs, hidden, expected, lambda count: count - 1)
    checks = [c for c in scored_checks(assignment, verdicts) if c.tag in tags]
    if any(m.key == "at_line" for c in checks if not c.passed for m in c.messages):
        notes.append(("cells", {}))
    result = GradeResult(assignment=assignment, notebook="", score=sum(c.score for c in checks),
                         max_score=sum(c.max_score for c in checks), checks=checks, notes=[], seed=seed,
                         device=device, seconds=time.monotonic() - started, grader_version=__version__,
                         isolation="none")
    training = [seconds[p] for p in TRAINING[assignment] if p in seconds]
    return SelfCheck(result, tags, notes, training[0] if training else None)


def check(*parts: str, lang: str = "es", seed: int | None = None, assignment: str | None = None) -> None:
    """Check parts of this notebook as ``grade submit`` would, and show the result here.

    ``check("XORDataset")``, ``check("train_model", "eval_model")``, or ``check()`` for every part;
    ``lang="en"`` for English. The inputs are the student bundle's for ``seed`` (its first one
    unless told), so ``grade submit NOTEBOOK --seed S`` gives these same results.
    """
    from grader.reports.catalog import catalog
    from grader.selfcheck import display

    messages = catalog(lang)
    if os.environ.get(GRADING_ENV):
        display.show_line(messages.text("selfcheck.while_grading"))
        return None
    try:
        found = run_checks(*parts, namespace=sys._getframe(1).f_globals, seed=seed, assignment=assignment)
    except CheckRequestError as err:
        display.show_line(display.request_text(err, messages))
        return None
    display.show(found, messages)
    return None
