"""One-line hints for errors that come from how old a homework file is or where it is checked from.

CS231n files are years old: many were written for Python 2 (``print x``, ``xrange``) or for a numpy
that still had ``np.float``, ``np.int``, ``np.reshape(..., newshape=...)``, ``numpy.lib.npyio``,
accepted a generator in ``np.stack``, float index arrays in ``np.take``, ``int()`` of an array of one
entry, or a ragged list in ``np.array`` (an array of objects). Others sit
in a ``cs231n/`` package and import their siblings (``from .layers import *``, ``from cs231n.layers
import ...``), which only works when the file is imported as part of it.

:func:`hint` reads an error's type and message (as :func:`mathnn.gradcheck.worker.error_details`
reports them; nothing of the student's code runs here), and ``package``, the top package of the file
when the caller knows it (``beside``: whether a cs231n/ folder sits beside that package), and says in
one line what to change, or returns None.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

#: numpy names removed since CS231n files were written, and what replaces them.
REMOVED_NUMPY = {
    "float": "float (or np.float64)", "int": "int (or np.int64)", "bool": "bool (or np.bool_)",
    "object": "object", "complex": "complex (or np.complex128)", "str": "str",
    "asscalar": "a.item()", "product": "np.prod", "cumproduct": "np.cumprod", "alltrue": "np.all",
    "sometrue": "np.any", "float_": "np.float64", "NaN": "np.nan", "Inf": "np.inf", "infty": "np.inf",
    "mat": "np.asarray", "round_": "np.round", "in1d": "np.isin", "row_stack": "np.vstack",
}
PYTHON2 = {"xrange": "range", "raw_input": "input", "unicode": "str", "basestring": "str", "long": "int",
           "unichr": "chr", "reduce": "functools.reduce", "izip": "zip", "cPickle": "pickle"}
#: What CS231n's fast_layers.py imports from its compiled extension, im2col_cython.pyx.
CYTHON = ("im2col_cython", "col2im_cython", "col2im_6d_cython")
#: Packages homework files import beside numpy, for plots and debugging (from IPython import embed).
ELSEWHERE = ("IPython", "ipdb", "mpl_toolkits", "scipy", "pandas", "sklearn", "skimage", "imageio", "PIL", "h5py",
             "tqdm", "cv2", "torchvision")
PACKAGE = ("run mathnn check on the file inside its cs231n/ folder (the folder with __init__.py, "
           "e.g. mathnn check assignment2/cs231n/layer_utils.py), so that its imports of cs231n find their siblings")


NONE = ("a value is still None where it is used: the part of the function that computes it is not written yet "
        "(the starter code's `out = None`?)")


def hint(error: Mapping[str, Any]) -> str | None:
    """What to change for an error of ``type`` and ``message`` that an old or misplaced file raises; None if unknown."""
    kind, message = error.get("type"), str(error.get("message") or "")
    if kind == "SyntaxError":
        if "Missing parentheses in call to 'print'" in message or "Missing parentheses in call to 'exec'" in message:
            return "this is Python 2 syntax: write print(...) as a function call (Python 3 is required)"
        if "parenthesized" in message or (error.get("line") and _python2_line(str(error["line"]))):
            return "this looks like Python 2 syntax (Python 3 is required): e.g. `except E as e`, `raise E(msg)`"
        return None
    if kind == "NameError":
        found = re.search(r"name '(\w+)' is not defined", message)
        if found and found.group(1) in PYTHON2:
            return f"{found.group(1)} is Python 2: use {PYTHON2[found.group(1)]} (Python 3 is required)"
        if found and found.group(1) in CYTHON:  # fast_layers.py printed a warning and went on without it
            return (f"{found.group(1)} comes from CS231n's compiled im2col_cython, which is not built for this "
                    "Python: run python setup.py build_ext --inplace in the cs231n/ folder, as fast_layers.py says")
        return None
    if kind == "AttributeError":
        found = re.search(r"module 'numpy' has no attribute '(\w+)'|`np\.(\w+)` was removed", message)
        if found:
            name = found.group(1) or found.group(2)
            instead = REMOVED_NUMPY.get(name)
            return f"np.{name} was removed from numpy" + (f": use {instead}" if instead else "") + \
                " (the file was written for an older numpy)"
        found = re.search(r"'dict' object has no attribute '(iteritems|itervalues|iterkeys|has_key)'", message)
        if found:  # 2016's starter code: for k, v in self.params.iteritems()
            instead = {"iteritems": ".items()", "itervalues": ".values()", "iterkeys": ".keys()",
                       "has_key": "key in d"}[found.group(1)]
            return f"dict.{found.group(1)} is Python 2: use {instead} (Python 3 is required)"
        if message.startswith("'NoneType' object has no attribute"):  # 2016's `out = out.astype(x.dtype, ...)`
            return NONE
        return None
    if kind == "TypeError":
        if "unexpected keyword argument 'newshape'" in message:
            return "numpy ≥ 2.1 renamed reshape's newshape= to shape=: write np.reshape(a, shape) or a.reshape(shape)"
        if "arrays to stack must be passed as a \"sequence\"" in message:
            return "np.stack no longer takes a generator: pass a list, np.stack([f(a) for a in ...])"
        if "'float' object cannot be interpreted as an integer" in message \
                or message.startswith("slice indices must be integers"):
            return ("a size or an index is a float: / always divides to a float in Python 3 (Python 2's / of two "
                    "ints rounded down), so write // where a size is computed, e.g. 1 + (H + 2 * pad - HH) // stride")
        if "only 0-dimensional arrays can be converted to Python scalars" in message:
            return ("numpy no longer turns an array of one entry into a number (int(a), float(a); deprecated since "
                    "numpy 1.25): take the entry, a[0] or a.item() (np.where and np.argwhere return arrays)")
        if "'NoneType'" in message or "NoneType object" in message:  # `relu_forward(None)`: `x > 0` on None
            return NONE
        if re.search(r"Cannot cast array data from dtype\('float\d*'\) to dtype\('u?int\d*'\)", message):
            return ("indices must be integers, and these are floats (older numpy cast them): make them with "
                    "dtype=int or .astype(int), and divide with // where an index is computed")
        return None
    if kind == "ValueError" and "inhomogeneous shape" in message:
        return ("numpy ≥ 1.24 no longer makes one array of pieces of different shapes (np.array or np.vstack of a "
                "list of a matrix and a vector, say, which older numpy turned into an array of objects): keep such "
                "pieces in a list or a tuple (a cache, for one)")
    if kind in ("ModuleNotFoundError", "ImportError"):
        found = re.search(r"cannot import name '(\w+)' from '(numpy\.[\w.]+)'", message)
        if found:  # numpy 2 made numpy.lib's and numpy.core's files private: from numpy.lib.npyio import savez
            return (f"numpy 2 has no {found.group(1)} in {found.group(2)} (it made the modules under numpy.lib and "
                    f"numpy.core private): use np.{found.group(1)}, or drop the import if nothing uses it (an "
                    "editor's automatic import?)")
        found = re.search(r"No module named 'cs231n\.([\w.]+)'", message)
        if found:  # the package was found, one of its files was not: a course file left out of the folder
            missing = "cs231n/" + found.group(1).replace(".", "/") + ".py"
            return (f"{missing} is missing: this file's imports need it beside the others; put it back (the "
                    "course's own files, such as fast_layers.py and layer_utils.py, come with the starter code)")
        package = error.get("package")
        if "No module named 'cs231n'" in message and package not in (None, "cs231n") and not error.get("beside"):
            return (f"this file is part of the package {package}/, and importing it reaches cs231n, which is not "
                    f"beside {package}/: put the course's cs231n/ folder back beside it")
        if "No module named 'cs231n'" in message and package not in (None, "cs231n"):
            return (f"this file is part of the package {package}/, and importing it reaches the cs231n/ beside "
                    f"{package}/, which did not come into the check's sandbox: only the submission's own files, and "
                    "16 MB of modules at most, are brought in; this error says nothing of the code")
        if "No module named 'cs231n" in message or "attempted relative import with no known parent package" in message \
                or "no known parent package" in message:
            return PACKAGE
        if re.search(r"No module named '(cPickle|urllib2|StringIO|Queue|cStringIO)'", message):
            return "this module is Python 2 only (Python 3 is required)"
        found = re.search(r"No module named '(\w+)", message)
        if found and found.group(1) in getattr(sys, "stdlib_module_names", ()):
            return (f"{found.group(1)} is in Python's standard library, which the sandbox's unprivileged user could "
                    "not read: the grader's Python is installed in a private folder (a home under /root?); "
                    "install it where every user can read it")
        if found and found.group(1) == "google":  # the first cell of CS231n's Colab notebooks, exported with them
            return ("google.colab exists only on Colab: drop the notebook's drive.mount cell (and its sys.path "
                    "lines) from the exported file, or check the cs231n/ file the notebook imports")
        if found and found.group(1) in ELSEWHERE:
            return (f"the check runs the file with numpy only (and torch for a PyTorch file), so {found.group(1)} "
                    "cannot be imported: drop the import (a plotting, debugging or data-loading aid?) or import it "
                    "inside the function that uses it")
        if found and found.group(1) == "mathnn":  # the reference the check compares with
            return "mathnn is out of reach of the code it checks: the functions must compute their answers themselves"
        if found and found.group(1) not in ("numpy", "torch"):  # a package, or a file not beside this one
            return (f"{found.group(1)} cannot be imported where the check runs, which has numpy (and torch for a "
                    "PyTorch file) and the files beside this one: drop the import if nothing uses it (an editor's "
                    f"automatic import?), or put {found.group(1)}.py beside the file")
    return None


def _python2_line(line: str) -> bool:
    """``except E, e:`` or ``raise E, "message"``: Python 2 spellings that are a SyntaxError in Python 3."""
    return bool(re.match(r"\s*except\s+[\w.]+\s*,\s*\w+\s*:", line) or re.match(r"\s*raise\s+[\w.]+\s*,", line)
                or re.match(r"\s*print\s+[^(=\s]", line) or re.match(r"\s*exec\s+[\"']", line))
