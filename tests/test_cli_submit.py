"""`grade submit` as a student meets it: exit codes, the terminal lines, Gradescope's results.json."""

from __future__ import annotations

import json

import nbformat
import pytest
from click.testing import CliRunner

from conftest import SEED, apply_replacements, load_cases
from gradescope_schema import assert_gradescope_file
from grader.cli import main
from grader.trusted.points import checks_of

pytestmark = pytest.mark.kernel


def test_submit_writes_results_json_and_exit_status(tmp_path, reference_xor):
    mutant = next(m for m in load_cases("xor.toml", "mutant") if m["name"] == "returns_percentage")
    path = tmp_path / "mi_cuaderno.ipynb"
    nbformat.write(apply_replacements(reference_xor, mutant["replace"]), path)
    out = tmp_path / "results.json"
    result = CliRunner().invoke(main, ["submit", str(path), "--seed", str(SEED), "--json", str(out),
                                       "--lang", "en", "--md", str(tmp_path / "feedback.md")])
    assert result.exit_code == 1, result.output
    assert "\x1b[" not in result.stdout  # colour only on a terminal
    lines = result.stdout.splitlines()
    report = tmp_path / "mi_cuaderno.feedback.html"
    assert lines[-2:] == [f"Report: {report}", f"Report: {tmp_path / 'feedback.md'}"]
    assert lines[-3].startswith("Total: 92/100")
    page = report.read_text("utf-8")
    assert "92/100" in page and "not the percentage" in page and page.count("data:image/png;base64,") == 2
    assert (tmp_path / "feedback.md").read_text("utf-8").startswith("## Feedback: xor — 92/100")
    assert any(line.startswith("fail") and "eval_model: returns the accuracy" in line for line in lines)
    results = assert_gradescope_file(out)
    assert results["score"] == 92 and results["extra_data"]["max_score"] == 100
    specs = checks_of("xor")
    assert [t["tags"][0] for t in results["tests"]] == [s.tag for s in specs]
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert [t["tags"][0] for t in failed] == ["eval_model"]
    assert "not the percentage" in failed[0]["output"]
    assert failed[0]["visibility"] == "visible" and failed[0]["extra_data"]["hints"] == ["hint.percentage"]
    assert f"--seed {SEED}" in results["output"]


def test_no_report_writes_no_report_and_colour_follows_force_color(tmp_path, reference):
    # backprop's reference: full marks as xor's, in about two thirds of the time (no XOR training).
    path = tmp_path / "entrega.ipynb"
    nbformat.write(reference("backprop"), path)
    result = CliRunner(env={"FORCE_COLOR": "1"}).invoke(main, ["submit", str(path), "--seed", str(SEED),
                                                              "--no-report"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "entrega.feedback.html").exists()
    assert "\x1b[" in result.stdout and "Informe" not in result.stdout
