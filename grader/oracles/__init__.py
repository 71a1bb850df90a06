"""Ground truth computed by autograd, independent of the reference notebook.

Each module here imports only torch, so that it can run in the grader's process and, as text,
inside a student's kernel (see ``grader.untrusted.probes.probe_source``).
"""
