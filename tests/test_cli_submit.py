"""`grade submit` as a student meets it: exit codes, the terminal lines, Gradescope's results.json."""

from __future__ import annotations

import json

import nbformat
import pytest
from click.testing import CliRunner

from conftest import SEED, apply_replacements, load_cases
from grader.cli import main
from grader.trusted.points import checks_of

pytestmark = pytest.mark.kernel


def test_submit_writes_results_json_and_exit_status(tmp_path, reference_xor):
    mutant = next(m for m in load_cases("xor.toml", "mutant") if m["name"] == "returns_percentage")
    path = tmp_path / "mi_cuaderno.ipynb"
    nbformat.write(apply_replacements(reference_xor, mutant["replace"]), path)
    out = tmp_path / "results.json"
    result = CliRunner().invoke(main, ["submit", str(path), "--seed", str(SEED), "--json", str(out),
                                       "--lang", "en"])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("Total: 92/100")
    assert any(line.startswith("fail") and "eval_model: returns the accuracy" in line for line in lines)
    results = json.loads(out.read_text("utf-8"))
    assert results["score"] == 92 and results["max_score"] == 100
    specs = checks_of("xor")
    assert [t["tags"][0] for t in results["tests"]] == [s.tag for s in specs]
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert [t["tags"][0] for t in failed] == ["eval_model"]
    assert "not the percentage" in failed[0]["output"]
    assert {"name", "number", "score", "max_score", "status", "output", "tags"} <= set(failed[0])
    assert f"--seed {SEED}" in results["output"]
