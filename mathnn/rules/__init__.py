"""SymPy rules of the lecture, one module per topic. Importing this package imports SymPy."""

from __future__ import annotations

from types import ModuleType

import importlib
import pkgutil

from ..errors import InputError
from .core import Claim, Fact, Kernel, Kink, Node, Proof, Statement
from .layer import LayerRule
from .layer_parts import Derivation
from .recurrence import Recurrence

#: A rule of the lecture: a layer (the activations are its element-wise case, the losses its per-row case),
#: or a step layer unrolled over a sequence.
Rule = LayerRule | Recurrence


def _topics() -> dict[str, ModuleType]:
    """Every module of this package that declares ``RULES``, in the lecture's order (``LECTURE_ORDER``).

    A new topic is one new file: nothing here lists the modules.
    """
    modules = [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]
    declaring = [module for module in modules if hasattr(module, "RULES")]
    declaring.sort(key=lambda module: (getattr(module, "LECTURE_ORDER", 1000), module.__name__))
    return {module.__name__.rsplit(".", 1)[1]: module for module in declaring}


#: Each topic of the lecture and the module that declares its rules, in lecture order.
TOPICS: dict[str, ModuleType] = _topics()

RULES: dict[str, Rule] = {rule.name: rule for module in TOPICS.values() for rule in module.RULES}


def get(name: str) -> Rule:
    """The rule called ``name``; an unknown name raises InputError listing the known ones."""
    try:
        return RULES[name]
    except KeyError:
        raise InputError(f"rule: expected one of {', '.join(RULES)}; received {name!r}") from None


def topic_of(rule: Rule) -> str:
    """The topic (module name under ``mathnn/rules``) that declares ``rule``."""
    return next(topic for topic, module in TOPICS.items() if rule in module.RULES)


__all__ = [
    "RULES", "TOPICS", "Claim", "Derivation", "Fact", "Kernel", "Kink", "LayerRule", "Node", "Proof", "Rule",
    "Statement", "get", "topic_of",
]
