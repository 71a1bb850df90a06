# Runs in a hostile notebook's kernel (tests/hostile/trusted_reads.toml), as the start of a cell.
# attack(probe, attacks) replaces that probe's records once it has written them, and before its
# cell ends (the probe's folder is still the kernel's), as `attacks` says for each suffix: by a
# FIFO, a symbolic link to somewhere on the grader's machine, a deflate bomb, JSON nested 200,000
# deep. The probe has sealed its records by then: what the grader reads must match the seal.
import io as _io
import os as _os
import zipfile as _zipfile


def _probe_folders():
    """The probes' folders, wherever the grader put its exchange folder: a mount of the sandbox, or
    a folder below the temporary folder."""
    import glob

    try:
        with open("/proc/self/mountinfo") as mounts:
            points = [line.split()[4] for line in mounts]
    except OSError:
        points = []
    exchanges = [p for p in points if p.endswith("/exchange")] + glob.glob("/tmp/*/exchange") + glob.glob(
        _os.path.join(_os.environ.get("TMPDIR", "/tmp"), "*", "exchange"))
    return [folder for exchange in exchanges for folder in glob.glob(_os.path.join(exchange, "probe-*"))]


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


def attack(probe, attacks):
    """After each cell (a probe's cell too: IPython runs post_run_cell callbacks before it replies
    to the grader), replace the records of probe ``probe`` (``<probe>.json``, ``<probe>.pt``) in
    every probe folder, once each, as ``attacks`` says for their suffix."""
    done = set()

    def after_each_cell(*_):
        for folder in _probe_folders():
            for suffix, how in attacks.items():
                path = _os.path.join(folder, probe + suffix)
                if path not in done and _os.path.isfile(path) and not _os.path.islink(path):
                    done.add(path)
                    try:
                        _replace(path, how)
                    except OSError:
                        pass

    get_ipython().events.register("post_run_cell", after_each_cell)  # noqa: F821
