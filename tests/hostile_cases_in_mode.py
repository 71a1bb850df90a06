"""Grade the named hostile cases (tests/hostile/*.toml) in this process, as the hostile corpus
test does, and print one JSON line per case: for tests/test_isolation_modes.py, which runs this
script as another user or with other privileges.

    python tests/hostile_cases_in_mode.py memory_bomb fork_bomb
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from test_hostile_notebooks import CASES, contained_grading, keys  # noqa: E402


def main(names: list[str]) -> None:
    from grader.untrusted import sandbox

    chosen = [case for case in CASES if case["name"] in names]
    assert len(chosen) == len(names), f"unknown cases: {set(names) - {c['name'] for c in chosen}}"
    for case in chosen:
        folder = Path(tempfile.mkdtemp(prefix="hostile-case-"))
        line = {"name": case["name"], "isolation": sandbox.detect().mode,
                "memory": sandbox.detect().caps.mechanism}
        try:
            result = contained_grading(case, folder)
            line.update(ok=True, score=result.score, notes=sorted({k for m in result.notes for k in keys(m)}))
        except AssertionError as err:
            line.update(ok=False, why=str(err)[:2000])
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
