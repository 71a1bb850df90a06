"""The judges, without kernels, on the artifacts real kernels left for every case of
``grade check-reference`` (recorded by ``grade check-reference --record`` in tests/artifacts/):
each reference gets full marks, each skeleton 0, each mutant loses points in exactly its tags,
fails the checks and names the hints mutants/*.toml declares, each correct variant full marks.
The contract's invariants are checked the same way. check-reference itself stays the end-to-end
proof; these tests make changing a judge a loop of seconds.

After changing a probe, a mutant or the reference notebooks, record again:
``grade check-reference -j 2 --record``.
"""

from __future__ import annotations

import ast
import builtins
import dis
import hashlib
import importlib.util
import json
import types

import pytest

from gradescope_schema import assert_gradescope_results
from grader.assignments import ASSIGNMENTS
from grader.authoring.check import (SEED, case_notebook, cases, prepared_for, recorded_case, recorded_folder, rejudge,
                                    rejudged)
from grader.notebook_file import code_digest
from grader.reports.catalog import catalog
from grader.reports.gradescope import results_json
from grader.trusted.artifacts import Artifact
from grader.selfcheck.cells import without_checks
from grader.trusted.points import checks_of
from grader.trusted.recorded import load_run
from grader.untrusted.probes import bundle_modules, in_process_keeper, probe_source

RECORDED = recorded_folder()
CASES = {(case.assignment, case.folder): case for case in cases()}


def _recorded() -> list[tuple[str, str]]:
    return sorted((folder.parent.name, folder.name) for folder in RECORDED.glob("*/*") if folder.is_dir())


def test_every_case_of_check_reference_is_recorded():
    assert sorted(CASES) == _recorded(), "record again: grade check-reference -j 2 --record"


@pytest.mark.parametrize("assignment,folder", _recorded(), ids=lambda v: v)
def test_recorded_case_was_recorded_from_the_notebook_and_probes_of_today(assignment, folder):
    case, run = CASES[assignment, folder], load_run(RECORDED / assignment / folder)
    assert run.made_from == {"notebook": code_digest(without_checks(case_notebook(case))).hex(),
                             "probes": hashlib.sha256(probe_source(assignment).encode()).hexdigest()}, \
        "the notebook or the probes changed since: record again (grade check-reference -j 2 --record)"


@pytest.mark.parametrize("assignment,folder", _recorded(), ids=lambda v: v)
def test_recorded_case_is_judged_as_its_claim(assignment, folder):
    case = CASES[assignment, folder]
    finding = rejudge(case)
    assert finding.problems == []
    assert [name for name, _ in finding.scores] == [spec.name for spec in checks_of(assignment)]
    if case.kind in ("reference", "variant"):
        assert finding.score == finding.max_score > 0
    if case.kind == "skeleton":
        assert finding.score == 0


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_with_every_artifact_missing_each_check_of_points_fails(assignment):
    judge = ASSIGNMENTS[assignment].judge
    prepared = prepared_for(assignment, SEED)
    artifacts = {name: Artifact(name, problem="missing") for name in judge.probes}
    verdicts = judge.judge(artifacts, prepared.inputs, dict(prepared.hidden, notebook_code=[]), prepared.answers,
                           lambda count: None)
    assert [v.name for v in verdicts] == [spec.name for spec in checks_of(assignment)]
    assert not any(v.passed for v in verdicts)
    assert all(m.key == "probe_missing" for v in verdicts for m in v.messages[:1])


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_the_judge_names_the_probes_the_kernel_defines(assignment):
    """The kernel's probe bundle, run here by the keeper's own loader, defines exactly the judge's
    probes, in its order; the module the grader's process imports defines the same."""
    entry = in_process_keeper()["_probe_modules"](json.loads(probe_source(assignment)))
    assert ASSIGNMENTS[assignment].judge.probes == tuple(entry.PROBES)
    assert tuple(importlib.import_module(bundle_modules(assignment)[-1]).PROBES) == tuple(entry.PROBES)


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_a_probe_module_imports_only_the_modules_before_it_in_its_bundle(assignment):
    """Each probe file names what it takes from the others (``from <module> import <names>``, the
    only form the keeper's loader answers); none of the grader's other modules, which the
    student's kernel does not have."""
    modules = bundle_modules(assignment)
    for index, module in enumerate(modules):
        tree = ast.parse(importlib.util.find_spec(module).loader.get_source(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not any(alias.name.split(".")[0] == "grader" for alias in node.names), module
            elif isinstance(node, ast.ImportFrom) and (node.level or node.module.split(".")[0] == "grader"):
                assert node.level == 0 and node.module in modules[:index], (module, node.module)


def _global_loads(code: types.CodeType):
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            yield instruction.argval
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _global_loads(constant)


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_a_probe_module_uses_no_global_it_does_not_define_or_import(assignment):
    """No probe file leans on a name another file of its bundle defines (they used to be run as one
    text): every global a module reads is its own, imported, or a builtin."""
    for module in bundle_modules(assignment):
        code = compile(importlib.util.find_spec(module).loader.get_source(module), module, "exec")
        defined = {i.argval for i in dis.get_instructions(code) if i.opname in ("STORE_NAME", "STORE_GLOBAL")}
        assert set(_global_loads(code)) - defined - set(vars(builtins)) - {"__name__"} == set(), module


def test_a_mistake_costs_points_in_its_gradescope_tests_with_markdown_feedback():
    """The Gradescope file of a mutant's grading (the autograder's own run is proven on the
    reference, tests/test_gradescope_autograder.py)."""
    case = recorded_case("backprop", "sigmoid_sign_flipped")
    results = assert_gradescope_results(results_json(rejudged(case), catalog("es")))
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert {t["tags"][0] for t in failed} == set(case.mutant.tags)
    assert {t["extra_data"]["check"] for t in failed} >= set(case.mutant.checks)
    sigmoid = next(t for t in failed if t["extra_data"]["check"] == "sigmoid_matches_reference")
    assert sigmoid["score"] == 0 and "hint.sigmoid_sign" in sigmoid["extra_data"]["hints"]
    assert "`" in sigmoid["output"] and "\n\n" in sigmoid["output"]  # Markdown: code spans, paragraphs
    assert results["score"] == 100 - sum(t["max_score"] for t in failed)
