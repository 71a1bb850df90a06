"""The class's files without kernels: a gradebook from manifests and results on disk (a row for a
submission not graded yet), and grade merge refusing shards that disagree about a student."""

from __future__ import annotations

from click.testing import CliRunner

from grader.batch import Submission, student_folder, write_result
from grader.cli import main
from grader.gradebook import write_gradebook, write_manifest
from grader.trusted.results import CheckResult, GradeResult, SubmissionResult


def _shard(folder, students: dict[str, str], shard) -> None:
    """A shard's --out folder: a manifest, and a result (of a notebook with this content hash) per student."""
    folder.mkdir(parents=True)
    write_manifest(folder, [Submission(s, folder / f"{s}.ipynb") for s in students], shard)
    for student, digest in students.items():
        result = GradeResult("backprop", f"{student}.ipynb", 50, 100, [CheckResult("sigmoid_matches_reference", "sigmoid", "1", 50, 100, False, [])],
                             [], 1, "cpu", 1.0, "0.1.0", "root")
        write_result(student_folder(folder, student),
                     SubmissionResult(student, f"{student}.ipynb", "graded", "0.1.0", digest, result=result), "es")


def test_a_gradebook_has_a_row_for_a_submission_without_a_result(tmp_path):
    write_manifest(tmp_path, [Submission("ana", tmp_path / "ana.ipynb", "Ana García")], None)
    assert write_gradebook(tmp_path).read_text("utf-8") == (
        f"student,name,file,score,max_score,status,reason,isolation\nana,Ana García,{tmp_path / 'ana.ipynb'},,,missing,,\n")


def test_merge_joins_shards_and_refuses_two_notebooks_for_one_student(tmp_path):
    _shard(tmp_path / "a", {"ana": "1"}, (1, 2))
    _shard(tmp_path / "b", {"luis": "2"}, (2, 2))
    merged = CliRunner().invoke(main, ["merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "all")])
    assert merged.exit_code == 0 and merged.output.startswith("2 submissions"), merged.output
    assert (tmp_path / "all" / "gradebook.csv").read_text("utf-8").splitlines()[1:] == [
        f"ana,,{tmp_path / 'a' / 'ana.ipynb'},50,100,50,graded,,root", f"luis,,{tmp_path / 'b' / 'luis.ipynb'},50,100,50,graded,,root"]

    _shard(tmp_path / "c", {"ana": "3"}, (1, 2))
    clash = CliRunner().invoke(main, ["merge", str(tmp_path / "c"), "--out", str(tmp_path / "all")])
    assert clash.exit_code == 2
    assert f"grade: error: ana: {tmp_path / 'c'} and {tmp_path / 'all'} hold results of different notebooks" in clash.output
