"""MkDocs hook: serve KaTeX, Material's iframe-worker shim and a Korean font from node_modules, never a CDN.

The npm packages are pinned, with their sha512 integrity, in package-lock.json at the repository
root; ``python3 dev.py docs`` (and ``tour``, ``test``) downloads and checks them into
node_modules/ with Python alone, no npm needed. Nothing from npm is checked in: this hook adds the
files below to the build as if they were under docs/, so ``mkdocs build`` copies them into the
site and ``mkdocs serve`` serves them. mkdocs.yml references them by their site paths
(``extra_css``, ``extra_javascript``, ``extra.polyfills``); docs/stylesheets/korean.css loads the font.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"

#: Site path → path under node_modules/. A folder is copied with everything in it.
ASSETS = {
    "assets/vendor/katex/LICENSE": "katex/LICENSE",
    "assets/vendor/katex/katex.min.css": "katex/dist/katex.min.css",
    "assets/vendor/katex/katex.min.js": "katex/dist/katex.min.js",
    "assets/vendor/katex/contrib/auto-render.min.js": "katex/dist/contrib/auto-render.min.js",
    "assets/vendor/katex/fonts": "katex/dist/fonts",  # katex.min.css loads them from fonts/
    "assets/vendor/iframe-worker/LICENSE": "iframe-worker/LICENSE",
    "assets/vendor/iframe-worker/shim.js": "iframe-worker/shim/index.js",
    # Hangul only (every syllable, one weight): the package's other subsets and weights stay out
    "assets/vendor/noto-sans-kr/LICENSE": "@fontsource/noto-sans-kr/LICENSE",
    "assets/vendor/noto-sans-kr/noto-sans-kr-korean-400-normal.woff2":
        "@fontsource/noto-sans-kr/files/noto-sans-kr-korean-400-normal.woff2",
}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for site_path, npm_path in ASSETS.items():
        source = NODE_MODULES / npm_path
        if not source.exists():
            parts = npm_path.split("/")
            package = "/".join(parts[:2] if parts[0].startswith("@") else parts[:1])
            raise PluginError(
                f"{source} is missing: the docs take {package} from npm. Run `python3 dev.py docs` in {ROOT}: "
                "it downloads the packages package-lock.json pins into node_modules/ (no npm needed)."
            )
        if source.is_dir():
            pairs = [(f"{site_path}/{p.relative_to(source).as_posix()}", p) for p in sorted(source.rglob("*"))
                     if p.is_file()]
        else:
            pairs = [(site_path, source)]
        for uri, path in pairs:
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files
