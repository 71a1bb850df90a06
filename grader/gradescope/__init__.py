"""Gradescope autograders: ``grade gradescope build`` packs the grader, the references and the
course's settings into the zip Gradescope takes (``setup.sh`` and ``run_autograder`` at its root,
see ``files/``); ``run_autograder`` grades the submission there with limits that fit the container
(``limits``) and writes ``results.json`` (``grader.reports.gradescope``)."""
