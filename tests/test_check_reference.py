"""`grade check-reference` in a real kernel, on one mutant: it passes when the mutant loses points
where it says and prints the matrix. That it fails, saying how, when a mutant's claim is wrong is
shown without a kernel, on the artifacts check-reference recorded for that mutant (tests/artifacts/).
CI runs it on everything (see .ci/run)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from rich.console import Console
from click.testing import CliRunner

from grader.authoring import check, mutants
from grader.authoring.check import recorded_case, rejudge
from grader.cli import main
from grader.notebook_file import code_digest
from grader.reports.check_matrix import matrix_tables, problem_lines, summary_line
from grader.selfcheck.cells import without_checks
from grader.trusted.recorded import load_run

SIGMOID_FLIPPED = '''
[[mutant]]
name = "sigmoid_sign_flipped"
description = "sigmoid with e^(+z)"
tags = [{tags}]
checks = ["sigmoid_matches_reference"]
messages = ["hint.sigmoid_sign"]
replace = [["return 1.0 / (1.0 + torch.exp(-z))", "return 1.0 / (1.0 + torch.exp(z))"]]
'''


@pytest.mark.kernel
def test_check_reference_holds_a_mutant_to_its_claim_and_records_its_artifacts(tmp_path, monkeypatch):
    (tmp_path / "backprop.toml").write_text(SIGMOID_FLIPPED.format(tags='"sigmoid"'), "utf-8")
    monkeypatch.setattr(mutants, "MUTANTS_DIR", tmp_path)
    monkeypatch.setattr(check, "recorded_folder", lambda: tmp_path / "artifacts")
    run = CliRunner().invoke(main, ["check-reference", "--only", "backprop:sigmoid_*", "--record",
                                    "--json", str(tmp_path / "findings.json")])
    assert run.exit_code == 0, run.output
    assert "backprop:sigmoid_sign_flipped: ok" in run.output
    row = next(line for line in run.output.splitlines() if "sigmoid_sign_flipped" in line and "✗" in line)
    assert row.count("✗") == 1 and "FAIL" not in row  # its row of the matrix
    [found] = json.loads((tmp_path / "findings.json").read_text("utf-8"))
    assert found["case"] == "backprop:sigmoid_sign_flipped" and found["lost"] == ["sigmoid"]
    assert found["checks"]["sigmoid_matches_reference"] == 0 and found["problems"] == []
    # What it recorded judges here as it did in the kernel's grading.
    case = next(c for c in check.cases("backprop:sigmoid_*"))
    run = load_run(tmp_path / "artifacts" / "backprop" / "sigmoid_sign_flipped")
    assert run.made_from["notebook"] == code_digest(without_checks(check.case_notebook(case))).hex()
    again = check.rejudge(case, run)
    assert (again.score, sorted(again.lost), sorted(again.failed), list(again.hints_named)) == \
        (found["score"], found["lost"], found["failed"], found["hints"])


def test_a_mutant_that_loses_points_elsewhere_than_it_claims_deviates_and_says_how():
    case = recorded_case("backprop", "sigmoid_sign_flipped")
    wrong = dataclasses.replace(case, mutant=dataclasses.replace(case.mutant, tags=("mse_loss",)))
    findings = [rejudge(wrong)]
    assert findings[0].problems == ["lost points also in ['sigmoid']; not in ['mse_loss']"]
    assert [line.plain for line in problem_lines(findings, [])] == \
        ["backprop:sigmoid_sign_flipped: lost points also in ['sigmoid']; not in ['mse_loss']"]
    assert summary_line(findings, [], 1.0).startswith("1 cases, 1 deviating (")
    console = Console(width=132, record=True)
    for table in matrix_tables(findings):
        console.print(table)
    row = next(line for line in console.export_text().splitlines() if "sigmoid_sign_flipped" in line)
    assert row.count("✗") == 1 and "FAIL" in row


def test_the_jobs_get_every_case_once_the_long_ones_first_and_the_skeletons_last():
    # -j 2 ends together when the cases started last are short: a skeleton stops at its first
    # NotImplementedError, while a reference or a correct variant trains to the end.
    every = check.cases()
    handed = check.longest_first(every)
    assert sorted(c.label for c in handed) == sorted(c.label for c in every)
    skeletons = sum(c.kind == "skeleton" for c in every)
    assert skeletons and {c.kind for c in handed[-skeletons:]} == {"skeleton"}
    firsts = handed[:sum(c.kind in ("reference", "variant") for c in every)]
    assert {c.kind for c in firsts} == {"reference", "variant"}
