"""The sandboxes' processes, seen from the grader: their lifetime and the cgroups that count and cap them.

Every sandbox (:class:`mathnn.gradcheck.sandbox.Sandbox`) is started through :func:`spawn`, which
registers it as live. What makes the whole tree of a sandbox die with it (see the table in
:mod:`mathnn.gradcheck.sandbox`):

* each sandbox has its own process group, killed at once (:func:`kill_group`);
* the grader is a child subreaper (Linux, :func:`become_subreaper`), so a ``setsid`` grandchild
  comes back to it and :func:`kill_orphans` kills it;
* SIGINT, SIGTERM and exit kill every live sandbox and every orphan (:func:`kill_all`,
  :func:`install_signal_handlers`);
* as root, a pids and a memory cgroup per sandbox (:class:`Cgroups`) count every process it starts,
  cap them and kill them together.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

# -- process lifetime ----------------------------------------------------------------------------------

_lock = threading.Lock()
_live: dict[int, subprocess.Popen] = {}
_state: dict[str, object] = {}


def spawn(command: list[str], **options: Any) -> subprocess.Popen:
    """Start a sandbox process (``subprocess.Popen(command, **options)``) and register it as live.

    Both happen under the lock :func:`kill_orphans` holds, so a sandbox that has just started is
    never taken for an orphan.
    """
    with _lock:
        process = subprocess.Popen(command, **options)
        _live[process.pid] = process
    return process


def forget(process: subprocess.Popen) -> None:
    """Stop counting a sandbox (reaped) as live."""
    with _lock:
        _live.pop(process.pid, None)


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return libc.prctl(option, value, 0, 0, 0) == 0


def become_subreaper() -> bool:
    """Make this process adopt its orphaned descendants (Linux), so none escapes :func:`kill_orphans`."""
    if "subreaper" not in _state:
        _state["subreaper"] = _prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    return bool(_state["subreaper"])


def _children() -> list[int]:
    """Children of this process in another session (Linux /proc): sandboxes and what they left behind.

    Every student process is in a sandbox's session or one it created with setsid, never in ours, so
    the grader's own children (in its session) are left alone.
    """
    me, session = os.getpid(), os.getsid(0)
    found: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # state, ppid, pgrp, session, …
        if len(fields) > 3 and int(fields[1]) == me and int(fields[3]) != session:
            found.append(int(entry))
    return found


def kill_orphans(rounds: int = 50) -> int:
    """Kill and reap every child of this process in another session that is not a live sandbox; how many.

    A killed orphan's own children are adopted next, so this repeats until a scan finds none.
    """
    killed = 0
    for _ in range(rounds):
        with _lock:
            strays = [pid for pid in _children() if pid not in _live]
            for pid in strays:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if not strays:
            return killed
        for pid in strays:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        killed += len(strays)
    return killed


def kill_all() -> None:
    """Kill every live sandbox's process group and every orphan: for SIGINT/SIGTERM and exit."""
    with _lock:
        processes = list(_live.values())
    for process in processes:
        kill_group(process)
    kill_orphans()


atexit.register(kill_all)


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def install_signal_handlers() -> None:
    """On SIGINT or SIGTERM, kill every sandbox at once, then stop as the signal asks (main thread only)."""

    def stop(number: int, frame: object) -> None:
        kill_all()
        if number == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + number)

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, stop)


# -- cgroups ------------------------------------------------------------------------------------------

CGROUP_ROOT = Path("/sys/fs/cgroup")


class Cgroups:
    """Control groups for one sandbox (Linux, root): its whole tree counted, capped and killed together.

    The sandbox joins them before any student code runs, and every process it starts stays in
    them whatever session or group it moves to. Best effort: where the cgroup filesystem is absent
    or read-only there are none, and the process group, the subreaper and RLIMIT_NPROC remain.
    """

    def __init__(self, name: str, processes: int, memory_bytes: int) -> None:
        self.paths: list[Path] = []
        if not sys.platform.startswith("linux") or not hasattr(os, "geteuid") or os.geteuid() != 0:
            return
        if (CGROUP_ROOT / "cgroup.controllers").is_file():  # the unified hierarchy (cgroup v2)
            try:
                enabled = (CGROUP_ROOT / "cgroup.subtree_control").read_text().split()
            except OSError:
                enabled = []
            settings = {"pids.max": processes} if "pids" in enabled else {}
            if "memory" in enabled:
                settings["memory.max"] = memory_bytes
            candidates = [(CGROUP_ROOT, settings)] if settings else []
        else:  # cgroup v1: one hierarchy per controller
            candidates = [(CGROUP_ROOT / "pids", {"pids.max": processes}),
                          (CGROUP_ROOT / "memory", {"memory.limit_in_bytes": memory_bytes})]
        for root, settings in candidates:
            if not (root / "cgroup.procs").is_file():
                continue
            self._sweep(root)
            path = root / name
            try:
                path.mkdir()
            except OSError:
                continue
            try:
                for key, value in settings.items():
                    (path / key).write_text(str(value))
            except OSError:
                self._rmdir(path)
                continue
            self.paths.append(path)

    @classmethod
    def _sweep(cls, root: Path) -> None:
        """Remove the cgroups of graders that died without removing theirs (killed with SIGKILL)."""
        for path in root.glob("mathnn-*-*"):
            try:
                os.kill(int(path.name.split("-")[1]), 0)
                continue  # its grader is alive
            except (ValueError, ProcessLookupError):
                pass
            except PermissionError:
                continue
            leftover = cls.__new__(cls)
            leftover.paths = [path]
            leftover.remove()

    @property
    def procs(self) -> list[str]:
        """The ``cgroup.procs`` files the sandbox writes its pid into."""
        return [str(path / "cgroup.procs") for path in self.paths]

    def members(self) -> set[int]:
        found: set[int] = set()
        for path in self.paths:
            try:
                found |= {int(line) for line in (path / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                continue
        return found

    def memory_exceeded(self) -> bool:
        for path in self.paths:
            for name in ("memory.failcnt", "memory.events"):
                try:
                    text = (path / name).read_text()
                except OSError:
                    continue
                if name == "memory.failcnt" and text.strip() not in ("", "0"):
                    return True
                if name == "memory.events" and any(
                    line.split()[0] in ("oom", "oom_kill") and line.split()[1] != "0" for line in text.splitlines()
                ):
                    return True
        return False

    def kill(self) -> None:
        """SIGKILL every member until none is left (new ones may appear while a fork was under way)."""
        for _ in range(200):
            members = self.members()
            if not members:
                return
            for pid in members:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.005)

    @staticmethod
    def _rmdir(path: Path) -> None:
        for _ in range(50):
            try:
                path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.01)  # the last members are still being reaped

    def remove(self) -> None:
        self.kill()
        for path in self.paths:
            self._rmdir(path)
        self.paths = []
