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

`tour`, `test` and `docs` also make sure node_modules/ holds the npm packages the docs copy into
the site (KaTeX, Material's iframe-worker shim, the Noto Sans KR font), without npm: each tarball
pinned by package-lock.json is downloaded with urllib, checked against the lock's sha512 integrity
and extracted, once (stamp: node_modules/<name>/.mathnn-integrity).  `test` also installs Debian's
chromium for the browser tests when it can (as root or through sudo); otherwise it says so and
deselects them, except under CI=true, where a missing chromium is an error.

`test` then runs a fast subset of the suite a second time in `.venv-min/`, on
the oldest numpy and SymPy that pyproject.toml allows (MIN_REQUIREMENTS), set up
and stamped the same way; `--no-min` skips it. Under CI=true it ends with
.ci/tour_check.py: the tour on a fresh clone as an unprivileged user without npm.

Run `python3 dev.py --help` for the list of commands.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import typing

ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(ROOT, ".venv")
VENV_BIN = os.path.join(VENV, "Scripts" if os.name == "nt" else "bin")
VENV_PYTHON = os.path.join(VENV_BIN, "python.exe" if os.name == "nt" else "python")
STAMP = os.path.join(VENV, ".mathnn-install-stamp")
EXTRAS = "test,docs"
# tests/test_torch_check.py needs torch (the [torch] extra). Pinned, and installed by name with the
# extras: an unpinned `torch` lets pip pick the multi-GB CUDA build, 2.13.0 resolves to the CPU wheel
# (about +800 MB in .venv, ~20 s to install from a local wheel).
TORCH_REQUIREMENT = "torch==2.13.0"
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
                   its failure fails the command. --no-min: the main run only.
                   Installs Debian's chromium for the browser tests when it
                   can (root or sudo); otherwise deselects them and says why
                   (under CI=true a missing chromium is an error).
                   Under CI=true (as root), then runs .ci/tour_check.py:
                   `python3 dev.py tour` on a fresh clone as the user nobody,
                   with no npm or node on PATH and a HOME of its own, and
                   checks that the site it built shows its math with KaTeX
  docs [ARGS...]   build the MkDocs site with `mkdocs build --strict`
                   (only when mkdocs.yml exists; otherwise says so and exits 0)
  help, -h, --help show this message

tour, test and docs first fetch the npm packages package-lock.json pins
(KaTeX, iframe-worker, Noto Sans KR) into node_modules/ with urllib, each
checked against its sha512 integrity; npm and node are never needed.

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
    """What the editable install depends on: pyproject.toml, the extras, the torch pin, the Python version."""
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        pyproject = f.read()
    return sha256_of(pyproject, EXTRAS.encode(), TORCH_REQUIREMENT.encode(), python_version.encode())


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
            [VENV_PYTHON, "-m", "pip", "install", "-e", f".[{EXTRAS}]", TORCH_REQUIREMENT])
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
# the docs' npm packages (KaTeX, iframe-worker, Noto Sans KR), fetched without npm
# --------------------------------------------------------------------------

NODE_MODULES = os.path.join(ROOT, "node_modules")
REGISTRY = "https://registry.npmjs.org/"
#: In each fetched package's folder: the integrity it was extracted from (absent until it is complete).
PACKAGE_STAMP = ".mathnn-integrity"
DOWNLOAD_TIMEOUT = 60  # seconds without a byte before a download counts as failed


class NpmPackage(typing.NamedTuple):
    """One package pinned by package-lock.json: where to get it and what it must hash to."""

    name: str  # "katex", "@fontsource/noto-sans-kr"
    version: str
    resolved: str  # the tarball's URL on the registry
    integrity: str  # "sha512-<base64>"


def locked_packages(root: str = ROOT) -> list:
    """The packages package-lock.json pins for the root package's own dependencies, by name.

    Only the direct dependencies: the docs copy files out of them, and none of them needs another
    package to do so (katex's dependency on commander is for its command line).
    """
    import json

    path = os.path.join(root, "package-lock.json")
    with open(path, encoding="utf-8") as f:
        packages = json.load(f).get("packages", {})
    found = []
    for name in sorted(packages.get("", {}).get("dependencies", {})):
        if not re.fullmatch(r"(@[a-z0-9~-][a-z0-9._~-]*/)?[a-z0-9~-][a-z0-9._~-]*", name):
            raise StepFailed("read package-lock.json", 1, f"{path}: {name!r} is not an npm package name")
        entry = packages.get(f"node_modules/{name}")
        # an integrity may list several hashes ("sha512-… sha1-…"): the sha512 one is checked
        sha512 = [h for h in (entry or {}).get("integrity", "").split() if h.startswith("sha512-")]
        if not entry or not entry.get("version") or not sha512:
            raise StepFailed("read package-lock.json", 1,
                             f"{path}: no version and sha512 integrity for {name}; regenerate it with npm install")
        version = entry["version"]
        resolved = entry.get("resolved") or f"{REGISTRY}{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"
        found.append(NpmPackage(name, version, resolved, sha512[0]))
    return found


def package_dir(package: NpmPackage, node_modules: str = NODE_MODULES) -> str:
    return os.path.join(node_modules, *package.name.split("/"))


def package_is_current(package: NpmPackage, node_modules: str = NODE_MODULES) -> bool:
    """The package's folder was extracted, completely, from the tarball the lock pins now."""
    try:
        with open(os.path.join(package_dir(package, node_modules), PACKAGE_STAMP), encoding="utf-8") as f:
            return f.read().strip() == package.integrity
    except OSError:
        return False


def download(url: str, out) -> None:
    """Write what url answers into the binary file out (urllib; honours https_proxy)."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
        shutil.copyfileobj(response, out, 1 << 20)


def check_integrity(package: NpmPackage, tarball: str) -> None:
    """Refuse a tarball whose hash is not the one package-lock.json records."""
    import base64

    algorithm, _, expected = package.integrity.partition("-")
    if algorithm != "sha512":
        raise StepFailed(f"fetch {package.name}", 1,
                         f"{package.name}@{package.version}: package-lock.json gives a {algorithm or 'malformed'} "
                         f"integrity ({package.integrity}); only sha512 is accepted")
    digest = hashlib.sha512()
    with open(tarball, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    received = base64.b64encode(digest.digest()).decode()
    if received != expected:
        raise StepFailed(f"fetch {package.name}", 1,
                         f"{package.name}@{package.version}: {package.resolved} does not match package-lock.json: "
                         f"expected sha512-{expected}, received sha512-{received}")


def extract_package(package: NpmPackage, tarball: str, dest: str) -> None:
    """Extract an npm tarball's files into dest, without its top-level folder (``package/``).

    Only regular files and folders are extracted, each checked to land inside dest: an absolute
    name, a ``..``, a link or a device is refused before anything is written.
    """
    import tarfile

    def refuse(why: str) -> StepFailed:
        return StepFailed(f"fetch {package.name}", 1,
                          f"{package.name}@{package.version}: {package.resolved}: refusing to extract {why}")

    try:
        archive = tarfile.open(tarball, "r:gz")
        members = archive.getmembers()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise refuse(f"it: not a gzipped tar ({exc})") from None
    with archive:
        planned = []
        for member in members:
            name = member.name.replace("\\", "/")
            parts = name.split("/")
            if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                raise refuse(f"{member.name!r}: its path leaves the package folder")
            if not (member.isfile() or member.isdir()):
                raise refuse(f"{member.name!r}: not a regular file or folder")
            relative = [part for part in parts[1:] if part not in ("", ".")]  # npm drops the top folder
            if not relative:
                continue
            target = os.path.join(dest, *relative)
            if os.path.commonpath([os.path.abspath(dest), os.path.abspath(target)]) != os.path.abspath(dest):
                raise refuse(f"{member.name!r}: its path leaves the package folder")
            planned.append((member, target))
        os.makedirs(dest, exist_ok=True)
        for member, target in planned:
            if member.isdir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            source = archive.extractfile(member)
            with source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            os.chmod(target, 0o755 if member.mode & 0o111 else 0o644)


def fetch_package(package: NpmPackage, node_modules: str = NODE_MODULES) -> bool:
    """Download, verify and extract one package into node_modules/<name>/; False when it is already there."""
    import http.client
    import tempfile
    import urllib.error

    if package_is_current(package, node_modules):
        return False
    if not package.resolved.startswith(REGISTRY):
        raise StepFailed(f"fetch {package.name}", 1,
                         f"{package.name}@{package.version}: package-lock.json resolves it to {package.resolved}, "
                         f"expected a tarball on {REGISTRY}")
    dest = package_dir(package, node_modules)
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".fetch-", dir=node_modules)
    try:
        tarball = os.path.join(work, "package.tgz")
        start = time.perf_counter()
        try:
            with open(tarball, "wb") as out:
                download(package.resolved, out)
        except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError, timeouts, a cut-off body
            if isinstance(exc, urllib.error.HTTPError):
                reason = f"HTTP {exc.code} {exc.reason}"
            else:
                reason = getattr(exc, "reason", None) or str(exc) or exc.__class__.__name__
            raise StepFailed(f"fetch {package.name}", 1, f"{package.name}@{package.version}: "
                             f"could not download {package.resolved}: {reason}") from None
        check_integrity(package, tarball)
        extracted = os.path.join(work, "package")
        extract_package(package, tarball, extracted)
        with open(os.path.join(extracted, PACKAGE_STAMP), "w", encoding="utf-8") as f:
            f.write(package.integrity + "\n")
        if os.path.lexists(dest):
            old = os.path.join(work, "old")
            os.replace(dest, old)
        os.replace(extracted, dest)
        say(f"fetched {package.name}@{package.version} ({os.path.getsize(tarball) / 1e6:.1f} MB) "
            f"in {time.perf_counter() - start:.1f}s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return True


def fetch_npm_packages(root: str = ROOT, node_modules: str | None = None) -> int:
    """Every package package-lock.json pins, fetched into node_modules/ unless already there; how many were fetched."""
    node_modules = node_modules or os.path.join(root, "node_modules")
    packages = locked_packages(root)
    missing = [package for package in packages if not package_is_current(package, node_modules)]
    if not missing:
        return 0
    os.makedirs(node_modules, exist_ok=True)
    say("downloading from registry.npmjs.org (pinned by package-lock.json): "
        + " ".join(f"{package.name}@{package.version}" for package in missing))
    return sum(fetch_package(package, node_modules) for package in missing)


def needs_npm_packages() -> bool:
    return os.path.exists(os.path.join(ROOT, "package-lock.json"))


def ensure_npm_packages() -> None:
    """The npm packages the docs copy files from (KaTeX, iframe-worker, Noto Sans KR), in node_modules/.

    Called by `test`, `docs` and `tour` when package-lock.json exists at the repo root. Needs
    neither npm nor node: each package's tarball is downloaded from the `resolved` URL the lock
    gives, checked against the lock's sha512 `integrity` before anything is extracted, and
    extracted into node_modules/<name>/ with the integrity as its stamp
    (node_modules/<name>/.mathnn-integrity), so a second run downloads nothing. Serialised with the
    .venv setup of other dev.py processes.
    """
    with venv_lock():
        fetch_npm_packages()


# --------------------------------------------------------------------------
# Debian's chromium, for tests/test_docs_browser.py (marker `browser`)
# --------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


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


def why_no_apt() -> str | None:
    """Why Debian's chromium cannot be installed here, or None when apt-get can be tried."""
    if not os.path.exists("/etc/debian_version"):
        return "this is not Debian"
    if shutil.which("apt-get") is None:
        return "apt-get is missing"
    if not is_root() and shutil.which("sudo") is None:
        return "this is not root and sudo is missing"
    return None


def ensure_chromium() -> bool:
    """True when /usr/bin/chromium is there, installing Debian's chromium with apt-get when it can.

    Under CI=true chromium must end up installed: anything else fails the command. Elsewhere a
    chromium that cannot be installed gives one line saying why, and False: `test` then deselects
    the browser tests.
    """
    if os.access(CHROMIUM, os.X_OK):
        return True
    reason = why_no_apt()
    if reason is None:
        try:
            with venv_lock():
                apt_install(["chromium"])
        except StepFailed as exc:
            if in_ci():
                raise
            reason = f"installing it with apt-get failed (exit {exc.code})"
        else:
            if os.access(CHROMIUM, os.X_OK):
                return True
            reason = "apt-get install chromium did not install it"
    if in_ci():
        raise StepFailed("install chromium", 1, f"CI=true runs the browser tests, which need {CHROMIUM}, and {reason}")
    say(f"{CHROMIUM} is missing and {reason}: deselecting the browser tests (-m 'not browser'); "
        "CI runs them")
    return False


def without_browser_tests(args: list) -> list:
    """pytest args that also deselect the `browser` marker, combined with the caller's own -m."""
    args = list(args)
    for i, arg in enumerate(args):
        if arg == "-m" and i + 1 < len(args):
            args[i + 1] = f"({args[i + 1]}) and not browser"
            return args
        if arg.startswith("-m") and len(arg) > 2:
            expression = arg[2:].lstrip("=")
            args[i] = f"-m({expression}) and not browser"
            return args
    return ["-m", "not browser", *args]


# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------


def cmd_tour(args: list) -> int:
    ensure_venv()
    if needs_npm_packages():
        ensure_npm_packages()  # the tour ends by building the docs; no chromium: nothing opens a page
    run("mathnn tour", [os.path.join(VENV_BIN, "mathnn"), "tour"] + args)
    return 0


def run_pytest(venv: str, args: list) -> int:
    """pytest's exit code from the venv's python, at the repo root."""
    return subprocess.run([venv_python(venv), "-m", "pytest", *args], cwd=ROOT, env=child_env(venv)).returncode


TOUR_CHECK = os.path.join(ROOT, ".ci", "tour_check.py")


def tour_check() -> int:
    """Under CI=true: .ci/tour_check.py, the tour as an unprivileged user on a fresh clone; else one line.

    CI runs as root, which the check needs to run the tour as another user; anywhere else it is
    left out, saying so (a root shell can run `python3 .ci/tour_check.py` by hand).
    """
    if not in_ci():
        say("not running the tour as an unprivileged user on a fresh clone: CI=true runs it "
            "(as root: python3 .ci/tour_check.py)")
        return 0
    say("the tour as an unprivileged user, on a fresh clone, without npm: python3 .ci/tour_check.py")
    start = time.perf_counter()
    code = subprocess.run([sys.executable, TOUR_CHECK], cwd=ROOT).returncode
    if code != 0:
        say(f"step 'tour as an unprivileged user' failed (exit {code})")
        return code
    say(f"the unprivileged tour check passed in {time.perf_counter() - start:.0f}s")
    return 0


def cmd_test(args: list) -> int:
    with_min = "--no-min" not in args
    args = [arg for arg in args if arg != "--no-min"]
    ensure_venv()
    if needs_npm_packages():
        ensure_npm_packages()
    if not ensure_chromium():
        args = without_browser_tests(args)
    code = run_pytest(VENV, args)
    if code == 5:
        say("pytest collected no tests: counting that as a failure (exit 5)")
    elif code != 0:
        say(f"step 'pytest' failed (exit {code})")
    if code != 0:
        return code
    if not with_min:
        return tour_check()
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
    return tour_check()


def cmd_docs(args: list) -> int:
    ensure_venv()
    if not os.path.exists(os.path.join(ROOT, "mkdocs.yml")):
        say("no mkdocs.yml at the repo root: nothing to build")
        return 0
    if needs_npm_packages():
        ensure_npm_packages()
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
