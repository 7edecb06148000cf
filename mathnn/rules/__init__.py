"""SymPy rules of the lecture, one module per topic. Importing this package imports SymPy."""

from __future__ import annotations

from types import ModuleType

from ..errors import InputError
from . import activations, batchnorm, rnn
from .core import Claim, Derivation, Fact, Kernel, Kink, Node, Proof, Rule, Statement

#: Each topic of the lecture and the module that declares its rules, in lecture order.
TOPICS: dict[str, ModuleType] = {"activations": activations, "rnn": rnn, "batchnorm": batchnorm}

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
    "RULES", "TOPICS", "Claim", "Derivation", "Fact", "Kernel", "Kink", "Node", "Proof", "Rule",
    "Statement", "get", "topic_of",
]
