"""The walls around a student's kernel, exercised for real: hidden files, no network, memory,
processes, file size, time, and nothing left running afterwards."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from grader.assignments import COURSE_DIR
from grader.errors import CouldNotGrade
from grader.statuses import Ending
from grader.untrusted import sandbox
from grader.untrusted.limits import Limits
from grader.untrusted.messages import MAX_CELL_OUTPUT_BYTES
from grader.untrusted.runner import KernelSession
from sandboxed_cells import run_cells

pytestmark = pytest.mark.kernel
ISOLATION = sandbox.detect()
needs_sandbox = pytest.mark.skipif(not ISOLATION.sandboxed, reason="; ".join(ISOLATION.reasons))
needs_cgroups = pytest.mark.skipif(ISOLATION.caps.mechanism not in ("cgroup-v1", "cgroup-v2"),
                                   reason="no writable cgroup here: " + "; ".join(ISOLATION.caps.failures))


def printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def processes_matching(marker: str) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if marker in line and "ps -eo" not in line]


@needs_sandbox
def test_instructor_files_home_and_network_are_out_of_reach(tmp_path):
    secret = Path.home() / ".config" / "grader" / "secret"
    neighbour = tmp_path.parent / f"{tmp_path.name}_other_student" / "entrega.ipynb"
    neighbour.parent.mkdir()
    neighbour.write_text("{}")
    neighbour.chmod(0o644)
    reads = [COURSE_DIR / "reference" / "xor.ipynb", secret, Path("/etc/shadow"), neighbour]
    probe = "\n".join([
        "import os, socket, tempfile",
        "tempfile.NamedTemporaryFile(dir='/tmp').close()",  # torch and matplotlib need a writable /tmp
        "print('user', os.environ.get('USER'))",
        f"for path in {[str(p) for p in reads]!r}:",
        "    try:",
        "        open(path).read(10) if os.path.isfile(path) else os.listdir(path)",
        "        print('READ', path)",
        "    except OSError as err:",
        "        print('DENIED', path, type(err).__name__)",
        f"for path in {[str(COURSE_DIR / 'pwned.txt'), str(tmp_path / 'kernel.log')]!r}:",
        "    try:",
        "        open(path, 'a').write('x'); print('WROTE', path)",
        "    except OSError as err:",
        "        print('DENIED', path, type(err).__name__)",
        "try:",
        "    socket.create_connection(('1.1.1.1', 80), timeout=2); print('NETWORK')",
        "except OSError:",
        "    print('NO NETWORK')",
        "print('uid', os.getuid())",
    ])
    run, cells, _ = run_cells(tmp_path, [probe])
    text = printed(cells[0])
    assert run.cells[0].status == "ok", run.cells[0]
    assert "READ" not in text and "WROTE" not in text and "NETWORK\n" not in text.replace("NO NETWORK", "")
    assert text.count("DENIED") == len(reads) + 2 and "NO NETWORK" in text
    assert f"uid {sandbox.SANDBOX_UID}" in text and "user nobody" in text
    assert not (COURSE_DIR / "pwned.txt").exists()


def test_the_kernel_sees_none_of_the_graders_secrets_or_torch_settings(monkeypatch):
    from grader.untrusted.environment import kernel_environment

    for name in ("GRADER_SECRET", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "TORCHINDUCTOR_CACHE_DIR"):
        monkeypatch.setenv(name, "/tmp/x")
    env = kernel_environment(threads=1)
    assert not {"GRADER_SECRET", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "TORCHINDUCTOR_CACHE_DIR"} & set(env)
    assert env["PATH"] and env["OMP_NUM_THREADS"] == "1"


@needs_sandbox
def test_a_memory_hog_is_stopped_and_said_so(tmp_path):
    began = time.monotonic()
    run, _, kernel = run_cells(tmp_path, ["x = b'x' * (3 * 2**30)", "print('after')"],
                               Limits(memory_mb=512, cell_timeout_s=60))
    assert time.monotonic() - began < 60
    assert run.kernel_died and kernel.memory_limit_hit
    assert [c.status for c in run.cells] == ["died", "not_run"] and run.cells[0].ending == Ending("memory")


@needs_sandbox
@needs_cgroups
def test_process_count_is_capped_and_nothing_outlives_the_grading(tmp_path):
    spawn = "\n".join([
        "import subprocess",
        "started, refused = 0, 0",
        "for _ in range(80):",
        "    try:",
        "        subprocess.Popen(['sleep', '4321'], start_new_session=True); started += 1",
        "    except OSError:",
        "        refused += 1",
        "print('started', started, 'refused', refused)",
    ])
    run, cells, kernel = run_cells(tmp_path, [spawn], Limits(max_processes=40))
    started = int(printed(cells[0]).split()[1])
    assert 0 < started < 40 and "refused 0" not in printed(cells[0])
    deadline = time.monotonic() + 5
    while processes_matching("sleep 4321") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_matching("sleep 4321") == []
    assert kernel.cgroup.paths
    assert not any(path.exists() for path in kernel.cgroup.paths)


@needs_sandbox
def test_file_size_is_capped(tmp_path):
    write = "\n".join([
        "try:",
        "    open('big.bin', 'wb').write(b'x' * (20 * 2**20)); print('WROTE')",
        "except OSError as err:",
        "    print('REFUSED', err.errno)",
    ])
    _, cells, _ = run_cells(tmp_path, [write], Limits(max_file_mb=8))
    assert printed(cells[0]).startswith("REFUSED")


def test_an_endless_cell_times_out_and_the_next_cell_still_runs(tmp_path):
    run, cells, _ = run_cells(tmp_path, ["while True:\n    pass", "print('next')"], Limits(cell_timeout_s=3))
    assert [c.status for c in run.cells] == ["timeout", "ok"]
    assert printed(cells[1]) == "next\n"


def test_the_last_cell_of_the_notebook_runs_itself(tmp_path):
    run, cells, _ = run_cells(tmp_path, ["x = 1", "print('last', x)"])
    assert printed(cells[-1]) == "last 1\n" and len(cells) == 2


def test_a_flood_of_output_is_capped_before_it_piles_up(tmp_path):
    import resource

    flood = "for i in range(300_000):\n    print('x' * 200)"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run, cells, _ = run_cells(tmp_path, [flood, "print('after')"], Limits(cell_timeout_s=60))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    kept = sum(len(o.get("text", "")) for o in cells[0].outputs)
    assert [c.status for c in run.cells] == ["ok", "ok"] and run.truncated_cells == [0]
    assert MAX_CELL_OUTPUT_BYTES // 2 <= kept <= MAX_CELL_OUTPUT_BYTES + 1000 and printed(cells[1]) == "after\n"
    assert grown_mb < 100, f"the grader grew by {grown_mb:.0f} MB for 60 MB of printing"


def test_a_kernel_that_fails_to_start_leaves_no_cgroup_behind(tmp_path):
    # A socket path over 107 bytes: the kernel is launched, then the grader cannot connect to it.
    job = tmp_path / ("deep" * 30)
    job.mkdir()
    sandbox.prepare_job(job, ISOLATION)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    session = KernelSession(notebook, job, Limits(kernel_start_timeout_s=15), seed=0, isolation=ISOLATION)

    async def start():
        async with session:
            pass

    with pytest.raises(CouldNotGrade):  # tried again, then the grader's failure: never the student's
        asyncio.run(start())
    assert session.cgroup is not None and not any(path.exists() for path in session.cgroup.paths)
    time.sleep(1)
    assert processes_matching(str(job)) == []


@needs_sandbox
@needs_cgroups
def test_leftovers_of_a_killed_grader_are_removed_and_a_running_graders_are_not(tmp_path):
    from grader.untrusted import leftovers

    gone = subprocess.Popen(["sleep", "60"])
    dead_prefix = f"grader-{gone.pid}.{leftovers._start_time(gone.pid)}-"
    gone.kill()
    gone.wait()
    dead = Path("/tmp") / f"{dead_prefix}test"
    alive = Path("/tmp") / f"{leftovers.owned_prefix()}test"
    unowned = Path("/tmp") / "grader-unowned-test"
    for folder in (dead, alive, unowned):
        (folder / "job").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "grader-job", str(dead / "job")], check=True)
    cgroup = sandbox.CGROUP_ROOT / "pids" / f"{dead_prefix}cell"
    cgroup.mkdir()
    stray = subprocess.Popen(["sleep", "60"])
    (cgroup / "cgroup.procs").write_text(str(stray.pid))
    try:
        removed = sandbox.sweep_leftovers()
        assert str(dead) in removed and str(cgroup) in removed
        assert not dead.exists() and not cgroup.exists() and not Path(dead / "job").is_mount()
        assert stray.wait(timeout=5) == -9  # the killed grader's kernel processes go with it
        assert alive.is_dir() and unowned.is_dir()
    finally:
        stray.kill()
        leftovers.unmount_below(dead)
        for folder in (dead, alive, unowned):
            subprocess.run(["rm", "-rf", str(folder)])
        if cgroup.exists():
            leftovers.remove_cgroup(cgroup)


@pytest.mark.parametrize("command", ["root", "rootless_as_root", "rootless"])
def test_every_sandboxed_mode_binds_the_shared_folders_read_write_and_the_sealed_files_read_only(command, tmp_path):
    from grader.untrusted import bwrap

    job, shared, sealed = tmp_path / "job", tmp_path / "exchange", tmp_path / "seals"
    binds = bwrap.Binds(shared=(shared,), sealed=(sealed,))
    made = {"root": lambda: bwrap.root_command(job, job / "work", job / "home", 16, binds),
            "rootless_as_root": lambda: bwrap.rootless_as_root_command("/proc/1/ns/user", job, job / "work",
                                                                       job / "home", 16, binds),
            "rootless": lambda: bwrap.rootless_command(job, job / "work", job / "home", 16, binds)}[command]()
    triples = [made[i:i + 3] for i in range(len(made) - 2)]
    assert ["--bind", str(shared), str(shared)] in triples
    assert ["--ro-bind", str(sealed), str(sealed)] in triples
    assert ["--bind", str(sealed), str(sealed)] not in triples


def test_every_generator_a_notebook_draws_from_starts_from_the_gradings_seed(tmp_path):
    draw = "import random, numpy, torch\nprint(random.random(), numpy.random.rand(), torch.rand(1).item())"
    printed = []
    for job in ("first", "second"):
        (tmp_path / job).mkdir()
        _, cells, _ = run_cells(tmp_path / job, [draw])
        printed.append("".join(o.get("text", "") for o in cells[0].outputs))
    assert printed[0] == printed[1] and printed[0].count(" ") == 2, printed
