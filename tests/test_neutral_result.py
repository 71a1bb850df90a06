"""Data, not sentences, between the grader's parts (no kernel): a name the notebook lacks and a
kernel's ending cross the kernel boundary as data; a result is stored as result.json in no
language, read back whole, and every class file is rendered from it in either language."""

from __future__ import annotations

import json
import math

import pytest

from grader.batch import RESULT, Submission, read_result, student_folder, write_result
from grader.gradebook import write_gradebook, write_manifest, write_summary
from grader.grading import _incident_notes
from grader.reports.catalog import LANGUAGES, catalog
from grader.reports.gradescope import results_json, submission_json
from grader.statuses import Ending
from grader.trusted.judges.evidence import exception_messages
from grader.trusted.results import (Figure, MalformedResult, Message, SubmissionResult, result_from_json,
                                    result_to_json)
from grader.untrusted.probes import in_process_tools
from grader.untrusted.probes.common import Tools, student_object
from grader.untrusted.recovery import Incident
from grader.untrusted.limits import Limits
from grader.untrusted.outcomes import ending_of
from report_cases import CASES


@pytest.fixture(scope="module")
def probes():
    """What a probe run gets (the keeper's tools, made here)."""
    return Tools(in_process_tools(), ".")


def _recorded(probes, code) -> dict:
    """What a probe records of the exception ``code`` raises, as JSON would carry it."""
    try:
        code()
    except Exception as exc:  # noqa: BLE001 (any exception is what is being recorded)
        return json.loads(json.dumps(probes.describe_exception(exc)))
    raise AssertionError("nothing was raised")


def test_a_name_the_notebook_lacks_is_recorded_as_data(probes):
    error = _recorded(probes, lambda: student_object({}, "XORDataset"))
    assert error["missing"] == "XORDataset" and "no define" not in error["message"]
    for language in LANGUAGES:
        (message,) = exception_messages(error, "XORDataset", lambda count: None)
        assert message == Message("not_defined", {"name": "XORDataset"})
        assert "`XORDataset`" in catalog(language).message(message)


def test_the_student_s_own_name_error_is_the_student_s_exception(probes):
    def helper():
        return undefined_in_the_notebook  # noqa: F821 (the student's mistake)

    error = _recorded(probes, helper)
    assert "missing" not in error
    assert [m.key for m in exception_messages(error, "train_model", lambda count: None)] == ["raised"]
    # What the kernel says is a claim: a "missing" that cannot be a name is not believed.
    forged = {"type": "NameError", "message": "x", "missing": "<script>"}
    assert [m.key for m in exception_messages(forged, "train_model", lambda count: None)] == ["raised"]


@pytest.mark.parametrize(("returncode", "memory", "isolated", "ending"), [
    (3, False, False, Ending("exit", 3)),
    (-11, False, False, Ending("signal", 11, "SIGSEGV")),
    (128 + 9, False, True, Ending("signal", 9, "SIGKILL")),
    (128 + 9, False, False, Ending("exit", 137)),  # unsandboxed, 137 is an exit status
    (-11, True, False, Ending("memory")),
    (None, False, False, None),
])
def test_a_kernel_s_ending_is_a_kind_and_a_code(returncode, memory, isolated, ending):
    assert ending_of(returncode, memory, isolated) == ending


def test_the_notes_say_the_ending_from_its_data():
    def how(ending):
        (did_not_finish, _) = _incident_notes(Incident("died", ending, 1.0, cell=4, recovered=True), Limits())
        return did_not_finish.params["how"]

    assert how(Ending("exit", 3)) == Message("ending.exit", {"code": 3})
    assert how(Ending("signal", 11, "SIGSEGV")) == Message("ending.signal", {"signal": "SIGSEGV"})
    assert how(Ending("signal", 70)) == Message("ending.signal", {"signal": 70})
    assert how(Ending("memory")) == Message("ending.memory", {"megabytes": Limits().memory_mb})
    assert how(None) == Message("ending.unknown")
    assert "3" in catalog("es").message(how(Ending("exit", 3)))


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_result_reads_back_as_it_was_and_renders_the_same(case):
    result = CASES[case]()
    stored = result_from_json(json.loads(json.dumps(result_to_json(result))))
    assert stored == result
    for language in LANGUAGES:
        assert results_json(stored, catalog(language)) == results_json(result, catalog(language))


def test_tuples_nested_messages_and_numbers_that_are_not_finite_survive_the_file():
    result = CASES["xor_with_mistakes"]()
    result.checks[0].messages = [Message("raised", {"function": "f", "type": "E", "message": (2, 3)}),
                                 Message("at_line", {"cell": 1, "line": 2, "code": "x"})]
    result.checks[0].figures = [Figure("loss_curves", {"student": [0.5, math.inf], "reference": [0.5, 0.4]})]
    stored = result_from_json(json.loads(json.dumps(result_to_json(result))))
    assert stored.checks[0].messages[0].params["message"] == (2, 3)
    assert stored.checks[0].messages[1].role == "location"
    assert stored.checks[0].figures == result.checks[0].figures
    assert stored.notes[0].params["where"] == Message("where.cell", {"cell": 20})


@pytest.mark.parametrize("broken", [
    {}, {"format": "grader-result/0"}, [],
    {"format": "grader-result/1", "student": "a", "file": "a", "status": "graded", "grader_version": "1",
     "content_hash": "", "reason": "", "result": None},
    {"format": "grader-result/1", "student": "a", "file": "a", "status": "passed", "grader_version": "1",
     "content_hash": "", "reason": "", "result": None},
    {"format": "grader-result/1", "student": "a", "file": "a", "status": "graded", "grader_version": "1",
     "content_hash": "", "reason": "", "result": {"checks": [{"name": "x"}]}},
])
def test_a_file_that_is_not_a_result_is_refused(broken):
    with pytest.raises(MalformedResult):
        SubmissionResult.from_json(broken)


def test_the_class_files_come_from_result_json_in_either_language(tmp_path):
    graded = SubmissionResult("ana", "ana.ipynb", "graded", "0.1.0", "1" * 64, result=CASES["xor_with_mistakes"]())
    unusable = SubmissionResult("rota", "rota.ipynb", "unusable", "0.1.0", "2" * 64, "not a notebook")
    write_manifest(tmp_path, [Submission("ana", tmp_path / "ana.ipynb"), Submission("rota", tmp_path / "rota.ipynb")],
                   None)
    for submitted in (graded, unusable):
        write_result(student_folder(tmp_path, submitted.student), submitted, "es")
    assert read_result(student_folder(tmp_path, "ana")) == graded
    assert read_result(student_folder(tmp_path, "rota")) == unusable
    on_disk = json.loads((student_folder(tmp_path, "ana") / "results.json").read_text("utf-8"))
    assert on_disk == submission_json(graded, catalog("es"))
    assert on_disk["extra_data"]["content_hash"] == "1" * 64 and on_disk["extra_data"]["status"] == "graded"
    assert not (student_folder(tmp_path, "rota") / "feedback.html").exists()

    rows = write_gradebook(tmp_path).read_text("utf-8").splitlines()
    assert rows[0].startswith("student,name,file,score,max_score,XORDataset,")
    assert rows[1].startswith(f"ana,,{tmp_path / 'ana.ipynb'},77,100,20,20,0,7,5,10,15,graded,,root")
    assert rows[2] == f"rota,,{tmp_path / 'rota.ipynb'},0,,,,,,,,,unusable,not a notebook,"
    # The reports were written in Spanish; the summary is in whichever language is asked for.
    for language in LANGUAGES:
        page = write_summary(tmp_path, language).read_text("utf-8")
        assert f'<html lang="{language}">' in page
        assert catalog(language).check_title("train_model_matches_reference") in page

    # A folder whose result.json is gone is graded again, whatever else is left in it.
    (student_folder(tmp_path, "ana") / RESULT).unlink()
    assert read_result(student_folder(tmp_path, "ana")) is None
