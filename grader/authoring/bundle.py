"""What students install to run ``grade submit`` at home, without the reference solutions: the grader's
code, the exercise notebooks, and the reference's answers precomputed for a few fixed inputs
(grader.trusted.precomputed); no reference notebook, no mutation suite (its replacements quote the
solutions). Judging needs no reference code (the XOR judge predicts with a state_dict as a
function), and the end-to-end accuracy check needs none at all.

The TA's grading keeps drawing fresh inputs at grading time against the full reference, so what a
bundle reveals (its fixed inputs and answers) is worth nothing there."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from grader.assignments import ASSIGNMENTS, COURSE_DIR
from grader.authoring.release import solution_lines
from grader.errors import GraderError
from grader.files import write_atomically

MARKER = ".grader-student-bundle"
_PACKAGE_FILES = ("*.py", "*.toml", "*.j2")

README = """# Corrector de S03.1 Aprendizaje Profundo I (para estudiantes)

```bash
pip install torch==2.13.0 -e . && grade submit exercises/xor.ipynb
```

`grade submit TU_CUADERNO.ipynb` ejecuta tu cuaderno, lo corrige y escribe un informe
(`TU_CUADERNO.feedback.html`); `--lang en` lo da en inglés. Esta versión no contiene las
soluciones: compara tu código con las respuestas de la solución para unas entradas fijas
({seeds} por ejercicio). La corrección oficial usa entradas nuevas, elegidas al corregir.
"""


def write_student_bundle(dest: Path) -> None:
    import torch

    from grader.trusted import precomputed

    if dest.exists() and any(dest.iterdir()):
        if not (dest / MARKER).exists():
            raise GraderError(f"{dest} is not empty and is not a student bundle; choose a new folder")
        shutil.rmtree(dest)
    package = COURSE_DIR / "grader"
    for pattern in _PACKAGE_FILES:
        for source in package.rglob(pattern):
            if "__pycache__" not in source.parts:
                target = dest / "grader" / source.relative_to(package)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    answers = dest / "grader" / precomputed.FOLDER.name
    answers.mkdir(parents=True, exist_ok=True)
    for name, assignment in sorted(ASSIGNMENTS.items()):
        torch.save(precomputed.compute(name), answers / f"{name}.pt")
        (dest / "exercises").mkdir(exist_ok=True)
        shutil.copyfile(assignment.exercise, dest / "exercises" / assignment.exercise.name)
    shutil.copyfile(COURSE_DIR / "pyproject.toml", dest / "pyproject.toml")
    write_atomically(dest / "README.md", README.format(seeds=len(precomputed.SEEDS)).rstrip("\n"))
    leaks = solution_leaks(dest)
    if leaks:
        raise GraderError(f"the student bundle in {dest} would quote solution code, in: "
                          f"{', '.join(str(p.relative_to(dest)) for p in leaks)}; nothing was finished")
    write_atomically(dest / MARKER, "made by grade release --student-bundle")


def solution_leaks(folder: Path) -> list[Path]:
    """The text files under ``folder`` holding two consecutive code lines of a reference solution
    block (comments, blank lines and indentation left aside): single lines such as
    ``model.train()`` are common to any code, two in a row are the solution's."""
    pairs = set()
    for assignment in ASSIGNMENTS.values():
        for block in solution_lines(nbformat.read(assignment.reference, as_version=4)):
            pairs.update(zip(block, block[1:]))
    leaks = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix != ".pt":
            lines = [line.strip() for line in path.read_text("utf-8", errors="replace").splitlines()]
            lines = [line for line in lines if line and not line.startswith("#")]
            if pairs & set(zip(lines, lines[1:])):
                leaks.append(path)
    return leaks
