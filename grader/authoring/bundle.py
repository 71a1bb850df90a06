"""What students install to run ``grade submit`` at home, without the reference solutions: the grader's
code, the exercise notebooks, and the reference's answers precomputed for a few fixed inputs
(grader.trusted.precomputed); no reference notebook, no mutation suite (its replacements quote the
solutions). Judging needs no reference code (the XOR judge predicts with a state_dict as a
function), and the end-to-end accuracy check needs none at all.

The TA's grading keeps drawing fresh inputs at grading time against the full reference, so what a
bundle reveals (its fixed inputs and answers) is worth nothing there."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import nbformat

from grader import __version__
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

En el cuaderno (Jupyter o Google Colab), después de cada ejercicio:

```python
!pip install grader-{version}-py3-none-any.whl     # en Colab: súbelo primero, o pon su URL
from grader import check
check("XORDataset")        # o check() para todas las partes; check(..., lang="en") en inglés
```

`check()` prueba tu código en tu propio núcleo con las mismas pruebas y los mismos criterios que
`grade submit TU_CUADERNO.ipynb --seed 101`, y muestra los puntos de cada comprobación y qué corregir.
Las celdas de comprobación de los cuadernos son opcionales: el corrector las ignora.

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
        torch.save(precomputed_answers(name), answers / f"{name}.pt")
        (dest / "exercises").mkdir(exist_ok=True)
        shutil.copyfile(assignment.exercise, dest / "exercises" / assignment.exercise.name)
    shutil.copyfile(COURSE_DIR / "pyproject.toml", dest / "pyproject.toml")
    write_atomically(dest / "README.md", README.format(seeds=len(precomputed.SEEDS), version=__version__).rstrip("\n"))
    leaks = solution_leaks(dest)
    if leaks:
        raise GraderError(f"the student bundle in {dest} would quote solution code, in: "
                          f"{', '.join(str(p.relative_to(dest)) for p in leaks)}; nothing was finished")
    write_atomically(dest / MARKER, "made by grade release --student-bundle")


def precomputed_answers(assignment: str, seeds=None) -> dict[int, dict[str, Any]]:
    """What a bundle stores for ``assignment`` (grader.trusted.precomputed), computed here from the
    reference notebook on the CPU, for the bundle's seeds unless told."""
    from grader.trusted import precomputed
    from grader.trusted.judges import answers_for
    from grader.trusted.reference import load_reference

    chosen = ASSIGNMENTS[assignment]
    reference = load_reference(chosen.reference)
    stored = {}
    for seed in precomputed.SEEDS if seeds is None else seeds:
        inputs, hidden, answers = answers_for(chosen.judge, reference, seed, "cpu")
        stored[seed] = {"inputs": inputs, "hidden": hidden, "answers": answers}
    return stored


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


def build_wheel(bundle: Path) -> Path:
    """The bundle as a wheel, ``bundle/dist/grader-<version>-py3-none-any.whl``, that installs without
    the course's repository (``pip install`` it, in Colab too). Built by pip from a copy of the
    bundle, so that the bundle keeps no build folders; with the setuptools already installed when
    there is one, else pip fetches it from PyPI."""
    dist = bundle / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="grader-wheel-") as tmp:
        source = Path(tmp) / "source"
        shutil.copytree(bundle, source, ignore=shutil.ignore_patterns("dist", "exercises", MARKER))
        local = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), *local,
                   str(source)]
        built = subprocess.run(command, capture_output=True, text=True)
        if built.returncode != 0:
            last = (built.stderr.strip().splitlines() or ["no output"])[-1]
            raise GraderError(f"pip could not build the student bundle's wheel: {last}")
    wheels = sorted(dist.glob("grader-*.whl"))
    if len(wheels) != 1:
        raise GraderError(f"pip built {len(wheels)} wheels in {dist}, expected one")
    leaks = wheel_leaks(wheels[0])
    if leaks:
        wheels[0].unlink()
        raise GraderError(f"the student wheel would quote solution code, in: {', '.join(leaks)}; it was removed")
    return wheels[0]


def wheel_leaks(wheel: Path) -> list[str]:
    """The members of ``wheel`` that quote solution code (as ``solution_leaks`` finds it)."""
    with tempfile.TemporaryDirectory(prefix="grader-wheel-scan-") as tmp, zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp)
        return [str(p.relative_to(tmp)) for p in solution_leaks(Path(tmp))]
