"""The grader's own cells, built from their source files without kernels: the values a cell needs
become literals of its lambda's defaults and nothing else; and every limit says what it bounds."""

from __future__ import annotations

import ast
from dataclasses import fields

from grader.untrusted.kernel_cells import preamble_cell, probe_cell
from grader.untrusted.limits import Limits, help_of


def _lambda_defaults(source: str) -> list:
    lambdas = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Lambda)]
    assert len(lambdas) == 1
    return [ast.literal_eval(default) for default in lambdas[0].args.defaults]


def test_probe_cell_names_its_probe_only_in_the_lambdas_default():
    cell = probe_cell("_grader_ab", "sigmoid", "probe-1", "probes-2.py", True)
    assert _lambda_defaults(cell) == [("_grader_ab", "sigmoid", "probe-1", "probes-2.py", True)]
    names = {node.id for node in ast.walk(ast.parse(cell)) if isinstance(node, ast.Name)}
    assert names == set()  # it looks up no name the notebook could have bound


def test_probe_cell_values_stay_data_whatever_they_contain():
    hostile = "x'); import os; os.system('true'); ('"
    assert _lambda_defaults(probe_cell(hostile, hostile, hostile, hostile, False)) == [(hostile,) * 4 + (False,)]


def test_preamble_cell_carries_the_keeper_and_its_settings_and_binds_no_name(tmp_path):
    cell = preamble_cell(1, 7, "_grader_ab", tmp_path, tmp_path / "seals", own_pids=True)
    source, settings = _lambda_defaults(cell)
    assert "def run_probe(" in source
    assert settings == {"threads": 1, "seed": 7, "token": "_grader_ab", "exchange": str(tmp_path), "ipython": True,
                        "seals": str(tmp_path / "seals"), "own_pids": True}
    tree = ast.parse(cell)
    assert not [node for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.NamedExpr, ast.Import))]
    # The "SETTINGS" key the keeper reads is untouched by the substitution.
    assert any(isinstance(node, ast.Constant) and node.value == "SETTINGS" for node in ast.walk(tree))


def test_every_limit_says_what_it_bounds():
    for limit in fields(Limits):
        assert help_of(limit.name).endswith(".") and len(help_of(limit.name)) > 20, limit.name
