"""``grade check-reference``: the grader proves it grades what it claims to. Every reference notebook
must get full marks on several seeds, every exercise skeleton 0, every mutant must lose points in
exactly its tags (failing the checks it names, with the hint it names in its feedback), and every
correct variant full marks. Each check of each assignment must be failed by some mutant."""

from __future__ import annotations

import copy
import fnmatch
import functools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import nbformat

from grader import __version__, assignments
from grader.assignments import ASSIGNMENTS
from grader.authoring.mutants import Mutant, load_mutants, load_variants
from grader.trusted.points import checks_of
from grader.trusted.recorded import RecordedRun, load_run
from grader.trusted.results import GradeResult
from grader.workers import as_finished

SEED = 1234  # mutants, variants and skeletons; references also get REFERENCE_SEEDS
REFERENCE_SEEDS = (1234, 1, 2)


def recorded_folder() -> Path:
    """Where --record keeps each case's artifacts, for the kernel-free tests (tests/test_recorded_cases.py)."""
    return assignments.COURSE_DIR / "tests" / "artifacts"


@dataclass(frozen=True)
class Case:
    assignment: str
    kind: str  # "reference", "skeleton", "mutant" or "variant"
    name: str
    seed: int
    mutant: Mutant | None = None
    script: bool = False  # graded as a Jupytext percent script (.py) instead of a notebook

    @property
    def folder(self) -> str:
        """The name of its folder of recorded artifacts (grade check-reference --record)."""
        return f"reference-seed{self.seed}" if self.kind == "reference" else self.name

    @property
    def label(self) -> str:
        return (f"{self.assignment}:{self.name}" + (f" (seed {self.seed})" if self.kind == "reference" else "")
                + (" (.py)" if self.script else ""))


@dataclass
class Finding:
    case: Case
    score: float = 0.0
    max_score: float = 0.0
    lost: tuple[str, ...] = ()  # tags that lost points
    failed: tuple[str, ...] = ()  # checks that failed
    problems: list[str] = field(default_factory=list)  # deviations from what the case expects
    seconds: float = 0.0
    hints_named: tuple[str, ...] = ()  # the hint keys its feedback gave
    hints_claimed: tuple[str, ...] = ()  # the hint keys the case says it must give
    scores: tuple[tuple[str, float], ...] = ()  # each check's points, in the order of points.py


@dataclass(frozen=True)
class HintScores:
    """How well the hints name mistakes over a run: of the hints given, how many were claimed by
    the case (precision); of the hints claimed, how many were given (recall)."""

    right: int
    named: int
    claimed: int

    @property
    def precision(self) -> float:
        return self.right / self.named if self.named else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.claimed if self.claimed else 1.0


def hint_scores(findings: list[Finding]) -> HintScores:
    right = sum(len(set(f.hints_named) & set(f.hints_claimed)) for f in findings)
    return HintScores(right, sum(len(set(f.hints_named)) for f in findings),
                      sum(len(set(f.hints_claimed)) for f in findings))


def findings_data(findings: list[Finding]) -> list[dict]:
    """Each case's finding as plain data, in the order of the cases' labels (--json)."""
    return [{"case": f.case.label, "score": f.score, "max_score": f.max_score, "checks": dict(f.scores),
             "lost": sorted(f.lost), "failed": sorted(f.failed), "hints": list(f.hints_named),
             "problems": f.problems} for f in sorted(findings, key=lambda f: f.case.label)]


def claimed_hints(case: Case) -> set[str]:
    """The hints a case's feedback must give, and the only ones it may give: a mutant's, a
    variant's advice, the skeleton's "not implemented"; none on the reference."""
    if case.kind == "skeleton":
        return {"hint.not_implemented"}
    if case.mutant is None:
        return set()
    keys = case.mutant.advice if case.mutant.correct else case.mutant.messages
    return {key for key in keys if key.startswith("hint.")}


def cases(only: str | None = None, seeds: int = len(REFERENCE_SEEDS)) -> list[Case]:
    """Every case, or those whose ``assignment:name`` matches the shell pattern ``only``."""
    found = []
    for assignment in sorted(ASSIGNMENTS):
        found += [Case(assignment, "reference", "reference", s) for s in REFERENCE_SEEDS[:seeds]]
        found.append(Case(assignment, "skeleton", "skeleton", SEED))
        found += [Case(assignment, "mutant", m.name, SEED, m) for m in load_mutants(assignment)]
        found += [Case(assignment, "variant", v.name, SEED, v) for v in load_variants(assignment)]
    if only:
        found = [c for c in found if fnmatch.fnmatchcase(f"{c.assignment}:{c.name}", only)
                 or fnmatch.fnmatchcase(c.assignment, only)]
    return found


def coverage_problems(assignment: str) -> list[str]:
    """Checks no mutant claims to fail, and tags or checks a mutant names that do not exist."""
    specs = checks_of(assignment)
    tags, names = {s.tag for s in specs}, {s.name for s in specs}
    problems, caught = [], set()
    for mutant in load_mutants(assignment):
        caught.update(mutant.checks)
        unknown = (set(mutant.tags) - tags) | (set(mutant.checks) - names)
        if unknown:
            problems.append(f"{assignment}:{mutant.name} names unknown tags or checks: {sorted(unknown)}")
        if not mutant.tags or not mutant.checks:
            problems.append(f"{assignment}:{mutant.name} must name the tags it costs and the checks it fails")
    for name in sorted(names - caught):
        problems.append(f"{assignment}: no mutant fails the check {name}; add one to mutants/{assignment}.toml")
    return problems + _table_coverage_problems(assignment)


def _table_coverage_problems(assignment: str) -> list[str]:
    """Each known mistake of the judge's table must be shown by a mutant of its object whose
    feedback names it, so that check-reference proves the hint fires (and nowhere else)."""
    table = ASSIGNMENTS[assignment].judge.mistakes
    shown = {(tag, key) for m in load_mutants(assignment) for tag in m.tags for key in m.messages}
    return [f"{assignment}: no mutant of {tag} names {hint}, a known mistake of the judge's table; "
            f"add one to mutants/{assignment}.toml"
            for tag, hint in sorted({(judged.split(".")[0], hint) for judged, hint in table.hints()})
            if (tag, hint) not in shown]


# How long a case's grading runs, roughly, by kind: a reference or a correct variant runs every
# probe to the end, the training too; a mutant mostly as long; a skeleton stops at the first
# NotImplementedError of each probe. Only the order of these matters (longest_first).
RELATIVE_COST = {"reference": 2, "variant": 2, "mutant": 1, "skeleton": 0}


def longest_first(chosen: list[Case]) -> list[Case]:
    """The cases in the order they are handed to the jobs: the longest first, so that the last
    ones to start are short and the jobs end close together instead of one job grading a long
    case alone at the end. Findings are reported sorted by label whatever the order."""
    return sorted(chosen, key=lambda case: -RELATIVE_COST[case.kind])


def run_cases(chosen: list[Case], jobs: int, record: Path | None = None) -> Iterator[Finding]:
    """Findings as cases finish, ``jobs`` at a time, each in its own kernel, longest first; with
    ``record``, each case's artifacts are kept in ``record/<assignment>/<case.folder>``."""
    return as_finished(functools.partial(judge_case, record=record), longest_first(chosen), jobs)


def clear_recorded(chosen: list[Case]) -> None:
    """Before recording every case of these assignments: no folder of a case that is gone stays."""
    import shutil

    for assignment in sorted({case.assignment for case in chosen}):
        shutil.rmtree(recorded_folder() / assignment, ignore_errors=True)


def share_recorded(chosen: list[Case]) -> None:
    """After recording: what a case recorded exactly as the reference with its seed is kept once."""
    from grader.trusted.recorded import share_identical

    for case in chosen:
        like = recorded_folder() / case.assignment / f"reference-seed{case.seed}"
        kept = recorded_folder() / case.assignment / case.folder
        if case.kind != "reference" and like.is_dir() and kept.is_dir():
            share_identical(kept, like)


def case_notebook(case: Case) -> nbformat.NotebookNode:
    """The notebook a case grades: the skeleton, the reference, or the reference changed by a mutant."""
    assignment = ASSIGNMENTS[case.assignment]
    if case.kind == "skeleton":
        return nbformat.read(assignment.exercise, as_version=4)
    notebook = nbformat.read(assignment.reference, as_version=4)
    return case.mutant.notebook(notebook) if case.mutant is not None else notebook


def judge_case(case: Case, record: Path | None = None) -> Finding:
    from grader.grading import grade_notebook

    notebook = case_notebook(case)
    kept = record / case.assignment / case.folder if record is not None else None
    with tempfile.TemporaryDirectory(prefix="check-reference-") as tmp:
        path = Path(tmp) / f"{case.assignment}.{'py' if case.script else 'ipynb'}"
        if case.script:
            import jupytext

            jupytext.write(notebook, path, fmt="py:percent")
        else:
            nbformat.write(notebook, path)
        result = grade_notebook(path, seed=case.seed, record=kept)
    return finding_of(case, result)


@functools.lru_cache(maxsize=None)
def prepared_for(assignment: str, seed: int):
    """The inputs and answers of ``grade submit --seed seed`` on the CPU, with its thread count."""
    import torch

    from grader.trusted.judges import prepare
    from grader.untrusted.runner import Limits

    torch.set_num_threads(Limits().torch_threads)
    return prepare(ASSIGNMENTS[assignment], seed, "cpu")


def recorded_case(assignment: str, folder: str) -> Case:
    """The case whose artifacts are recorded in ``recorded_folder()/assignment/folder``."""
    return next(case for case in cases(f"{assignment}:*") if case.assignment == assignment and case.folder == folder)


def rejudged(case: Case, run: RecordedRun | None = None) -> GradeResult:
    """``case`` judged in this process on the artifacts a kernel recorded for it (``run``, else
    its recorded folder): the same judge, inputs and answers as ``grade submit``, the run's notes
    as they were recorded."""
    from grader.grading import scored_checks

    if run is None:
        run = load_run(recorded_folder() / case.assignment / case.folder)
    prepared = copy.deepcopy(prepared_for(case.assignment, run.seed))
    prepared.hidden["notebook_code"] = [cell.source for cell in case_notebook(case).cells if cell.cell_type == "code"]
    verdicts = prepared.judge.judge(run.artifacts, prepared.inputs, prepared.hidden, prepared.answers, run.cell_of)
    checks = scored_checks(case.assignment, verdicts)
    return GradeResult(case.assignment, f"{case.assignment}.ipynb", sum(c.score for c in checks),
                       sum(c.max_score for c in checks), checks, run.notes, run.seed, prepared.device, 0.0,
                       __version__)


def rejudge(case: Case, run: RecordedRun | None = None) -> Finding:
    """What ``rejudged`` shows against what the case claims."""
    return finding_of(case, rejudged(case, run))


def finding_of(case: Case, result: GradeResult) -> Finding:
    """What a grading of ``case`` shows against what the case claims."""
    lost = tuple(tag for tag, (got, out_of) in result.tag_scores().items() if got < out_of)
    failed = tuple(c.name for c in result.checks if not c.passed)
    keys = {m.key for c in result.checks for m in c.messages + c.advice} | {n.key for n in result.notes}
    finding = Finding(case, result.score, result.max_score, lost, failed, seconds=result.seconds,
                      hints_named=tuple(sorted(k for k in keys if k.startswith("hint."))),
                      hints_claimed=tuple(sorted(claimed_hints(case))),
                      scores=tuple((c.name, c.score) for c in result.checks))
    finding.problems = _problems(case, result, lost, failed, keys)
    return finding


def _problems(case: Case, result, lost, failed, keys) -> list[str]:
    problems = []
    if case.kind in ("reference", "variant"):
        if failed:
            problems.append(f"expected full marks, got {result.score:g}/{result.max_score:g}; failed: {', '.join(failed)}")
        if case.kind == "reference" and result.notes:
            problems.append(f"notes on the reference: {', '.join(n.key for n in result.notes)}")
        if case.kind == "reference" and any(c.advice for c in result.checks):
            problems.append("advice on the reference")
    if case.kind == "skeleton":
        if result.score != 0:
            problems.append(f"the untouched skeleton got {result.score:g} points, expected 0")
        if "hint.not_implemented" not in keys:
            problems.append("the skeleton's feedback does not say what is still NotImplementedError")
    mutant = case.mutant
    if mutant is not None and not mutant.correct:
        if set(lost) != set(mutant.tags):
            extra, kept = sorted(set(lost) - set(mutant.tags)), sorted(set(mutant.tags) - set(lost))
            problems.append("lost points " + "; ".join(
                part for part in (f"also in {extra}" if extra else "", f"not in {kept}" if kept else "") if part))
        if set(mutant.checks) - set(failed):
            problems.append(f"passed checks it must fail: {sorted(set(mutant.checks) - set(failed))}")
    expected_keys = set(mutant.advice if mutant and mutant.correct else mutant.messages if mutant else ())
    if expected_keys - keys:
        problems.append(f"feedback lacks {sorted(expected_keys - keys)}")
    unclaimed = sorted(k for k in keys if k.startswith("hint.") and k not in claimed_hints(case))
    if unclaimed:
        problems.append(f"names mistakes it does not claim: {unclaimed}")
    return problems
