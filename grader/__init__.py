"""grader: grades the notebooks of the course "S03.1 Aprendizaje Profundo I".

The student's kernel only produces artifacts (``grader.untrusted``); scores are computed in this
process from those artifacts against the reference solutions (``grader.trusted``). In a notebook,
``from grader import check`` judges the notebook's own objects the same way (``grader.selfcheck``).
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # Imported on first use: the CLI and the kernel-side probes must not pay for it.
    if name == "check":
        from grader.selfcheck import check

        return check
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
