"""Every page of the built site in headless Chromium, driven over the DevTools protocol.

The site (built once per session by ``built_site`` in tests/conftest.py) is served on 127.0.0.1 and each page is
loaded in Debian's Chromium. For every page: each formula is rendered by KaTeX with no
``.katex-error``, no raw ``$$``, ``\\(`` or ``\\[`` is left in the visible text, KaTeX's fonts and
every image load, nothing answers 4xx/5xx, no script throws, and no request of the page or of its
workers (Material's search) leaves 127.0.0.1, as the protocol's Network events report them. The
lecture's Korean terms are drawn with the Noto Sans KR font the site ships, not as the empty boxes a
machine without a Korean font shows.

The home page is loaded first, with the site's search index (``search/search_index.json``, some 600 kB
that Material's search worker parses and indexes on every page load); every later page gets an index
with the same settings and no documents, so its search worker still starts and reads an index, but the
whole site is indexed once per run, not once per page: that indexing was about 40% of Chromium's CPU.

Chromium itself calls home whatever the page does (it lists Google accounts and checks for
component updates at startup, with no flag to stop either), so it is started with
``--proxy-server`` pointing at a local trap that refuses every request: nothing leaves the machine.
Loopback addresses bypass a proxy in Chromium, so the site itself is reached directly.

Chromium is installed by ``python3 dev.py test`` (apt-get install chromium) where it can be (root or
sudo); elsewhere dev.py deselects these tests (marker ``browser``) and says so, except under CI=true,
where a missing chromium fails the run. They are never skipped: run directly without
/usr/bin/chromium, they fail and say how to install it.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import os
import signal
import socketserver
import struct
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket

from mathnn.rules import RULES

pytestmark = [pytest.mark.docs, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
    "--hide-scrollbars", "--mute-audio", "--remote-debugging-port=0",
    # the browser's own calls that a page would set off (form predictions, network time)
    "--disable-features=AutofillServerCommunication,NetworkTimeServiceQuerying,OptimizationHints",
]
#: Seconds a page may take to load and render its math.
PAGE_TIMEOUT = 30


# --------------------------------------------------------------------------------------------------
# servers on 127.0.0.1: the site, and a proxy that refuses whatever is meant for another host
# --------------------------------------------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


SEARCH_INDEX = "/search/search_index.json"


class SiteServer(http.server.ThreadingHTTPServer):
    """The built site; ``whole_index`` says whether the search index is served whole or without its documents."""

    def __init__(self, directory: Path) -> None:
        super().__init__(("127.0.0.1", 0), functools.partial(SiteHandler, directory=str(directory)))
        self.directory = directory
        self.whole_index = True
        #: Each search index served, in order: True for the whole one, False for the one without documents.
        self.served: list[bool] = []


class SiteHandler(QuietHandler):
    server: SiteServer

    def do_GET(self) -> None:
        if self.path.split("?")[0] != SEARCH_INDEX:
            return super().do_GET()
        whole = self.server.whole_index
        body = (self.server.directory / SEARCH_INDEX.lstrip("/")).read_bytes()
        if not whole:
            body = json.dumps({**json.loads(body), "docs": []}).encode("utf-8")
        self.server.served.append(whole)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")  # the next page asks again, and gets what is served then
        self.end_headers()
        self.wfile.write(body)


class Trap(socketserver.ThreadingTCPServer):
    """A proxy that refuses every request: where Chromium's own calls home end."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), TrapHandler)


class TrapHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.rfile.readline(65536)
        self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@contextlib.contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[socketserver.BaseServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="session")
def site_server(built_site: Path) -> Iterator[SiteServer]:
    with serving(SiteServer(built_site)) as server:
        yield server


@pytest.fixture(scope="session")
def site_url(site_server: SiteServer) -> str:
    return f"http://127.0.0.1:{site_server.server_address[1]}/"


@pytest.fixture(scope="session")
def trap() -> Iterator[Trap]:
    with serving(Trap()) as server:
        yield server


# --------------------------------------------------------------------------------------------------
# Chromium over the DevTools protocol
# --------------------------------------------------------------------------------------------------


class Browser:
    """One headless Chromium with one page, driven over its DevTools websocket."""

    def __init__(self, profile: Path, proxy: str) -> None:
        if not os.access(CHROMIUM, os.X_OK):
            pytest.fail(f"{CHROMIUM} is missing: run `python3 dev.py test` (it installs Debian's chromium) "
                        "or `apt-get install -y chromium`")
        self.log = profile / "chromium.log"
        self.events: list[dict] = []
        self.ws = None
        self._id = 0
        # A process group of its own, for close() to kill, in this session: the grader's cleanup
        # (mathnn.gradcheck.processes.kill_orphans) kills this process's children in other sessions, and
        # a test that runs a homework check in this worker would take Chromium with them.
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--proxy-server={proxy}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, process_group=0,
            )
        try:
            port = self._devtools_port(profile)
            # straight to 127.0.0.1, whatever http_proxy the environment sets
            direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with direct.open(f"http://127.0.0.1:{port}/json/list", timeout=30) as response:
                targets = json.load(response)
            page = next(t for t in targets if t["type"] == "page")
            self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
            for domain in ("Page", "Network", "Runtime", "Log"):
                self.call(f"{domain}.enable")
            # workers start paused, so their requests are seen from the first one (see _receive)
            self.call("Target.setAutoAttach", autoAttach=True, waitForDebuggerOnStart=True, flatten=True)
            self.call("Emulation.setDeviceMetricsOverride", width=1280, height=1600, deviceScaleFactor=1,
                      mobile=False)
        except BaseException:
            self.close()
            raise

    def _devtools_port(self, profile: Path) -> int:
        """Chromium writes the port it chose for --remote-debugging-port=0 into the profile."""
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"chromium exited with {self.process.returncode}:\n{self.log.read_text(errors='replace')}")
            if active.exists() and (lines := active.read_text().split()):
                return int(lines[0])
            time.sleep(0.05)
        pytest.fail(f"chromium did not open its DevTools port in 60 s:\n{self.log.read_text(errors='replace')}")

    def _send(self, method: str, params: dict, session: str | None = None) -> int:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        return self._id

    def _receive(self, timeout: float) -> dict:
        self.ws.settimeout(max(timeout, 0.01))
        message = json.loads(self.ws.recv())
        if "method" in message:
            self.events.append(message)
            if message["method"] == "Target.attachedToTarget":  # a worker of the page, paused
                session = message["params"]["sessionId"]
                for method in ("Network.enable", "Runtime.enable", "Runtime.runIfWaitingForDebugger"):
                    self._send(method, {}, session)
        return message

    def call(self, method: str, **params: object) -> dict:
        sent = self._send(method, params)
        while True:
            message = self._receive(PAGE_TIMEOUT)
            if message.get("id") == sent:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def wait_for(self, method: str, since: int) -> None:
        deadline = time.monotonic() + PAGE_TIMEOUT
        while not any(event["method"] == method for event in self.events[since:]):
            self._receive(deadline - time.monotonic())

    def evaluate(self, expression: str) -> object:
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}…: {result['exceptionDetails']}")
        return result["result"]["value"]

    def load(self, url: str) -> tuple[dict, list[dict]]:
        """Navigate, wait for the load event and the math, and return the page's report and its events."""
        since = len(self.events)
        result = self.call("Page.navigate", url=url)
        assert "errorText" not in result, f"{url}: {result['errorText']}"
        self.wait_for("Page.loadEventFired", since)
        report = self.evaluate(PAGE_REPORT)
        return report, self.events[since:]

    def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.call("Browser.close")
            self.ws.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group Popen started: chromium and its children
            self.process.wait()


#: Runs in the page once it has loaded: waits for KaTeX (at most 10 s), the fonts and the images,
#: then reports what a reader would see.
PAGE_REPORT = r"""
(async () => {
  const unrendered = () => [...document.querySelectorAll(".arithmatex")].filter(e => !e.querySelector(".katex"));
  for (const deadline = Date.now() + 10000; unrendered().length && Date.now() < deadline; )
    await new Promise(resolve => setTimeout(resolve, 50));
  await document.fonts.ready;
  await Promise.all([...document.images].map(img => img.complete ? null :
    new Promise(resolve => { img.onload = img.onerror = resolve; })));

  // Visible text outside rendered math and code: KaTeX keeps the TeX source in a hidden annotation.
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest(".katex, pre, code, script, style, noscript, textarea")) continue;
    const text = node.textContent;
    if (["$$", "\\(", "\\)", "\\[", "\\]"].some(s => text.includes(s))) raw.push(text.trim().slice(0, 120));
  }
  const loads = [...document.querySelectorAll("[src], link[href], [srcset], [poster], object[data]")]
    .map(e => e.currentSrc || e.src || e.href || e.data || e.getAttribute("srcset"))
    .filter(url => url && !url.startsWith(location.origin + "/") && !/^(data|blob|about):/.test(url));
  const fonts = [...document.fonts];
  return {
    title: document.title,
    arithmatex: document.querySelectorAll(".arithmatex").length,
    unrendered: unrendered().map(e => e.textContent.slice(0, 120)),
    katex: document.querySelectorAll(".katex").length,
    // KaTeX shows an unknown command in red rather than as a .katex-error: parse each formula strictly too
    katexErrors: [...document.querySelectorAll(".katex-error")].map(e => e.title || e.textContent).concat(
      [...document.querySelectorAll('.arithmatex annotation[encoding="application/x-tex"]')].flatMap(tex => {
        try { katex.renderToString(tex.textContent, { throwOnError: true }); return []; }
        catch (error) { return [error.message]; }
      })),
    raw,
    images: document.images.length,
    brokenImages: [...document.images].filter(img => !(img.naturalWidth > 0)).map(img => img.src),
    externalLoads: loads,
    katexFontsLoaded: fonts.filter(f => f.family.replace(/["']/g, "").startsWith("KaTeX") && f.status === "loaded")
      .map(f => f.family),
    fontErrors: fonts.filter(f => f.status === "error").map(f => f.family),
  };
})()
"""


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory, trap: Trap) -> Iterator[Browser]:
    started = Browser(tmp_path_factory.mktemp("chromium-profile"), f"http://127.0.0.1:{trap.server_address[1]}")
    try:
        yield started
    finally:
        started.close()


# --------------------------------------------------------------------------------------------------
# the checks
# --------------------------------------------------------------------------------------------------


def problems(site_url: str, report: dict, events: list[dict]) -> list[str]:
    """Everything wrong with one loaded page, as readable lines (empty when the page is fine)."""
    found = []
    if report["arithmatex"] and report["katex"] < report["arithmatex"]:
        found.append(f"{report['arithmatex']} formulas but only {report['katex']} .katex elements")
    found += [f"not rendered: {text!r}" for text in report["unrendered"]]
    found += [f".katex-error: {text}" for text in report["katexErrors"]]
    found += [f"raw TeX delimiters in visible text: {text!r}" for text in report["raw"]]
    found += [f"image did not load: {src}" for src in report["brokenImages"]]
    found += [f"external URL in the DOM: {src}" for src in report["externalLoads"]]
    found += [f"font failed: {family}" for family in report["fontErrors"]]
    if report["arithmatex"] and not report["katexFontsLoaded"]:
        found.append("no KaTeX font loaded")
    requests = {}
    for event in events:
        method, params = event["method"], event["params"]
        if method == "Network.requestWillBeSent":
            request_url = params["request"]["url"]
            requests[params["requestId"]] = request_url
            if not request_url.startswith(site_url) and not request_url.startswith(("data:", "blob:", "about:")):
                found.append(f"request leaves 127.0.0.1: {request_url}")
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            found.append(f"HTTP {params['response']['status']}: {params['response']['url']}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            found.append(f"failed to load {requests.get(params['requestId'], '?')}: {params['errorText']}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            found.append(f"script error: {details.get('exception', {}).get('description', details['text'])}")
        elif method == "Runtime.consoleAPICalled" and params["type"] == "error":
            found.append("console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            found.append(f"browser log: {params['entry']['text']}")
    return found


@pytest.fixture(scope="session")
def loaded_pages(browser: Browser, site_url: str, built_site: Path, site_server: SiteServer) -> dict[str, dict]:
    """Every page of the site loaded once: its report, its events, its overflowing blocks and the load time.

    The home page comes first and is the one that gets the whole search index (see the module's docstring).
    """
    pages = sorted((p.relative_to(built_site).as_posix() for p in built_site.rglob("*.html")),
                   key=lambda page: (page != "index.html", page))
    loaded = {}
    for page in pages:
        site_server.whole_index = page == "index.html"
        asked = len(site_server.served)
        start = time.perf_counter()
        report, events = browser.load(site_url + page)
        loaded[page] = {"report": report, "events": events, "seconds": time.perf_counter() - start,
                        "clipped": browser.evaluate(OVERFLOW_REPORT)}
        # the search worker asks for the index on its own time: the home page's request must be answered
        # with the whole index (at most 10 s) before the next page turns it off
        waited = time.monotonic() + 10
        while page == "index.html" and len(site_server.served) == asked and time.monotonic() < waited:
            time.sleep(0.1)
    return loaded


def test_every_page_renders_its_math_offline(loaded_pages: dict[str, dict], site_url: str) -> None:
    pages = list(loaded_pages)
    with_math = {f"derivations/{name}.html" for name in RULES} | {"glossary.html"}
    assert with_math <= set(pages)
    failures, timings = {}, []
    for page, loaded in loaded_pages.items():
        report = loaded["report"]
        timings.append(loaded["seconds"])
        found = problems(site_url, report, loaded["events"])
        if page in with_math and not report["arithmatex"]:
            found.append("this page should have math and has none")
        if found:
            failures[page] = found
    print(f"\n{len(pages)} pages loaded in Chromium in {sum(timings):.1f} s (slowest {max(timings):.2f} s)")
    assert not failures, json.dumps(failures, indent=2, ensure_ascii=False)


def test_the_search_index_is_read_whole_on_the_home_page_and_its_worker_asks_on_every_page(
        loaded_pages: dict[str, dict], site_server: SiteServer) -> None:
    """Material's search worker asks for the index on every page: the home page's got all of it, every
    later one the settings alone (a worker that failed to read either is a script error in problems())."""
    pages = list(loaded_pages)
    assert pages[0] == "index.html"
    served = site_server.served
    assert served[:1] == [True] and not any(served[1:]), served
    # each later page asked too (the last page's worker may still be on its way when the loads end)
    assert len(served) >= len(pages) - 1, f"{len(served)} index requests for {len(pages)} pages"


def test_no_block_is_cut_off_at_the_edge_of_the_column(loaded_pages: dict[str, dict]) -> None:
    """No code, output, table or display math wider than the column hides its end without a scrollbar,
    and every code block keeps its copy button, which covers none of its text.

    The derivation pages' generated kernels have lines of thousands of pixels; in a 1280 px window
    the content column is under 700 px wide.
    """
    assert any(page.startswith("derivations/") for page in loaded_pages)
    clipped = {page: loaded["clipped"] for page, loaded in loaded_pages.items() if loaded["clipped"]}
    assert not clipped, json.dumps(clipped, indent=2, ensure_ascii=False)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_batchnorm_page_screenshot(browser: Browser, site_url: str, tmp_path: Path) -> None:
    report, events = browser.load(site_url + "derivations/batchnorm.html")
    assert not problems(site_url, report, events)
    assert report["katex"] >= report["arithmatex"] > 0
    shot = browser.call("Page.captureScreenshot", format="png")
    data = base64.b64decode(shot["data"])
    path = tmp_path / "batchnorm.png"
    path.write_bytes(data)
    print(f"\nscreenshot of derivations/batchnorm.html: {path}")
    assert png_size(data) == (1280, 1600)
    assert len(data) > 20_000  # a blank 1280×1600 page compresses to a few kB


#: Marks the first table cell of the page that holds only Hangul, and reports what the page knows of the font.
HANGUL_PROBE = r"""
(async () => {
  await document.fonts.ready;
  const cell = [...document.querySelectorAll("article td, article th")]
    .find(e => /^[\uac00-\ud7a3 ]+$/.test(e.textContent.trim()));
  if (!cell) return null;
  cell.setAttribute("data-hangul-probe", "");
  return {
    text: cell.textContent.trim(),
    fontFamily: getComputedStyle(cell).fontFamily,
    faces: [...document.fonts].filter(f => f.family.replace(/["']/g, "") === "Noto Sans KR").map(f => f.status),
  };
})()
"""


def test_hangul_is_drawn_with_the_shipped_korean_font(browser: Browser, site_url: str) -> None:
    """The glossary's Korean terms in Noto Sans KR, as Chromium reports the fonts it drew a cell with.

    Chromium has no Korean font of its own (Debian's chromium pulls none in): without the site's
    font it draws each syllable as an empty box in whatever font it falls back to.
    """
    report, events = browser.load(site_url + "glossary.html")
    assert not problems(site_url, report, events)
    probe = browser.evaluate(HANGUL_PROBE)
    assert probe, "glossary.html has no table cell of Hangul alone"
    assert "loaded" in probe["faces"], f"Noto Sans KR was not loaded: {probe}"

    browser.call("DOM.enable")
    browser.call("CSS.enable")
    document = browser.call("DOM.getDocument", depth=0)["root"]["nodeId"]
    cell = browser.call("DOM.querySelector", nodeId=document, selector="[data-hangul-probe]")["nodeId"]
    fonts = browser.call("CSS.getPlatformFontsForNode", nodeId=cell)["fonts"]
    syllables = sum(1 for ch in probe["text"] if "\uac00" <= ch <= "\ud7a3")
    # the file names itself "Noto Sans KR Thin" (the subset keeps the family's first name record)
    korean = [font for font in fonts if font["isCustomFont"] and font["postScriptName"].startswith("NotoSansKR")]
    assert len(korean) == len(fonts) == 1 and korean[0]["glyphCount"] == syllables, (
        f"{probe['text']!r} ({syllables} syllables, font-family {probe['fontFamily']}) was drawn with {fonts}")


#: Every block of code, output, table or display math in the content that is wider than its box, and
#: whether a reader can get at the rest: the nearest box (itself or an ancestor) that does not let it
#: spill must scroll (overflow-x auto or scroll) with a scrollbar a reader sees: not scrollbar-width:
#: none, and a thumb at least half opaque (Material's own, on code blocks, is a thin one at 32 %, drawn
#: only at the bottom of a block that may be taller than the window). Chromium runs with
#: --hide-scrollbars, so this is read from the computed styles, which are what a reader's browser applies.
OVERFLOW_REPORT = r"""
(() => {
  const thumbAlpha = style => {
    if (style.scrollbarColor === "auto") return 1;
    const first = style.scrollbarColor.match(/^(rgba?\([^)]*\)|\S+)/)[1];
    const parts = (first.match(/\(([^)]*)\)/) || [, ""])[1].split(/[\s,\/]+/).filter(Boolean);
    return parts.length > 3 ? parseFloat(parts[3]) : 1;
  };
  const scrollsVisibly = style => ["auto", "scroll"].includes(style.overflowX)
    && style.scrollbarWidth !== "none" && thumbAlpha(style) >= 0.5;
  const describe = e => e.tagName.toLowerCase() + (e.className && typeof e.className === "string"
    ? "." + e.className.trim().split(/\s+/).join(".") : "");
  const content = document.querySelector(".md-content");
  if (!content) return [];
  const found = [];
  for (const e of content.querySelectorAll("pre, pre > code, table, .md-typeset__scrollwrap, .arithmatex")) {
    const style = getComputedStyle(e);
    if (style.display.startsWith("inline") && style.display !== "inline-block") continue;
    if (e.offsetParent === null) continue;  // not laid out (e.g. in a closed <details>): nothing to clip
    if (e.scrollWidth <= e.clientWidth + 1) continue;
    let box = e;
    while (box !== content && getComputedStyle(box).overflowX === "visible") box = box.parentElement;
    const boxStyle = getComputedStyle(box);
    if (box !== content && scrollsVisibly(boxStyle)) continue;
    found.push(`${describe(e)} is ${e.scrollWidth}px wide in ${e.clientWidth}px; ${describe(box)} has ` +
      `overflow-x ${boxStyle.overflowX}, scrollbar ${boxStyle.scrollbarWidth} ${boxStyle.scrollbarColor}: ` +
      JSON.stringify(e.textContent.trim().slice(0, 60)));
  }
  // Wrapping must keep Material's copy button: on every code block, inside its box, copying that block.
  for (const pre of content.querySelectorAll("pre")) {
    const code = pre.querySelector(":scope > code");
    if (!code || pre.offsetParent === null) continue;
    const button = pre.querySelector('button[data-md-type="copy"], button.md-clipboard');
    const target = button && document.querySelector(button.dataset.clipboardTarget || null);
    const inside = button && (b => b.width > 0 && b.right <= pre.getBoundingClientRect().right + 1)(
      button.getBoundingClientRect());
    if (!button || target !== code || !inside)
      found.push(`code block without a working copy button (button ${!!button}, copies this block ` +
        `${target === code}, inside the block ${!!inside}): ${JSON.stringify(code.textContent.trim().slice(0, 60))}`);
    // and a line wrapped at the column must end before the button, not run under it
    if (button) {
      const text = code.getBoundingClientRect().right - parseFloat(getComputedStyle(code).paddingRight);
      const covers = (button.closest(".md-code__nav") || button).getBoundingClientRect().left;
      if (text > covers + 0.5)
        found.push(`the copy button covers the end of the lines: the text runs to ${text.toFixed(1)}px, the ` +
          `button starts at ${covers.toFixed(1)}px: ${JSON.stringify(code.textContent.trim().slice(0, 60))}`);
    }
  }
  return found;
})()
"""
