"""The grader's end of a kernel's channels: everything the kernel sends is counted before any of
it is kept, since the kernel may send any message it likes (its session signs whatever it
sends): widget state, errors of any size, outputs of any shape."""

from __future__ import annotations

import contextlib

import nbformat
import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete

MAX_ERROR_TEXT = 3000
MAX_CELL_OUTPUT_BYTES = 2**20
MAX_NOTEBOOK_OUTPUT_BYTES = 8 * 2**20
TRUNCATION_MARK = "\n[grader: output truncated]\n"
# What this process receives from a kernel at most: one message of 16 MiB in all its frames (the
# relay, grader.untrusted.relay, ends the kernel at a larger one) and, per socket, the messages
# waiting in its queue. zmq refuses a larger frame here too, whatever reached this process.
MAX_MESSAGE_BYTES = 16 * 2**20
MAX_QUEUED_MESSAGES = 8
MAX_ERROR_NAME = 200
MAX_DISPLAY_ID = 200


def bounded_context(context: zmq.Context) -> zmq.Context:
    """``context``, its sockets made to refuse frames over MAX_MESSAGE_BYTES and to queue at
    most MAX_QUEUED_MESSAGES messages."""
    context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
    context.setsockopt(zmq.RCVHWM, MAX_QUEUED_MESSAGES)
    return context


class BoundedKernelClient(AsyncKernelClient):
    """The grader's end of a kernel's channels, in a bounded zmq context of its own."""

    def _context_default(self) -> zmq.asyncio.Context:
        return bounded_context(super()._context_default())


def message_bytes(value) -> int:
    """An upper bound of the memory a decoded message's strings and buffers take (a character
    may take 4 bytes), counted without recursion: the message's shape is the kernel's choice."""
    total, pending = 0, [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item) if item.isascii() else 4 * len(item)
        elif isinstance(item, dict):
            total += 8 * len(item)
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            total += 8 * len(item)
            pending.extend(item)
        elif isinstance(item, (bytes, bytearray, memoryview)):
            total += memoryview(item).nbytes
        else:
            total += 8
    return total


def _cut_error(content: dict) -> dict:
    """An error message cut to what a report uses (see _outcome): its name, the start of its
    text, the end of its traceback."""
    lines, kept = content.get("traceback"), []
    if isinstance(lines, list):
        room = MAX_ERROR_TEXT
        for line in reversed(lines):
            if room <= 0:
                break
            if isinstance(line, str):
                kept.append(line[-room:])
                room -= len(kept[-1]) + 1
    name, value = content.get("ename"), content.get("evalue")
    return {"ename": name[:MAX_ERROR_NAME] if isinstance(name, str) else "",
            "evalue": value[:MAX_ERROR_TEXT] if isinstance(value, str) else "",
            "traceback": kept[::-1]}


def _plain_fields(content: dict) -> dict:
    """The content without what nbclient would copy into the notebook whatever its size: an
    execution count that is not a number, a display id that is not a short string."""
    content = dict(content)
    count = content.get("execution_count")
    if isinstance(count, bool) or not isinstance(count, (int, type(None))):
        content.pop("execution_count", None)
    transient = content.get("transient")
    if transient is not None:
        display_id = transient.get("display_id") if isinstance(transient, dict) else None
        content["transient"] = ({"display_id": display_id} if isinstance(display_id, str)
                                and len(display_id) <= MAX_DISPLAY_ID else {})
    return content


class BoundedNotebookClient(NotebookClient):
    """nbclient's client, counting every message from the kernel against the output budget
    before keeping anything of it: outputs past 1 MiB per cell or 8 MiB per notebook are dropped
    as they arrive, with a mark; comm messages (widgets) are neither kept nor acted on; an error
    is cut to what reports use, and a cell keeps only its last one; status and input echoes keep
    only the fields that drive execution."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, store_widget_state=False, **kwargs)
        self.output_bytes: dict[int, int] = {}
        self.truncated_cells: list[int] = []

    @contextlib.asynccontextmanager
    async def async_setup_kernel(self, **kwargs):
        """nbclient's, without the SIGINT and SIGTERM handlers it adds to the event loop (they end
        the kernel under a grading that goes on without it): the grader stops a grading itself,
        ending the kernel on the way out (grader.grading). And the zmq contexts of the kernel's
        manager and client are destroyed, whatever happened: after a failed start nbclient can
        leave one with a socket open, which the garbage collector would then wait on forever."""
        if self.km is None:
            self.km = self.create_kernel_manager()
        manager, client = self.km, None
        try:
            if not self.km.has_kernel:
                await self.async_start_new_kernel(**kwargs)
            if self.kc is None:
                await self.async_start_new_kernel_client()
            client = self.kc
            yield
        finally:
            client = client or self.kc
            try:
                if self.km is not None:  # nbclient forgets a kernel it has cleaned up
                    await self._async_cleanup_kernel()
            finally:
                for owner in (client, manager):
                    if owner is not None and owner.trait_has_value("context") and not owner.context.closed:
                        owner.context.destroy(linger=0)

    def process_message(self, msg: dict, cell: nbformat.NotebookNode, cell_index: int):
        msg_type, content = msg.get("msg_type"), msg.get("content")
        if not isinstance(msg_type, str) or not isinstance(content, dict) or msg_type.startswith("comm"):
            return None
        if msg_type == "status":
            return self._keep({**msg, "content": {"execution_state": content.get("execution_state")}}, cell,
                              cell_index)
        if msg_type in ("execute_input", "clear_output"):
            kept = _plain_fields({k: content[k] for k in ("execution_count", "wait") if k in content})
            return self._keep({**msg, "content": kept}, cell, cell_index)
        if msg_type == "error":
            cell.outputs[:] = [o for o in cell.outputs if o.get("output_type") != "error"]
            return self._keep({**msg, "content": _cut_error(content)}, cell, cell_index)
        return self._counted_output({**msg, "content": _plain_fields(content)}, cell, cell_index)

    def _keep(self, msg: dict, cell: nbformat.NotebookNode, cell_index: int):
        try:
            return super().process_message(msg, cell, cell_index)
        except CellExecutionComplete:
            raise
        except Exception:  # a malformed message (a field missing, of the wrong type) is dropped
            return None

    def _counted_output(self, msg: dict, cell: nbformat.NotebookNode, cell_index: int):
        size = message_bytes(msg["content"]) + message_bytes(msg.get("buffers") or [])
        used = self.output_bytes.get(cell_index, 0)
        room = min(MAX_CELL_OUTPUT_BYTES - used, MAX_NOTEBOOK_OUTPUT_BYTES - sum(self.output_bytes.values()))
        if size <= room:
            self.output_bytes[cell_index] = used + size
            return self._keep(msg, cell, cell_index)
        if cell_index in self.truncated_cells:
            return None
        self.truncated_cells.append(cell_index)
        text = msg["content"].get("text")
        if msg["msg_type"] == "stream" and room > 0 and isinstance(text, str):
            # Kept: the start of the flood, which is what a student needs to see.
            start = text[:room] if text.isascii() else text[:room // 4]
            self.output_bytes[cell_index] = used + message_bytes(start)
            stream = {"name": msg["content"].get("name"), "text": start}
            self._keep({**msg, "content": stream}, cell, cell_index)
        cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=TRUNCATION_MARK))
        return None
