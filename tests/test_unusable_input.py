"""`grade submit` on files that are not gradable notebooks: one line on stderr, exit 2."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from grader.cli import main


def _write(tmp_path, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


CASES = {
    "missing": (None, "no such file"),
    "folder": ("<dir>", "is a folder"),
    "empty": (b"", "the file is empty"),
    "not_json": (b"hello world", "not valid JSON"),
    "truncated": (b'{"cells": [{"cell_type": "code", "sou', "not valid JSON"),
    "not_a_notebook": (json.dumps({"name": "x"}).encode(), "not a Jupyter notebook"),
    "not_utf8": (b'{"cells": "\xff\xfe"}', "not UTF-8"),
    "bad_cells": (json.dumps({"cells": 3, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode(),
                  "not a valid notebook"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_unusable_input_is_one_line_and_exit_2(tmp_path, case):
    content, expected = CASES[case]
    if content is None:
        path = tmp_path / "nothing.ipynb"
    elif content == "<dir>":
        path = tmp_path / "folder.ipynb"
        path.mkdir()
    else:
        path = _write(tmp_path, f"{case}.ipynb", content)
    result = CliRunner().invoke(main, ["submit", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grade: error: ") and expected in lines[0]


def test_notebook_of_no_known_assignment(tmp_path):
    notebook = {"cells": [{"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [],
                           "execution_count": None, "id": "a"}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = _write(tmp_path, "other.ipynb", json.dumps(notebook).encode())
    result = CliRunner().invoke(main, ["submit", str(path)])
    assert result.exit_code == 2
    assert "--assignment" in result.stderr


def test_unknown_assignment_suggests_a_near_name(tmp_path):
    path = _write(tmp_path, "n.ipynb", b"{}")
    result = CliRunner().invoke(main, ["submit", str(path), "--assignment", "xr"])
    assert result.exit_code == 2
    assert "did you mean 'xor'" in result.stderr
