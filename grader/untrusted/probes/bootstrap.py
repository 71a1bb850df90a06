# The first cell of every kernel, run before any student code (grader/untrusted/kernel_cells.py
# sends it with the two string defaults replaced by the keeper's source, preamble.py, and its
# settings, as literals). It runs the keeper in a namespace of its own, with a copy of the
# builtins as they are then; the keeper prints "grader-ready" once it is in place. A lambda's
# parameters, so that the notebook's namespace gets no name from it.
(lambda builtins, preamble="PREAMBLE", settings="SETTINGS": builtins.exec(
    builtins.compile(preamble, "<grader-preamble>", "exec"),
    {"__builtins__": dict(builtins.__dict__), "__name__": "__grader_preamble__", "SETTINGS": settings},
))(__import__("builtins"))
