"""The autograder zip end to end, as Gradescope runs it: built with `grade gradescope build`,
unpacked into a folder laid out like Gradescope's /autograder (source/, submission/, results/),
the grader installed by setup.sh's own `venv` and `grader` steps, then run_autograder run as root
with CAP_SYS_ADMIN dropped (capsh), as in Gradescope's Docker containers, for a correct notebook,
one with a mistake, an empty submission, two notebooks and a memory bomb.

Kept cheap: the venv is made with --system-site-packages from this interpreter (torch and the
other dependencies come from there) and the grader is installed with `pip install --no-deps`
from the unpacked zip, so setup.sh's `system` and `torch` steps (apt, the torch download) are
not run here. The zip is built for a 20-minute container, so that a loaded test machine does
not time out a correct probe (the default 10 minutes' limits are checked by arithmetic in
test_gradescope.py and measured by bench/gradescope_memory.py), and its course secret is fixed
so that every run grades with the same seeds. GRADER_GRADESCOPE_E2E=root runs run_autograder as plain root instead of under
capsh (the grader then uses the bubblewrap sandbox that needs CAP_SYS_ADMIN)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest
from click.testing import CliRunner

from conftest import apply_replacements
from gradescope_schema import assert_gradescope_file
from grader.cli import main
from grader.gradescope.limits import container_limits
from grader.notebook_file import code_digest
from grader.seeds import grading_seed

pytestmark = [pytest.mark.kernel, pytest.mark.xdist_group("installed_autograder")]  # one worker builds its module fixture
AS = os.environ.get("GRADER_GRADESCOPE_E2E", "capsh")
HIDDEN = "backprop_training_reaches_accuracy"
TIMEOUT_S = 1200
SECRET = "5eed" * 16


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(the unpacked zip, the venv setup.sh installed the grader into)."""
    if os.geteuid() != 0:
        pytest.skip("Gradescope runs the autograder as root")
    if AS == "capsh" and shutil.which("capsh") is None:
        pytest.skip("capsh (Debian package libcap2-bin) drops CAP_SYS_ADMIN as Gradescope's Docker does")
    base = tmp_path_factory.mktemp("gradescope")
    archive = base / "autograder.zip"
    run = CliRunner().invoke(main, ["gradescope", "build", str(archive), "--lang", "en", "--hide-until-due", HIDDEN,
                                    "--timeout-s", str(TIMEOUT_S)])
    assert run.exit_code == 0, run.output
    source = base / "source"
    with zipfile.ZipFile(archive) as unpacking:
        unpacking.extractall(source)
    settings = source / "gradescope.toml"
    settings.write_text(re.sub(r'(?m)^secret = ".*"$', f'secret = "{SECRET}"', settings.read_text("utf-8")))
    for script in ("setup.sh", "run_autograder"):
        (source / script).chmod(0o755)  # what Gradescope's unpacking keeps from the zip's modes
    venv = base / "venv"
    env = {**_clean_environment(), "GRADER_VENV": str(venv), "GRADER_PYTHON": sys.executable,
           "GRADER_SETUP_STEPS": "venv grader", "GRADER_VENV_OPTIONS": "--system-site-packages",
           "GRADER_PIP_OPTIONS": "--no-deps --quiet"}
    setup = subprocess.run(["bash", str(source / "setup.sh")], env=env, capture_output=True, text=True, timeout=300)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    return source, venv


def _clean_environment() -> dict[str, str]:
    # Nothing of this test run's own grader (PYTHONPATH, the course folder) may leak into the autograder's.
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GRADER_"))}


def run_autograder(installed, tmp_path, files: dict[str, nbformat.NotebookNode]):
    """Grade ``files`` as one submission; returns (results.json or None, stdout, exit status)."""
    source, venv = installed
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    (root / "source").symlink_to(source)
    for name, notebook in files.items():
        nbformat.write(notebook, root / "submission" / name)
    command = [str(source / "run_autograder")]
    if AS == "capsh":
        command = ["capsh", "--drop=cap_sys_admin", "--", *command]
    env = {**_clean_environment(), "GRADER_AUTOGRADER_ROOT": str(root), "GRADER_VENV": str(venv)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    results = root / "results" / "results.json"
    return (assert_gradescope_file(results) if results.exists() else None), done.stdout + done.stderr, done.returncode


def _stdout_says_the_sandbox(stdout: str, venv) -> None:
    assert f"from {venv}/lib/" in stdout  # the grader setup.sh installed, not this checkout
    assert stdout.count("\nisolation: ") == 1 and "isolation used: " in stdout


def test_the_reference_gets_full_marks(installed, reference, tmp_path):
    results, stdout, status = run_autograder(installed, tmp_path, {"mi entrega (1).ipynb": reference("backprop")})
    assert status == 0 and results is not None, stdout
    assert results["score"] == results["extra_data"]["max_score"] == 100
    # The zip's course secret, not one made up in the container: a resubmission gets the same inputs.
    assert results["extra_data"]["seed"] == grading_seed(code_digest(reference("backprop")), SECRET.encode())
    assert {t["status"] for t in results["tests"]} == {"passed"}
    assert [t["extra_data"]["check"] for t in results["tests"] if t["visibility"] == "after_due_date"] == [HIDDEN]
    # The student's own file name, not the container's path.
    assert "mi entrega (1).ipynb" in results["output"] and str(tmp_path) not in results["output"]
    _stdout_says_the_sandbox(stdout, installed[1])
    assert "100/100" in stdout and f"kernel memory {container_limits().memory_mb} MB of the container's 768 MB" in stdout


@pytest.mark.parametrize("files, message", [
    ({}, "No notebook (`.ipynb`) was found in your submission."),
    ({"a.ipynb": None, "b.ipynb": None}, "Your submission has several notebooks (`a.ipynb`, `b.ipynb`)"),
], ids=["empty", "two notebooks"])
def test_a_submission_without_one_notebook_gets_0_and_what_to_upload(installed, reference, tmp_path, files,
                                                                      message):
    files = {name: reference("backprop") for name in files}
    results, stdout, status = run_autograder(installed, tmp_path, files)
    assert status == 0 and results is not None, stdout
    assert results["score"] == 0 and results["tests"] == [] and message in results["output"]
    assert "\nisolation: " in stdout


def test_a_memory_bomb_is_cut_by_the_grader_inside_the_container_s_memory(installed, reference, tmp_path):
    # sigmoid hoards memory only when the grader calls it: its probe's kernel reaches the kernel's
    # cap, so the grader, not the container, stops it, and only sigmoid's check pays.
    bomb = "def sigmoid(z):\n    if globals().get('ARMED'):\n        hoard = []\n        while True:\n" \
           "            hoard.append(b'x' * 2**26)\n"
    notebook = apply_replacements(reference("backprop"), [["def sigmoid(z):\n", bomb]])
    notebook.cells.append(nbformat.v4.new_code_cell("ARMED = True"))
    results, stdout, status = run_autograder(installed, tmp_path, {"bomba.ipynb": notebook})
    assert status == 0 and results is not None, stdout
    failed = {t["extra_data"]["check"]: t for t in results["tests"] if t["status"] == "failed"}
    assert set(failed) == {"sigmoid_matches_reference"}, stdout
    assert failed["sigmoid_matches_reference"]["output"].startswith("Testing `sigmoid` took the Python kernel to its "
                                                                     "memory limit, so it was stopped")
    assert "did_not_finish" in results["extra_data"]["notes"]
    assert f"{container_limits().memory_mb} MB" in results["output"]
    assert results["score"] == 93
