"""Cheap checks of the task runner dev.py, .ci/run and the import-time benchmark.

None of these create a virtual environment, install anything or use the network: the npm fetcher
is fed tarballs built here, through a stand-in for its download function.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import urllib.error
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "dev.py"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=60)


def load_dev():
    spec = importlib.util.spec_from_file_location("dev_runner_under_test", DEV)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_help_lists_every_command_and_exits_0(tmp_path):
    # from another directory, with site-packages off: dev.py must be stdlib-only
    proc = run("-I", "-S", str(DEV), "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for command in ("tour", "test", "docs", "--help"):
        assert command in proc.stdout
    assert "python3 dev.py tour" in proc.stdout
    assert "python3 dev.py test" in proc.stdout
    assert "--no-min" in proc.stdout and ".venv-min" in proc.stdout


def test_unknown_command_exits_2():
    proc = run(str(DEV), "no-such-command")
    assert proc.returncode == 2
    assert "unknown command" in proc.stderr


def test_install_fingerprint_tracks_pyproject_and_python(tmp_path):
    dev = load_dev()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    first = dev.install_fingerprint(str(tmp_path), "3.11.7")
    assert first == dev.install_fingerprint(str(tmp_path), "3.11.7")
    assert first != dev.install_fingerprint(str(tmp_path), "3.12.1")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    assert first != dev.install_fingerprint(str(tmp_path), "3.11.7")


def test_min_fingerprint_tracks_the_pins_pyproject_and_python(tmp_path):
    dev = load_dev()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    first = dev.min_fingerprint(str(tmp_path), "3.11.2")
    assert first == dev.min_fingerprint(str(tmp_path), "3.11.2", tuple(dev.MIN_REQUIREMENTS))
    assert first != dev.min_fingerprint(str(tmp_path), "3.11.2", ("numpy==2.0.0", *dev.MIN_REQUIREMENTS[1:]))
    assert first != dev.min_fingerprint(str(tmp_path), "3.11.2", dev.MIN_REQUIREMENTS[:-1])
    assert first != dev.min_fingerprint(str(tmp_path), "3.11.9")
    assert first != dev.install_fingerprint(str(tmp_path), "3.11.2")  # .venv's stamp never fits .venv-min
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    assert first != dev.min_fingerprint(str(tmp_path), "3.11.2")


def test_min_pins_are_pyprojects_lower_bounds():
    dev = load_dev()
    with open(ROOT / "pyproject.toml", "rb") as f:
        dependencies = tomllib.load(f)["project"]["dependencies"]
    lower = dict(dependency.split(">=") for dependency in dependencies)
    pins = dict(requirement.split("==") for requirement in dev.MIN_REQUIREMENTS if "==" in requirement)
    assert pins.keys() == lower.keys()
    for name, version in pins.items():  # numpy>=1.26 is tested on numpy==1.26.4
        assert version.startswith(lower[name] + "."), (name, version, lower[name])


def test_min_subset_names_tests_that_exist():
    dev = load_dev()
    for test in dev.MIN_TESTS:
        path, _, name = test.partition("::")
        assert (ROOT / path).is_file(), test
        assert not name or f"def {name}(" in (ROOT / path).read_text(), test


def fake_runs(dev, monkeypatch, codes: dict, chromium: bool = True) -> list:
    """Replace dev.py's setup and pytest runs by records; pytest in each venv exits with codes[venv].

    With chromium=False, dev.py's own ensure_chromium runs (to be steered by the test).
    """
    calls: list = []
    monkeypatch.delenv("CI", raising=False)  # CI sets it; the tour check under CI=true has its own test
    monkeypatch.setattr(dev, "tour_check", lambda: calls.append("tour check") or 0)
    monkeypatch.setattr(dev, "ensure_venv", lambda: calls.append("set up .venv"))
    monkeypatch.setattr(dev, "ensure_min_venv", lambda: calls.append("set up .venv-min"))
    monkeypatch.setattr(dev, "needs_npm_packages", lambda: False)
    if chromium:
        monkeypatch.setattr(dev, "ensure_chromium", lambda: True)

    def run_pytest(venv: str, args: list) -> int:
        calls.append((os.path.basename(venv), list(args)))
        return codes[os.path.basename(venv)]

    monkeypatch.setattr(dev, "run_pytest", run_pytest)
    return calls


def test_a_failing_min_run_fails_the_test_command_and_says_where(monkeypatch, capsys):
    dev = load_dev()
    calls = fake_runs(dev, monkeypatch, {".venv": 0, ".venv-min": 1})
    assert dev.main(["test", "-k", "rnn"]) == 1
    assert calls == ["set up .venv", (".venv", ["-k", "rnn"]), "set up .venv-min",
                     (".venv-min", [*dev.MIN_PYTEST_ARGS, *dev.MIN_TESTS])]
    out = capsys.readouterr().out
    assert "dev.py: step 'pytest in .venv-min' failed (exit 1)" in out
    assert "numpy==1.26.4" in out and "--no-min" in out


def test_the_min_run_follows_a_passing_main_run_unless_no_min(monkeypatch, capsys):
    dev = load_dev()
    calls = fake_runs(dev, monkeypatch, {".venv": 0, ".venv-min": 0})
    assert dev.main(["test"]) == 0
    assert [call[0] for call in calls if isinstance(call, tuple)] == [".venv", ".venv-min"]
    assert "minimum versions passed" in capsys.readouterr().out

    calls = fake_runs(dev, monkeypatch, {".venv": 0, ".venv-min": 1})
    assert dev.main(["test", "--no-min", "-x"]) == 0
    assert calls == ["set up .venv", (".venv", ["-x"]), "tour check"]  # --no-min is dev.py's, never pytest's

    calls = fake_runs(dev, monkeypatch, {".venv": 3, ".venv-min": 0})
    assert dev.main(["test"]) == 3
    assert calls == ["set up .venv", (".venv", [])]  # a failing main run is not followed by the min run
    assert "step 'pytest' failed (exit 3)" in capsys.readouterr().out


def test_ci_runs_exactly_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in script
    commands = [line.strip() for line in script.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == "python3 dev.py test"


def test_import_time_benchmark_help():
    proc = run(str(ROOT / "benchmarks" / "import_time.py"), "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--repeat" in proc.stdout


# --------------------------------------------------------------------------------------------------
# chromium: installed where it can be, the browser tests deselected (with a note) where it cannot,
# never optional under CI=true, never needed by the tour
# --------------------------------------------------------------------------------------------------


def without_chromium(dev, monkeypatch, tmp_path, ci: str | None, why: str | None) -> list:
    """No /usr/bin/chromium; why_no_apt answers `why`; apt-get installs are recorded and fail."""
    monkeypatch.setattr(dev, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setattr(dev, "why_no_apt", lambda: why)
    installs: list = []

    def apt_install(packages: list) -> None:
        installs.append(packages)
        raise dev.StepFailed("apt-get update", 100)

    monkeypatch.setattr(dev, "apt_install", apt_install)
    monkeypatch.setattr(dev, "venv_lock", lambda *a: contextlib.nullcontext())
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    return installs


@pytest.mark.parametrize("why", ["this is not root and sudo is missing", None])
def test_without_chromium_outside_ci_the_browser_tests_are_deselected_with_one_line(monkeypatch, tmp_path, capsys, why):
    dev = load_dev()
    calls = fake_runs(dev, monkeypatch, {".venv": 0, ".venv-min": 0}, chromium=False)
    installs = without_chromium(dev, monkeypatch, tmp_path, ci=None, why=why)
    assert dev.main(["test", "--no-min", "-x"]) == 0
    assert calls == ["set up .venv", (".venv", ["-m", "not browser", "-x"]), "tour check"]
    assert installs == ([] if why else [["chromium"]])  # tried only where apt-get can be run
    notes = [line for line in capsys.readouterr().out.splitlines() if "deselecting the browser tests" in line]
    assert len(notes) == 1, notes
    assert (why or "installing it with apt-get failed (exit 100)") in notes[0], notes


@pytest.mark.parametrize("why", ["this is not root and sudo is missing", None])
def test_under_ci_a_missing_chromium_fails_the_test_command(monkeypatch, tmp_path, capsys, why):
    dev = load_dev()
    calls = fake_runs(dev, monkeypatch, {".venv": 0, ".venv-min": 0}, chromium=False)
    without_chromium(dev, monkeypatch, tmp_path, ci="true", why=why)
    assert dev.main(["test", "--no-min"]) != 0
    assert calls == ["set up .venv"]  # pytest never ran with the browser tests left out
    assert "deselecting" not in capsys.readouterr().out


def test_with_chromium_every_test_is_selected(monkeypatch, tmp_path):
    dev = load_dev()
    calls = fake_runs(dev, monkeypatch, {".venv": 0, ".venv-min": 0}, chromium=False)
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    monkeypatch.setattr(dev, "CHROMIUM", str(chromium))
    monkeypatch.setenv("CI", "true")
    assert dev.main(["test", "--no-min", "-k", "docs"]) == 0
    assert calls == ["set up .venv", (".venv", ["-k", "docs"]), "tour check"]


@pytest.mark.parametrize(("args", "expected"), [
    ([], ["-m", "not browser"]),
    (["-x", "-m", "slow"], ["-x", "-m", "(slow) and not browser"]),
    (["-mdocs"], ["-m(docs) and not browser"]),
    (["-m=not slow", "-q"], ["-m(not slow) and not browser", "-q"]),
])
def test_deselecting_the_browser_tests_keeps_the_callers_marker_expression(args, expected):
    assert load_dev().without_browser_tests(args) == expected


def test_the_tour_needs_no_chromium(monkeypatch):
    dev = load_dev()
    steps: list = []
    monkeypatch.setattr(dev, "ensure_venv", lambda: steps.append("venv"))
    monkeypatch.setattr(dev, "needs_npm_packages", lambda: True)
    monkeypatch.setattr(dev, "ensure_npm_packages", lambda: steps.append("npm packages"))
    monkeypatch.setattr(dev, "ensure_chromium", lambda: pytest.fail("the tour asked for chromium"))
    monkeypatch.setattr(dev, "apt_install", lambda packages: pytest.fail(f"the tour ran apt-get: {packages}"))
    monkeypatch.setattr(dev, "run", lambda step, cmd, **kw: steps.append(step))
    assert dev.main(["tour", "--no-docs"]) == 0
    assert steps == ["venv", "npm packages", "mathnn tour"]


# --------------------------------------------------------------------------------------------------
# the npm packages, fetched by dev.py itself: tarballs made here, served by a stand-in download
# --------------------------------------------------------------------------------------------------


def tarball(files: dict) -> bytes:
    """A gzipped tar: name → bytes for a file, None for a folder, ("symlink", target) for a link."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            elif isinstance(content, tuple):
                info.type, info.linkname = tarfile.SYMTYPE, content[1]
                archive.addfile(info)
            else:
                info.size, info.mode = len(content), 0o644
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def url_of(name: str, version: str) -> str:
    return f"https://registry.npmjs.org/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def write_lock(root: Path, packages: dict) -> None:
    """package-lock.json for `packages`: name → (version, integrity[, resolved])."""
    entries = {"": {"name": "site", "dependencies": {name: spec[0] for name, spec in packages.items()}}}
    for name, (version, integrity, *resolved) in packages.items():
        entries[f"node_modules/{name}"] = {
            "version": version, "resolved": resolved[0] if resolved else url_of(name, version), "integrity": integrity}
    (root / "package-lock.json").write_text(json.dumps({"lockfileVersion": 3, "packages": entries}))


class Registry:
    """Stands in for dev.download: serves tarballs by URL and counts what was asked."""

    def __init__(self, served: dict) -> None:
        self.served = served
        self.asked: list[str] = []

    def __call__(self, url: str, out) -> None:
        self.asked.append(url)
        if url not in self.served:
            raise urllib.error.URLError("Name or service not known")
        out.write(self.served[url])


def serve(dev, monkeypatch, served: dict) -> Registry:
    registry = Registry(served)
    monkeypatch.setattr(dev, "download", registry)
    return registry


KATEX = tarball({"package/": None, "package/package.json": b'{"name": "katex"}',
                 "package/dist/katex.min.js": b"katex()", "package/LICENSE": b"MIT"})
FONT = tarball({"package/package.json": b'{"name": "@fontsource/noto-sans-kr"}', "package/files/a.woff2": b"wOF2"})


def test_fetch_verifies_extracts_and_a_second_run_downloads_nothing(monkeypatch, tmp_path):
    dev = load_dev()
    write_lock(tmp_path, {"katex": ("0.19.1", sri(KATEX)), "@fontsource/noto-sans-kr": ("5.3.0", sri(FONT))})
    registry = serve(dev, monkeypatch, {url_of("katex", "0.19.1"): KATEX,
                                        url_of("@fontsource/noto-sans-kr", "5.3.0"): FONT})
    modules = tmp_path / "node_modules"
    assert dev.fetch_npm_packages(str(tmp_path)) == 2
    assert (modules / "katex" / "dist" / "katex.min.js").read_bytes() == b"katex()"
    assert (modules / "@fontsource" / "noto-sans-kr" / "files" / "a.woff2").read_bytes() == b"wOF2"
    assert sorted(p.name for p in modules.iterdir()) == ["@fontsource", "katex"]  # no download left behind
    assert len(registry.asked) == 2

    assert dev.fetch_npm_packages(str(tmp_path)) == 0  # the stamps say both are current
    assert len(registry.asked) == 2

    # a new pin replaces that package, and only that one
    newer = tarball({"package/package.json": b"{}", "package/dist/katex.min.js": b"katex(2)"})
    registry.served[url_of("katex", "0.20.0")] = newer
    write_lock(tmp_path, {"katex": ("0.20.0", sri(newer)), "@fontsource/noto-sans-kr": ("5.3.0", sri(FONT))})
    assert dev.fetch_npm_packages(str(tmp_path)) == 1
    assert registry.asked[2:] == [url_of("katex", "0.20.0")]
    assert (modules / "katex" / "dist" / "katex.min.js").read_bytes() == b"katex(2)"
    assert not (modules / "katex" / "LICENSE").exists()  # nothing of the old version is left in the folder


def test_a_tarball_that_does_not_match_the_lock_is_refused_in_one_line(monkeypatch, tmp_path):
    dev = load_dev()
    tampered = tarball({"package/package.json": b"{}", "package/dist/katex.min.js": b"steal()"})
    write_lock(tmp_path, {"katex": ("0.19.1", sri(KATEX))})
    serve(dev, monkeypatch, {url_of("katex", "0.19.1"): tampered})
    with pytest.raises(dev.StepFailed) as failed:
        dev.fetch_npm_packages(str(tmp_path))
    detail = failed.value.detail
    assert "\n" not in detail and failed.value.code != 0
    assert "katex@0.19.1" in detail and url_of("katex", "0.19.1") in detail
    assert f"expected {sri(KATEX)}" in detail and f"received {sri(tampered)}" in detail
    assert list((tmp_path / "node_modules").iterdir()) == []  # nothing extracted, no download left


def test_a_download_that_is_no_tarball_is_refused_in_one_line(monkeypatch, tmp_path):
    dev = load_dev()
    page = b"<html>502 Bad Gateway</html>"
    write_lock(tmp_path, {"katex": ("0.19.1", sri(page))})  # even when the lock agrees
    serve(dev, monkeypatch, {url_of("katex", "0.19.1"): page})
    with pytest.raises(dev.StepFailed) as failed:
        dev.fetch_npm_packages(str(tmp_path))
    assert failed.value.detail.startswith(
        f"katex@0.19.1: {url_of('katex', '0.19.1')}: refusing to extract it: not a gzipped tar (")
    assert "\n" not in failed.value.detail
    assert list((tmp_path / "node_modules").iterdir()) == []


def test_a_network_failure_names_the_package_and_the_url(monkeypatch, tmp_path):
    dev = load_dev()
    write_lock(tmp_path, {"katex": ("0.19.1", sri(KATEX))})
    serve(dev, monkeypatch, {})
    with pytest.raises(dev.StepFailed) as failed:
        dev.fetch_npm_packages(str(tmp_path))
    assert failed.value.detail == (f"katex@0.19.1: could not download {url_of('katex', '0.19.1')}: "
                                   "Name or service not known")
    assert list((tmp_path / "node_modules").iterdir()) == []


@pytest.mark.parametrize(("error", "said"), [
    (urllib.error.HTTPError("u", 404, "Not Found", {}, None), "HTTP 404 Not Found"),
    (TimeoutError("timed out"), "timed out"),
    (http.client.IncompleteRead(b"partial", 10), "IncompleteRead"),
])
def test_every_kind_of_download_failure_is_one_line(monkeypatch, tmp_path, error, said):
    dev = load_dev()
    write_lock(tmp_path, {"katex": ("0.19.1", sri(KATEX))})

    def fail(url: str, out) -> None:
        out.write(b"half a tarb")
        raise error

    monkeypatch.setattr(dev, "download", fail)
    with pytest.raises(dev.StepFailed) as failed:
        dev.fetch_npm_packages(str(tmp_path))
    detail = failed.value.detail
    assert detail.startswith(f"katex@0.19.1: could not download {url_of('katex', '0.19.1')}: ") and said in detail
    assert "\n" not in detail
    assert list((tmp_path / "node_modules").iterdir()) == []


def test_only_tarballs_on_the_npm_registry_are_fetched(monkeypatch, tmp_path):
    dev = load_dev()
    elsewhere = "https://example.org/katex-0.19.1.tgz"
    write_lock(tmp_path, {"katex": ("0.19.1", sri(KATEX), elsewhere)})
    registry = serve(dev, monkeypatch, {elsewhere: KATEX})
    with pytest.raises(dev.StepFailed) as failed:
        dev.fetch_npm_packages(str(tmp_path))
    assert failed.value.detail == (f"katex@0.19.1: package-lock.json resolves it to {elsewhere}, "
                                   "expected a tarball on https://registry.npmjs.org/")
    assert registry.asked == []


@pytest.mark.parametrize("member", [
    {"package/../../evil.txt": b"x"},
    {"package/dist/../../../evil.txt": b"x"},
    {"/tmp/evil.txt": b"x"},
    {"package/evil": ("symlink", "/etc/passwd")},
    {"package/evil": ("symlink", "../../evil.txt")},
])
def test_a_tarball_that_writes_outside_its_folder_is_refused(monkeypatch, tmp_path, member):
    dev = load_dev()
    root = tmp_path / "repo"
    root.mkdir()
    hostile = tarball({"package/package.json": b"{}", **member})
    write_lock(root, {"katex": ("0.19.1", sri(hostile))})  # the lock trusts it: extraction must not
    serve(dev, monkeypatch, {url_of("katex", "0.19.1"): hostile})
    with pytest.raises(dev.StepFailed) as failed:
        dev.fetch_npm_packages(str(root))
    assert failed.value.detail.startswith(f"katex@0.19.1: {url_of('katex', '0.19.1')}: refusing to extract ")
    assert not (root / "node_modules" / "katex").exists()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "repo", "repo/node_modules", "repo/package-lock.json"]


@pytest.mark.parametrize("name", ["../escape", "@scope/../../escape", "Katex", "/abs"])
def test_a_lock_naming_no_npm_package_is_refused(monkeypatch, tmp_path, name):
    dev = load_dev()
    write_lock(tmp_path, {name: ("1.0.0", sri(KATEX), url_of("katex", "0.19.1"))})
    registry = serve(dev, monkeypatch, {url_of("katex", "0.19.1"): KATEX})
    with pytest.raises(dev.StepFailed) as failed:
        dev.fetch_npm_packages(str(tmp_path))
    assert f"{name!r} is not an npm package name" in failed.value.detail
    assert registry.asked == [] and not (tmp_path / "node_modules").exists()


def test_the_lock_pins_every_package_the_docs_take_files_from():
    dev = load_dev()
    packages = {package.name: package for package in dev.locked_packages(str(ROOT))}
    with open(ROOT / "package.json", encoding="utf-8") as f:
        declared = json.load(f)["dependencies"]
    assert {name: package.version for name, package in packages.items()} == declared
    for package in packages.values():
        assert package.integrity.startswith("sha512-"), package
        assert package.resolved == url_of(package.name, package.version), package
    spec = importlib.util.spec_from_file_location("npm_assets_hook", ROOT / "docs" / "hooks" / "npm_assets.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    used = {"/".join(p.split("/")[:2] if p.startswith("@") else p.split("/")[:1]) for p in hook.ASSETS.values()}
    assert used == set(packages)


# -- the tour as an unprivileged user (.ci/tour_check.py) ------------------------------------------

def load_tour_check():
    spec = importlib.util.spec_from_file_location("tour_check_under_test", ROOT / ".ci" / "tour_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tour_check_follows_the_passing_runs_under_ci_only(monkeypatch, capsys):
    dev = load_dev()
    real = dev.tour_check
    started = []
    monkeypatch.setattr(dev.subprocess, "run", lambda cmd, **kwargs: started.append(cmd) or subprocess.CompletedProcess(cmd, 3))

    fake_runs(dev, monkeypatch, {".venv": 0, ".venv-min": 0})
    monkeypatch.setattr(dev, "tour_check", real)
    assert dev.main(["test"]) == 0 and started == []  # outside CI: one line, nothing run
    assert "not running the tour as an unprivileged user on a fresh clone: CI=true runs it" in capsys.readouterr().out

    monkeypatch.setenv("CI", "true")
    assert dev.main(["test"]) == 3  # its failure fails the command
    assert started == [[sys.executable, dev.TOUR_CHECK]]
    assert "step 'tour as an unprivileged user' failed (exit 3)" in capsys.readouterr().out

    started.clear()
    fake_runs(dev, monkeypatch, {".venv": 1, ".venv-min": 0})
    monkeypatch.setattr(dev, "tour_check", real)
    monkeypatch.setenv("CI", "true")
    assert dev.main(["test"]) == 1 and started == []  # a failing suite is not followed by the tour


def test_the_tour_path_has_python_and_no_npm_or_node(tmp_path):
    check = load_tour_check()
    folder = check.tool_folder(str(tmp_path / "bin"), sys.executable)
    assert sorted(os.listdir(folder)) == ["python", "python3"]
    assert os.path.realpath(shutil.which("python3", path=folder)) == os.path.realpath(sys.executable)
    assert shutil.which("npm", path=folder) is None and shutil.which("node", path=folder) is None
    (tmp_path / "bin" / "node").symlink_to(sys.executable)  # a folder that already holds node is refused
    with pytest.raises(RuntimeError, match="expected no node on this PATH"):
        check.tool_folder(str(tmp_path / "bin"), sys.executable)


def test_pip_settings_of_root_files_are_handed_over_as_variables():
    check = load_tour_check()
    listing = """global.cert='/etc/ssl/certs/ca-certificates.crt'
global.extra-index-url='file:///opt/pypi/simple file:///opt/pypi-more/simple'
user.find-links='/opt/wheels'
:env:.default-timeout='180'
"""
    assert check.pip_settings(listing) == {
        "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
        "PIP_EXTRA_INDEX_URL": "file:///opt/pypi/simple file:///opt/pypi-more/simple",
        "PIP_FIND_LINKS": "/opt/wheels",
    }


def test_the_tour_environment_is_only_what_the_tour_needs():
    check = load_tour_check()
    caller = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root", "VIRTUAL_ENV": "/root/venv", "TOKEN": "x",
              "https_proxy": "http://proxy:3128", "PIP_DEFAULT_TIMEOUT": "180", "CI": "true", "PYTHONPATH": "/root"}
    env = check.tour_environment("/tmp/home", "/tmp/bin", caller, {"PIP_FIND_LINKS": "/opt/wheels"})
    assert env == {"PATH": "/tmp/bin", "HOME": "/tmp/home", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "CI": "true",
                   "https_proxy": "http://proxy:3128", "PIP_DEFAULT_TIMEOUT": "180", "PIP_FIND_LINKS": "/opt/wheels"}


def test_a_site_without_katex_or_math_is_named(tmp_path):
    check = load_tour_check()
    site = tmp_path / "site"
    page = site / "lecture" / "sigmoid.html"
    page.parent.mkdir(parents=True)
    page.write_text('<script src="../assets/vendor/katex/katex.min.js"></script>'
                    '<link href="../assets/vendor/katex/katex.min.css" rel="stylesheet">'
                    '<div class="arithmatex">\\[\\sigma\\]</div>', encoding="utf-8")
    for asset in check.KATEX_FILES:
        (site / asset).parent.mkdir(parents=True, exist_ok=True)
        (site / asset).write_bytes(b"x")
    assert check.site_problems(str(site)) == []
    (site / "assets/vendor/katex/fonts/KaTeX_Main-Regular.woff2").unlink()
    assert check.site_problems(str(site)) == ["assets/vendor/katex/fonts/KaTeX_Main-Regular.woff2 is missing from the site"]
    page.write_text("<p>no math</p>", encoding="utf-8")
    assert "lecture/sigmoid.html holds no formula for KaTeX (no .arithmatex element)" in check.site_problems(str(site))
    assert "lecture/sigmoid.html does not load assets/vendor/katex/katex.min.js" in check.site_problems(str(site))
    page.unlink()
    assert check.site_problems(str(site)) == [f"{page} was not built"]
