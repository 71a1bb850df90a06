"""Reading a file the student's kernel left behind, without trusting anything about it.

The kernel could write into a probe's folder while the probe ran (and may still write into the
files it made there): any record may have been swapped for a symbolic link (to ``/etc/shadow``,
the course secret, ``/dev/zero``, ``/proc/self/pagemap``), a FIFO that blocks a reader forever, a
hard link, a file that keeps growing, or its folder for another. So a record is opened once,
relative to its folder's descriptor, without following links and without blocking; ``fstat`` on
that descriptor must show a regular file with one link, owned by whom the sandbox says; it is
read whole into memory, up to a byte cap, and parsed from those bytes only. Any deviation is one
and the same ``Unreadable``: the student learns nothing about the host from the feedback.
"""

from __future__ import annotations

import errno
import io
import json
import os
import stat
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from grader.trusted.seals import matches

MAX_JSON_BYTES = 2 * 2**20
MAX_JSON_DEPTH = 32  # a record is a dict of values: lists of lists of numbers at most
MAX_TENSOR_FILE_BYTES = 64 * 2**20
MAX_PICKLE_BYTES = 2**20  # a torch record's pickle: names and shapes, the data is in storages
MAX_ZIP_ENTRIES = 4096

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_FOLDER_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


class Unreadable(Exception):
    """A record the grader does not use. Its text is for the grader's developers, never shown."""


class Missing(Unreadable):
    """No entry of that name at all (what a probe that never wrote its record leaves)."""


@dataclass(frozen=True)
class RecordFolder:
    """A folder the grader made for the kernel to write records into, known by its identity (device
    and inode) at creation, so that a folder swapped for another (or for a link) is refused."""

    path: Path
    device: int
    inode: int
    owners: frozenset[int]  # who may own the records: the uid the kernel runs as
    seal: Mapping[str, str] | None = None  # the files the probe wrote, and their SHA-256

    def sealed(self, seal: Mapping[str, str]) -> "RecordFolder":
        """This folder, reading only the files ``seal`` lists, as they were when the probe sealed them."""
        return replace(self, seal=dict(seal))

    @classmethod
    def made(cls, path: Path, owners: frozenset[int]) -> "RecordFolder":
        """Called by the grader right after it creates ``path``, before the kernel may touch it."""
        made = os.stat(path, follow_symlinks=False)
        return cls(Path(path), made.st_dev, made.st_ino, frozenset(owners))

    def read(self, name: str, cap: int) -> bytes:
        """The bytes of the record ``name`` in this folder, at most ``cap`` of them."""
        if "/" in name or name in ("", ".", ".."):
            raise Unreadable(f"{name!r} is not a file name")
        try:
            folder = os.open(self.path, _FOLDER_FLAGS)
        except OSError as err:
            raise Unreadable(f"folder: {errno.errorcode.get(err.errno, err.errno)}") from None
        try:
            seen = os.fstat(folder)
            if (seen.st_dev, seen.st_ino) != (self.device, self.inode) or seen.st_uid != os.geteuid():
                raise Unreadable("the folder is not the one the grader made")
            if self.seal is not None and name not in self.seal:
                raise Missing("not written by the probe")
            data = _read_in(folder, name, cap, self.owners)
            if self.seal is not None and not matches(self.seal, name, data):
                raise Unreadable("changed after the probe wrote it")
            return data
        finally:
            os.close(folder)


def _read_in(folder: int, name: str, cap: int, owners: frozenset[int]) -> bytes:
    try:
        before = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        raise Missing("no such entry") from None
    except OSError:
        raise Unreadable("cannot look at it") from None
    # Looked at before opening, so that nothing but a regular file is ever opened (opening a
    # device can have effects of its own); checked again on the descriptor, which is what is read.
    if not stat.S_ISREG(before.st_mode):
        raise Unreadable("not a regular file")
    try:
        handle = os.open(name, _OPEN_FLAGS, dir_fd=folder)
    except OSError:
        raise Unreadable("cannot open") from None
    try:
        opened = os.fstat(handle)
        if (not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino)
                or opened.st_nlink != 1 or opened.st_uid not in owners):
            raise Unreadable("not a regular file of the kernel's own")
        if opened.st_size > cap:
            raise Unreadable("larger than its cap")
        chunks, size = [], 0
        while size <= cap:  # the file may grow while it is read: never past the cap
            try:
                chunk = os.read(handle, cap + 1 - size)
            except OSError:
                raise Unreadable("read failed") from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > cap:
            raise Unreadable("larger than its cap")
        return b"".join(chunks)
    finally:
        os.close(handle)


def parse_json(data: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A JSON value from untrusted bytes, nested at most ``max_depth`` deep."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the interpreter's limit
        raise Unreadable("not JSON") from None
    if _depth_exceeds(value, max_depth):
        raise Unreadable("nested too deep")
    return value


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    pending = [(value, 1)]
    while pending:  # without recursion: the value is the student's
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > max_depth:
                    return True
                pending.append((child, depth + 1))
    return False


def parse_tensors(data: bytes) -> Any:
    """``torch.load`` (tensors and plain containers only) of untrusted bytes in torch.save's zip
    format. Before anything is loaded, the archive's declared sizes are checked: every entry
    stored uncompressed (a deflated storage inflates a thousandfold), no more bytes in all than
    the file has, a small pickle. Torch then reads a copy rebuilt from the checked entries, so
    that no zip reader sees a different archive from the one that was checked."""
    import torch

    checked = _checked_archive(data)
    try:
        return torch.load(io.BytesIO(checked), weights_only=True, map_location="cpu")
    except Exception:  # forged or corrupt content; weights_only refuses anything but tensors
        raise Unreadable("torch.load refused it") from None


def _checked_archive(data: bytes) -> bytes:
    # torch.load reads anything that does not start as a zip in its legacy format, whose storages
    # are allocated at whatever size the file declares.
    if not data.startswith(b"PK\x03\x04"):
        raise Unreadable("not a zip archive")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES or len({e.filename for e in entries}) != len(entries):
                raise Unreadable("too many or repeated entries")
            total = 0
            for entry in entries:
                if (entry.compress_type != zipfile.ZIP_STORED or entry.file_size != entry.compress_size
                        or entry.flag_bits & 0x1 or entry.is_dir()):
                    raise Unreadable("an entry that is compressed, encrypted or not a file")
                if entry.filename.endswith("data.pkl") and entry.file_size > MAX_PICKLE_BYTES:
                    raise Unreadable("pickle too large")
                total += entry.file_size
            if total > len(data):
                raise Unreadable("entries declare more bytes than the file has")
            rebuilt = io.BytesIO()
            with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_STORED) as copy:
                for entry in entries:
                    copy.writestr(entry.filename, archive.read(entry))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError,
            RuntimeError, OverflowError):
        raise Unreadable("not a readable zip archive") from None
    return rebuilt.getvalue()
