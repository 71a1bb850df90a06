#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image (Ubuntu 22.04 by
# default), with the zip unpacked in /autograder/source. It installs what grading needs:
#   system  bubblewrap (the sandbox), util-linux (setpriv, prlimit), Python 3.11 (the grader needs >= 3.11)
#   venv    a virtual environment for the grader and the students' kernels
#   torch   torch 2.13.0, the CPU build: the container has no GPU, and a CUDA build is gigabytes
#   grader  the grader itself, from this zip
#   check   that torch is a CPU build, and what isolation this image gives (in the build log)
# GRADER_SETUP_STEPS chooses the steps (all by default), GRADER_PYTHON the interpreter,
# GRADER_VENV where the environment goes, GRADER_VENV_OPTIONS and GRADER_PIP_OPTIONS extra
# options: the grader's own tests run this script's steps on another machine with them.
set -euo pipefail

SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${GRADER_VENV:-/opt/grader-venv}"
PYTHON="${GRADER_PYTHON:-python3.11}"
STEPS="${GRADER_SETUP_STEPS:-system venv torch grader check}"
TORCH="torch==2.13.0"
TORCH_CPU_INDEX="https://download.pytorch.org/whl/cpu"

step_system() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends bubblewrap util-linux ca-certificates python3.11 python3.11-venv
}

step_venv() {
    # shellcheck disable=SC2086  # options are words
    "$PYTHON" -m venv ${GRADER_VENV_OPTIONS:-} "$VENV"
}

step_torch() {
    # On PyPI, Linux's torch wheels pull CUDA libraries; PyTorch's own CPU index has the CPU
    # build (2.13.0+cpu, preferred by pip over 2.13.0). Where that index cannot be reached, the
    # default index must serve a CPU build, which step_check verifies.
    if "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=15)' \
            "$TORCH_CPU_INDEX/torch/" 2>/dev/null; then
        "$VENV/bin/pip" install --extra-index-url "$TORCH_CPU_INDEX" "$TORCH"
    else
        echo "setup.sh: $TORCH_CPU_INDEX cannot be reached; installing $TORCH from the default index"
        "$VENV/bin/pip" install "$TORCH"
    fi
}

step_grader() {
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install ${GRADER_PIP_OPTIONS:-} "$SOURCE"
}

step_check() {
    "$VENV/bin/python" -c 'import sys, torch; sys.exit(f"setup.sh: torch {torch.__version__} is a CUDA build; remove it and run setup.sh again" if torch.version.cuda else 0)'
    # Says which sandbox this image allows; its exit status only says whether it is the strongest.
    "$VENV/bin/python" -m grader doctor || true
}

for step in $STEPS; do
    "step_$step"
done
