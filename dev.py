#!/usr/bin/env python3
"""mathnn's task runner: one file, standard library only.

Quick start (from any directory, on a machine that only has python3):

    python3 dev.py tour     # set up .venv, then run `mathnn tour`
    python3 dev.py test     # set up .venv, then run the test suite

Every command first makes sure the virtual environment `.venv/` next to this
file exists and has mathnn installed in editable mode with its extras
(`pip install -e .[test,docs]`).  The install is skipped when nothing changed:
`.venv/.mathnn-install-stamp` holds a hash of pyproject.toml, the extras and
the Python version, and a different hash means reinstall.

`test` then runs a fast subset of the suite a second time in `.venv-min/`, on
the oldest numpy and SymPy that pyproject.toml allows (MIN_REQUIREMENTS), set up
and stamped the same way; `--no-min` skips it.

Run `python3 dev.py --help` for the list of commands.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(ROOT, ".venv")
VENV_BIN = os.path.join(VENV, "Scripts" if os.name == "nt" else "bin")
VENV_PYTHON = os.path.join(VENV_BIN, "python.exe" if os.name == "nt" else "python")
STAMP = os.path.join(VENV, ".mathnn-install-stamp")
EXTRAS = "test,docs"
MIN_PYTHON = (3, 11)

# The minimum-versions environment: the oldest numpy and SymPy pyproject.toml allows (keep these pins
# equal to its lower bounds; tests/test_dev_runner.py checks) and the test tools, mathnn without deps.
VENV_MIN = os.path.join(ROOT, ".venv-min")
MIN_REQUIREMENTS = ("numpy==1.26.4", "sympy==1.14.0", "pytest>=8.0", "pytest-xdist>=3.5", "hypothesis>=6.100")
# The numeric code paths that depend most on numpy's version (kernels, layers, losses, finite differences,
# gradient checks, update rules, a checker run of every example homework); about 15 s on one core.
MIN_TESTS = (
    "tests/test_kernels.py", "tests/test_activations.py", "tests/test_batchnorm_layers.py",
    "tests/test_rnn_layers.py", "tests/test_losses.py", "tests/test_finite.py", "tests/test_check.py",
    "tests/test_optim.py", "tests/test_model_check.py", "tests/test_update_check.py",
    "tests/test_runner.py::test_correct_examples_pass_every_pair",
)
MIN_PYTEST_ARGS = ("-n", "0", "-m", "not slow")

HELP = """\
usage: python3 dev.py COMMAND [ARGS...]

mathnn's task runner (standard library only; works from any directory).
Every command first ensures the virtual environment .venv/ at the repo root
and installs mathnn[{extras}] into it in editable mode; that install is
skipped while pyproject.toml and the Python version are unchanged
(stamp: .venv/.mathnn-install-stamp).

commands:
  tour [ARGS...]   run `mathnn tour` from .venv, passing ARGS through
  test [--no-min] [ARGS...]
                   run `python -m pytest` from .venv, passing ARGS through
                   (e.g. `python3 dev.py test -k rnn -x`); exits with pytest's
                   exit code, and "no tests collected" (5) counts as failure.
                   When that passes, runs a fast numeric subset again in
                   .venv-min/ on the oldest supported versions ({min_pins});
                   its failure fails the command. --no-min: the main run only
  docs [ARGS...]   build the MkDocs site with `mkdocs build --strict`
                   (only when mkdocs.yml exists; otherwise says so and exits 0)
  help, -h, --help show this message

README quick start:
  python3 dev.py tour
  python3 dev.py test
""".format(extras=EXTRAS, min_pins=", ".join(r for r in MIN_REQUIREMENTS if "==" in r))


class StepFailed(Exception):
    """A step of the runner failed; carries the exit code to propagate."""

    def __init__(self, step: str, code: int, detail: str = "") -> None:
        super().__init__(step)
        self.step = step
        self.code = code if code else 1
        self.detail = detail


def say(msg: str) -> None:
    print(f"dev.py: {msg}", flush=True)


def venv_bin(venv: str) -> str:
    return os.path.join(venv, "Scripts" if os.name == "nt" else "bin")


def venv_python(venv: str) -> str:
    return os.path.join(venv_bin(venv), "python.exe" if os.name == "nt" else "python")


def child_env(venv: str = VENV) -> dict:
    """Environment for subprocesses: the venv first on PATH, pip non-interactive."""
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = venv
    env["PATH"] = venv_bin(venv) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONHOME", None)
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env.setdefault("PIP_NO_INPUT", "1")
    if os.environ.get("CI"):
        env.setdefault("PIP_PROGRESS_BAR", "off")
    return env


def run(step: str, cmd: list, **kwargs) -> None:
    """Run one step; on failure raise StepFailed naming the step and its exit code."""
    kwargs.setdefault("cwd", ROOT)
    kwargs.setdefault("env", child_env())
    try:
        subprocess.run(cmd, check=True, **kwargs)
    except subprocess.CalledProcessError as exc:
        raise StepFailed(step, exc.returncode) from None
    except OSError as exc:  # command not found, not executable, ...
        raise StepFailed(step, 127, f"{cmd[0]}: {exc}") from None


def sha256_of(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def install_fingerprint(root: str = ROOT, python_version: str = "") -> str:
    """What the editable install depends on: pyproject.toml, the extras, the Python version."""
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        pyproject = f.read()
    return sha256_of(pyproject, EXTRAS.encode(), python_version.encode())


def min_fingerprint(root: str = ROOT, python_version: str = "",
                    requirements: tuple = MIN_REQUIREMENTS) -> str:
    """What .venv-min depends on: pyproject.toml, the pinned requirements, the Python version."""
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        pyproject = f.read()
    return sha256_of(pyproject, b"min", "\n".join(requirements).encode(), python_version.encode())


# --------------------------------------------------------------------------
# virtual environment
# --------------------------------------------------------------------------


@contextlib.contextmanager
def venv_lock(venv: str = VENV):
    """Serialise setup between dev.py processes sharing this checkout (POSIX only)."""
    os.makedirs(venv, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no locking
        yield
        return
    fd = os.open(venv, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another dev.py that is setting up {os.path.basename(venv)}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def venv_python_version(venv: str = VENV) -> str | None:
    """sys.version of the venv's python, or None when it is missing or broken."""
    python = venv_python(venv)
    if not os.path.exists(python):
        return None
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.version)"],
            capture_output=True, text=True, timeout=60, env=child_env(venv),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def can_use_apt() -> bool:
    return shutil.which("apt-get") is not None and (is_root() or shutil.which("sudo") is not None)


def create_venv(clear: bool, venv: str = VENV) -> None:
    name = os.path.basename(venv)
    say(f"recreating {name} (it was broken)" if clear else f"creating {name}")
    cmd = [sys.executable, "-m", "venv"] + (["--clear"] if clear else []) + [venv]
    try:
        run(f"create {name}", cmd)
    except StepFailed:
        # Debian's own python3 ships venv's pip bootstrap separately.
        if not can_use_apt():
            raise
        pkg = "python{}.{}-venv".format(*sys.version_info[:2])
        say(f"creating .venv failed; installing Debian's {pkg} and retrying")
        apt_install([pkg])
        run(f"create {name}", [sys.executable, "-m", "venv", "--clear", venv])


def ensure_venv() -> None:
    """Create .venv if needed and (re)install mathnn[EXTRAS] into it when the stamp differs."""
    if sys.version_info < MIN_PYTHON:
        raise StepFailed(
            "check python version", 2,
            "mathnn needs Python >= {}.{}; this is {} ({})".format(
                *MIN_PYTHON, sys.version.split()[0], sys.executable),
        )
    with venv_lock():
        version = venv_python_version()
        if version is None:
            create_venv(clear=os.path.exists(VENV_PYTHON))
            version = venv_python_version()
            if version is None:
                raise StepFailed("create .venv", 1, f"{VENV_PYTHON} does not run")
        wanted = install_fingerprint(ROOT, version)
        try:
            with open(STAMP, encoding="utf-8") as f:
                if f.read().strip() == wanted:
                    return
        except OSError:
            pass
        with contextlib.suppress(OSError):
            os.remove(STAMP)
        start = time.perf_counter()
        say("upgrading pip in .venv")
        run("upgrade pip in .venv", [VENV_PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        say(f"installing mathnn[{EXTRAS}] into .venv")
        run(f"install mathnn[{EXTRAS}] into .venv",
            [VENV_PYTHON, "-m", "pip", "install", "-e", f".[{EXTRAS}]"])
        tmp = STAMP + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(wanted + "\n")
        os.replace(tmp, STAMP)
        say(f"installed in {time.perf_counter() - start:.1f}s")


def ensure_min_venv() -> None:
    """Create .venv-min if needed and install MIN_REQUIREMENTS and mathnn (no deps) when its stamp differs."""
    stamp = os.path.join(VENV_MIN, ".mathnn-install-stamp")
    python = venv_python(VENV_MIN)
    env = child_env(VENV_MIN)
    with venv_lock(VENV_MIN):
        version = venv_python_version(VENV_MIN)
        if version is None:
            create_venv(clear=os.path.exists(python), venv=VENV_MIN)
            version = venv_python_version(VENV_MIN)
            if version is None:
                raise StepFailed("create .venv-min", 1, f"{python} does not run")
        wanted = min_fingerprint(ROOT, version)
        try:
            with open(stamp, encoding="utf-8") as f:
                if f.read().strip() == wanted:
                    return
        except OSError:
            pass
        with contextlib.suppress(OSError):
            os.remove(stamp)
        start = time.perf_counter()
        say("installing the minimum versions into .venv-min: " + " ".join(MIN_REQUIREMENTS))
        run("install the minimum versions into .venv-min",
            [python, "-m", "pip", "install", "--quiet", *MIN_REQUIREMENTS], env=env)
        run("install mathnn into .venv-min", [python, "-m", "pip", "install", "--quiet", "--no-deps", "-e", "."], env=env)
        tmp = stamp + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(wanted + "\n")
        os.replace(tmp, stamp)
        say(f"set up .venv-min in {time.perf_counter() - start:.1f}s")


# --------------------------------------------------------------------------
# system tools: Debian's chromium (docs browser test) and npm packages (KaTeX)
# --------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
NPM_STAMP = os.path.join(ROOT, "node_modules", ".mathnn-npm-stamp")


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def privileged(cmd: list) -> list:
    """Prefix cmd with sudo unless root (sudo -n when there is no terminal to ask on)."""
    if is_root():
        return cmd
    if shutil.which("sudo") is None:
        raise StepFailed(" ".join(cmd), 1, "not root and sudo is not installed")
    interactive = sys.stdin is not None and sys.stdin.isatty()
    return ["sudo"] + ([] if interactive else ["-n"]) + cmd


def apt_install(packages: list) -> None:
    env = child_env()
    env["DEBIAN_FRONTEND"] = "noninteractive"
    # wait for a dpkg lock held by another apt (e.g. unattended upgrades) instead of failing
    wait = ["-o", "DPkg::Lock::Timeout=300"]
    say("installing Debian packages: " + " ".join(packages))
    run("apt-get update", privileged(["apt-get", *wait, "update"]), env=env)
    run("apt-get install " + " ".join(packages),
        privileged(["apt-get", *wait, "install", "-y", "--no-install-recommends"] + packages), env=env)


def npm_fingerprint(root: str = ROOT) -> str:
    """What node_modules depends on: package.json and package-lock.json."""
    parts = []
    for name in ("package.json", "package-lock.json"):
        try:
            with open(os.path.join(root, name), "rb") as f:
                parts.append(f.read())
        except OSError:
            parts.append(b"")
    return sha256_of(*parts)


def npm_packages_present(root: str = ROOT) -> bool:
    """Every dependency of package.json is in node_modules (the stamp alone survives a partial delete)."""
    import json

    with open(os.path.join(root, "package.json"), encoding="utf-8") as f:
        dependencies = json.load(f).get("dependencies", {})
    return all(os.path.exists(os.path.join(root, "node_modules", name, "package.json")) for name in dependencies)


def ensure_system_tools(browser: bool = True) -> None:
    """Debian's chromium for tests/test_docs_browser.py and the npm packages the docs take KaTeX from.

    Called by `test`, `docs` and (without the browser) `tour` when package.json exists at the repo
    root. Installs chromium with
    apt-get (as root, through sudo otherwise) when /usr/bin/chromium is absent, and npm too when it
    is missing; then runs `npm ci` (`npm install` without a lock file), skipped while package.json
    and package-lock.json are unchanged and their packages are in node_modules (stamp:
    node_modules/.mathnn-npm-stamp). Serialised with the .venv setup of other dev.py processes.
    """
    with venv_lock():
        missing = []
        if browser and not os.path.exists(CHROMIUM):
            missing.append("chromium")
        if shutil.which("npm") is None:
            missing.append("npm")
        if missing:
            if not can_use_apt():
                raise StepFailed("install " + " ".join(missing), 1,
                                 "apt-get (as root or through sudo) is needed to install: " + " ".join(missing))
            apt_install(missing)

        wanted = npm_fingerprint()
        try:
            with open(NPM_STAMP, encoding="utf-8") as f:
                if f.read().strip() == wanted and npm_packages_present():
                    return
        except OSError:
            pass
        lock = os.path.join(ROOT, "package-lock.json")
        npm = (["npm", "ci"] if os.path.exists(lock) else ["npm", "install"]) + ["--no-audit", "--no-fund"]
        say("running " + " ".join(npm))
        run(" ".join(npm), npm)
        with open(NPM_STAMP, "w", encoding="utf-8") as f:
            f.write(wanted + "\n")


def needs_system_tools() -> bool:
    return os.path.exists(os.path.join(ROOT, "package.json"))


# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------


def cmd_tour(args: list) -> int:
    ensure_venv()
    if needs_system_tools():
        ensure_system_tools(browser=False)  # the tour builds the docs, which take KaTeX from npm
    run("mathnn tour", [os.path.join(VENV_BIN, "mathnn"), "tour"] + args)
    return 0


def run_pytest(venv: str, args: list) -> int:
    """pytest's exit code from the venv's python, at the repo root."""
    return subprocess.run([venv_python(venv), "-m", "pytest", *args], cwd=ROOT, env=child_env(venv)).returncode


def cmd_test(args: list) -> int:
    with_min = "--no-min" not in args
    args = [arg for arg in args if arg != "--no-min"]
    ensure_venv()
    if needs_system_tools():
        ensure_system_tools()
    code = run_pytest(VENV, args)
    if code == 5:
        say("pytest collected no tests: counting that as a failure (exit 5)")
    elif code != 0:
        say(f"step 'pytest' failed (exit {code})")
    if code != 0 or not with_min:
        return code
    pins = ", ".join(r for r in MIN_REQUIREMENTS if "==" in r)
    ensure_min_venv()
    say(f"running the numeric subset on the minimum versions in .venv-min ({pins})")
    start = time.perf_counter()
    code = run_pytest(VENV_MIN, [*MIN_PYTEST_ARGS, *MIN_TESTS])
    if code != 0:
        say(f"step 'pytest in .venv-min' failed (exit {code}): the main run passed, the minimum versions "
            f"({pins}) did not; `python3 dev.py test --no-min` runs the main environment only")
        return code
    say(f"minimum versions passed in {time.perf_counter() - start:.1f}s")
    return 0


def cmd_docs(args: list) -> int:
    ensure_venv()
    if not os.path.exists(os.path.join(ROOT, "mkdocs.yml")):
        say("no mkdocs.yml at the repo root: nothing to build")
        return 0
    if needs_system_tools():
        ensure_system_tools()
    say("building the docs: mkdocs build --strict")
    run("mkdocs build --strict", [VENV_PYTHON, "-m", "mkdocs", "build", "--strict"] + args)
    return 0


COMMANDS = {"tour": cmd_tour, "test": cmd_test, "docs": cmd_docs}


def main(argv: list | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(HELP, end="")
        return 0
    name, args = argv[0], argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    command = COMMANDS.get(name)
    if command is None:
        print(f"dev.py: unknown command {name!r}; commands: {', '.join(COMMANDS)}"
              " (python3 dev.py --help)", file=sys.stderr)
        return 2
    try:
        return command(args)
    except StepFailed as exc:
        if exc.detail:
            say(exc.detail)
        say(f"step '{exc.step}' failed (exit {exc.code})")
        return exc.code
    except KeyboardInterrupt:
        say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
