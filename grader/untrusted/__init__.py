"""The untrusted side: runs a student's notebook in its own kernel and collects artifacts.

Nothing here decides a score. Code under ``probes/`` is never imported by the grader: its source
is sent to the student's kernel and executed there.
"""
