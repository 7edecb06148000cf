"""Reverse accumulation: the one derivation engine every rule kind uses.

Every rule derives its gradients the same way. Walk the graph from the output back to the inputs;
at each node, hand its adjoint (∂L/∂node) to each parent as the node's vector-Jacobian product, and
add what reaches a parent along different paths. What differs between rule kinds is only what a
*value* is, and so how one local product is taken:

* a scalar activation: a SymPy expression, the product ``adjoint · sympy.diff(node, parent)``;
* a layer at a symbolic size: one entry of an indexed array, the product a ``Sum`` over the reduced
  axis of ``sympy.diff`` of each entry, with ``KroneckerDelta`` terms summed out;
* a layer or an unrolled recurrence at concrete sizes: a matrix of symbols, entry by entry.

:func:`reverse_accumulate` is the walk; each rule kind passes its local product as ``vjp``. A dropped
edge (parent, child) is the gradient of a student who forgot that path, so mistakes are derived by
the same walk.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Accumulation(Generic[K]):
    """The adjoint of every node and input reached, and each edge's contribution in walk order."""

    adjoint: dict[K, Any]
    steps: tuple[tuple[K, K, Any], ...]  # (child, parent, what the child's adjoint contributes)


def reverse_accumulate(
    order: Sequence[K],
    parents: Callable[[K], Iterable[K]],
    vjp: Callable[[K, K, Any], Any],
    seeds: MutableMapping[K, Any],
    drop: Iterable[tuple[K, K]] = (),
    seed_of: Callable[[K, MutableMapping[K, Any]], Any] | None = None,
) -> Accumulation[K]:
    """Push adjoints from the output back through ``order`` (the nodes, topological order).

    Parameters
    ----------
    order : sequence
        The graph's nodes in topological order; they are visited last first.
    parents : callable
        ``parents(node)``: what ``node`` is computed from (nodes or inputs).
    vjp : callable
        ``vjp(node, parent, adjoint)``: what ``node``'s adjoint contributes to ``parent``'s, or None
        for nothing.
    seeds : mapping
        The adjoints known before the walk (the output's: ``dout``, or 1 for a loss). Filled in place
        with every adjoint reached.
    drop : iterable of (parent, child)
        Edges left out of the walk.
    seed_of : callable, optional
        How a node's adjoint is read from the adjoints so far, where it is not stored under the node
        itself (an unrolled graph keeps one adjoint per matrix entry). None where nothing reaches it.
    """
    dropped = set(drop)
    adjoint = seeds
    steps: list[tuple[K, K, Any]] = []
    for node in reversed(order):
        seed = seed_of(node, adjoint) if seed_of is not None else adjoint.get(node)
        if seed is None:
            continue
        for parent in parents(node):
            if (parent, node) in dropped:
                continue
            contribution = vjp(node, parent, seed)
            if contribution is None:
                continue
            adjoint[parent] = adjoint[parent] + contribution if parent in adjoint else contribution
            steps.append((node, parent, contribution))
    return Accumulation(dict(adjoint), tuple(steps))
