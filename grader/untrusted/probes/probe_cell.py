# A probe cell (grader/untrusted/kernel_cells.py sends it with the string default replaced by the
# tuple (token, probe, folder, probes' source file, alone)). It looks up no name at all: reading
# a lambda's __code__ is an audit event, and the keeper's audit hook (preamble.py) runs the probe
# named in the lambda's default.
if (lambda grader_probe="CALL": 0).__code__:
    pass
