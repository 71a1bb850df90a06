"""How long check() takes per part, in the student's process: each reference notebook's code run
here, then ``check(part)`` for every part and ``check()`` for all (the answers are computed or
read once first, as a student's first call does). Prints a table; asserts nothing.

    python bench/selfcheck_parts.py
"""

from __future__ import annotations

import contextlib
import io
import os
import time

os.environ.setdefault("TQDM_DISABLE", "1")

import nbformat  # noqa: E402

from grader.assignments import ASSIGNMENTS  # noqa: E402
from grader.selfcheck import answers, run_checks  # noqa: E402
from grader.selfcheck.check import parts_of  # noqa: E402
from grader.trusted import precomputed  # noqa: E402


def main() -> None:
    for name in sorted(ASSIGNMENTS):
        notebook = nbformat.read(ASSIGNMENTS[name].reference, as_version=4)
        namespace: dict = {"__name__": "__main__"}
        with contextlib.redirect_stdout(io.StringIO()):
            for cell in notebook.cells:
                if cell.cell_type == "code":
                    exec(compile(cell.source, f"{name}-cell", "exec"), namespace)
        began = time.monotonic()
        answers.load(name, precomputed.SEEDS[0])
        print(f"{name}: answers ready in {time.monotonic() - began:.1f} s")
        for part in parts_of(name) + ("(all)",):
            began = time.monotonic()
            found = run_checks(*(() if part == "(all)" else (part,)), namespace=namespace)
            training = f", training {found.training_seconds:.1f} s" if found.training_seconds is not None else ""
            print(f"  {part:<20} {time.monotonic() - began:6.2f} s  "
                  f"{found.result.score:g}/{found.result.max_score:g}{training}")


if __name__ == "__main__":
    main()
