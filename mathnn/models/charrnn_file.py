"""The file format of a trained :class:`~mathnn.models.charrnn.CharRNN`: an ``.npz`` archive, no pickles.

It holds the weights, the Adagrad memory, the vocabulary, the hyper-parameters and a format name and
version; :func:`read` refuses anything else with one message naming the path and what is wrong.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..validate import describe

if TYPE_CHECKING:
    from .charrnn import CharRNN

FORMAT = "mathnn.charrnn"
FORMAT_VERSION = 1
PARAMETERS = ("Wx", "Wh", "b", "Wy", "by")

_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"
_HYPER = ("hidden_size", "seq_length", "learning_rate", "optimizer", "seed", "clip", "cell")
#: What a file of an earlier mathnn, written before a setting existed, means by its absence.
_DEFAULTS = {"cell": np.array("rnn")}


def write(self: CharRNN, path: str | os.PathLike[str]) -> None:
    """Write ``self`` to ``path`` (:meth:`CharRNN.save <mathnn.models.charrnn.CharRNN.save>`)."""
    arrays: dict[str, Any] = {
        "format": np.array(FORMAT),
        "format_version": np.array(FORMAT_VERSION),
        "vocabulary": np.array([ord(c) for c in self.vocabulary], dtype=np.int64),
        "hidden_size": np.array(self.hidden_size),
        "seq_length": np.array(self.seq_length),
        "learning_rate": np.array(self.learning_rate),
        "optimizer": np.array(self.optimizer),
        "seed": np.array(self.seed),
        "clip": np.array(np.nan if self.clip is None else self.clip),
        "cell": np.array(self.cell),
    }
    arrays.update(self.params)
    arrays.update({f"memory_{key}": value for key, value in self._memory.items()})
    try:
        with open(path, "wb") as file:  # a file object: np.savez would append ".npz" to a name
            np.savez(file, **arrays)
    except (OSError, TypeError) as error:
        raise InputError(f"path: expected a writable file path; could not write {path!r} ({error})") from None



def read(cls: type[CharRNN], path: str | os.PathLike[str]) -> CharRNN:
    """A model written by :func:`write` (:meth:`CharRNN.load <mathnn.models.charrnn.CharRNN.load>`)."""
    def refuse(problem: str) -> InputError:
        return InputError(f"path: expected a CharRNN model file written by CharRNN.save; {path!r} {problem}")

    try:
        file = open(path, "rb")  # opened here, not by np.load, which leaks the handle of a bad zip file
    except FileNotFoundError:
        raise refuse("does not exist") from None
    except IsADirectoryError:
        raise refuse("is a folder") from None
    except (OSError, TypeError) as error:
        raise refuse(f"cannot be read ({error})") from None
    with file:
        start = file.read(len(_ZIP_MAGIC))
        if not start:
            raise refuse("is empty")
        if start == _NPY_MAGIC[: len(start)]:
            raise refuse("is a single .npy array, not an .npz archive")
        if start != _ZIP_MAGIC:
            raise refuse(f"is not an .npz archive (an .npz file is a zip archive; this one starts with {start!r})")
        file.seek(0)
        try:
            with np.load(file, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise refuse(f"is a damaged or truncated .npz archive ({type(error).__name__}: {error})") from None
    return _from_arrays(cls, arrays, refuse)



def _from_arrays(cls: type[CharRNN], arrays: dict[str, np.ndarray], refuse: Callable[[str], InputError]) -> CharRNN:
    arrays = {**_DEFAULTS, **arrays}
    required = ("format", "format_version", "vocabulary", *_HYPER, *PARAMETERS)
    if missing := [name for name in required if name not in arrays]:
        raise refuse(f"is not a CharRNN model file (missing {', '.join(missing)})")
    if arrays["format"].shape != () or str(arrays["format"]) != FORMAT:
        raise refuse(f"is not a CharRNN model file (its format is {arrays['format']!s:.40}, expected {FORMAT})")
    if arrays["format_version"].shape != () or int(arrays["format_version"]) != FORMAT_VERSION:
        raise refuse(f"has format version {arrays['format_version']}; this mathnn reads version {FORMAT_VERSION}")
    try:
        settings = {name: arrays[name].item() for name in _HYPER}
        if isinstance(settings["clip"], float) and math.isnan(settings["clip"]):
            settings["clip"] = None
        model = cls(**settings)
    except (InputError, ValueError) as error:
        raise refuse(f"holds invalid hyper-parameters ({error})") from None
    codes = arrays["vocabulary"]
    if codes.ndim != 1 or codes.dtype.kind not in "iu" or codes.size == 0 or (codes < 0).any() or (codes > 0x10FFFF).any():
        raise refuse(f"holds an invalid vocabulary ({describe(codes)})")
    vocabulary = "".join(chr(int(code)) for code in codes)
    if sorted(set(vocabulary)) != list(vocabulary):
        raise refuse("holds an invalid vocabulary (not sorted, distinct characters)")
    model._set_vocabulary(vocabulary)
    size, hidden = len(vocabulary), model.hidden_size
    width = {"rnn": 1, "lstm": 4, "gru": 3}[model.cell] * hidden
    shapes = {"Wx": (size, width), "Wh": (hidden, width), "b": (width,), "Wy": (hidden, size), "by": (size,)}
    stored = {name: arrays[name] for name in PARAMETERS}
    stored.update({f"memory_{k}": arrays[f"memory_{k}"] for k in PARAMETERS if f"memory_{k}" in arrays})
    for name, value in stored.items():
        expected = shapes[name.removeprefix("memory_")]
        if value.shape != expected or value.dtype != np.float64:
            raise refuse(f"is inconsistent: {name} has {describe(value)}, expected float64 of shape {expected} "
                         f"(V = {size} characters, H = {hidden})")
        if not np.isfinite(value).all() or (name.startswith("memory_") and (value < 0).any()):
            raise refuse(f"is damaged: {name} holds {'negative or ' if name.startswith('memory_') else ''}non-finite values")
    model.params = {name: stored[name].copy() for name in PARAMETERS}
    model._memory = {name.removeprefix("memory_"): value.copy() for name, value in stored.items() if name.startswith("memory_")}
    return model
