#!/usr/bin/env python3
"""The first hour of a newcomer, as CI checks it: `python3 dev.py tour` on a fresh clone, run by an
unprivileged user with no npm or node on its PATH, ends with a built site whose math renders.

Run by `python3 dev.py test` after the test suite under CI=true (CI runs as root), or by hand as root:

    python3 .ci/tour_check.py

Steps: clone this checkout's HEAD (`git clone -q`) into a fresh temporary folder, give it to the
user `nobody` (or one made with useradd), and run `python3 dev.py tour` there as that user, with
HOME a fresh folder of its own and a PATH that holds only a folder of links to python3 (so neither
npm nor node, nor anything else of /usr/bin, is found). pip gets the settings the caller's pip uses
(index, find-links, certificates: read with `pip config list` and handed over as PIP_* variables,
since the user cannot read root's own pip.conf). Then the built site is checked: the lecture page
exists, holds its formulas for KaTeX, and the KaTeX script, stylesheet and fonts it loads are in the
site; when Chromium is installed, the page is also loaded in it (with tests/test_docs_browser.py's
driver) and each formula must be rendered as a .katex element with no error.

Standard library only. Exit status 0 when everything holds, 1 otherwise, with one line saying why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER = "nobody"
#: The page whose math is checked: the lecture's sigmoid, formulas in the text and in display.
PAGE = "lecture/sigmoid.html"
#: What the site must ship for KaTeX to draw a formula offline (docs/hooks/npm_assets.py copies them).
KATEX_FILES = ("assets/vendor/katex/katex.min.js", "assets/vendor/katex/katex.min.css",
               "assets/vendor/katex/fonts/KaTeX_Main-Regular.woff2")
#: Variables a network and pip need, passed on as they are; every other variable is dropped.
KEPT = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE",
        "SSL_CERT_DIR", "CI", "TZ")
TOUR_TIMEOUT = 3600


def say(message: str) -> None:
    print(f"tour_check: {message}", flush=True)


# -- what the unprivileged user runs with ----------------------------------------------------------


def tool_folder(folder: str, python: str) -> str:
    """``folder`` holding links named python3 and python to ``python``, and nothing else; the PATH to use.

    npm and node live in /usr/bin on most machines, so /usr/bin itself cannot be on this PATH.
    """
    os.makedirs(folder, exist_ok=True)
    for name in ("python3", "python"):
        link = os.path.join(folder, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(python, link)
    for tool in ("npm", "npx", "node"):
        if shutil.which(tool, path=folder) is not None:
            raise RuntimeError(f"{folder}: expected no {tool} on this PATH; found {shutil.which(tool, path=folder)}")
    return folder


def pip_settings(config_list: str) -> dict[str, str]:
    """``pip config list`` output as PIP_* variables (``global.extra-index-url='a b'`` → PIP_EXTRA_INDEX_URL).

    Settings pip took from variables (``:env:.…``) are left out: the variables themselves are passed on.
    """
    found = {}
    for line in config_list.splitlines():
        match = re.fullmatch(r"([\w:-]*)\.([\w-]+)='(.*)'", line.strip())
        if match and match.group(1) != ":env:":
            found["PIP_" + match.group(2).upper().replace("-", "_")] = match.group(3)
    return found


def tour_environment(home: str, path: str, caller: dict, pip: dict) -> dict:
    """The whole environment of the tour: HOME, PATH, a UTF-8 locale, pip's settings, the proxies, CI."""
    env = {name: caller[name] for name in KEPT if name in caller}
    env.update(pip)
    env.update({name: value for name, value in caller.items() if name.startswith("PIP_")})
    env.update({"HOME": home, "PATH": path, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
    return env


def site_problems(site: str, page: str = PAGE) -> list[str]:
    """What keeps ``page`` of the built ``site`` from showing its math with KaTeX, read from the files."""
    html_path = os.path.join(site, *page.split("/"))
    if not os.path.isfile(html_path):
        return [f"{html_path} was not built"]
    with open(html_path, encoding="utf-8") as f:
        html = f.read()
    found = []
    if '<div class="arithmatex">' not in html and '<span class="arithmatex">' not in html:
        found.append(f"{page} holds no formula for KaTeX (no .arithmatex element)")
    depth = "../" * page.count("/")
    for asset in KATEX_FILES:
        if not os.path.isfile(os.path.join(site, *asset.split("/"))):
            found.append(f"{asset} is missing from the site")
        elif not asset.endswith(".woff2") and f'"{depth}{asset}"' not in html:
            found.append(f"{page} does not load {asset}")
    return found


# -- running as the user ---------------------------------------------------------------------------


def user_ids(name: str) -> tuple[int, int]:
    """The uid and gid of ``name``, made with useradd (no home, no login) when it does not exist."""
    import pwd

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
        entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def as_user(uid: int, gid: int, cmd: list, env: dict, cwd: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=cwd, user=uid, group=gid, extra_groups=[], timeout=timeout,
                          stdin=subprocess.DEVNULL)


def usable_python(uid: int, gid: int, cwd: str) -> str:
    """A python3 ≥ 3.11 that the user can run: this one if it can, else Debian's /usr/bin/python3."""
    check = "import sys, venv; sys.exit(sys.version_info < (3, 11))"
    for candidate in (os.path.realpath(sys.executable), "/usr/bin/python3"):
        try:
            proc = subprocess.run([candidate, "-c", check], user=uid, group=gid, extra_groups=[], cwd=cwd,
                                  env={"PATH": "/nonexistent", "LANG": "C.UTF-8"}, capture_output=True)
        except OSError:  # missing, or in a folder the user cannot enter (root's own pyenv)
            continue
        if proc.returncode == 0:
            return candidate
    raise RuntimeError(f"no python3 ≥ 3.11 that uid {uid} can run: {sys.executable} is not readable by it "
                       "and /usr/bin/python3 is missing or older")


def chown_tree(top: str, uid: int, gid: int) -> None:
    for folder, subfolders, files in os.walk(top):
        os.chown(folder, uid, gid)
        for name in files:
            os.chown(os.path.join(folder, name), uid, gid, follow_symlinks=False)


# -- the browser ------------------------------------------------------------------------------------

RENDER = r"""
import functools, http.server, json, sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from test_docs_browser import PAGE_REPORT, Browser, QuietHandler, Trap, problems, serving
site, page = sys.argv[2], sys.argv[3]
handler = functools.partial(QuietHandler, directory=site)
with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)) as server, serving(Trap()) as trap, \
        tempfile.TemporaryDirectory() as profile:
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    browser = Browser(Path(profile), f"http://127.0.0.1:{trap.server_address[1]}")
    try:
        report, events = browser.load(url + page)
    finally:
        browser.close()
print(json.dumps({"arithmatex": report["arithmatex"], "katex": report["katex"],
                  "problems": problems(url, report, events)}))
"""


def rendered(site: str, page: str = PAGE) -> str | None:
    """Load ``page`` in Chromium; None when every formula is a .katex element, else what is wrong."""
    python = os.path.join(ROOT, ".venv", "bin", "python")  # dev.py's: it has websocket-client
    if not os.path.exists(python):
        python = sys.executable
    proc = subprocess.run([python, "-c", RENDER, os.path.join(ROOT, "tests"), site, page],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return f"loading {page} in Chromium failed:\n{proc.stdout}{proc.stderr}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    if report["problems"] or not 0 < report["arithmatex"] <= report["katex"]:
        return f"{page} in Chromium: {report}"
    say(f"{page} in Chromium: {report['arithmatex']} formulas, {report['katex']} rendered by KaTeX, no error")
    return None


# -- the check --------------------------------------------------------------------------------------


def main() -> int:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        say("needs root, to run the tour as another user (CI runs it as root)")
        return 1
    uid, gid = user_ids(USER)
    work = tempfile.mkdtemp(prefix="mathnn-tour-")
    try:
        return check(work, uid, gid)
    except BaseException:  # the check itself broke: nothing in the folder is worth keeping
        shutil.rmtree(work, ignore_errors=True)
        raise


def check(work: str, uid: int, gid: int) -> int:
    """The tour in ``work`` as ``uid``; 0 when the site shows its math (``work`` removed), else 1 (kept)."""
    os.chmod(work, 0o755)
    clone, home, tools = (os.path.join(work, name) for name in ("mathnn", "home", "bin"))
    subprocess.run(["git", "clone", "-q", ROOT, clone], check=True)
    os.makedirs(home)
    chown_tree(work, uid, gid)
    python = usable_python(uid, gid, work)
    path = tool_folder(tools, python)
    pip_config = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True)
    env = tour_environment(home, path, dict(os.environ), pip_settings(pip_config.stdout))
    inside = as_user(uid, gid, ["python3", "-c", "import shutil, sys; sys.exit(any(map(shutil.which, ('npm', 'node'))))"],
                     env, clone)
    if inside.returncode != 0:
        say(f"npm or node is on the tour's PATH ({path})")
        return 1
    say(f"python3 dev.py tour as {USER} (uid {uid}) in a fresh clone, {clone}: PATH={path} ({python}), HOME={home}")
    start = time.perf_counter()
    tour = as_user(uid, gid, [python, "dev.py", "tour"], env, clone, timeout=TOUR_TIMEOUT)
    seconds = time.perf_counter() - start
    if tour.returncode != 0:
        say(f"python3 dev.py tour failed (exit {tour.returncode}) after {seconds:.0f} s; the clone stays in {work}")
        return 1
    say(f"the tour passed in {seconds:.0f} s (a fresh clone: .venv, npm packages, proofs and experiments from nothing)")
    site = os.path.join(clone, "site")
    found = site_problems(site)
    if not found and os.access("/usr/bin/chromium", os.X_OK):
        problem = rendered(site)
        found += [problem] if problem else []
    elif not found:
        say("/usr/bin/chromium is missing: the page was checked from its files only")
    if found:
        say("the site the tour built does not show its math: " + "; ".join(found) + f" (the clone stays in {work})")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    say(f"{PAGE} is built, its math is there for KaTeX, and KaTeX's script, stylesheet and fonts are in the site")
    return 0


if __name__ == "__main__":
    sys.exit(main())
