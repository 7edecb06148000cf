"""The homework styles and their bugs, as data: what ``tests/test_homework_styles.py`` checks.

* :data:`STYLES` — correct homework in the ways students write it: ``staged`` (staged graphs, tuple
  caches, loops; three files, as CS231n's layers.py, rnn_layers.py and optim.py), ``compact``
  (vectorised closed forms, dict caches) and ``float32`` (compact.py with every layer computing in
  float32, written by :func:`mathnn.gradcheck.examples.float32_source`).
* :data:`BUGS` — realistic bugs, each a style file with some lines of one or more functions changed,
  and the verdict ``mathnn check`` must give on every pair or update rule the changed functions reach:
  which gradients fail (the others pass) and the words its diagnosis must contain.

:func:`bug_files` packs bugs that reach disjoint pairs into one file, so that a file is checked once
for many bugs. Only the pairs and rules a file's bugs reach are checked in it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from mathnn.gradcheck.examples import float32_source

HERE = Path(__file__).resolve().parent

#: Update rules of CS231n's optim.py: computed in float64 by every style (their check wants float64 steps).
RULES = ("sgd", "sgd_momentum", "rmsprop", "adam")


@cache
def read(name: str) -> str:
    """The source of one file of a style: a file here, or ``float32`` made from compact.py."""
    if name == "float32":
        return float32_source((HERE / "compact.py").read_text(encoding="utf-8"), keep=RULES)
    return (HERE / f"{name}.py").read_text(encoding="utf-8")


#: Each style's files: staged is three, as CS231n's layers.py, rnn_layers.py and optim.py.
STYLES: dict[str, tuple[str, ...]] = {
    "staged": ("staged", "staged_rnn", "staged_optim"), "compact": ("compact",), "float32": ("float32",),
}


def _functions(source: str) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}


@cache
def _spans(source: str) -> dict[str, tuple[int, int]]:
    """Each top-level function of ``source`` -> its first and last line (1-based): parsed once per source,
    and most bugs make their one change to one of a few style files. Only the numbers are kept; keeping
    the trees alive made every later garbage collection of the run walk them."""
    return {name: (node.lineno, node.end_lineno or node.lineno) for name, node in _functions(source).items()}


@cache
def _calls(source: str) -> dict[str, set[str]]:
    """Each function of ``source`` -> the functions of ``source`` it names."""
    nodes = _functions(source)
    return {name: {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in nodes}
            for name, node in nodes.items()}


# -- bugs --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """What ``mathnn check`` must say about one pair or update rule: it fails, with these gradients
    failing (every other gradient passes) and these words in its diagnosis; or it passes (a pair the
    changed code reaches without changing its values)."""

    failing: frozenset[str] = frozenset()
    said: tuple[str, ...] = ()
    passed: bool = False


@dataclass(frozen=True)
class Bug:
    """A bug as data: ``changes`` are (function, line of the base style stripped of indentation, new
    line(s)); the line must occur exactly once in that function. ``verdicts``: pair or rule -> Verdict,
    for every pair and rule the changed functions reach."""

    name: str
    base: str
    changes: tuple[tuple[str, str, str], ...]
    verdicts: Mapping[str, Verdict] = field(default_factory=dict)

    @property
    def functions(self) -> set[str]:
        return {function for function, _, _ in self.changes}


def bug(name: str, base: str, function: str, old: str, new: str, **verdicts: tuple) -> Bug:
    """A bug changing one line of ``function`` in the file ``base``; see :func:`changed` for ``verdicts``."""
    return changed(name, base, ((function, old, new),), **verdicts)


#: The verdict of a pair that the changed code reaches but does not change.
PASSES = ("passes",)


def changed(name: str, base: str, changes: tuple[tuple[str, str, str], ...], **verdicts: tuple) -> Bug:
    """A bug changing lines of the file ``base``; ``verdicts`` are ``pair=("dx dw", words…)``: the failing
    gradients separated by spaces ("" for none: an update rule, or a pair failed for its forward pass or
    a problem), then the words its diagnosis must contain; or ``pair=PASSES``."""

    def verdict(value: tuple) -> Verdict:
        if value == PASSES:
            return Verdict(passed=True)
        failing, *said = value
        return Verdict(frozenset(failing.split()), tuple(said))

    return Bug(name, base, changes, {pair: verdict(value) for pair, value in verdicts.items()})


def apply(source: str, changes: Iterable[tuple[str, str, str]], where: str = "") -> str:
    """``source`` with each change made in its function (ValueError for a line that is not there once)."""
    for function, old, new in changes:
        first, last = _spans(source)[function]
        lines = source.split("\n")
        span = range(first - 1, last)
        at = [i for i in span if lines[i].strip() == old]
        if len(at) != 1:
            raise ValueError(f"{where}: {old!r} occurs {len(at)} times in {function}, not once")
        indent = lines[at[0]][: len(lines[at[0]]) - len(lines[at[0]].lstrip())]
        lines[at[0]: at[0] + 1] = [indent + line for line in new.split("\n")]
        source = "\n".join(lines)
    return source


def reach(source: str, functions: set[str], pairs: Mapping[str, tuple[str, str]]) -> set[str]:
    """The pairs (name -> (forward, backward)) and update rules whose functions call any of ``functions``."""
    calls = _calls(source)

    def reaches(name: str, seen: frozenset[str] = frozenset()) -> bool:
        return name in functions or any(reaches(callee, seen | {name}) for callee in calls.get(name, set()) - seen)

    entries = {**pairs, **{rule: (rule, rule) for rule in RULES}}
    return {entry for entry, names in entries.items() if any(reaches(name) for name in names)}


def style_of(name: str) -> str:
    """The style a file belongs to ('staged' for staged_rnn)."""
    return next(style for style, names in STYLES.items() if name in names)


def bug_files(bugs: Iterable[Bug], pairs: Mapping[str, tuple[str, str]]) -> list[tuple[str, str, list[Bug]]]:
    """Bugs packed into files: (file name, source, bugs), the bugs of a file reaching disjoint pairs.

    A file holds all of a style's files one after the other (their functions have different names),
    so the bugs of staged.py, staged_rnn.py and staged_optim.py can share one.
    """
    files: list[tuple[str, set[str], list[Bug]]] = []
    for each in bugs:
        reached = reach(read(each.base), each.functions, pairs)
        for style, taken, packed in files:
            if style == style_of(each.base) and not taken & reached:
                taken |= reached
                packed.append(each)
                break
        else:
            files.append((style_of(each.base), set(reached), [each]))
    written = []
    for number, (style, _, packed) in enumerate(files):
        source = "\n\n".join(read(name) for name in STYLES[style])
        for each in packed:
            source = apply(source, each.changes, each.name)
        written.append((f"{style}_bugs_{number}.py", source, packed))
    return written


ALL = "dx dh0 dWx dWh db"
STEP_ALL = "dx dprev_h dWx dWh db"
LSTM_STEP_ALL = "dx dprev_h dprev_c dWx dWh db"
#: Batch norm's forward is shared by the three pairs that call it.
BN_PAIRS = ("batchnorm", "batchnorm_alt", "spatial_batchnorm")


def alike(pairs: Iterable[str], verdict: tuple) -> dict[str, tuple]:
    """The same verdict for several pairs (those that share batch norm's forward)."""
    return {pair: verdict for pair in pairs}


#: The lines of the staged update rules that take the step.
RMSPROP_STEP = 'next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])'
ADAM_STEP = 'next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])'
#: compact.py's adam with m, v and t computed but not stored in config
ADAM_LOST = (("adam", 't = config["t"] = config.get("t", 0) + 1', 't = config.get("t", 0) + 1'),
             ("adam", 'm = config["m"] = b1 * config.get("m", 0) + (1 - b1) * dw',
              'm = b1 * config.get("m", 0) + (1 - b1) * dw'),
             ("adam", 'v = config["v"] = b2 * config.get("v", 0) + (1 - b2) * dw ** 2',
              'v = b2 * config.get("v", 0) + (1 - b2) * dw ** 2'))

BUGS: tuple[Bug, ...] = (
    # -- affine ------------------------------------------------------------------------------------
    bug("affine db keepdims", "staged", "affine_backward", "db = np.sum(dout, axis=0)",
        "db = np.sum(dout, axis=0, keepdims=True)",
        affine=("db", "db has shape (1, 4) where (4,) is expected; the values are right")),
    bug("affine db not summed", "staged", "affine_backward", "db = np.sum(dout, axis=0)", "db = dout",
        affine=("db", "affine_backward returned db of shape (3, 4); expected (4,)", "db must add dout over every row")),
    bug("affine dx not reshaped", "compact", "affine_backward",
        "return (dout @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ dout, dout.sum(0)",
        "return dout @ w.T, x.reshape(len(x), -1).T @ dout, dout.sum(0)",
        affine=("dx", "affine_backward returned dx of shape (3, 6); expected (3, 2, 3), the shape of x")),
    # -- temporal affine ---------------------------------------------------------------------------
    bug("temporal affine rows paired wrongly", "staged_rnn", "temporal_affine_backward",
        "dw = x_rows.T.dot(dout_rows)", "dw = x.transpose(1, 0, 2).reshape(N * T, D).T.dot(dout_rows)",
        temporal_affine=("dw", "dw is wrong")),
    bug("temporal affine db averaged over time", "compact", "temporal_affine_backward",
        "db = dout.sum(axis=(0, 1))", "db = dout.mean(axis=1).sum(axis=0)",
        temporal_affine=("db", "1/3 × the true gradient")),
    bug("temporal affine in float32 with db not summed", "float32", "temporal_affine_backward",
        "db = dout.sum(axis=(0, 1))", "db = dout", temporal_affine=("db", "db must add dout over every row (and step)")),
    # -- softmax -----------------------------------------------------------------------------------
    bug("softmax no max shift", "staged", "softmax_loss", "shifted = x - np.max(x, axis=1, keepdims=True)",
        "shifted = x", softmax_loss=("", "subtract each row's maximum score")),
    bug("softmax in float32 without the max shift", "float32", "_log_softmax",
        "shifted = scores - scores.max(axis=-1, keepdims=True)", "shifted = scores",
        softmax_loss=("", "e^89 in float32"), temporal_softmax_loss=("", "e^89 in float32")),
    bug("softmax dx not averaged", "staged", "softmax_loss", "dx /= N", "# the gradient of an average...",
        softmax_loss=("dx", "dx is not divided by N = 4")),
    bug("softmax no -1 at the correct class", "compact", "softmax_loss", "dx[np.arange(n), y] -= 1",
        "dx = dx  # the softmax is the whole gradient",
        softmax_loss=("dx", "dx misses the −1 at the correct class")),
    bug("softmax loss summed", "compact", "softmax_loss", "loss = -log_p[np.arange(n), y].mean()",
        "loss = -log_p[np.arange(n), y].sum()",
        softmax_loss=("", "the loss is summed over the N = 4 examples, not averaged",
                      "dx is right (mathnn.layers.softmax_loss's gradient), so only the loss is wrong")),
    # -- SVM ---------------------------------------------------------------------------------------
    bug("svm correct class in the margins", "staged", "svm_loss", "margins[np.arange(N), y] = 0",
        "# every class contributes its margin", svm_loss=("", "the correct class is counted in the margin sum")),
    bug("svm dx misses the count", "staged", "svm_loss", "dx[np.arange(N), y] -= counts", "# done",
        svm_loss=("dx", "dx of the correct class misses −(number of positive margins)/N")),
    bug("svm dx not averaged", "compact", "svm_loss", "return loss, dx / n", "return loss, dx",
        svm_loss=("dx", "dx is not divided by N = 4")),
    # -- ReLU --------------------------------------------------------------------------------------
    changed("relu forward in place", "staged", (("relu_forward", "out = np.maximum(0, x)", "x[x < 0] = 0\nout = x"),),
            relu=("", "relu_forward changed x in place")),
    bug("relu backward ignores dout", "compact", "relu_backward", 'return np.where(cache["x"] > 0, dout, 0.0)',
        'return (cache["x"] > 0).astype(dout.dtype)', relu=("dx", "your backward ignores dout")),
    # -- RNN step and RNN --------------------------------------------------------------------------
    bug("rnn dWh transposed", "staged_rnn", "rnn_step_backward", "dWh = prev_h.T.dot(da)", "dWh = da.T.dot(prev_h)",
        rnn_step=("dWh", "your dWh is the transpose of the true gradient"),
        rnn=("dWh", "your dWh is the transpose of the true gradient: dWh = Σ_t")),
    bug("rnn tanh' as (1 - h)^2", "staged_rnn", "rnn_step_backward", "da = dnext_h * (1 - next_h ** 2)",
        "da = dnext_h * (1 - next_h) ** 2", rnn_step=(STEP_ALL, "your backward uses (1 − h_t)² for tanh′"),
        rnn=(ALL,)),
    bug("rnn tanh' from a", "staged_rnn", "rnn_step_forward", "cache = (x, prev_h, Wx, Wh, next_h)",
        "cache = (x, prev_h, Wx, Wh, a)", rnn_step=(STEP_ALL, "1 − a²"), rnn=(ALL,)),
    bug("rnn no gradient through time", "staged_rnn", "rnn_backward", "dh_t = dh[:, t, :] + dprev_h",
        "dh_t = dh[:, t, :]", rnn=(ALL, "without the path h_t → h_{t+1}")),
    bug("rnn dh0 from the first step", "staged_rnn", "rnn_backward", "dh0 = dprev_h", "dh0 = dh[:, 0, :]",
        rnn=("dh0",)),
    bug("rnn no tanh'", "compact", "rnn_step_backward", 'da = dnext_h * (1 - cache["next_h"] ** 2)',
        "da = dnext_h", rnn_step=(STEP_ALL, "leaves out tanh′"), rnn=(ALL,)),
    bug("rnn dWh from h_t", "compact", "rnn_step_backward",
        'return (da @ cache["Wx"].T, da @ cache["Wh"].T, cache["x"].T @ da, cache["prev_h"].T @ da, da.sum(axis=0))',
        'return (da @ cache["Wx"].T, da @ cache["Wh"].T, cache["x"].T @ da, cache["next_h"].T @ da, da.sum(axis=0))',
        rnn_step=("dWh",), rnn=("dWh", "uses h_t where the step multiplies h_{t−1}")),
    # -- word embedding ----------------------------------------------------------------------------
    bug("embedding assigns repeats", "staged_rnn", "word_embedding_backward", "dW[x[n, t]] += dout[n, t]",
        "dW[x[n, t]] = dout[n, t]", word_embedding=("dW", "repeated indices overwrite instead of accumulate")),
    bug("embedding fancy-index +=", "compact", "word_embedding_backward", 'np.add.at(dW, cache["x"], dout)',
        'dW[cache["x"]] += dout', word_embedding=("dW", "use np.add.at(dW, x, dout)")),
    # -- temporal softmax --------------------------------------------------------------------------
    bug("temporal softmax mask left out of dx", "staged_rnn", "temporal_softmax_loss", "dx_flat *= mask_flat[:, None]",
        "# every step counts in the gradient", temporal_softmax_loss=("dx",)),
    changed("temporal softmax averaged over the counted steps", "compact",
            (("temporal_softmax_loss", "loss = -(picked * mask).sum() / N", "loss = -(picked * mask).sum() / mask.sum()"),
             ("temporal_softmax_loss", "return loss, dx * mask[..., None] / N",
              "return loss, dx * mask[..., None] / mask.sum()")),
            temporal_softmax_loss=("", "your loss is what differs")),
    # -- GRU step and GRU --------------------------------------------------------------------------
    bug("gru no direct path", "staged_rnn", "gru_step_backward", "dprev_h = dah.dot(Wh.T) + dprev_h_direct",
        "dprev_h = dah.dot(Wh.T)", gru_step=("dprev_h", "misses the direct path"), gru=(ALL,)),
    bug("gru reset gate left out of dah", "staged_rnn", "gru_step_backward", "dah = np.hstack((daz, dar, dah_n))",
        "dah = np.hstack((daz, dar, dan))", gru_step=("dprev_h dWh", "δa_n ⊙ r"), gru=(ALL,)),
    bug("gru update gate the wrong way round", "compact", "gru_step_backward",
        "daz = dnext_h * (prev_h - n) * z * (1 - z)", "daz = dnext_h * (n - prev_h) * z * (1 - z)",
        gru_step=(STEP_ALL, "your δz has the wrong sign"), gru=(ALL,)),
    bug("gru no gradient through time", "compact", "gru_backward",
        "dx[t], dh_next, dWx_t, dWh_t, db_t = gru_step_backward(dh[:, t] + dh_next, cache[t])",
        "dx[t], dh_next, dWx_t, dWh_t, db_t = gru_step_backward(dh[:, t], cache[t])",
        gru=(ALL, "without the path h_t → h_{t+1}")),
    # -- LSTM step and LSTM ------------------------------------------------------------------------
    bug("lstm dprev_c without f", "staged_rnn", "lstm_step_backward", "dprev_c = dc * f", "dprev_c = dc",
        lstm_step=("dprev_c", "leaves out the forget gate"), lstm=(ALL,)),
    bug("lstm tanh' of c missing", "staged_rnn", "lstm_step_backward", "dc = dnext_c + dtanh_c * (1 - tanh_c ** 2)",
        "dc = dnext_c + dtanh_c", lstm_step=(LSTM_STEP_ALL, "without tanh′(c_t)"), lstm=(ALL,)),
    bug("lstm gates stacked in the wrong order", "staged_rnn", "lstm_step_backward",
        "da = np.hstack((dai, daf, dao, dag))", "da = np.hstack((daf, dai, dao, dag))",
        lstm_step=("dx dprev_h dWx dWh db", "in another order than the forward slices them"), lstm=(ALL,)),
    bug("lstm cell gradient from dnext_c only", "compact", "lstm_step_backward",
        "dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)", "dc = dnext_c",
        lstm_step=(LSTM_STEP_ALL, "misses the path through h_t"), lstm=(ALL,)),
    bug("lstm cell gradient not carried", "staged_rnn", "lstm_backward", "dnext_c = dprev_c",
        "dnext_c = np.zeros_like(dprev_c)", lstm=(ALL, "without the path c_t → c_{t+1}")),
    bug("lstm no gradient through time", "compact", "lstm_backward",
        "dx[t], dh_next, dc_next, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t] + dh_next, dc_next, cache[t])",
        "dx[t], dh_next, dc_next, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t], dc_next, cache[t])",
        lstm=(ALL, "without the path h_t → h_{t+1}")),
    # -- batch norm --------------------------------------------------------------------------------
    bug("batchnorm no mean path", "staged", "batchnorm_backward", "dx = dx1 + dx2", "dx = dx1",
        batchnorm=("dx", "without the path x → μ → x̂"), spatial_batchnorm=("dx", "without the path x → μ → x̂")),
    bug("batchnorm no variance path", "staged", "batchnorm_backward", "dx1 = dxmu1 + dxmu2", "dx1 = dxmu1",
        batchnorm=("dx", "without the path x → σ²"), spatial_batchnorm=("dx", "without the path x → σ²")),
    bug("batchnorm eps outside the root", "staged", "batchnorm_forward", "sqrtvar = np.sqrt(var + eps)",
        "sqrtvar = np.sqrt(var) + eps", **alike(BN_PAIRS, ("dx", "ε belongs inside it"))),
    changed("batchnorm running averages in train mode", "staged",
            (("batchnorm_forward", "xmu = x - mu", "xmu = x - running_mean"),
             ("batchnorm_forward", "sqrtvar = np.sqrt(var + eps)", "sqrtvar = np.sqrt(running_var + eps)")),
            **alike(BN_PAIRS, ("dx", "normalizes with bn_param's running averages"))),
    bug("batchnorm test mode with batch statistics", "staged", "batchnorm_forward",
        "xhat = (x - running_mean) / np.sqrt(running_var + eps)",
        "xhat = (x - np.mean(x, axis=0)) / np.sqrt(np.var(x, axis=0) + eps)",
        **alike(BN_PAIRS, ("", "test mode normalizes with the batch's own statistics"))),
    bug("batchnorm gamma left out of dx", "staged", "batchnorm_backward", "dxhat = dgammax * gamma",
        "dxhat = dgammax", batchnorm=("dx", "your dx leaves out γ"), spatial_batchnorm=("dx", "your dx leaves out γ")),
    bug("batchnorm unbiased variance", "staged", "batchnorm_forward", "var = 1.0 / N * np.sum(sq, axis=0)",
        "var = 1.0 / (N - 1) * np.sum(sq, axis=0)", **alike(BN_PAIRS, ("dx", "uses the unbiased variance"))),
    bug("batchnorm momentum the wrong way round", "staged", "batchnorm_forward",
        "running_mean = momentum * running_mean + (1 - momentum) * mu",
        "running_mean = (1 - momentum) * running_mean + momentum * mu",
        **alike(BN_PAIRS, ("", "the momentum is applied the wrong way round"))),
    bug("batchnorm in float32 with gamma left out of dx", "float32", "batchnorm_backward",
        "dx = gamma / (N * std) * (N * dout - dbeta - x_hat * dgamma)",
        "dx = 1 / (N * std) * (N * dout - dbeta - x_hat * dgamma)",
        batchnorm=("dx", "your dx leaves out γ"), spatial_batchnorm=("dx", "your dx leaves out γ"), layernorm=PASSES),
    bug("batchnorm alt without the mean term", "staged", "batchnorm_backward_alt",
        "dx = ivar / N * (N * dxhat - sum_dxhat - xhat * sum_dxhat_xhat)",
        "dx = ivar / N * (N * dxhat - xhat * sum_dxhat_xhat)",
        batchnorm_alt=("dx", "without the path x → μ → x̂")),
    bug("batchnorm alt with dout for dx_hat", "compact", "batchnorm_backward_alt",
        "dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std",
        "dx = (dout - dout.mean(axis=0) - x_hat * (dout * x_hat).mean(axis=0)) / std",
        batchnorm_alt=("dx", "your dx leaves out γ")),
    # -- spatial batch norm ------------------------------------------------------------------------
    bug("spatial batchnorm dx not transposed back", "compact", "spatial_batchnorm_backward",
        "return np.moveaxis(dx.reshape(N, H, W, C), -1, 1), dgamma, dbeta", "return dx.reshape(N, C, H, W), dgamma, dbeta",
        spatial_batchnorm=("dx",)),
    bug("spatial batchnorm rows without moving the channels", "staged", "spatial_batchnorm_forward",
        "x_rows = x_channels_last.reshape(N * H * W, C)", "x_rows = x.reshape(N * H * W, C)",
        spatial_batchnorm=("dx", "output differs from mathnn.layers.spatial_batchnorm_forward")),
    # -- dropout -----------------------------------------------------------------------------------
    bug("dropout backward ignores the mask", "staged", "dropout_backward", "dx = dout * mask", "dx = dout",
        dropout=("dx", "ignores the mask")),
    bug("dropout keeps with probability 1 - p", "staged", "dropout_forward",
        "mask = (np.random.rand(*x.shape) < p) / p", "mask = (np.random.rand(*x.shape) > p) / p",
        dropout=("", "it keeps each entry with probability 1 - p")),
    bug("dropout dx without 1/p", "compact", "dropout_backward",
        'return dout if cache["mode"] == "test" else dout * cache["mask"]',
        'return dout if cache["mode"] == "test" else dout * (cache["mask"] > 0)',
        dropout=("dx", "without the 1/p scale")),
    bug("dropout test mode scaled by p", "compact", "dropout_forward", 'return x, {"mode": mode, "mask": None}',
        'return x * p, {"mode": mode, "mask": None}', dropout=("", "it scales x by p")),
    # -- convolution -------------------------------------------------------------------------------
    changed("conv backward forgets the stride", "staged",
            (("conv_backward_naive", "h0 = row * stride", "h0 = row"),
             ("conv_backward_naive", "w0 = col * stride", "w0 = col")),
            conv=("dx dw", "starts at (i·stride, j·stride)")),
    bug("conv dx with flipped filters", "staged", "conv_backward_naive",
        "dx_padded[n, :, h0:h0 + HH, w0:w0 + WW] += w[f] * dout[n, f, row, col]",
        "dx_padded[n, :, h0:h0 + HH, w0:w0 + WW] += w[f, :, ::-1, ::-1] * dout[n, f, row, col]",
        conv=("dx", "turned by 180°")),
    bug("conv db of the last example only", "staged", "conv_backward_naive", "db[f] += np.sum(dout[n, f])",
        "db[f] = np.sum(dout[n, f])", conv=("db", "db is wrong")),
    # right at the notebook's pad 1, an empty dx at pad 0
    bug("conv dx cropped with pad:-pad", "staged", "conv_backward_naive",
        "dx = dx_padded[:, :, pad:pad + H, pad:pad + W]", "dx = dx_padded[:, :, pad:-pad, pad:-pad]",
        conv=("dx", "right at the notebook's conv_param = {'stride': 2, 'pad': 1}, wrong at conv_param = "
                    "{'stride': 1, 'pad': 0}", "crops the padding with dx_pad[:, :, pad:-pad, pad:-pad]")),
    # -- max pooling -------------------------------------------------------------------------------
    changed("max pool backward forgets the stride", "staged",
            (("max_pool_backward_naive", "h0 = row * stride", "h0 = row"),
             ("max_pool_backward_naive", "w0 = col * stride", "w0 = col")),
            max_pool=("dx", "starts at (i·stride, j·stride)")),
    bug("max pool spreads dout", "staged", "max_pool_backward_naive",
        "dx[n, c, h0 + i, w0 + j] += dout[n, c, row, col]",
        "dx[n, c, h0:h0 + pool_height, w0:w0 + pool_width] += dout[n, c, row, col] / (pool_height * pool_width)",
        max_pool=("dx", "as average pooling does")),
    # right at the notebook's 2×2 windows at stride 2, wrong where windows overlap or are not square
    bug("max pool dx assigned", "staged", "max_pool_backward_naive",
        "dx[n, c, h0 + i, w0 + j] += dout[n, c, row, col]", "dx[n, c, h0 + i, w0 + j] = dout[n, c, row, col]",
        max_pool=("dx", "right at the notebook's pool_param", "a later window's overwrites an earlier one's")),
    changed("max pool out with pool_height for the width", "staged",
            (("max_pool_forward_naive", "W_out = 1 + (W - pool_width) // stride",
              "W_out = 1 + (W - pool_height) // stride"),
             ("max_pool_forward_naive", "window = x[n, c, h0:h0 + pool_height, w0:w0 + pool_width]",
              "window = x[n, c, h0:h0 + pool_height, w0:w0 + pool_height]")),
            max_pool=("dx", "right at the notebook's pool_param", "pool_height is used for the width")),
    changed("max pool windows counted side by side", "staged",
            (("max_pool_forward_naive", "H_out = 1 + (H - pool_height) // stride", "H_out = H // pool_height"),
             ("max_pool_forward_naive", "W_out = 1 + (W - pool_width) // stride", "W_out = W // pool_width")),
            max_pool=("", "right at the notebook's pool_param",
                      "your max_pool_forward_naive counts the windows as H // pool_height")),
    bug("max pool dx of windows counted side by side", "staged", "max_pool_backward_naive",
        "N, C, H_out, W_out = dout.shape",
        "N, C = dout.shape[:2]\nH_out, W_out = x.shape[2] // pool_height, x.shape[3] // pool_width",
        max_pool=("dx", "right at the notebook's pool_param",
                  "your max_pool_backward_naive counts the windows as H // pool_height")),
    # -- layer norm --------------------------------------------------------------------------------
    bug("layernorm no mean path", "staged", "layernorm_backward", "dx = dx1 + dx2", "dx = dx1",
        layernorm=("dx", "misses the path through the row mean")),
    bug("layernorm no variance path", "staged", "layernorm_backward", "dx1 = dxmu1 + dxmu2", "dx1 = dxmu1",
        layernorm=("dx", "misses the path through the row variance")),
    bug("layernorm dgamma over the features", "staged", "layernorm_backward",
        "dgamma = np.sum(dout * xhat, axis=0)", "dgamma = np.sum(dout * xhat, axis=1)",
        layernorm=("dgamma", "layernorm_backward returned dgamma of shape (4,); expected (5,)")),
    bug("layernorm gamma left out of dx", "compact", "layernorm_backward",
        'dx_t, _, _ = batchnorm_backward((dout * cache["ln_gamma"]).T, cache)',
        "dx_t, _, _ = batchnorm_backward(dout.T, cache)", layernorm=("dx", "multiply by gamma before the row sums")),
    # -- group norm --------------------------------------------------------------------------------
    bug("groupnorm no mean path", "staged", "spatial_groupnorm_backward", "dx_groups = dx1 + dx2", "dx_groups = dx1",
        spatial_groupnorm=("dx", "misses the path through the group mean μ")),
    bug("groupnorm no variance path", "staged", "spatial_groupnorm_backward", "dx1 = dxmu1 + dxmu2", "dx1 = dxmu1",
        spatial_groupnorm=("dx", "misses the path through the group variance σ²")),
    bug("groupnorm gamma left out of dx", "compact", "spatial_groupnorm_backward",
        "dx_hat, x_hat = (dout * gamma).reshape(N, G, -1), x_hat.reshape(N, G, -1)",
        "dx_hat, x_hat = dout.reshape(N, G, -1), x_hat.reshape(N, G, -1)",
        spatial_groupnorm=("dx", "multiply by gamma (broadcast per channel) before the group sums")),
    # one group throughout: a layer norm of the whole image, its gradients right for it
    changed("groupnorm statistics over the whole image", "compact",
            (("spatial_groupnorm_forward", "groups = x.reshape(N, G, -1)", "groups = x.reshape(N, 1, -1)"),
             ("spatial_groupnorm_backward", "dx_hat, x_hat = (dout * gamma).reshape(N, G, -1), x_hat.reshape(N, G, -1)",
              "dx_hat, x_hat = (dout * gamma).reshape(N, 1, -1), x_hat.reshape(N, 1, -1)")),
            spatial_groupnorm=("", "normalizes each image over all its channels at once (layer norm, G = 1)")),
    # the forward's statistics per channel, the backward's sums still per group: dx is wrong too
    changed("groupnorm statistics per channel", "staged",
            (("spatial_groupnorm_forward", "mu = np.mean(x_groups, axis=(2, 3, 4), keepdims=True)",
              "mu = np.mean(x_groups, axis=(3, 4), keepdims=True)"),
             ("spatial_groupnorm_forward", "var = np.mean(sq, axis=(2, 3, 4), keepdims=True)",
              "var = np.mean(sq, axis=(3, 4), keepdims=True)")),
            spatial_groupnorm=("dx", "normalizes each channel on its own (instance norm, G = C)")),
    bug("groupnorm dgamma not summed over the batch", "staged", "spatial_groupnorm_backward",
        "dgamma = np.sum(dgammax * xhat, axis=(0, 2, 3), keepdims=True)",
        "dgamma = np.sum(dgammax * xhat, axis=(2, 3), keepdims=True)",
        spatial_groupnorm=("dgamma", "dgamma is summed over H, W but not over N", "(axis=(0, 2, 3), keepdims=True)")),
    bug("groupnorm in float32 with dgamma summed without keepdims", "float32", "spatial_groupnorm_backward",
        "dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)", "dgamma = (dout * x_hat).sum(axis=(0, 2, 3))",
        spatial_groupnorm=("dgamma", "dgamma has shape (6,) where (1, 6, 1, 1) is expected; the values are right, but",
                                     "raises on this shape: sum with keepdims=True")),
    # -- update rules ------------------------------------------------------------------------------
    bug("sgd ascent", "staged_optim", "sgd", 'w -= config["learning_rate"] * dw', 'w += config["learning_rate"] * dw',
        sgd=("", "sgd steps up the gradient")),
    bug("sgd with the default learning rate", "compact", "sgd", 'return w - config.get("learning_rate", 1e-2) * dw, config',
        "return w - 1e-2 * dw, config", sgd=("", "sgd ignores the hyperparameters in config")),
    bug("momentum velocity sign", "staged_optim", "sgd_momentum", "next_w = w + v", "next_w = w - v",
        sgd_momentum=("", "sgd_momentum's velocity has the wrong sign")),
    bug("momentum with the default momentum", "staged_optim", "sgd_momentum",
        'v = config["momentum"] * v - config["learning_rate"] * dw', 'v = 0.9 * v - config["learning_rate"] * dw',
        sgd_momentum=("", "sgd_momentum ignores config['momentum']")),
    bug("momentum with the default learning rate", "staged_optim", "sgd_momentum",
        'v = config["momentum"] * v - config["learning_rate"] * dw', 'v = config["momentum"] * v - 1e-2 * dw',
        sgd_momentum=("", "sgd_momentum ignores config['learning_rate']")),
    bug("momentum with the defaults", "staged_optim", "sgd_momentum",
        'v = config["momentum"] * v - config["learning_rate"] * dw', "v = 0.9 * v - 1e-2 * dw",
        sgd_momentum=("", "sgd_momentum ignores the hyperparameters in config")),
    bug("momentum with the old velocity", "staged_optim", "sgd_momentum", "next_w = w + v",
        'next_w = w + config.get("velocity", np.zeros_like(w))',
        sgd_momentum=("", "moves w with the previous step's velocity")),
    bug("momentum with Nesterov's step", "staged_optim", "sgd_momentum", "next_w = w + v",
        'next_w = w - config["momentum"] * config.get("velocity", np.zeros_like(w)) + (1 + config["momentum"]) * v',
        sgd_momentum=("", "sgd_momentum takes Nesterov's step")),
    changed("momentum state lost", "compact",
            (("sgd_momentum", 'config["velocity"] = mu * config.get("velocity", 0) - lr * dw',
              'velocity = mu * config.get("velocity", 0) - lr * dw'),
             ("sgd_momentum", 'return w + config["velocity"], config', "return w + velocity, config")),
            sgd_momentum=("", "does not carry its state")),
    bug("rmsprop epsilon inside the root", "staged_optim", "rmsprop", RMSPROP_STEP,
        'next_w = w - config["learning_rate"] * dw / np.sqrt(config["cache"] + config["epsilon"])',
        rmsprop=("", "puts epsilon inside the square root")),
    bug("rmsprop with the default decay rate", "staged_optim", "rmsprop", 'decay = config["decay_rate"]',
        "decay = 0.99", rmsprop=("", "rmsprop ignores config['decay_rate']")),
    bug("rmsprop with the default learning rate", "staged_optim", "rmsprop", RMSPROP_STEP,
        'next_w = w - 1e-2 * dw / (np.sqrt(config["cache"]) + config["epsilon"])',
        rmsprop=("", "rmsprop ignores config['learning_rate']")),
    bug("rmsprop with the default epsilon", "staged_optim", "rmsprop", RMSPROP_STEP,
        'next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + 1e-8)',
        rmsprop=("", "rmsprop ignores config['epsilon']")),
    changed("rmsprop with the defaults", "staged_optim",
            (("rmsprop", 'decay = config["decay_rate"]', "decay = 0.99"),
             ("rmsprop", RMSPROP_STEP, 'next_w = w - 1e-2 * dw / (np.sqrt(config["cache"]) + 1e-8)')),
            rmsprop=("", "rmsprop ignores the hyperparameters in config")),
    changed("rmsprop state lost", "compact",
            (("rmsprop", 'config["cache"] = rho * config.get("cache", 0) + (1 - rho) * dw * dw',
              'cache = rho * config.get("cache", 0) + (1 - rho) * dw * dw'),
             ("rmsprop", 'return w - lr * dw / (np.sqrt(config["cache"]) + eps), config',
              "return w - lr * dw / (np.sqrt(cache) + eps), config")),
            rmsprop=("", "rmsprop does not carry its state")),
    bug("rmsprop decay the wrong way round", "compact", "rmsprop",
        'config["cache"] = rho * config.get("cache", 0) + (1 - rho) * dw * dw',
        'config["cache"] = (1 - rho) * config.get("cache", 0) + rho * dw * dw',
        rmsprop=("", "applies the decay the wrong way round")),
    changed("adam without bias correction", "staged_optim",
            (("adam", 'm_hat = config["m"] / (1 - beta1 ** config["t"])', 'm_hat = config["m"]'),
             ("adam", 'v_hat = config["v"] / (1 - beta2 ** config["t"])', 'v_hat = config["v"]')),
            adam=("", "adam has no bias correction")),
    changed("adam without bias correction or a step count", "staged_optim",
            (("adam", 'config["t"] += 1', "# the step count is never kept"),
             ("adam", 'm_hat = config["m"] / (1 - beta1 ** config["t"])', 'm_hat = config["m"]'),
             ("adam", 'v_hat = config["v"] / (1 - beta2 ** config["t"])', 'v_hat = config["v"]')),
            adam=("", "adam has no bias correction and never counts its steps")),
    changed("adam increments t last", "staged_optim",
            (("adam", 'config["t"] += 1', "# t counts the steps taken"),
             ("adam", ADAM_STEP, ADAM_STEP + '\nconfig["t"] += 1')),
            adam=("", "corrects the bias with t before incrementing it")),
    bug("adam epsilon inside the root", "staged_optim", "adam", ADAM_STEP,
        'next_w = w - config["learning_rate"] * m_hat / np.sqrt(v_hat + config["epsilon"])',
        adam=("", "adam puts epsilon inside the square root")),
    bug("adam stores the corrected moments", "staged_optim", "adam", 'v_hat = config["v"] / (1 - beta2 ** config["t"])',
        'v_hat = config["v"] / (1 - beta2 ** config["t"])\nconfig["m"], config["v"] = m_hat, v_hat',
        adam=("", "adam stores the bias-corrected m̂ and v̂ in config")),
    changed("adam state lost", "compact",
            (("adam", 't = config["t"] = config.get("t", 0) + 1', 't = config.get("t", 0) + 1'),
             ("adam", 'm = config["m"] = b1 * config.get("m", 0) + (1 - b1) * dw',
              'm = b1 * config.get("m", 0) + (1 - b1) * dw'),
             ("adam", 'v = config["v"] = b2 * config.get("v", 0) + (1 - b2) * dw ** 2',
              'v = b2 * config.get("v", 0) + (1 - b2) * dw ** 2')),
            adam=("", "adam does not carry its state")),
    bug("adam with the default beta1", "staged_optim", "adam", 'beta1, beta2 = config["beta1"], config["beta2"]',
        'beta1, beta2 = 0.9, config["beta2"]', adam=("", "adam ignores config['beta1']")),
    bug("adam with the default beta2", "staged_optim", "adam", 'beta1, beta2 = config["beta1"], config["beta2"]',
        'beta1, beta2 = config["beta1"], 0.999', adam=("", "adam ignores config['beta2']")),
    bug("adam with the default epsilon", "staged_optim", "adam", ADAM_STEP,
        'next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + 1e-8)',
        adam=("", "adam ignores config['epsilon']")),
    changed("adam with the defaults", "staged_optim",
            (("adam", 'beta1, beta2 = config["beta1"], config["beta2"]', "beta1, beta2 = 0.9, 0.999"),
             ("adam", ADAM_STEP, "next_w = w - 1e-3 * m_hat / (np.sqrt(v_hat) + 1e-8)")),
            adam=("", "adam ignores the hyperparameters in config")),
    bug("adam ignores the learning rate", "compact", "adam", 'lr = config.setdefault("learning_rate", 1e-3)',
        "lr = 1e-3", adam=("", "ignores config['learning_rate']")),
    bug("momentum with a plain gradient step too", "staged_optim", "sgd_momentum", "next_w = w + v",
        'next_w = w - config["learning_rate"] * dw + v',
        sgd_momentum=("", "sgd_momentum takes a plain gradient step besides the velocity's")),
    # several of adam's mistakes in one rule: each is said
    changed("adam without bias correction, epsilon inside the root", "staged_optim",
            (("adam", 'm_hat = config["m"] / (1 - beta1 ** config["t"])', 'm_hat = config["m"]'),
             ("adam", 'v_hat = config["v"] / (1 - beta2 ** config["t"])', 'v_hat = config["v"]'),
             ("adam", ADAM_STEP, 'next_w = w - config["learning_rate"] * m_hat / np.sqrt(v_hat + config["epsilon"])')),
            adam=("", "adam has no bias correction (divide m", "and puts epsilon inside the square root")),
    changed("adam without bias correction or a step count, epsilon inside the root", "staged_optim",
            (("adam", 'config["t"] += 1', "# the step count is never kept"),
             ("adam", 'm_hat = config["m"] / (1 - beta1 ** config["t"])', 'm_hat = config["m"]'),
             ("adam", 'v_hat = config["v"] / (1 - beta2 ** config["t"])', 'v_hat = config["v"]'),
             ("adam", ADAM_STEP, 'next_w = w - config["learning_rate"] * m_hat / np.sqrt(v_hat + config["epsilon"])')),
            adam=("", "adam has no bias correction (divide m", "never counts its steps",
                  "and puts epsilon inside the square root")),
    changed("adam state lost, no bias correction", "compact", ADAM_LOST + (
        ("adam", "return w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), config",
         "return w - lr * m / (np.sqrt(v) + eps), config"),),
            adam=("", "adam has no bias correction (divide m", "and carries neither m nor v nor t")),
    changed("adam state lost, epsilon inside the root", "compact", ADAM_LOST + (
        ("adam", "return w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), config",
         "return w - lr * (m / (1 - b1 ** t)) / np.sqrt(v / (1 - b2 ** t) + eps), config"),),
            adam=("", "adam puts epsilon inside the square root (divide", "and carries neither m nor v nor t")),
    changed("adam state lost, no bias correction, epsilon inside the root", "compact", ADAM_LOST + (
        ("adam", "return w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), config",
         "return w - lr * m / np.sqrt(v + eps), config"),),
            adam=("", "adam has no bias correction (divide m", "puts epsilon inside the square root",
                  "and carries neither m nor v nor t")),
)
