"""Who a sandbox runs as, and what of the grader's filesystem it sees (a root grader on Linux).

A root grader gives each sandbox user and group ids of its own (:func:`unprivileged`), so no two
sandboxes can signal each other or read each other's copied files, and a mount namespace in which
mathnn's package and the folders given to :func:`hide` are covered and the folders every user may
write to are small in-memory ones of its own (:func:`scratch_folders`; the worker mounts them, see
:mod:`mathnn.gradcheck.isolation`). Without root a sandbox runs as the grader's user, and only the
process limit counts it (:func:`user_processes`).
"""

from __future__ import annotations

import os
import secrets
import tempfile
import threading
from pathlib import Path

#: mathnn's own package: the reference implementations no student code may load by path.
OWN_PACKAGE = Path(__file__).resolve().parent.parent
_state: dict[str, object] = {}

#: The user (and group) ids a root grader gives its sandboxes, one of its own each: numbers no system
#: assigns to people or services. Sandboxes sharing one user (``nobody``) could signal each other (kill
#: a classmate's check) and read each other's copied files (take a classmate's solution while both are
#: graded side by side).
SANDBOX_IDS = range(0x50000000, 0x50000000 + 2**20)
_ids_lock = threading.Lock()
_ids_taken: set[int] = set()


def _own_ids_possible() -> bool:
    """Whether this root process may give files (so processes) the ids of :data:`SANDBOX_IDS`: not in a
    user namespace that maps only a few ids (a rootless container)."""
    if "own ids" not in _state:
        handle, probe = tempfile.mkstemp(prefix="mathnn-ids-")
        os.close(handle)
        try:
            os.chown(probe, SANDBOX_IDS[0], SANDBOX_IDS[0])
            _state["own ids"] = True
        except OSError:
            _state["own ids"] = False
        finally:
            os.unlink(probe)
    return bool(_state["own ids"])


def sandboxes_share_a_user() -> bool:
    """Whether the sandboxes started here run as one user (not root, or root without ids of their own): then
    a student's code can signal a classmate's sandbox graded beside it."""
    return not hasattr(os, "geteuid") or os.geteuid() != 0 or not _own_ids_possible()


def _running_ids() -> set[int]:
    """The real user ids of the processes running now (/proc), to never share one with another grader's sandbox."""
    found = set()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as status:
                    found |= {int(line.split()[1]) for line in status if line.startswith("Uid:")}
            except (OSError, ValueError, IndexError):
                continue
    return found


def unprivileged() -> tuple[int, int] | None:
    """(uid, gid) for a new sandbox when this process is root, else None: ids of its own
    (:data:`SANDBOX_IDS`, released by :func:`release`), or ``nobody``'s where those cannot be given."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    if _own_ids_possible():
        running = _running_ids()
        with _ids_lock:
            while True:
                number = SANDBOX_IDS[secrets.randbelow(len(SANDBOX_IDS))]
                if number not in _ids_taken and number not in running:
                    _ids_taken.add(number)
                    return number, number
    import pwd

    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def release(account: tuple[int, int] | None) -> None:
    """Give a closed sandbox's ids back (its processes are gone)."""
    if account is not None:
        with _ids_lock:
            _ids_taken.discard(account[0])


def user_processes() -> int:
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count


#: Folders of the grader's no student code may read (:func:`hide`), besides mathnn's own package.
_HIDDEN: list[Path] = []
#: Folders every user may write to, replaced in each sandbox by a small one of its own (where they exist).
SCRATCH = ("/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")


def hide(folder: str | os.PathLike) -> None:
    """Cover ``folder`` in every sandbox started from now on (root, Linux): an autograder's source folder."""
    path = Path(folder).resolve()
    if path not in _HIDDEN:
        _HIDDEN.append(path)


def hidden_folders() -> list[Path]:
    """mathnn's own package (the reference implementations a student's code could call) and :func:`hide`'s."""
    return [OWN_PACKAGE, *(path for path in _HIDDEN if path.is_dir())]


def scratch_folders() -> list[str]:
    """The temporary folder and the other folders in :data:`SCRATCH` that exist (each once)."""
    found = [os.path.realpath(tempfile.gettempdir())]
    for folder in SCRATCH:
        if os.path.isdir(folder) and not os.path.islink(folder) and os.path.realpath(folder) not in found:
            found.append(os.path.realpath(folder))
    return found
