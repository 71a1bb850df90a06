# Runs in a hostile notebook's kernel (tests/hostile/trusted_reads.toml), as the start of a cell.
# A function that calls attack(...) attacks the probe that calls it: once the probe has written
# its records, and before its cell ends (the probe's folder is still the kernel's), each record
# in the folder is replaced as ATTACKS says for its suffix: by a FIFO, a symbolic link to
# somewhere on the grader's machine, a deflate bomb, JSON nested 200,000 deep.
import io as _io
import os as _os
import sys as _sys
import zipfile as _zipfile


def _probe_folder():
    """The frame that holds the probe's folder, and the folder: a path, or a name below the
    exchange folder where the probes' inputs are (``inputs.pt``)."""
    frame = _sys._getframe(2)
    while frame is not None:
        strings = [v for v in list(frame.f_locals.values()) if isinstance(v, str)]
        bases = [""] + [_os.path.dirname(v) for v in strings if v.endswith("inputs.pt")]
        for value in strings:
            if _os.path.basename(value).startswith("probe-"):
                for base in bases:
                    if _os.path.isdir(_os.path.join(base, value)):
                        return frame, _os.path.join(base, value)
        frame = frame.f_back
    return None, None


def _deflate_bomb(megabytes):
    """torch.save's format, a tensor of ``megabytes`` MiB of zeros stored deflated (about 200:1)."""
    import torch

    small = _io.BytesIO()
    torch.save({"case0": torch.zeros(2**20, dtype=torch.uint8)}, small)
    out = _io.BytesIO()
    with _zipfile.ZipFile(_io.BytesIO(small.getvalue())) as source, \
            _zipfile.ZipFile(out, "w", _zipfile.ZIP_DEFLATED, compresslevel=1) as bomb:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename.endswith("/data/0"):
                with bomb.open(entry.filename, "w", force_zip64=True) as storage:
                    for _ in range(megabytes):
                        storage.write(bytes(2**20))
                continue
            if entry.filename.endswith("data.pkl"):  # the storage's and the tensor's size: 2**20 -> megabytes MiB
                data = data.replace((2**20).to_bytes(4, "little"), (megabytes * 2**20).to_bytes(4, "little"))
            bomb.writestr(entry.filename, data)
    return out.getvalue()


def _replace(path, how):
    if how == "fifo":
        _os.unlink(path)
        _os.mkfifo(path)
    elif how.startswith("symlink:"):
        _os.unlink(path)
        _os.symlink(how[len("symlink:"):], path)
    elif how == "deep_json":
        with open(path, "w") as record:
            record.write('{"ok": true, "values": ' + "[" * 200_000 + "]" * 200_000 + "}")
    elif how.startswith("bomb:"):
        with open(path, "wb") as record:
            record.write(_deflate_bomb(int(how[len("bomb:"):])))


def attack(attacks):
    frame, folder = _probe_folder()
    if frame is None or getattr(attack, "armed", False):
        return

    def after_the_probe(current, event, arg):
        if event == "return" and current is frame:
            _sys.setprofile(None)
            attack.armed = False
            for name in sorted(_os.listdir(folder)):
                for suffix, how in attacks.items():
                    if name.endswith(suffix):
                        _replace(_os.path.join(folder, name), how)

    attack.armed = True
    _sys.setprofile(after_the_probe)
