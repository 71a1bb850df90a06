"""The kernel's environment: what it may see of the grader's, and where it finds its own HOME and
configuration."""

from __future__ import annotations

import os
from pathlib import Path

# What the kernel may see of the grader's environment: enough to find Python, its libraries and a
# GPU (the sandbox sets its own HOME, USER and TMPDIR). Not the rest: the grader's secrets and
# tokens, and variables torch sets in this process once it is imported here
# (TORCHINDUCTOR_CACHE_DIR, under the grader's own temporary folder).
_PASSED_ENVIRONMENT = ("PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "LANG", "LANGUAGE", "TZ", "PYTHONPATH",
                       "VIRTUAL_ENV", "CONDA_PREFIX", "LD_LIBRARY_PATH", "CUDA_HOME", "CUDA_PATH",
                       "CUDA_VISIBLE_DEVICES")
_PASSED_PREFIXES = ("LC_", "NVIDIA_")


def kernel_environment(threads: int, home: Path | None = None) -> dict[str, str]:
    """The kernel's environment. With ``home`` (a folder made empty for this kernel), that is its
    HOME and where IPython, Jupyter and matplotlib look for configuration and startup files, so
    that nothing a previous kernel wrote there runs before the grader's preamble; Python's user
    site and the working directory are not on its path."""
    env = {k: v for k, v in os.environ.items() if k in _PASSED_ENVIRONMENT or k.startswith(_PASSED_PREFIXES)}
    if home is not None:
        env.update({"HOME": str(home), "IPYTHONDIR": str(home / ".ipython"),
                    "JUPYTER_CONFIG_DIR": str(home / ".jupyter"), "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter"),
                    "MPLCONFIGDIR": str(home / "matplotlib")})
    env.update({
        "PYTHONNOUSERSITE": "1",
        "PYTHONSAFEPATH": "1",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "MPLBACKEND": "agg",
        "PYTHONHASHSEED": "0",
        "TQDM_DISABLE": "1",
        "GRADER_GRADING": "1",  # a check() the grader did not take out does nothing (grader.selfcheck)
    })
    return env
