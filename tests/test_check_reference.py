"""`grade check-reference` in real kernels, on one mutant: it passes when the mutant loses points
where it says, prints the matrix, and fails (exit 1, saying how) when the mutant's claim is wrong.
CI runs it on everything (see .ci/run)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from grader.authoring import mutants
from grader.cli import main

pytestmark = pytest.mark.kernel
SIGMOID_FLIPPED = '''
[[mutant]]
name = "sigmoid_sign_flipped"
description = "sigmoid with e^(+z)"
tags = [{tags}]
checks = ["sigmoid_matches_reference"]
messages = ["hint.sigmoid_sign"]
replace = [["return 1.0 / (1.0 + torch.exp(-z))", "return 1.0 / (1.0 + torch.exp(z))"]]
'''


@pytest.mark.parametrize("claimed,exit_code", [('"sigmoid"', 0), ('"mse_loss"', 1)])
def test_check_reference_holds_a_mutant_to_its_claim(tmp_path, monkeypatch, claimed, exit_code):
    (tmp_path / "backprop.toml").write_text(SIGMOID_FLIPPED.format(tags=claimed), "utf-8")
    monkeypatch.setattr(mutants, "MUTANTS_DIR", tmp_path)
    run = CliRunner().invoke(main, ["check-reference", "--only", "backprop:sigmoid_*"])
    assert run.exit_code == exit_code, run.output
    assert "backprop:sigmoid_sign_flipped: " + ("ok" if exit_code == 0 else "FAIL") in run.output
    row = next(line for line in run.output.splitlines() if "sigmoid_sign_flipped" in line and "✗" in line)
    assert row.count("✗") == 1 and ("FAIL" in row) == bool(exit_code)  # its row of the matrix
    if exit_code:
        assert "lost points also in ['sigmoid']; not in ['mse_loss']" in run.output
        assert "\n1 cases, 1 deviating (" in run.output
