"""The sandbox one submission runs in (see :mod:`dltheory.grading`): its process, limits and user.

Linux only. As root: a new mount namespace hides the world-writable folders (/tmp, /var/tmp,
/dev/shm, /run/lock) behind empty tmpfs mounts others cannot write, leaving only the sandbox folder
visible; a new network namespace leaves no network; then the process becomes an unprivileged user.
Always: address-space, file-size, CPU and core limits, a wall-clock timeout, and every leftover
process killed afterwards.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import nbformat

_ENV_KEEP = ("LANG", "LC_ALL", "TZ")


def _subreaper() -> None:
    """Make this process the parent of any process a submission detaches, so it can be found."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _descendants() -> list[tuple[int, int, int]]:
    """(pid, uid, session) of every live descendant of this process."""
    parent, info = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            uid = os.stat(f"/proc/{entry}").st_uid
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parent[int(entry)] = int(fields[1])
        info[int(entry)] = (uid, int(fields[3]))
    out, todo = [], [os.getpid()]
    while todo:
        p = todo.pop()
        for child, ppid in parent.items():
            if ppid == p:
                out.append((child, *info[child]))
                todo.append(child)
    return out


def _reap(uid: int | None, session: int) -> None:
    """Kill what is left of one submission: its session, and (unprivileged) every process of uid."""
    for _ in range(50):
        doomed = [p for p, u, s in _descendants() if s == session or (uid is not None and u == uid)]
        if not doomed:
            return
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in doomed:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        time.sleep(0.05)


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    enc = [x.encode() if isinstance(x, str) else x for x in (source, target, fstype, data)]
    if libc.mount(*enc[:3], flags, enc[3]) != 0:
        raise OSError(ctypes.get_errno(), f"mount {target}")


_MASKED = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


def _kept_paths() -> list[str]:
    """The folders the sandboxed Python imports from (this environment's ``sys.path`` and prefix)
    that lie under a masked folder, e.g. a clone of the book under /tmp: they are mounted back,
    read-only, so the library imports wherever the repository lives."""
    found = set()
    for p in (*sys.path, sys.prefix):
        real = os.path.realpath(p) if p else ""
        if os.path.isdir(real) and any(real.startswith(m + os.sep) for m in _MASKED):
            found.add(real)
    return [p for p in sorted(found) if not any(p.startswith(q + os.sep) for q in found)]


def _private_mounts(libc, box: str, kept: list[str]) -> None:
    """New mount and network namespaces: no network; empty, unwritable /tmp, /var/tmp, /dev/shm,
    /run/lock, with only the box left visible at its own path (nothing written there outlives it)
    and the ``kept`` folders mounted back read-only."""
    if libc.unshare(0x20000 | 0x40000000) != 0:  # CLONE_NEWNS | CLONE_NEWNET: no network either
        raise OSError(ctypes.get_errno(), "unshare")
    handles = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in kept]
    _mount(libc, "none", "/", None, 0x4000 | 0x40000)  # MS_REC | MS_PRIVATE
    tmpfs = 0x2 | 0x4 | 0x8  # MS_NOSUID | MS_NODEV | MS_NOEXEC
    _mount(libc, box, "/var/tmp", None, 0x1000)  # MS_BIND: keep the box while /tmp is covered
    _mount(libc, "tmpfs", "/tmp", "tmpfs", tmpfs, "size=1m,mode=0755")
    inner = os.path.join("/tmp", os.path.basename(box))
    os.mkdir(inner)
    _mount(libc, "/var/tmp", inner, None, 0x1000)
    if libc.umount2(b"/var/tmp", 2) != 0:  # MNT_DETACH
        raise OSError(ctypes.get_errno(), "umount /var/tmp")
    for place in ("/var/tmp", "/dev/shm", "/run/lock"):
        if os.path.isdir(place):
            _mount(libc, "tmpfs", place, "tmpfs", tmpfs, "size=1m,mode=0755")
    for path, fd in handles:  # bound from the open handle: the original path is covered now
        os.makedirs(path, exist_ok=True)
        _mount(libc, f"/proc/self/fd/{fd}", path, None, 0x1000 | 0x4000)  # MS_BIND | MS_REC
        _mount(libc, "none", path, None, 0x20 | 0x1000 | 0x1)  # MS_REMOUNT | MS_BIND | MS_RDONLY
        os.close(fd)


def _limits(uid, gid, memory: int, output: int, cpu: int, box: str):
    kept = _kept_paths()  # computed before the fork: the child only mounts

    def preexec():  # runs in the child, between fork and exec
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        libc = ctypes.CDLL(None, use_errno=True)
        if uid is not None:
            try:
                _private_mounts(libc, box, kept)
            except OSError:  # no namespaces here (some containers): still unprivileged, below
                pass
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the grader
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS

    return preexec


_BOOT = (
    "import site, sys\n"
    "for p in sys.argv[1].split(':'): site.addsitedir(p)\n"
    "from dltheory._sandbox import main\n"
    "sys.exit(main(sys.argv[2:]))"
)


def _reachable(path: str, uid: int, gid: int, need: int) -> bool:
    """Whether ``uid`` can traverse to ``path`` and has ``need`` (a mode bit for "other") on it."""
    p = Path(os.path.realpath(path))
    for part in [*reversed(p.parents), p]:
        st = os.stat(part)
        bits = need if part == p else 0o1
        shift = 6 if st.st_uid == uid else 3 if st.st_gid == gid else 0
        if (st.st_mode >> shift) & bits != bits:
            return False
    return True


def _interpreter(uid: int | None, gid: int | None) -> list[str]:
    """How the sandbox starts Python: this interpreter, or one of the same version it can run.

    A virtual environment made from an interpreter in a private home (pyenv under /root) cannot be
    run by ``nobody``; a system Python of the same minor version, given this environment's
    site-packages, runs the same code.
    """
    if uid is None:
        return [sys.executable, "-I", "-m", "dltheory._sandbox"]
    stdlib = sysconfig.get_paths()["stdlib"]
    if _reachable(sys.executable, uid, gid, 0o1) and _reachable(stdlib, uid, gid, 0o5):
        return [sys.executable, "-I", "-m", "dltheory._sandbox"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    sites = ":".join(p for p in sys.path if p.endswith("site-packages"))
    for folder in ("/usr/bin", "/usr/local/bin", "/bin"):
        candidate = os.path.join(folder, version)
        if os.path.isfile(candidate) and _reachable(candidate, uid, gid, 0o1):
            return [candidate, "-I", "-S", "-c", _BOOT, sites]
    raise RuntimeError(
        f"the sandbox user cannot run {sys.executable} and there is no system {version}: "
        "install the environment where that user can read it"
    )


def _sandbox_identity(user: str) -> tuple[int | None, int | None]:
    if os.geteuid() != 0:
        return None, None  # cannot switch user: same-user isolation only (see the Teaching page)
    entry = pwd.getpwnam(user)
    if entry.pw_uid == 0:
        raise ValueError(f"user must be unprivileged, got {user!r}")
    return entry.pw_uid, entry.pw_gid


def execute(submission: Path, name: str, answers: list[str], work: Path, *, timeout: float,
             memory_mb: float, output_mb: float, user: str) -> tuple[str, Path | None, str]:  # fmt: skip
    """Run one submission in a fresh folder; (status, copy of its answers file, output tail)."""
    uid, gid = _sandbox_identity(user)
    box = Path(tempfile.mkdtemp(prefix="dltheory-sandbox-"))
    try:
        nb = nbformat.read(submission, as_version=4)
        for cell in nb.cells:  # outputs are not the student's answer: they do not travel
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(nb, box / name)
        if uid is not None:
            for p in (box, box / name):
                os.chown(p, uid, gid)
        env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
        env.update(HOME=str(box), TMPDIR=str(box), MPLBACKEND="Agg", DLTHEORY_PROGRESS="0",
                   DLTHEORY_RESULTS_DIR=str(box / "results"), MPLCONFIGDIR=str(box / ".mpl"),
                   OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin")  # fmt: skip
        log_path = work / "output.log"
        with open(log_path, "wb") as log:
            _subreaper()
            proc = subprocess.Popen(
                [*_interpreter(uid, gid), "run", name, ",".join(answers), "answers.json"],
                cwd=box, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_limits(uid, gid, int(memory_mb * 2**20), int(output_mb * 2**20),
                                   int(timeout) + 5, str(box)),
            )  # fmt: skip
            try:
                code = proc.wait(timeout=timeout)
                status = "ok" if code == 0 else "error"
            except subprocess.TimeoutExpired:
                status = "timeout"
            finally:
                _reap(uid, proc.pid)
                proc.wait()
        with open(log_path, "rb") as log:
            log.seek(max(0, log_path.stat().st_size - 3000))
            tail = log.read().decode(errors="replace")
        copied = None
        if status == "ok":
            copied = _copy_regular(box / "answers.json", work / "answers.json")
            status = "ok" if copied else "error"
        return status, copied, tail
    finally:
        shutil.rmtree(box, ignore_errors=True)


def _copy_regular(src: Path, dst: Path) -> Path | None:
    """Copy a file the sandbox wrote, refusing links and anything but a small regular file."""
    from dltheory._sandbox import MAX_ANSWER_BYTES

    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not (st.st_mode & 0o170000 == 0o100000) or st.st_size > MAX_ANSWER_BYTES:
            return None
        dst.write_bytes(f.read(MAX_ANSWER_BYTES + 1))
    return dst
