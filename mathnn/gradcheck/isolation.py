"""The protections the sandboxed process applies to itself before any student code runs.

:func:`isolate` sets what :class:`mathnn.gradcheck.sandbox.Sandbox` asks for in the worker's
configuration (see the table in :mod:`mathnn.gradcheck.sandbox`): a network namespace, hard resource
limits (address space, CPU time, file size, open files, processes, core dumps), a private view of
the filesystem (:func:`private_filesystem`), the sandbox's cgroups, an unprivileged user, no new
privileges and a parent-death signal. It answers which held.
Before that, :func:`preload` imports the standard-library modules homework uses, while they can
still be read, and :func:`no_debugger` makes a leftover ``pdb.set_trace()`` do nothing.

It runs inside the sandbox, loaded by :mod:`mathnn.gradcheck.worker` from beside it: the standard
library only, no relative imports.
"""

from __future__ import annotations

import os
import sys


def _libc():
    import ctypes
    import ctypes.util

    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def isolate(config: dict) -> dict:
    """Apply the protections ``config`` asks for, before any student code runs; say which held."""
    import resource

    applied: dict[str, object] = {}
    linux = sys.platform.startswith("linux")
    if config.get("network") and linux:
        clone_newnet, clone_newuser = 0x40000000, 0x10000000
        flags = clone_newnet if os.geteuid() == 0 else clone_newnet | clone_newuser
        applied["network namespace"] = _libc().unshare(flags) == 0
    limits = {
        "address space": (resource.RLIMIT_AS, config["memory"]),
        "cpu time": (resource.RLIMIT_CPU, config["cpu"]),
        "file size": (resource.RLIMIT_FSIZE, config["fsize"]),
        "open files": (resource.RLIMIT_NOFILE, config["nofile"]),
        "core dumps": (resource.RLIMIT_CORE, 0),
    }
    if hasattr(resource, "RLIMIT_NPROC"):
        limits["processes"] = (resource.RLIMIT_NPROC, config["nproc"])
    for label, (which, value) in limits.items():
        try:
            resource.setrlimit(which, (value, value))  # hard = soft: the student cannot raise it back
            applied[label] = value
        except (ValueError, OSError):
            applied[label] = False
    if config.get("filesystem") and linux and os.geteuid() == 0:
        applied["private filesystem"] = private_filesystem(config["filesystem"], config.get("uid"), config.get("gid"))
    joined = 0
    for procs in config.get("cgroups") or ():  # before setuid: only root may move a process
        try:
            with open(procs, "w") as stream:
                stream.write(str(os.getpid()))
            joined += 1
        except OSError:
            continue
    applied["cgroups"] = joined
    if config.get("uid") is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(config["gid"])
        os.setuid(config["uid"])
        applied["user"] = config["uid"]
    if linux:
        libc = _libc()
        pr_set_pdeathsig, pr_set_no_new_privs = 1, 38
        applied["no new privileges"] = libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) == 0
        # after setuid, which clears the parent-death signal
        applied["parent-death signal"] = libc.prctl(pr_set_pdeathsig, 9, 0, 0, 0) == 0
        if os.getppid() != config["parent"]:
            os._exit(70)  # the grader died before the signal was armed
    return applied


_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 2, 4, 8, 4096, 16384, 1 << 18
_MNT_DETACH = 2
#: Size of each private scratch folder (a tmpfs, in memory: the sandbox's memory cgroup counts it).
SCRATCH_SIZE = "64m"


def _mount(libc, source: str, target: str, kind: str | None, flags: int, options: str | None = None) -> None:
    if libc.mount(source.encode(), target.encode(), kind.encode() if kind else None, flags,
                  options.encode() if options else None) != 0:
        import ctypes

        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number), target)


def private_filesystem(plan: dict, uid: int | None, gid: int | None) -> bool:
    """A mount namespace of the sandbox's own (Linux, root), set up before any student code runs:

    * ``hide``: folders the student's code must not read, each covered by an empty read-only tmpfs —
      mathnn's own package (the reference implementations) and an autograder's source folder (its
      configuration and the copy of mathnn it installs from);
    * ``scratch``: the folders everyone may write to (/tmp, /var/tmp, /dev/shm…), each replaced by a small
      tmpfs of the sandbox's own, so that no file it writes fills the grader's disk or meets a
      classmate's; ``keep`` lists the folders under them the sandbox needs (its own folder, the numpy
      and torch folders), mounted back in place;
    * ``cwd``: the working directory, replaced by a tmpfs owned by the sandbox's user.

    Best effort: False when the namespace cannot be made (then nothing changed); a folder that cannot
    be covered is left as it was.
    """
    libc = _libc()
    if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
        return False
    try:
        _mount(libc, "none", "/", None, _MS_REC | _MS_PRIVATE)  # nothing mounted here reaches the grader
    except OSError:
        return False
    covered = True
    for folder in plan.get("hide", ()):
        try:
            _mount(libc, "none", folder, "tmpfs", _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "size=4k,mode=0555")
        except OSError:
            covered = False
    keep = [folder for folder in plan.get("keep", ()) if os.path.isdir(folder)]
    for scratch in plan.get("scratch", ()):
        if not os.path.isdir(scratch) or os.path.islink(scratch):
            continue
        inside = [folder for folder in keep if folder.startswith(scratch.rstrip("/") + "/")]
        handles = [os.open(folder, os.O_RDONLY | os.O_DIRECTORY) for folder in inside]
        try:
            _mount(libc, "none", scratch, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={SCRATCH_SIZE},mode=1777")
        except OSError:
            covered = False
            for handle in handles:
                os.close(handle)
            continue
        try:
            for folder, handle in zip(inside, handles):
                os.makedirs(folder, mode=0o755)
                _mount(libc, f"/proc/self/fd/{handle}", folder, None, _MS_BIND | _MS_REC)
        except OSError:
            libc.umount2(scratch.encode(), _MNT_DETACH)  # the sandbox needs what was under it
            covered = False
        finally:
            for handle in handles:
                os.close(handle)
    cwd = plan.get("cwd")
    if cwd:
        owner = "" if uid is None else f",uid={uid},gid={gid}"
        try:
            _mount(libc, "none", cwd, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={SCRATCH_SIZE},mode=0700{owner}")
            os.chdir(cwd)  # into the new mount: the old folder stays on the grader's disk
        except OSError:
            covered = False
    return covered


#: Standard-library modules imported before the sandbox drops to an unprivileged user, who may not be
#: allowed to read this interpreter's library folder (e.g. a Python installed under /root).
PRELOAD = (
    "importlib.util", "importlib.machinery", "math", "cmath", "random", "collections", "functools", "itertools",
    "copy", "typing", "abc", "dataclasses", "numbers", "operator", "statistics", "time", "string", "re", "pickle",
    "numpy.linalg", "numpy.random", "numpy.fft",
)


def preload() -> None:
    """Import :data:`PRELOAD`, each module the interpreter has (the limits and the user change next)."""
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            continue


def no_debugger() -> None:
    """``import pdb`` gets a stand-in whose set_trace, post_mortem and pm do nothing, and so does
    ``breakpoint()``: homework files import pdb to debug and leave a set_trace behind, and the sandbox's
    stdin carries the grader's requests, not a debugger's commands (nor can the unprivileged user read
    the standard library's pdb.py where Python is installed in a private home)."""
    import types

    def nothing(*args: object, **kwargs: object) -> None:
        return None

    stand_in = types.ModuleType("pdb", "A stand-in for pdb in mathnn's sandbox: no debugger runs here.")
    for name in ("set_trace", "post_mortem", "pm"):
        setattr(stand_in, name, nothing)
    sys.modules["pdb"] = stand_in
    sys.breakpointhook = nothing
