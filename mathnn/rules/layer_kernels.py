"""What a layer rule generates: its kernels and the numpy-side description of its public functions.

:class:`LayerKernels` is the part of :class:`~mathnn.rules.layer.LayerRule` that turns the declaration
into code: the forward kernel (every node, then the cache), the backward kernel (the declared closed
forms), the magnitude kernel that bounds their rounding, one kernel per named mistake, the inference
kernel of a layer with running averages, and :meth:`LayerKernels.spec`, the plain data that
:mod:`mathnn.catalogue`, ``mathnn verify`` and ``mathnn check`` read.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sympy as sp

from .core import BatchSum, Kernel, Node, Statement, compose
from .layer_parts import CS231n, Draw, ForwardMistake, Mistake, Reshape, Tuned, Variant, magnitude_of
from .textprint import text

if TYPE_CHECKING:
    from .loss import Loss


class LayerKernels:
    """The kernels and the spec of a :class:`~mathnn.rules.layer.LayerRule` (see the module docstring)."""

    if TYPE_CHECKING:  # the declaration this mixin reads, defined by LayerRule
        name: str
        title: str
        size: sp.Symbol | None
        axis: str
        element_arrays: tuple[sp.Symbol, ...]
        lane_arrays: tuple[sp.Symbol, ...]
        scalars: dict[sp.Symbol, float]
        nodes: tuple[Node, ...]
        differentiated: tuple[sp.Symbol, ...]
        closed_forms: dict[sp.Symbol, sp.Expr]
        helpers: tuple[Statement, ...]
        shared: tuple[sp.Symbol, ...]
        draws: dict[str, Draw]
        check_sizes: tuple[dict[str, int], ...]
        cs231n: CS231n | None
        declared: tuple[Kernel, ...]
        mistakes: tuple[Mistake, ...]
        forward_mistakes: tuple[ForwardMistake, ...]
        tuned: Tuned | None
        running: dict[sp.Symbol, str]
        homework_sizes: dict[str, tuple[int, int]]
        reshape: Reshape | None
        variants: tuple[Variant, ...]
        dout: sp.Symbol
        bound_sizes: dict[sp.Symbol, str]
        homework_multiples: dict[str, int]
        loss: Loss | None

        @property
        def output(self) -> sp.Symbol: ...
        @property
        def inputs(self) -> tuple[sp.Symbol, ...]: ...
        @property
        def reduction(self) -> type[Any]: ...
        def is_element(self, symbol: sp.Symbol) -> bool: ...
        def mistake_gradient(self, mistake: Mistake) -> sp.Expr: ...

    @property
    def functions(self) -> CS231n:
        """The layer's CS231n functions, which its generated kernels and ``SPEC`` are for."""
        if self.cs231n is None:
            raise ValueError(f"{self.name}: declares no CS231n functions, so no layer kernels or SPEC")
        return self.cs231n

    # -- kernels ---------------------------------------------------------------------------------

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        """What codegen writes: a layer's kernels (:attr:`layer_kernels`), or a loss's fused kernel and
        its slip kernels (:func:`~mathnn.rules.loss.loss_kernels`)."""
        if self.loss is not None:
            from .loss import loss_kernels

            return loss_kernels(self)  # type: ignore[arg-type]  # a LayerKernels is always a LayerRule
        return self.layer_kernels

    @cached_property
    def layer_kernels(self) -> tuple[Kernel, ...]:
        """Forward (nodes, then the cache), backward (helpers, then the closed forms), then one kernel
        per named mistake (the forward nodes, then the gradient that mistake gives), then the declared
        kernels. A layer without CS231n functions (an activation) has its declared kernels only.

        Built once per rule: a dropped-path mistake's kernel needs a derivation of its own.
        """
        if self.cs231n is None:
            return self.declared
        arrays = frozenset(s.name for s in (*self.element_arrays, self.dout) if s not in self.shared) | frozenset(
            node.symbol.name for node in self.nodes if self.is_element(node.symbol)
        )
        first = self.element_arrays[0].name
        defaults: dict[str, object] = {symbol.name: value for symbol, value in self.scalars.items()}
        node_statements = tuple(Statement(node.name, node.expr, node.equation or node.name) for node in self.nodes)
        forward = Kernel(
            name=f"{self.name}_forward_kernel",
            args=self.inputs,
            statements=node_statements,
            computes=tuple(sp.Symbol(name) for name in (self.output.name, *self.functions.cache)),
            summary=f"{self.title}, forward: every node of the graph; returns the output, then the cache.",
            returns="\n".join(f"{name} : ndarray" for name in self._forward_outputs),
            outputs=self._forward_outputs,
            defaults=defaults,
            bindings=self._binding(first),
            arg_docs=self._arg_docs(),
            batch_arrays=arrays,
        )
        gradient_names = tuple(f"d{symbol.name}" for symbol in self.differentiated)
        backward_statements = (
            *self.helpers,
            *(Statement(f"d{wrt.name}", self.closed_forms[wrt], f"∂L/∂{text(wrt)}, the closed form")
              for wrt in self.differentiated),
        )
        backward = Kernel(
            name=f"{self.name}_backward_kernel",
            args=(self.dout, *(sp.Symbol(name) for name in self.functions.cache)),
            statements=backward_statements,
            computes=tuple(self.closed_forms[wrt] for wrt in self.differentiated),
            summary=f"{self.title}, backward: the declared closed forms, proven equal to the derivation.",
            returns="\n".join(f"{name} : ndarray" for name in gradient_names),
            outputs=gradient_names,
            bindings=self._binding(self.dout.name),
            arg_docs={self.dout.name: "ndarray, upstream gradient ∂L/∂out",
                      **{name: "ndarray, from the forward kernel's cache" for name in self.functions.cache},
                      **{name: "float, the setting, from the forward kernel's cache" for name in self._cached_settings}},
            batch_arrays=arrays,
            arg_types={name: "float" for name in self._cached_settings},
        )
        magnitude = Kernel(
            name=f"{self.name}_backward_magnitude",
            args=backward.args,
            statements=tuple(
                Statement(st.target, magnitude_of(st.expr), f"{st.equation}, every term by its absolute value")
                for st in backward_statements
            ),
            computes=tuple(magnitude_of(e) for e in backward.computes),
            summary=(f"The size of the terms each gradient of {self.name}_backward_kernel sums: the same "
                     "formulas on absolute values, so a check can measure errors against them."),
            returns=backward.returns,
            outputs=backward.outputs,
            bindings=backward.bindings,
            arg_docs=backward.arg_docs,
            batch_arrays=arrays,
            arg_types=backward.arg_types,
        )
        mistakes = tuple(
            Kernel(
                name=self.mistake_kernel_name(mistake),
                args=(self.dout, *self.inputs),
                statements=(*self._needed(node_statements, self.mistake_array(mistake)), Statement(
                    f"d{mistake.wrt.name}", self.mistake_array(mistake),
                    f"∂L/∂{text(mistake.wrt)} with the mistake: {mistake.name}",
                )),
                computes=sp.Symbol(f"d{mistake.wrt.name}"),
                summary=f"The gradient a student gets with the mistake '{mistake.name}' (for the diagnosis).",
                returns=f"d{mistake.wrt.name} : ndarray",
                outputs=(f"d{mistake.wrt.name}",),
                defaults=defaults,
                bindings=self._binding(first),
                arg_docs={self.dout.name: "ndarray, upstream gradient ∂L/∂out", **self._arg_docs()},
                batch_arrays=arrays,
            )
            for mistake in self.diagnosable
        )
        extra: tuple[Kernel, ...] = ((self._inference(node_statements, defaults, arrays),) if self.running else ())
        extra += tuple(self._forward_mistake_kernel(mistake, node_statements, defaults, arrays)
                       for mistake in self.forward_mistakes)
        tuned = (self.tuned.forward, self.tuned.backward) if self.tuned is not None else ()
        kernels = (forward, backward, magnitude, *mistakes, *extra, *tuned, *self.declared)
        names = [kernel.name for kernel in kernels]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: two kernels would have the same name: {sorted(names)}")
        return kernels

    def _inference(self, node_statements: tuple[Statement, ...], defaults: dict[str, object],
                   arrays: frozenset[str]) -> Kernel:
        """Test mode: the forward graph with each ``running`` node read from its running average."""
        averaged = {node: sp.Symbol(name) for node, name in self.running.items()}
        by_name = {node.name: symbol for node, symbol in averaged.items()}
        statements = tuple(
            Statement(st.target, st.expr.xreplace({s: by_name[s.name] for s in st.expr.free_symbols if s.name in by_name}),
                      st.equation)
            for st in node_statements if st.target not in by_name
        )
        first = self.element_arrays[0].name
        return Kernel(
            name=f"{self.name}_inference_kernel",
            args=(*self.inputs[: len(self.element_arrays) + len(self.lane_arrays)], *averaged.values(),
                  *self.scalars),
            statements=self._needed(statements, self.output),
            computes=self.output,
            summary=(f"{self.title}, test mode: the forward graph with "
                     f"{', '.join(text(node) for node in self.running)} replaced by running averages."),
            returns=f"{self.output.name} : ndarray",
            outputs=(self.output.name,),
            defaults=defaults,
            bindings={k: v for k, v in self._binding(first).items()
                      if any(self.size in st.expr.free_symbols for st in statements)},
            arg_docs={**self._arg_docs(), **{symbol.name: f"ndarray, the running average of {text(node)}"
                                             for node, symbol in averaged.items()}},
            batch_arrays=arrays,
        )

    def _forward_mistake_kernel(self, mistake: ForwardMistake, node_statements: tuple[Statement, ...],
                                defaults: dict[str, object], arrays: frozenset[str]) -> Kernel:
        """The forward output a student with this mistake computes."""
        by_name = {node.name: expr for node, expr in mistake.replace.items()}
        statements = tuple(Statement(st.target, by_name.get(st.target, st.expr),
                                     f"{st.equation} — with the mistake" if st.target in by_name else st.equation)
                           for st in node_statements)
        first = self.element_arrays[0].name
        return Kernel(
            name=self.mistake_kernel_name(mistake),
            args=self.inputs,
            statements=self._needed(statements, self.output),
            computes=self.output,
            summary=f"The forward output a student gets with the mistake '{mistake.name}' (for the diagnosis).",
            returns=f"{self.output.name} : ndarray",
            outputs=(self.output.name,),
            defaults=defaults,
            bindings=self._binding(first),
            arg_docs=self._arg_docs(),
            batch_arrays=arrays,
        )

    @property
    def _cached_settings(self) -> tuple[str, ...]:
        """The scalar settings the forward hands to the backward in its cache (a convolution's stride and pad)."""
        return tuple(name for name in self.functions.cache if sp.Symbol(name) in self.scalars)

    @property
    def diagnosable(self) -> tuple[Mistake, ...]:
        """The mistakes with a kernel: all of them, except dropped paths of a rule proven at concrete sizes."""
        return tuple(m for m in self.mistakes if self.size is not None or m.closed is not None)

    def mistake_array(self, mistake: Mistake) -> sp.Expr:
        """The gradient a mistake gives, in array notation (what its kernel computes)."""
        if mistake.closed is not None:
            expr = mistake.closed
            for helper in reversed(self.helpers):  # by name: a helper may be a Named symbol
                expr = expr.xreplace({s: helper.expr for s in expr.free_symbols if s.name == helper.target})
            return expr
        return self.array_form(self.mistake_gradient(mistake), mistake.wrt)

    def _binding(self, array: str) -> dict[str, str]:
        if self.size is None and self.bound_sizes:  # sizes the array operations read, from the arrays' shapes
            return {symbol.name: source for symbol, source in self.bound_sizes.items() if source}
        if self.size is None:
            return {}
        return {self.size.name: f"{array}.shape[{-1 if self.axis == 'features' else 0}]"}

    def _needed(self, statements: tuple[Statement, ...], expr: sp.Expr) -> tuple[Statement, ...]:
        """The node statements ``expr`` (indexed or in arrays) depends on, in order."""
        names = {s.name for s in expr.free_symbols} | {i.base.name for i in expr.atoms(sp.Indexed)}
        keep = []
        for statement in reversed(statements):
            if statement.target in names:
                keep.append(statement)
                names |= {s.name for s in statement.expr.free_symbols}
        return tuple(reversed(keep))

    @property
    def _forward_outputs(self) -> tuple[str, ...]:
        return (self.output.name, *(name for name in self.functions.cache if name != self.output.name))

    def _arg_docs(self) -> dict[str, str]:
        docs = {
            name: f"ndarray of shape ({', '.join(draw.shape)}{',' if len(draw.shape) == 1 else ''})"
            for name, draw in self.draws.items()
        }
        docs.update({symbol.name: f"float, default {value!r}" for symbol, value in self.scalars.items()})
        return docs

    def array_form(self, expr: sp.Expr, wrt: sp.Symbol) -> sp.Expr:
        """An indexed expression for entry j back in array notation (sums over the row as RowSum)."""

        def walk(e: sp.Expr) -> sp.Expr:
            if isinstance(e, sp.Indexed):
                return e.base.label
            if isinstance(e, sp.Sum):
                return self.reduction(walk(e.function))
            if not e.args:
                return e
            return e.func(*(walk(arg) for arg in e.args))

        array = walk(expr)
        return BatchSum(array) if wrt in self.shared else array

    def backward_values(self) -> dict[sp.Symbol, sp.Expr]:
        """What the backward kernel returns for each differentiated input, helpers substituted."""
        backward = self.layer_kernels[1]
        return dict(zip(self.differentiated, compose(backward)))

    # -- the numpy-side description --------------------------------------------------------------

    def spec(self) -> dict[str, Any] | None:
        """Everything numpy-only code needs, as plain data (written into the generated module); None for
        a layer without CS231n functions, whose declared kernels are called by name (the activations),
        and for a loss, whose checker reads its slips (``SLIPS``) and whose public functions are kept by hand."""
        if self.cs231n is None or self.loss is not None:
            return None
        forward, backward = self.layer_kernels[:2]
        return {
            "rule": self.name,
            "forward": f"{self.functions.name}_forward",
            "backward": f"{self.functions.name}_backward",
            "aliases": list(self.functions.aliases),
            "arguments": list(self.functions.arguments),
            "differentiated": [s.name for s in self.differentiated],
            "gradients": list(self.functions.gradients),
            "upstream": self.functions.upstream,
            "param_dict": self.functions.param_dict,
            "settings": dict(self.functions.settings),
            "cache": list(self.functions.cache),
            "output": self.output.name,
            "outputs": list(self.functions.outputs),
            "forward_kernel": self.tuned.forward.name if self.tuned else forward.name,
            "backward_kernel": self.tuned.backward.name if self.tuned else backward.name,
            "extras": list(self.tuned.extras) if self.tuned else [],
            "inference_kernel": f"{self.name}_inference_kernel" if self.running else None,
            "running": {node.name: name for node, name in self.running.items()},
            "wrapper": self.functions.wrapper,
            "fixed": dict(self.functions.fixed),
            # only when declared: the SPEC of every other layer stays as it was
            **({"forward_check": self.functions.forward_check} if self.functions.forward_check else {}),
            "magnitude_kernel": f"{self.name}_backward_magnitude",
            "shapes": {s.name: list(self.draws[s.name].shape) for s in (*self.element_arrays, *self.lane_arrays)},
            "draws": {
                name: {"shape": list(d.shape), "loc": d.loc, "scale": d.scale, "away_from": d.away_from}
                for name, d in self.draws.items()
            },
            "check_sizes": [dict(sizes) for sizes in self.check_sizes],
            "homework_sizes": {name: list(bounds) for name, bounds in self.homework_sizes.items()},
            "reshape": _reshape_spec(self.reshape),
            "variants": [{"name": v.name, "reshape": _reshape_spec(v.reshape)} for v in self.variants],
            "forward_mistakes": [{"name": m.name, "sentence": m.sentence, "kernel": self.mistake_kernel_name(m)}
                                 for m in self.forward_mistakes],
            "mistakes": [
                {"name": m.name, "wrt": m.wrt.name, "sentence": m.sentence, "kernel": self.mistake_kernel_name(m)}
                for m in self.diagnosable
            ],
            **self._naming(),
        }

    def _naming(self) -> dict[str, Any]:
        """CS231n's names with a suffix (``conv_forward_naive``), a settings check of the layer's own and
        other settings to check at, when declared: keys only a layer that has them gets."""
        suffix, extra = self.functions.suffix, dict[str, Any]()
        if suffix:
            extra.update(forward=f"{self.functions.name}_forward{suffix}", backward=f"{self.functions.name}_backward{suffix}",
                         suffix=suffix)
        if self.functions.validate:
            extra["validate"] = self.functions.validate
        if self.homework_multiples:
            extra["homework_multiples"] = dict(self.homework_multiples)
        if self.functions.also:  # other settings the check runs at, and the mistakes they show
            extra["also"] = [dict(settings) for settings in self.functions.also]
            extra["settings_mistakes"] = [
                {"name": m.name, "sentence": m.sentence, "wrt": m.wrt, "gives": m.gives, "replace": dict(m.replace)}
                for m in self.functions.settings_mistakes]
        return extra

    def mistake_kernel_name(self, mistake: Mistake | ForwardMistake) -> str:
        """A Python name for the mistake's kernel: its name with every run of other characters as one ``_``
        (``tanh′ as (1 − h)²`` gives ``tanh_as_1_h``)."""
        slug = re.sub(r"[^0-9A-Za-z]+", "_", mistake.name).strip("_")
        return f"{self.name}_mistake_{slug}"




def _reshape_spec(reshape: Reshape | None) -> dict[str, Any] | None:
    if reshape is None:
        return None
    spec: dict[str, Any] = {"argument": reshape.argument, "shape": list(reshape.shape), "rows": reshape.rows,
                            "sizes": dict(reshape.sizes), "order": list(reshape.order) if reshape.order else None}
    if reshape.groups:  # only when declared: the SPEC of every other layer stays as it was
        spec.update(groups=reshape.groups, per_channel=list(reshape.per_channel),
                    regroupings=[{"name": r.name, "sentence": r.sentence, "groups": r.groups}
                                 for r in reshape.regroupings])
    return spec
