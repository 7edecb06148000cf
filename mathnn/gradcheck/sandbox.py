"""The sandbox a student's file runs in, seen from the trusted side: start, ask, time, kill.

A :class:`Sandbox` is one process running :mod:`mathnn.gradcheck.worker` on a copy of the student's
file. The grader sends it requests and reads plain arrays back (:func:`wire.read_message`: a size
cap, a deadline on every read and write, numeric dtypes only). What protects what, and what it needs:

============================  =======================================================  =====================
protection                    how                                                      needs
============================  =======================================================  =====================
verdict out of reach          the verdict is computed here; the sandbox only returns   nothing
                              arrays, rebuilt as fresh ``np.ndarray``
no mathnn, no cwd, no env     ``python -I -S``; ``sys.path`` = the standard library     nothing
                              and a folder holding only numpy; an empty temporary
                              cwd; an environment of PATH, HOME, LANG and BLAS threads
hard limits                   address space, CPU time, file size, open files,           POSIX (address space:
                              processes, core dumps: soft = hard, set before the        Linux; macOS ignores it)
                              student's import
unprivileged user             setgid/setuid to ids of its own (``access.SANDBOX_IDS``;     root
                              ``nobody`` where they cannot be given): cannot write the
                              results folder, signal the grader or another sandbox, or
                              read the grader's files or another sandbox's copy
private filesystem            a mount namespace: mathnn's package and an autograder's   Linux, root
                              source folder covered by empty folders; /tmp, /var/tmp,
                              /dev/shm… and the cwd replaced by small in-memory ones of
                              its own (no file it writes fills the grader's disk)
no network                    a new network namespace (``unshare``)                     Linux; root or
                                                                                        unprivileged user
                                                                                        namespaces
whole tree dies               own process group (killpg); the grader is a child         Linux for the
                              subreaper, so a ``setsid`` grandchild comes back to it     subreaper and the
                              and is killed; PR_SET_PDEATHSIG kills the sandbox when    parent-death signal
                              the grader dies
one budget for the tree       a pids and a memory cgroup per sandbox: every process it  Linux, root and a
                              starts is counted, capped (16 processes, --memory in      writable cgroup
                              all) and killed with it                                   filesystem (v1 or v2)
============================  =======================================================  =====================

Without root, a student process runs as the grader's user: it could signal the grader or write where
the grader can. The process limit (RLIMIT_NPROC) counts every process of that user, so it is set to
what the user already runs plus :data:`EXTRA_PROCESSES`.

Where each protection lives: the limits the sandboxed process sets on itself are in
:mod:`mathnn.gradcheck.isolation`, the messages in :mod:`mathnn.gradcheck.wire`, the process groups,
the subreaper, the signal handlers and the cgroups in :mod:`mathnn.gradcheck.processes`, the user ids
and the covered and scratch folders in :mod:`mathnn.gradcheck.access`, what the sandbox may import in
:mod:`mathnn.gradcheck.sources`; this module prepares the folder, the environment and the
configuration, and talks to the process.
"""


import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import isolation, model_worker, wire
from . import worker as sandboxed
from .access import hidden_folders, hide, release, scratch_folders, unprivileged, user_processes
from .processes import (
    Cgroups, become_subreaper, forget, install_signal_handlers, kill_all, kill_group, kill_orphans, spawn,
)
from .sources import copy_sources, imports_torch_beside, module_name, numpy_folder, torch_folder

__all__ = [
    "Sandbox", "SandboxFailure", "hide", "imports_torch_beside", "install_signal_handlers", "kill_all", "kill_orphans",
    "module_name", "torch_folder",
]

#: The sandbox answers with at most this many bytes per message.
REPLY_LIMIT = 64 * 2**20
#: The student's printed output is kept up to this size (RLIMIT_FSIZE: writes beyond it fail).
OUTPUT_LIMIT = 8 * 2**20
OPEN_FILES = 64
EXTRA_PROCESSES = 16
#: Seconds to start Python and numpy in the sandbox (on top of the per-pair timeout).
STARTUP = 20.0
WORKER = Path(sandboxed.__file__)
#: The worker's companions, copied beside it: it loads them by path (see :mod:`mathnn.gradcheck.worker`).
COMPANIONS = {"wire": Path(wire.__file__), "isolation": Path(isolation.__file__),
              "torch_worker": WORKER.with_name("torch_worker.py"),
              "model_worker": Path(model_worker.__file__)}
#: Seconds to start Python, numpy and torch for a PyTorch file.
TORCH_STARTUP = 60.0

_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<function>\S+)')


class SandboxFailure(Exception):
    """The sandbox stopped answering: a timeout, a crash, an exit, a reply too large or malformed.

    ``details`` is an error dict (``kind``, ``stage``, ``type``, ``message``, ``where``, ``line``).
    """

    def __init__(self, details: dict) -> None:
        super().__init__(details["message"])
        self.details = details


# -- the folders graders leave behind ---------------------------------------------------------------

def _grader_alive(name: str) -> bool:
    """Whether the grader whose pid is the third part of ``name`` (mathnn-sandbox-PID-…) still runs."""
    try:
        os.kill(int(name.split("-")[2]), 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _sweep_folders() -> None:
    """Delete the folders of graders that were killed with SIGKILL (nothing else leaves them behind)."""
    for pattern in ("mathnn-sandbox-*-*", "mathnn-numpy-*-*"):
        for folder in Path(tempfile.gettempdir()).glob(pattern):
            if not _grader_alive(folder.name):
                shutil.rmtree(folder, ignore_errors=True)


class Sandbox:
    """One sandboxed process running the student's file; :meth:`request` asks it for one call.

    Parameters
    ----------
    student : Path
        The student's file (copied; the original is never opened by the sandbox).
    memory_mb : int
        Address-space limit, in MB.
    cpu_seconds : int
        CPU-time limit of the whole process.
    network : bool
        Try a network namespace (no network at all).
    torch : str, optional
        The folder :func:`torch_folder` makes, for a PyTorch file: the sandbox imports torch from it.
    within : Path, optional
        Copy only files inside it: a submission's folder, or a lone file (then the file only, not the
        modules beside it; see :func:`mathnn.gradcheck.sources.sources`).
    """

    def __init__(self, student: Path, *, memory_mb: int, cpu_seconds: int, network: bool = True,
                 torch: str | None = None, within: Path | None = None) -> None:
        become_subreaper()
        _sweep_folders()
        self.student = student
        self.memory_mb = memory_mb
        self.process: subprocess.Popen | None = None
        self.account: tuple[int, int] | None = None
        self.folder = Path(tempfile.mkdtemp(prefix=f"mathnn-sandbox-{os.getpid()}-"))
        source = self.folder / "src"
        source.mkdir()
        root, dotted, copied = copy_sources(student, source, within)
        self.copied = copied
        cwd = self.folder / "cwd"
        cwd.mkdir()
        shutil.copyfile(WORKER, self.folder / "worker.py")
        for name, companion in COMPANIONS.items():
            shutil.copyfile(companion, self.folder / f"{name}.py")
        self.account = account = unprivileged()
        for directory, _, files in os.walk(self.folder):
            os.chmod(directory, 0o755)
            for name in files:
                os.chmod(os.path.join(directory, name), 0o644)
        if account is not None:
            os.chown(cwd, *account)
            os.chmod(cwd, 0o700)
            os.chown(source, 0, account[1])  # the student's files: for this sandbox's group only
            os.chmod(source, 0o750)
        # appended to by the sandbox, read here through handles of our own (no shared file offset)
        self.output, self.faults = self.folder / "output", self.folder / "faults"
        output = os.open(self.output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        faults = os.open(self.faults, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        reply_read, reply_write = os.pipe()
        processes = EXTRA_PROCESSES * 4 if account else user_processes() + EXTRA_PROCESSES
        self.cgroups = Cgroups(f"mathnn-{os.getpid()}-{self.folder.name}", EXTRA_PROCESSES, memory_mb * 2**20)
        numpy = numpy_folder()
        filesystem = {"hide": [str(folder) for folder in hidden_folders()], "scratch": scratch_folders(),
                      "cwd": os.path.realpath(cwd)}
        # under /tmp: mounted back in its place, and so is what the numpy and torch folders link to (a
        # Python whose packages are under /tmp, a virtual environment made there)
        kept = [os.path.realpath(folder) for folder in (str(self.folder), numpy, *([torch] if torch else []))]
        for folder in kept[1:]:
            for name in sorted(os.listdir(folder)):
                target = os.path.realpath(os.path.join(folder, name))
                if os.path.isdir(target) and not any(target == k or target.startswith(k + os.sep) for k in kept):
                    kept.append(target)
        filesystem["keep"] = kept
        config = {
            "numpy": numpy, "reply": reply_write, "fault": faults, "filesystem": filesystem,
            "memory": memory_mb * 2**20, "cpu": int(cpu_seconds), "fsize": OUTPUT_LIMIT, "nofile": OPEN_FILES,
            "nproc": processes, "cgroups": self.cgroups.procs,
            "uid": account[0] if account else None, "gid": account[1] if account else None,
            "network": network, "parent": os.getpid(), "torch": torch,
        }
        environment = {
            "PATH": "/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
            "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        command = [sys.executable, "-I", "-S", str(self.folder / "worker.py"), json.dumps(config)]
        self.process = spawn(
            command, stdin=subprocess.PIPE, stdout=output, stderr=output, cwd=cwd, env=environment,
            pass_fds=(reply_write, faults), start_new_session=True,
        )
        for descriptor in (reply_write, output, faults):
            os.close(descriptor)
        self.replies = reply_read
        assert self.process.stdin is not None  # opened with stdin=PIPE
        os.set_blocking(self.process.stdin.fileno(), False)
        self.load = {"root": str(root), "module": dotted, "file": str(copied),
                     "name": student.stem if student.stem.isidentifier() else "_mathnn_student"}
        try:
            startup = TORCH_STARTUP if torch else STARTUP
            header, _ = self._exchange(None, time.monotonic() + startup, "starting Python")
            if "too_small" in header:
                raise SandboxFailure({
                    "kind": "limits", "stage": None, "type": None, "where": None, "line": None,
                    "message": f"--memory {memory_mb} MB is below what the checker itself uses "
                    f"({header['too_small']} MB)",
                })
        except BaseException:
            self.remove()  # nobody else holds this sandbox yet
            raise
        protections = header.get("protections")
        self.protections = protections if isinstance(protections, dict) else {}

    def output_since(self, offset: int, limit: int) -> tuple[str, int]:
        """What the student's code printed after byte ``offset`` (at most ``limit`` characters), and the new end."""
        with open(self.output, "rb") as output:
            end = output.seek(0, os.SEEK_END)
            output.seek(offset)
            text = output.read(min(end - offset, limit * 4)).decode("utf-8", "replace")
        if len(text) > limit or end - offset > limit * 4:
            text = text[:limit] + f"\n… ({end - offset} bytes in all; the rest is not shown)"
        return text, end

    def request(self, header: dict, arrays: list, seconds: float, stage: str, budget: float | None = None
                ) -> tuple[dict, list]:
        """Send one request and read its answer within ``seconds``; SandboxFailure when the sandbox fails.

        ``budget`` is the limit a timeout message names (the pair's whole allowance), ``seconds`` by default.
        """
        return self._exchange((header, arrays, seconds, budget or seconds), time.monotonic() + seconds, stage)

    def _exchange(self, message: tuple | None, deadline: float, stage: str) -> tuple[dict, list]:
        try:
            if message is not None:
                header, arrays, seconds, _ = message
                data = wire.encode({**header, "seconds": seconds}, arrays)
                assert self.process is not None and self.process.stdin is not None, "the sandbox is closed"
                wire.write_all(self.process.stdin.fileno(), data, deadline)
            return wire.read_message(self.replies, deadline, REPLY_LIMIT)
        except wire.Timeout:
            stopped = self._stopped()
            self.close()
            seconds = message[3] if message else STARTUP
            if stopped:  # SIGSTOP: the student's own code, or a classmate's running as the same user
                raise SandboxFailure(self._details("crash", f"was stopped by a signal (SIGSTOP?) and did not finish "
                                                   f"within {seconds:g} s", stage)) from None
            raise SandboxFailure(self._details("timeout", f"did not finish within {seconds:g} s (an endless loop?)",
                                               stage)) from None
        except wire.ProtocolError as error:
            self.close()
            raise SandboxFailure({"kind": "protocol", "stage": None, "type": None, "where": None, "line": None,
                                  "message": f"the sandbox's answer was refused: {error}"}) from None
        except (EOFError, BrokenPipeError, OSError):
            status = self._wait_briefly()
            self.close()
            raise SandboxFailure(self._ended(status, stage)) from None

    def _stopped(self) -> bool:
        """Is the sandbox's process stopped (state T in /proc, Linux)?"""
        if self.process is None:
            return False
        try:
            with open(f"/proc/{self.process.pid}/stat") as stat:
                return stat.read().rpartition(")")[2].split()[0] in ("T", "t")
        except (OSError, IndexError):
            return False

    def _wait_briefly(self) -> int | None:
        assert self.process is not None  # called while the exchange that failed still holds it
        try:
            return self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None

    def _ended(self, status: int | None, stage: str) -> dict:
        if status is not None and status < 0:
            number = -status
            name = signal.Signals(number).name if number in signal.valid_signals() else f"signal {number}"
            if number == signal.SIGXCPU:
                return self._details("timeout", "used up its CPU time (an endless loop?)", stage)
            if number == signal.SIGKILL and self.cgroups.memory_exceeded():
                return self._details("memory", f"ran out of memory (the limit is {self.memory_mb} MB for all its "
                                     "processes; --memory raises it)", stage)
            return self._details("crash", f"crashed the Python process ({name})", stage)
        if self._output_mentions("MemoryError"):
            return self._details("memory", f"ran out of memory (the limit is {self.memory_mb} MB; --memory raises it)",
                                 stage)
        return self._details("exit", f"ended the Python process with status {status} (os._exit?) before the "
                             "check finished", stage)

    def _output_mentions(self, text: str) -> bool:
        with open(self.output, "rb") as output:
            end = output.seek(0, os.SEEK_END)
            output.seek(max(0, end - (1 << 16)))
            return text in output.read().decode("utf-8", "replace")

    def _details(self, kind: str, message: str, stage: str) -> dict:
        """An error dict, with the student's line faulthandler saw last (the innermost frame in their file)."""
        with open(self.faults, "rb") as faults:
            log = faults.read()[-(1 << 16):].decode("utf-8", "replace")
        where = line = None
        copied = os.path.realpath(self.copied)
        for match in _FRAME.finditer(log):  # most recent call first
            if os.path.realpath(match["file"]) == copied:
                number = int(match["line"])
                where = f"{self.student.name}:{number}"
                try:
                    line = self.student.read_text(errors="replace").splitlines()[number - 1].strip() or None
                except (OSError, IndexError):
                    line = None
                if match["function"] == "<module>":
                    stage = f"importing {self.student.name}"
                elif not stage.startswith("importing"):
                    stage = match["function"]
                break
        return {"kind": kind, "stage": stage, "type": None, "message": message, "where": where, "line": line}

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def close(self) -> None:
        """Kill the sandbox's whole tree and reap it; no student process is left when this returns."""
        if self.process is None:
            return
        kill_group(self.process)
        self.cgroups.kill()
        assert self.process.stdin is not None  # opened with stdin=PIPE
        try:
            self.process.stdin.close()
        except OSError:
            pass
        self.process.wait()
        forget(self.process)
        kill_orphans()
        os.close(self.replies)
        self.process = None

    def remove(self) -> None:
        """Close, then delete the sandbox's folder and cgroups."""
        self.close()
        self.cgroups.remove()
        shutil.rmtree(self.folder, ignore_errors=True)
        release(self.account)
        self.account = None
