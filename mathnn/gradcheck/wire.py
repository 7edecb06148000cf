"""The message format between the grader and its sandbox: a size cap, a deadline, plain numeric arrays only.

Messages, both ways: ``MAGIC``, the header's length and the body's length (8 bytes each, big-endian),
a JSON header, then the raw bytes of the arrays the header lists (``dtype``, ``shape``, ``offset``,
``nbytes``). The reader checks every length against a cap before reading, reads against a deadline,
accepts only plain numeric dtypes, and rebuilds each array as a fresh ``np.ndarray``; it never
unpickles anything.

Both sides use this module: the trusted one (:mod:`mathnn.gradcheck.sandbox`) and the sandboxed
:mod:`mathnn.gradcheck.worker`, which runs as ``python -I -S worker.py`` with nothing of mathnn
importable and loads this file from beside it. So it is standalone too: the standard library and
numpy only, no relative imports.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time

MAGIC = b"MNN1"
PREFIX = struct.Struct(">4sQQ")
#: Longest JSON header accepted (the arrays travel in the body).
HEADER_LIMIT = 1 << 20
#: dtypes an array may have on the wire (little- and big-endian spellings of the plain numeric types).
DTYPES = frozenset(
    f"{order}{kind}{size}" for order in "<>" for kind, sizes in (("f", (2, 4, 8)), ("c", (8, 16)), ("i", (2, 4, 8)),
                                                                  ("u", (2, 4, 8))) for size in sizes
) | {"|b1", "|i1", "|u1"}


class ProtocolError(Exception):
    """A message that is not what the format allows (too long, truncated, malformed, an unknown dtype…)."""


class Timeout(Exception):
    """The other side did not answer before the deadline."""


# -- the message format -----------------------------------------------------------------------------

def encode(header: dict, arrays: list) -> bytes:
    """One message: ``header`` (JSON-able) and ``arrays`` (ndarrays, sent as raw bytes)."""
    import numpy as np

    specs, chunks, offset = [], [], 0
    for array in arrays:
        shape = list(np.shape(array))  # np.ascontiguousarray makes a 0-d array (a number) one of shape (1,)
        array = np.ascontiguousarray(array)
        specs.append({"dtype": array.dtype.str, "shape": shape, "offset": offset, "nbytes": array.nbytes})
        chunks.append(array.tobytes())
        offset += array.nbytes
    head = json.dumps({**header, "arrays": specs}).encode("utf-8")
    return PREFIX.pack(MAGIC, len(head), offset) + head + b"".join(chunks)


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    parts, left = [], size
    while left:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Timeout()
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise Timeout()
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def write_all(fd: int, data: bytes, deadline: float | None) -> None:
    """Write ``data`` to ``fd`` (non-blocking when a deadline is given), or raise Timeout."""
    view = memoryview(data)
    while view:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Timeout()
            _, ready, _ = select.select([], [fd], [], remaining)
            if not ready:
                raise Timeout()
        try:
            written = os.write(fd, view[: 1 << 16])
        except BlockingIOError:
            continue
        view = view[written:]


def read_message(fd: int, deadline: float | None = None, limit: int = 1 << 30) -> tuple[dict, list]:
    """Read one message; (header, arrays) with every array a fresh, writable, plain ``np.ndarray``.

    Raises ProtocolError for anything the format does not allow, Timeout past ``deadline``
    (``time.monotonic()`` seconds) and EOFError when the pipe closes.
    """
    import numpy as np

    magic, head_size, body_size = PREFIX.unpack(_read_exactly(fd, PREFIX.size, deadline))
    if magic != MAGIC:
        raise ProtocolError("the message does not start with the format's marker")
    if head_size > HEADER_LIMIT or body_size > limit:
        raise ProtocolError(f"a message of {head_size + body_size} bytes exceeds the limit of {limit} bytes")
    try:
        header = json.loads(_read_exactly(fd, head_size, deadline).decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise ProtocolError(f"the header is not JSON ({type(error).__name__})") from None
    body = _read_exactly(fd, body_size, deadline)
    if not isinstance(header, dict) or not isinstance(header.get("arrays"), list):
        raise ProtocolError("the header is not an object with a list of arrays")
    arrays = []
    for spec in header.pop("arrays"):
        try:
            dtype, shape, offset, nbytes = spec["dtype"], spec["shape"], spec["offset"], spec["nbytes"]
            valid = (
                dtype in DTYPES and isinstance(shape, list) and len(shape) <= 32
                and all(type(n) is int and n >= 0 for n in shape)
                and type(offset) is int and type(nbytes) is int and 0 <= offset <= offset + nbytes <= body_size
            )
        except (TypeError, KeyError):
            valid = False
        if not valid:
            raise ProtocolError(f"an array description is malformed: {str(spec)[:200]}")
        kind = np.dtype(dtype)
        count = 1
        for n in shape:
            count *= n
        if count * kind.itemsize != nbytes:
            raise ProtocolError(f"an array of shape {tuple(shape)} and dtype {dtype} cannot hold {nbytes} bytes")
        try:  # no data, but a shape numpy cannot hold: [0, 10**30]
            array = np.frombuffer(body, dtype=kind, count=count, offset=offset).reshape(shape)
        except (ValueError, OverflowError) as error:
            raise ProtocolError(f"an array of shape {str(tuple(shape))[:200]} cannot be made: {error}") from None
        arrays.append(array.astype(kind.newbyteorder("="), copy=True))
    return header, arrays
