"""What a kernel sends on its channels is counted before the grader keeps any of it: widget
(comm) messages, error messages and outputs of any size or shape, real kernels sending them."""

from __future__ import annotations

import pytest

from grader.statuses import Ending
from grader.untrusted.messages import MAX_CELL_OUTPUT_BYTES, message_bytes
from grader.untrusted.limits import Limits
from peak_memory import peak_mb
from sandboxed_cells import run_cells

pytestmark = pytest.mark.kernel
# The kernel's own session signs whatever it sends: a notebook can send any message it likes.
SEND = """
_k = get_ipython().kernel
def send(kind, content, buffers=None, channel='iopub'):
    socket = _k.iopub_socket if channel == 'iopub' else _k.shell_stream
    _k.session.send(socket, kind, content, parent=_k.get_parent('shell'), buffers=buffers)
"""


def test_floods_on_every_kind_of_message_stay_bounded_and_the_next_cell_runs(tmp_path):
    flood = [
        SEND,
        # widgets: kept by nbclient in its widget state, by default
        "for i in range(40):\n    send('comm_open', {'comm_id': str(i), 'target_name': 'jupyter.widget',"
        " 'data': {'state': {'_model_module': 'x', 'big': 'w' * 4_000_000}}})",
        "for i in range(40):\n    send('comm_msg', {'comm_id': '1', 'data': {'state': {'big': 'w' * 4_000_000}},"
        " 'buffer_paths': [['b']]}, buffers=[b'b' * 4_000_000])",
        # errors: always let through, so that a cell's failure is seen
        "for i in range(40):\n    send('error', {'ename': 'E' * 1_000_000, 'evalue': 'v' * 2_000_000,"
        " 'traceback': ['t' * 100_000] * 40})\nraise ValueError('the real one')",
        # outputs of every kind, and frames larger than the grader receives
        "for i in range(40):\n    send('display_data', {'data': {'text/plain': 'd' * 4_000_000}, 'metadata': {},"
        " 'transient': {'display_id': 'x' * 4_000_000}})",
        "for i in range(40):\n    send('execute_result', {'data': {'text/plain': 'r'}, 'metadata': {},"
        " 'execution_count': 'c' * 4_000_000})",
        # malformed: fields missing or of the wrong type
        "send('stream', {'name': 'stdout'})\nsend('display_data', {'data': 5})\nsend('error', {'traceback': 7})\n"
        "send('update_display_data', {'data': {}, 'metadata': {}, 'transient': 3})",
        "print('after')",
    ]
    with peak_mb() as before:
        pass
    with peak_mb() as peak:
        run, cells, _ = run_cells(tmp_path, flood, Limits(cell_timeout_s=60))
    assert [c.status for c in run.cells] == ["ok", "ok", "ok", "error", "ok", "ok", "error", "ok"]
    assert run.cells[3].error_type == "ValueError" and run.cells[3].error_message == "the real one"
    assert "after" in "".join(o.get("text", "") for o in cells[-1].outputs)
    for cell in cells:
        assert message_bytes(cell.outputs) <= MAX_CELL_OUTPUT_BYTES + 10_000
        assert sum(o.get("output_type") == "error" for o in cell.outputs) <= 1
        assert not isinstance(cell.get("execution_count"), str)
    print(f"grader peak {peak[0]:.0f} MiB, {before[0]:.0f} MiB before")
    # About 1 GB was sent in all; the grader receives frames of 8 MiB at most, a few at a time.
    assert peak[0] - before[0] < 300, f"the grader grew by {peak[0] - before[0]:.0f} MiB"


@pytest.mark.parametrize("message", [
    pytest.param("send('stream', {'name': 'stdout', 'text': 's' * 50_000_000})", id="one_frame_of_50_MB"),
    # zmq receives a message whole, however many frames it has: only the relay ever holds this one.
    pytest.param("send('display_data', {'data': {'text/plain': 'd'}, 'metadata': {}},"
                 " buffers=[b'b' * 10_000_000] * 100)", id="one_message_of_1_GB_in_frames_of_10_MB"),
    pytest.param("_k.session.send(_k.shell_stream, 'execute_reply', {'status': 'ok'}, parent=_k.get_parent('shell'),"
                 " ident=_k._parent_ident['shell'], buffers=[b'b' * 10_000_000] * 100)",
                 id="the_same_on_the_shell_channel"),
])
def test_a_message_larger_than_the_grader_takes_ends_the_kernel_and_the_grader_stays_small(tmp_path, message):
    with peak_mb() as before:
        pass
    with peak_mb() as peak:
        run, cells, kernel = run_cells(tmp_path, [SEND, "print('before')", message + "\nprint('lost')", "print('not run')"],
                                      Limits(cell_timeout_s=60))
    # A message whose transfer outlasts the wait for its cell's output (nbclient's 4 s after the
    # reply) ends the kernel under the next cell.
    statuses = [c.status for c in run.cells]
    assert statuses in (["ok", "ok", "died", "not_run"], ["ok", "ok", "ok", "died"]), statuses
    assert run.stopped_by.ending == Ending("message")
    assert "before" in "".join(o.get("text", "") for o in cells[1].outputs)
    assert peak[0] - before[0] < 100, f"the grader grew by {peak[0] - before[0]:.0f} MiB"


def test_message_bytes_counts_without_recursion():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert message_bytes(deep) == 8 * 100_000
    assert message_bytes({"a": "é" * 10, "b": b"x" * 100}) == 16 + 2 + 40 + 100
