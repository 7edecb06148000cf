"""A Griffe extension: the docstrings' cross-reference roles become links in the API reference.

mathnn's docstrings name other objects the way Python's own documentation does, with roles such as
:func:`check_vjp`, :class:`~mathnn.gradcheck.report.Report` or :mod:`mathnn.kernels`. MkDocs does
not read those roles, so the reference printed them as written. Each role becomes the name in code
font, linked to the object's entry when the site has one (an *optional* cross-reference of
mkdocs-autorefs: a name the reference does not document stays plain code, without a warning).

A paragraph that ends in ``::`` introduces a literal block, as in reStructuredText; the reference
printed the two colons. As Sphinx does, ``text::`` becomes ``text:`` and a paragraph of ``::`` alone
goes; the indented block under it is a code block in Markdown too.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

#: :role:`target`, :role:`~target` or :role:`title <target>`, as Sphinx writes them.
ROLE = re.compile(r":(?:func|meth|class|mod|data|attr|exc|obj):`(?P<body>[^`]+)`")
TITLED = re.compile(r"^(?P<title>.+?)\s+<(?P<target>[^<>]+)>$")
#: The ``::`` that ends a paragraph before a literal block: right after text, after a space, or alone.
LITERAL = re.compile(r"(?m)(?P<before>\S?)(?P<space>[ \t]*)::[ \t]*$(?=\n[ \t]*\n)")


def identifier(target: str, obj: griffe.Object) -> str:
    """The full dotted path a role's target names, seen from the object whose docstring holds it."""
    if target.startswith("mathnn."):
        return target
    scope = obj if obj.is_module or obj.is_class else obj.parent
    while scope is not None and not scope.is_module and target.split(".")[0] not in scope.members:
        scope = scope.parent  # a method's sibling first, then the module's names
    return f"{(scope or obj.module).path}.{target}"


def linked(match: re.Match[str], obj: griffe.Object) -> str:
    body = match["body"]
    titled = TITLED.match(body)
    if titled:
        shown, target = titled["title"], titled["target"]
    else:
        target = body.lstrip("~")
        shown = target.rsplit(".", 1)[-1] if body.startswith("~") else target
    path = html.escape(identifier(target, obj), quote=True)
    return f'<autoref identifier="{path}" optional><code>{html.escape(shown)}</code></autoref>'


def literal_marker(match: re.Match[str]) -> str:
    """What reStructuredText shows of a ``::``: ``text::`` → ``text:``, ``text ::`` → ``text``, ``::`` → nothing."""
    if not match["before"]:
        return ""
    return match["before"] + ("" if match["space"] else ":")


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring's roles as optional cross-references, once the object tree is built."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if obj.docstring is not None and ":" in obj.docstring.value:
            value = ROLE.sub(lambda match: linked(match, obj), obj.docstring.value)
            obj.docstring.value = LITERAL.sub(literal_marker, value)
