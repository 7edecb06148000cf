"""Small public-domain English texts shipped with mathnn, for the next-character model.

Each text is a plain ASCII file ``<name>.txt`` in this package, with no header: every character
is part of the work. ``SOURCES.md`` beside the files says what each text is, who wrote it, when,
and why it is public domain. The files are read with :mod:`importlib.resources`, so they load the
same from a source checkout, an installed wheel or a zip archive.

Examples
--------
>>> from mathnn.data import load_text, text_names
>>> text_names()
('default',)
>>> text = load_text()
>>> text[:25]
'IN CONGRESS, July 4, 1776'
>>> text.isascii()
True
"""

from __future__ import annotations

from importlib.resources import files

from ..errors import InputError
from ..validate import describe

__all__ = ["load_text", "text_names"]

_SUFFIX = ".txt"


def text_names() -> tuple[str, ...]:
    """The names :func:`load_text` accepts, sorted: one per ``<name>.txt`` shipped in this package.

    Returns
    -------
    names : tuple of str
    """
    return tuple(sorted(entry.name[: -len(_SUFFIX)] for entry in files(__name__).iterdir() if entry.name.endswith(_SUFFIX)))


def load_text(name: str = "default") -> str:
    """One of the shipped texts, whole.

    Parameters
    ----------
    name : str, default "default"
        One of :func:`text_names`. ``"default"`` is the Declaration of Independence (1776),
        the Gettysburg Address (1863) and Lincoln's Second Inaugural Address (1865), about
        13.5 KB; ``SOURCES.md`` gives its exact size and number of distinct characters.

    Returns
    -------
    text : str
        The text, ASCII only, lines separated by ``"\\n"``, paragraphs by a blank line.

    Raises
    ------
    InputError
        For a name that is not one of the shipped texts; the message lists the known names.
    """
    names = text_names()
    # checking against the listed names (not building a path from the argument) keeps "../x" out
    if not isinstance(name, str) or name not in names:
        raise InputError(f"name: expected one of the shipped texts ({', '.join(names)}); received {describe(name)}")
    return files(__name__).joinpath(name + _SUFFIX).read_text(encoding="ascii")
