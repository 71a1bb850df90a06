"""grader: grades the notebooks of the course "S03.1 Aprendizaje Profundo I".

The student's kernel only produces artifacts (``grader.untrusted``); scores are computed in this
process from those artifacts against the reference solutions (``grader.trusted``).
"""

__version__ = "0.1.0"
