"""What a sandbox may import: a copy of the student's file and its package, numpy, and torch for a PyTorch file.

The sandbox's import path holds only these folders (:mod:`mathnn.gradcheck.sandbox` starts Python with
``-I -S``): :func:`copy_sources` copies the student's modules into the sandbox's own folder,
:func:`numpy_folder` and :func:`torch_folder` hold links to this interpreter's numpy and torch and
nothing else.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from .access import OWN_PACKAGE

#: Source files copied from the student's package, and their total size.
COPY_LIMIT = 16 * 2**20
MAX_SIBLINGS = 200
#: What ``import torch`` loads besides the standard library and numpy, and what its meta device (the device
#: probe) loads on first use (SymPy, mpmath): linked into the torch folder.
TORCH_PACKAGES = ("torch", "torchgen", "typing_extensions", "sympy", "mpmath")
_state: dict[str, object] = {}


#: past.builtins as the ``future`` package gives Python 2's names to Python 3: CS231n's starter code of
#: 2017–2019 has ``from past.builtins import xrange`` at the top of several files.
PAST_BUILTINS = '''"""Python 2's builtin names for Python 3 code, as the future package's past.builtins has them."""
import functools

xrange = range
basestring = str
unicode = str
long = int
raw_input = input
unichr = chr
reduce = functools.reduce
'''


#: mathnn's stand-in for matplotlib (see its module): imports, and draws nothing.
MATPLOTLIB_STANDIN = Path(__file__).with_name("matplotlib_standin.py")


def numpy_folder() -> str:
    """A folder holding only numpy (links to this interpreter's copy) and stand-ins for past.builtins and
    matplotlib: the sandbox's one import path."""
    folder = _state.get("numpy")
    if folder is None or not Path(str(folder)).is_dir():
        import numpy

        folder = tempfile.mkdtemp(prefix=f"mathnn-numpy-{os.getpid()}-")
        site = Path(numpy.__file__).resolve().parent.parent
        for name in ("numpy", "numpy.libs"):
            if (site / name).exists():
                os.symlink(site / name, Path(folder) / name)
        past, plots = Path(folder) / "past", Path(folder) / "matplotlib"
        (past / "builtins").mkdir(parents=True)
        (past / "__init__.py").write_text("")
        (past / "builtins" / "__init__.py").write_text(PAST_BUILTINS)
        plots.mkdir()
        shutil.copyfile(MATPLOTLIB_STANDIN, plots / "__init__.py")
        for made in (past, past / "builtins", plots):  # read by the sandbox's unprivileged user
            os.chmod(made, 0o755)
            os.chmod(made / "__init__.py", 0o644)
        os.chmod(folder, 0o755)
        _state["numpy"] = folder
        atexit.register(shutil.rmtree, folder, True)
    return str(folder)


def torch_folder() -> str | None:
    """A folder holding only torch and what its import needs (links): added to a PyTorch file's sandbox path.

    None when this Python has no torch (``pip install mathnn[torch]``).
    """
    import importlib.util

    folder = _state.get("torch")
    if folder is not None and Path(str(folder)).is_dir():
        return str(folder)
    found = {}
    for name in TORCH_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            if name == "torch":
                return None
            continue
        origin = Path(spec.origin).resolve()
        found[name] = origin.parent if origin.name == "__init__.py" else origin
    folder = tempfile.mkdtemp(prefix=f"mathnn-numpy-{os.getpid()}-torch-")  # swept with the numpy folders
    for path in found.values():
        os.symlink(path, Path(folder) / path.name)
    os.chmod(folder, 0o755)
    _state["torch"] = folder
    atexit.register(shutil.rmtree, folder, True)
    return str(folder)


def _namespace_part(folder: Path, below: list[str]) -> bool:
    """Is ``folder`` part of a cs231n package even without __init__.py (Python 3 imports it as a namespace
    package)? cs231n/ holding the file or its classifiers/ folder, and cs231n/classifiers/ holding the file."""
    if folder.name == "cs231n":
        return below[:-1] in ([], ["classifiers"])
    return folder.name == "classifiers" and folder.parent.name == "cs231n" and len(below) == 1


def module_name(path: Path) -> tuple[Path, str | None]:
    """The folder to import from and the dotted module name when ``path`` sits in a package (cs231n/layers.py)."""
    package, parts = path.parent, [path.stem]
    if OWN_PACKAGE in path.parents:  # mathnn's own examples: never copy the reference package along
        return path.parent, None
    while (package / "__init__.py").is_file() or _namespace_part(package, parts):
        parts.insert(0, package.name)
        package = package.parent
        if parts[0] == "cs231n":  # the top, as the notebooks beside it import it: an assignment2/__init__.py
            break                  # above it would make `from cs231n.layers import *` fail
    if len(parts) > 1 and all(part.isidentifier() for part in parts):
        return package, ".".join(parts)
    return path.parent, None


def _importable(path: Path) -> bool:
    """A module file: .py, or an extension built for this Python (CS231n's fast_layers.py imports its
    im2col_cython.cpython-311-x86_64-linux-gnu.so; one built for another Python is never imported, so never copied)."""
    name = path.name
    if name.endswith(".py"):
        return True
    return any(name.endswith(suffix) and name[:-len(suffix)].isidentifier() for suffix in EXTENSION_SUFFIXES) \
        and path.is_file()


def _inside(source: Path, root: Path) -> bool:
    """Whether ``source`` is in ``root`` once every link is followed: a link in a student's folder to a
    classmate's file or to one only the grader may read is never copied for the student's code to read."""
    try:
        return source.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a loop of links
        return False


def sources(path: Path, within: Path | None = None) -> tuple[Path, str | None, list[Path]]:
    """What the sandbox gets of the student's file: (root, dotted name or None, the files copied from ``root``).

    A file in a package brings the package's modules; a file on its own brings the modules beside it.
    Either brings the packages beside its own package or beside it (UCLA's nndl/ imports the cs231n/ next
    to it, and so does a notebook exported next to cs231n/; Python 3 imports a cs231n/ even without an
    __init__.py), up to COPY_LIMIT bytes, its own first. Only files inside ``root`` once links are
    followed are copied, and only files inside ``within`` when it is given: ``mathnn grade`` passes the
    submission, a folder (nothing of a classmate's, even from a package above it) or a lone file (the
    file only: the files beside it are the classmates').
    """
    alone = within is not None and within.resolve() == path.resolve()
    root, dotted = (path.parent, None) if alone else module_name(path)

    def allowed(source: Path) -> bool:
        return _inside(source, root) and (within is None or _inside(source, within))

    files, total = [path], path.stat().st_size
    if dotted is None:
        siblings = [] if alone else sorted(filter(_importable, path.parent.glob("*")))[:MAX_SIBLINGS]
        for source in siblings:
            total += source.stat().st_size
            if source != path and total <= COPY_LIMIT and source.name.isascii() and allowed(source):
                files.append(source)
        own = None
    else:
        own = root / dotted.split(".")[0]
    beside = [] if alone else sorted(
        folder for folder in root.iterdir() if folder != own and folder.name.isidentifier()
        and ((folder / "__init__.py").is_file() or folder.name == "cs231n") and folder.is_dir() and allowed(folder))
    for package in ([own] if own else []) + beside:
        for source in sorted(filter(_importable, package.rglob("*"))):
            if source == path or not allowed(source):
                continue
            total += source.stat().st_size
            if total > COPY_LIMIT:
                return root, dotted, files
            files.append(source)
    return root, dotted, files


_TORCH_IMPORT = re.compile(rb"^[ \t]*(?:import|from)[ \t]+torch\b", re.MULTILINE)


def imports_torch_beside(path: Path, within: Path | None = None) -> bool:
    """Whether a module the sandbox copies along with ``path`` imports torch: a classifier that imports
    cs231n.layers imports torch when layers.py does, though the classifier never names it."""
    _, _, files = sources(path, within)
    return any(source != path and source.suffix == ".py" and _TORCH_IMPORT.search(source.read_bytes())
               for source in files)


_ABSOLUTE_IM2COL = re.compile(
    rb"^[ \t]*(?:from[ \t]+im2col_cython[ \t]+import|import[ \t]+im2col_cython)\b", re.MULTILINE
)
#: mathnn's numpy stand-in for CS231n's compiled im2col_cython (see its module).
IM2COL_STANDIN = Path(__file__).with_name("im2col_standin.py")


def copy_sources(path: Path, into: Path, within: Path | None = None) -> tuple[Path, str | None, Path]:
    """Copy the student's file (and its package's modules) into ``into``; (root, dotted name, copied file).

    A folder whose modules import im2col_cython (CS231n's fast_layers.py) and that has none built for
    this Python gets :data:`IM2COL_STANDIN` as its im2col_cython.py; so does the top of the import path
    when a module imports it absolutely (``from im2col_cython import …`` in cs231n/fast_layers.py finds
    it only there).
    """
    root, dotted, files = sources(path, within)
    for source in files:
        target = into / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    built = {source.parent for source in files if source.name.split(".")[0] == "im2col_cython"}
    python = [(source, source.read_bytes()) for source in files if source.suffix == ".py"]
    for folder in {source.parent for source, _ in python} - built:
        if any(source.parent == folder and b"im2col_cython" in text for source, text in python):
            shutil.copyfile(IM2COL_STANDIN, into / folder.relative_to(root) / "im2col_cython.py")
    if root not in built and any(_ABSOLUTE_IM2COL.search(text) for _, text in python):
        shutil.copyfile(IM2COL_STANDIN, into / "im2col_cython.py")
    return into, dotted, into / path.relative_to(root)
