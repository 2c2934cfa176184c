"""JAX functions into GradTrace: ``capture(fn, params, *args)`` → a ``gradtrace.Graph``.

The bridge interprets ``jax.make_jaxpr(fn)(params, *args)`` (in float64) equation by equation through one table,
``PRIMITIVES``, of jaxpr primitives to GradTrace functions. Values that depend on no parameter (index arithmetic,
``iota``, the data), and values used only under ``stop_gradient`` (softmax's max shift), are computed by JAX itself
and enter the graph as constants; the named sub-computations ``mean``, ``log_softmax``, ``softmax``, ``logsumexp``,
``gelu`` (the erf form), ``silu``, ``softplus`` and ``relu`` stay one node (while ``capture`` runs, ``jnp.mean`` and
``jax.nn``'s and ``jax.scipy.special``'s functions of those names are wrapped in a ``jax.jit`` of that name, so that they reach the
jaxpr as one named call even where JAX inlines them); a ``broadcast_in_dim`` that only adds or stretches axes is
absorbed (a reshape at most), so the picture shows the broadcast sum on the edge as it does for hand-written
programs. Parameters are named by pytree path (``params["layers"][0]["w"]`` → ``layers.0.w``), the
other arguments by ``fn``'s parameter names, and an operation whose value a local variable of ``fn`` holds when
``fn`` returns by that variable (``h``, ``logits``). ``jax.grad``'s gradients go into the graph's reference gradients.

``stop_gradient`` needs no entry: what feeds only it is never part of the graph (``_shown``), so its operand, and
with it its result, is a constant holding the value. An equation the table cannot express is refused with ``Unsupported`` naming the primitive: never dropped.
The jaxpr is not a stable public API: the tests pin the JAX version they run against.
"""

import inspect

from . import Graph, number

__all__ = ["capture", "Unsupported", "PRIMITIVES"]


class Unsupported(ValueError):
    """A JAX primitive (or a form of one) that GradTrace cannot express; the message names it."""


def _path_name(path):
    parts = []
    for k in path:
        for attr in ("key", "idx", "name"):
            if hasattr(k, attr):
                parts.append(str(getattr(k, attr)))
                break
        else:
            parts.append(str(k))
    return ".".join(parts)


def _rows(a):
    return a.tolist() if a.ndim else float(a)


class _Builder:
    """The graph being written: nodes, and for each jaxpr variable either a node (traced) or a constant."""

    def __init__(self, np):
        self.np = np
        self.nodes = []

    def node(self, op, inputs, name=None, shape=None, **options):
        n = {"id": len(self.nodes), "name": name, "op": op, "inputs": list(inputs)}
        n.update(options)
        self.nodes.append(n)
        return Traced(n["id"], tuple(shape) if shape is not None else None)

    def const(self, value, name=None, role=None, integer=False):
        a = self.np.asarray(value)
        n = {"id": len(self.nodes), "name": name, "op": "const", "inputs": []}
        if role:
            n["role"] = role
        if integer:
            n["dtype"] = "int"
        a64 = a.astype("float64")
        n["value"] = number(a64) if a.ndim == 0 else {"shape": list(a.shape), "data": _map(_rows(a64))}
        self.nodes.append(n)
        return Traced(n["id"], tuple(a.shape))


def _map(rows):
    if isinstance(rows, list):
        return [_map(r) for r in rows]
    return number(rows)


class Traced:
    """A jaxpr variable that depends on a parameter: the node holding it and its shape in the graph
    (which may still lack the size-1 or stretched axes of an absorbed broadcast)."""

    def __init__(self, node, shape):
        self.node, self.shape = node, shape


class _Interpreter:
    def __init__(self, jax, np, builder, named=None):
        self.jax, self.np, self.b = jax, np, builder
        self.named = named or {}   # id(argument array) → (name, role)
        self.made = {}             # id(argument array) → its const node
        self.args = {}             # id(argument array) → the array
        self.used = set()          # the primitives the table mapped (the tests check every entry is exercised)
        self.values = {}           # node id → its value (full shape), to match fn's local variables

    # -- values ------------------------------------------------------------------------------------------
    def read(self, env, v):
        if hasattr(v, "val"):  # a Literal
            return self.np.asarray(v.val)
        return env[v]

    def as_node(self, x, shape=None, role=None):
        """A node for x: traced values as they are, constants as const nodes (integers keep their dtype);
        an argument of ``fn`` used as it is becomes one const node with its name (and ``role`` when given, else
        ``labels`` for integers and ``input`` for the rest)."""
        if isinstance(x, Traced):
            return x
        key = id(x)
        if key in self.made:
            return self.made[key]
        a = self.np.asarray(x)
        if key in self.named:
            name, default = self.named[key]
            node = self.b.const(a, name=name, role=role or default, integer=a.dtype.kind in "iub")
            self.made[key] = node
            return node
        return self.b.const(a, integer=a.dtype.kind in "iub")

    def exact(self, x, shape):
        """x with exactly ``shape`` (a stretched broadcast materialized as x + zeros)."""
        x = self.as_node(x)
        if tuple(x.shape) == tuple(shape):
            return x
        if len(x.shape) < len(shape):
            x = self.reshape(x, (1,) * (len(shape) - len(x.shape)) + tuple(x.shape))
            if tuple(x.shape) == tuple(shape):
                return x
        zeros = self.b.const(self.np.zeros(shape))
        return self.b.node("add", [x.node, zeros.node], shape=shape)

    def argument_like(self, indices, role):
        """The indices of a pick (labels) or an embedding (ids): the integer argument of ``fn`` they equal (its
        node, with its name), else a constant with ``role``."""
        for key, (name, _) in self.named.items():
            arg = self.args.get(key)
            if arg is not None and arg.dtype.kind in "iu" and arg.shape == indices.shape and self.np.array_equal(arg, indices):
                return self.as_node(arg, role=role)
        return self.b.const(indices, role=role, integer=True)

    def reshape(self, x, shape):
        x = self.as_node(x)
        if tuple(x.shape) == tuple(shape):
            return x
        if len(shape) == 0:
            return self.b.node("sum", [x.node], shape=())  # a one-element tensor to a number
        return self.b.node("reshape", [x.node], shape=shape, to=[int(d) for d in shape])

    # -- the walk ----------------------------------------------------------------------------------------
    def run(self, jaxpr, consts, args, concrete):
        """Walks the equations; ``concrete`` holds every argument's actual value (JAX computes each
        equation's too, so that a stop_gradient can become a constant holding its value)."""
        env, val = {}, {}
        for v, c in zip(jaxpr.constvars, consts):
            env[v] = val[v] = self.np.asarray(c)
        for v, a, c in zip(jaxpr.invars, args, concrete):
            env[v], val[v] = a, c
        def read(table, v):
            return self.np.asarray(v.val) if hasattr(v, "val") else table[v]
        shown = _shown(jaxpr)
        for eqn in jaxpr.eqns:
            ins = [read(env, v) for v in eqn.invars]
            self.concrete = [read(val, v) for v in eqn.invars]
            inner = eqn.params.get("jaxpr") or eqn.params.get("call_jaxpr")
            if inner is not None:
                # A sub-computation (jit, custom_jvp_call, …): its value from its own jaxpr.
                from jax._src.core import eval_jaxpr
                outs_val = eval_jaxpr(getattr(inner, "jaxpr", inner), getattr(inner, "consts", []), *self.concrete)
            else:
                outs_val = eqn.primitive.bind(*self.concrete, **eqn.params)
                outs_val = list(outs_val) if eqn.primitive.multiple_results else [outs_val]
            for v, o in zip(eqn.outvars, outs_val):
                val[v] = self.np.asarray(o)
            name = eqn.primitive.name
            if not any(isinstance(x, Traced) for x in ins) or not any(v in shown for v in eqn.outvars):
                # Depends on no parameter, or reaches the result only through stop_gradient (or not at all): JAX
                # computed it, and it enters the graph as a constant when used.
                for v in eqn.outvars:
                    env[v] = val[v]
                continue
            rule = PRIMITIVES.get(name)
            if rule is None:
                raise Unsupported("JAX primitive '%s' is not supported by gradtrace.jax (its table: %s)"
                                  % (name, ", ".join(sorted(PRIMITIVES))))
            out_shapes = [tuple(v.aval.shape) for v in eqn.outvars]
            self.used.add(name)
            outs = rule(self, eqn, ins, out_shapes)
            outs = outs if isinstance(outs, list) else [outs]
            for v, o in zip(eqn.outvars, outs):
                env[v] = o
                if isinstance(o, Traced) and tuple(o.shape) == tuple(val[v].shape):
                    self.values[o.node] = val[v]
        return [read(env, v) for v in jaxpr.outvars]


def _shown(jaxpr):
    """The variables of ``jaxpr`` that reach its results other than through a ``stop_gradient`` operand: the
    values the graph shows. Others (a max shift computed only to be detached, an unused sign) become constants."""
    shown = {v for v in jaxpr.outvars if not hasattr(v, "val")}
    for eqn in reversed(jaxpr.eqns):
        if eqn.primitive.name == "stop_gradient" or not any(v in shown for v in eqn.outvars):
            continue
        shown.update(v for v in eqn.invars if not hasattr(v, "val"))
    return shown


# -- the table: primitive → GradTrace ------------------------------------------------------------------------
def _elementwise(op):
    def rule(it, eqn, ins, shapes):
        xs = [it.as_node(x) for x in ins]
        out = shapes[0]
        return it.b.node(op, [x.node for x in xs], shape=out)
    return rule


def _unary(op, **options):
    def rule(it, eqn, ins, shapes):
        return it.b.node(op, [it.exact(ins[0], shapes[0]).node], shape=shapes[0], **options)
    return rule


def _max(it, eqn, ins, shapes):
    a, b = ins
    np = it.np
    for x, y in ((a, b), (b, a)):
        if not isinstance(y, Traced) and np.asarray(y).size == 1 and float(np.asarray(y).reshape(())) == 0.0:
            return it.b.node("relu", [it.exact(x, shapes[0]).node], shape=shapes[0])
    return it.b.node("maximum", [it.as_node(a).node, it.as_node(b).node], shape=shapes[0])


def _min(it, eqn, ins, shapes):
    return it.b.node("minimum", [it.as_node(ins[0]).node, it.as_node(ins[1]).node], shape=shapes[0])


def _compare(fn):
    def rule(it, eqn, ins, shapes):
        return it.b.node(fn, [it.as_node(ins[0]).node, it.as_node(ins[1]).node], shape=shapes[0])
    return rule


def _integer_pow(it, eqn, ins, shapes):
    return it.b.node("pow", [it.exact(ins[0], shapes[0]).node], shape=shapes[0], exponent=float(eqn.params["y"]))


def _rsqrt(it, eqn, ins, shapes):
    return it.b.node("pow", [it.exact(ins[0], shapes[0]).node], shape=shapes[0], exponent=-0.5)


def _square(it, eqn, ins, shapes):
    return it.b.node("pow", [it.exact(ins[0], shapes[0]).node], shape=shapes[0], exponent=2.0)


def _pow(it, eqn, ins, shapes):
    a, b = ins
    np = it.np
    if not isinstance(b, Traced) and np.asarray(b).size == 1:
        return it.b.node("pow", [it.exact(a, shapes[0]).node], shape=shapes[0], exponent=float(np.asarray(b).reshape(())))
    return it.b.node("pow", [it.as_node(a).node, it.as_node(b).node], shape=shapes[0])


def _broadcast_in_dim(it, eqn, ins, shapes):
    """Absorbed: the operand's axes placed at broadcast_dimensions, size 1 elsewhere (a reshape at most);
    the stretch to the full shape is left to the consumer's broadcasting."""
    x = it.as_node(ins[0])
    out = shapes[0]
    dims = eqn.params["broadcast_dimensions"]
    placed = [1] * len(out)
    for d, size in zip(dims, x.shape):
        placed[d] = size
    # Leading size-1 axes are what NumPy broadcasting adds by itself.
    k = 0
    while k < len(placed) and placed[k] == 1 and k < len(out) - len(x.shape):
        k += 1
    target = tuple(placed[k:])
    y = it.reshape(x, target) if target != tuple(x.shape) else x
    return Traced(y.node, target)


def _reshape(it, eqn, ins, shapes):
    return it.reshape(it.exact(ins[0], it._in_shape(eqn, 0)), shapes[0])


def _squeeze(it, eqn, ins, shapes):
    return it.reshape(it.exact(ins[0], it._in_shape(eqn, 0)), shapes[0])


def _transpose(it, eqn, ins, shapes):
    perm = [int(p) for p in eqn.params["permutation"]]
    x = it.exact(ins[0], it._in_shape(eqn, 0))
    if perm == list(range(len(perm))):
        return x
    if len(perm) == 2:
        return it.b.node("transpose", [x.node], shape=shapes[0])
    return it.b.node("permute", [x.node], shape=shapes[0], dims=perm)


def _reduce(op):
    def rule(it, eqn, ins, shapes):
        in_shape = it._in_shape(eqn, 0)
        x = it.exact(ins[0], in_shape)
        axes = sorted(int(a) for a in eqn.params["axes"])
        if len(axes) == len(in_shape) and op in ("sum", "max"):
            return it.b.node(op, [x.node], shape=())
        kept = list(in_shape)
        for a in axes:  # each axis kept with size 1, then dropped by one reshape
            kept[a] = 1
            x = it.b.node(op, [x.node], shape=tuple(kept), axis=a)
        return it.reshape(x, shapes[0])
    return rule


def _dot_general(it, eqn, ins, shapes):
    """One contracted axis, with leading batch axes or none, as ``@``: an operand contracted on the other axis than
    ``@`` contracts is transposed first, a vector (per batch) becomes a one-row or one-column matrix and the result
    is reshaped back; without batch axes the left operand may have several free axes (``x[B, T, D] @ W[D, K]``)."""
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    a_shape, b_shape = it._in_shape(eqn, 0), it._in_shape(eqn, 1)
    a, b = it.exact(ins[0], a_shape), it.exact(ins[1], b_shape)
    lc, rc, lb, rb = [list(map(int, t)) for t in (lc, rc, lb, rb)]
    nb = len(lb)
    ra, rb_ = len(a_shape), len(b_shape)
    if lb != list(range(nb)) or rb != list(range(nb)) or len(lc) != 1 or len(rc) != 1:
        raise Unsupported("JAX primitive 'dot_general' with dimension_numbers %s is not supported by gradtrace.jax "
                          "(it maps one contracted axis, with leading batch axes or none, to @)"
                          % (eqn.params["dimension_numbers"],))
    fa, fb = ra - nb - 1, rb_ - nb - 1   # free axes of each operand
    if fb > 1 or (fa > 1 and nb > 0) or (fa > 1 and lc[0] != ra - 1):
        raise Unsupported("JAX primitive 'dot_general' of a rank-%d and a rank-%d operand with dimension_numbers %s is "
                          "not supported by gradtrace.jax" % (ra, rb_, eqn.params["dimension_numbers"]))
    batch = tuple(a_shape[:nb])

    def swap_last(x, shape):
        t = tuple(shape[:-2]) + (shape[-1], shape[-2])
        if len(shape) == 2:
            return it.b.node("transpose", [x.node], shape=t), t
        return it.b.node("transpose", [x.node], shape=t, dim0=len(shape) - 2, dim1=len(shape) - 1), t

    if fa == 0:      # a vector per batch: one row
        a_shape = batch + (1, a_shape[-1])
        a = it.reshape(a, a_shape)
    elif fa == 1 and lc[0] == nb:
        a, a_shape = swap_last(a, a_shape)
    if fb == 0:      # a vector per batch: one column
        b_shape = batch + (b_shape[-1], 1)
        b = it.reshape(b, b_shape)
    elif rc[0] == rb_ - 1:
        b, b_shape = swap_last(b, b_shape)
    out = tuple(a_shape[:-1]) + (b_shape[-1],)
    y = it.b.node("matmul", [a.node, b.node], shape=out)
    return it.reshape(y, shapes[0])


def _conv(it, eqn, ins, shapes):
    """``conv_general_dilated`` in NCHW/OIHW layout with one stride and one symmetric padding for both spatial axes,
    no dilation and no groups: ``conv2d``. Every other form is refused naming what GradTrace cannot express."""
    p = eqn.params
    dn = p["dimension_numbers"]
    x_shape, w_shape = it._in_shape(eqn, 0), it._in_shape(eqn, 1)
    def refuse(what):
        raise Unsupported("JAX primitive 'conv_general_dilated' with %s is not supported by gradtrace.jax "
                          "(conv2d: NCHW input, OIHW kernel, one stride and one symmetric padding, no dilation, no groups)" % what)
    if len(x_shape) != 4:
        refuse("%d spatial axes" % (len(x_shape) - 2))
    for key, want, layout in (("lhs_spec", "NCHW", "input"), ("rhs_spec", "OIHW", "kernel"), ("out_spec", "NCHW", "output")):
        spec = tuple(int(d) for d in getattr(dn, key))
        if spec != (0, 1, 2, 3):
            refuse("the %s in a layout other than %s (%s=%s)" % (layout, want, key, spec))
    for key in ("lhs_dilation", "rhs_dilation"):
        if p.get(key) is not None and any(int(d) != 1 for d in p[key]):
            refuse("%s=%s" % (key, tuple(p[key])))
    for key in ("feature_group_count", "batch_group_count"):
        if int(p.get(key, 1)) != 1:
            refuse("%s=%d" % (key, int(p[key])))
    strides = [int(s) for s in p["window_strides"]]
    if strides[0] != strides[1]:
        refuse("window_strides=%s (two different strides)" % (tuple(strides),))
    pads = [tuple(int(v) for v in q) for q in p["padding"]]
    if len({v for q in pads for v in q}) != 1:
        refuse("padding=%s (not the same on every side)" % (pads,))
    x, w = it.exact(ins[0], x_shape), it.exact(ins[1], w_shape)
    return it.b.node("conv2d", [x.node, w.node], shape=shapes[0], stride=strides[0], padding=pads[0][0])


def _erfc(it, eqn, ins, shapes):
    """erfc(x) = 1 − erf(x)."""
    e = it.b.node("erf", [it.exact(ins[0], shapes[0]).node], shape=shapes[0])
    return it.b.node("sub", [it.b.const(it.np.asarray(1.0)).node, e.node], shape=shapes[0])


def _log1p(it, eqn, ins, shapes):
    x = it.exact(ins[0], shapes[0])
    u = it.b.node("add", [x.node, it.b.const(it.np.asarray(1.0)).node], shape=shapes[0])
    return it.b.node("log", [u.node], shape=shapes[0])


def _expm1(it, eqn, ins, shapes):
    e = it.b.node("exp", [it.exact(ins[0], shapes[0]).node], shape=shapes[0])
    return it.b.node("sub", [e.node, it.b.const(it.np.asarray(1.0)).node], shape=shapes[0])


def _slice_node(it, x, in_shape, ranges, out_shape):
    """A slice: per axis (start, stop, step); trailing whole axes are left out of ``slices``."""
    items = [[int(a), int(b), int(c)] for a, b, c in ranges]
    while items and items[-1] == [0, in_shape[len(items) - 1], 1]:
        items.pop()
    if not items:
        return x
    return it.b.node("slice", [x.node], shape=out_shape, slices=items)


def _slice(it, eqn, ins, shapes):
    in_shape = it._in_shape(eqn, 0)
    x = it.exact(ins[0], in_shape)
    p = eqn.params
    strides = p.get("strides") or (1,) * len(in_shape)
    return _slice_node(it, x, in_shape, zip(p["start_indices"], p["limit_indices"], strides), shapes[0])


def _split(it, eqn, ins, shapes):
    """``jnp.split`` (one output per piece): slices along the axis."""
    in_shape = it._in_shape(eqn, 0)
    x = it.exact(ins[0], in_shape)
    axis, start, outs = int(eqn.params["axis"]), 0, []
    for size, out in zip(eqn.params["sizes"], shapes):
        ranges = [(0, n, 1) for n in in_shape]
        ranges[axis] = (start, start + int(size), 1)
        outs.append(_slice_node(it, x, in_shape, ranges, out))
        start += int(size)
    return outs


def _concatenate(it, eqn, ins, shapes):
    xs = [it.exact(x, it._in_shape(eqn, k)) for k, x in enumerate(ins)]
    return it.b.node("concat", [x.node for x in xs], shape=shapes[0], axis=int(eqn.params["dimension"]))


def _clamp(it, eqn, ins, shapes):
    """``lax.clamp(lo, x, hi)`` with constant scalar bounds: clamp."""
    lo, x, hi = ins
    np = it.np
    if isinstance(lo, Traced) or isinstance(hi, Traced) or np.asarray(lo).size != 1 or np.asarray(hi).size != 1:
        raise Unsupported("JAX primitive 'clamp' with bounds that are tensors or depend on a parameter is not supported "
                          "(constant number bounds map to clamp)")
    return it.b.node("clamp", [it.exact(x, shapes[0]).node], shape=shapes[0],
                     min=float(np.asarray(lo).reshape(())), max=float(np.asarray(hi).reshape(())))


def _convert(it, eqn, ins, shapes):
    """A float value converted to another float type is the same value (the capture runs in float64); one that
    depends on a parameter converted to integers or booleans has no gradient to show, and is refused."""
    new = str(eqn.params.get("new_dtype"))
    if new.startswith("complex"):
        raise Unsupported("JAX primitive 'convert_element_type' to %s is not supported by gradtrace.jax (GradTrace "
                          "computes with real numbers)" % new)
    if not new.startswith(("float", "bfloat")):
        raise Unsupported("JAX primitive 'convert_element_type' to %s of a value that depends on a parameter is not "
                          "supported (no gradient flows through it; use jax.lax.stop_gradient first)" % new)
    return ins[0]


def _select_n(it, eqn, ins, shapes):
    if len(ins) != 3:
        raise Unsupported("JAX primitive 'select_n' with %d cases is not supported (two cases map to where)" % (len(ins) - 1))
    c, false, true = ins
    return it.b.node("where", [it.as_node(c).node, it.as_node(true).node, it.as_node(false).node], shape=shapes[0])


def _mask(op):
    """``and``, ``or``, ``not`` of boolean masks (comparisons give 0/1 masks): mul, maximum, 1 − x. Integer
    (bitwise) forms are refused."""
    def rule(it, eqn, ins, shapes):
        kinds = {str(v.aval.dtype) for v in eqn.invars}
        if kinds != {"bool"}:
            raise Unsupported("JAX primitive '%s' of %s values is not supported by gradtrace.jax (of boolean masks it "
                              "maps to %s)" % (eqn.primitive.name, "/".join(sorted(kinds)), op))
        if op == "not":
            one = it.b.const(it.np.asarray(1.0))
            return it.b.node("sub", [one.node, it.as_node(ins[0]).node], shape=shapes[0])
        return it.b.node(op, [it.as_node(ins[0]).node, it.as_node(ins[1]).node], shape=shapes[0])
    return rule


def _identity(it, eqn, ins, shapes):
    return ins[0]


def _gather(it, eqn, ins, shapes):
    """x[arange(N), labels] (pick) and table[ids] (embedding) with constant indices."""
    x, idx = ins
    np = it.np
    if isinstance(idx, Traced):
        raise Unsupported("JAX primitive 'gather' with indices that depend on a parameter is not supported")
    idx = np.asarray(idx)
    dn = eqn.params["dimension_numbers"]
    in_shape = it._in_shape(eqn, 0)
    x = it.exact(x, in_shape)
    sizes = tuple(int(d) for d in eqn.params["slice_sizes"])
    if len(in_shape) == 2 and sizes == (1, 1) and idx.ndim == 2 and idx.shape[1] == 2 \
            and np.array_equal(idx[:, 0], np.arange(in_shape[0])) and idx.shape[0] == in_shape[0]:
        labels = it.argument_like(idx[:, 1], "labels")
        return it.b.node("pick", [x.node, labels.node], shape=shapes[0])
    batching = tuple(getattr(dn, "operand_batching_dims", ()))
    if len(in_shape) == 2 and sizes == (1, 1) and batching == (0,) and tuple(dn.collapsed_slice_dims) == (1,) \
            and idx.shape == (in_shape[0], 1, 1):
        # jnp.take_along_axis(x, labels[:, None], axis=1): pick, then a column
        labels = it.argument_like(idx[:, 0, 0], "labels")
        y = it.b.node("pick", [x.node, labels.node], shape=(in_shape[0],))
        return it.reshape(y, shapes[0])
    if len(in_shape) == 2 and sizes == (1, in_shape[1]) and tuple(dn.collapsed_slice_dims) == (0,) \
            and tuple(dn.start_index_map) == (0,) and tuple(dn.offset_dims) == (idx.ndim - 1,) and idx.shape[-1] == 1:
        ids = it.argument_like(idx[..., 0], "input")
        return it.b.node("embedding", [x.node, ids.node], shape=shapes[0])
    raise Unsupported("JAX primitive 'gather' of this form is not supported by gradtrace.jax (x[jnp.arange(n), labels] "
                      "maps to pick, table[ids] and jnp.take(table, ids, axis=0) to embedding)")


_NAMED = {"log_softmax": "log_softmax", "softmax": "softmax", "_softmax": "softmax", "logsumexp": "logsumexp"}
_NAMED_UNARY = {"relu": "relu", "gelu": "gelu", "silu": "silu", "softplus": "softplus"}


def _call(it, eqn, ins, shapes):
    """A named sub-computation: log_softmax, softmax, logsumexp, gelu (erf form), silu, softplus and relu stay one
    node; others (jnp.where's _where, a user's jit) are walked inside."""
    name = eqn.params.get("name")
    inner = eqn.params.get("jaxpr") or eqn.params.get("call_jaxpr")
    traced = [k for k, x in enumerate(ins) if isinstance(x, Traced)]
    if name in _NAMED and traced == [0]:
        in_shape = it._in_shape(eqn, 0)
        x = it.exact(ins[0], in_shape)
        axis = _reduced_axis(inner)
        op = _NAMED[name]
        if op == "logsumexp":
            kept = list(in_shape)
            kept[axis] = 1
            y = it.b.node("logsumexp", [x.node], shape=tuple(kept), axis=axis)
            return it.reshape(y, shapes[0])
        return it.b.node(op, [x.node], shape=shapes[0], axis=axis)
    if name == "mean" and traced == [0]:
        # jnp.mean: one mean node over all axes, or one per axis (kept with size 1), then the output's shape
        in_shape = it._in_shape(eqn, 0)
        x = it.exact(ins[0], in_shape)
        axes = _reduced_axes(inner)
        if axes is None or len(axes) == len(in_shape):
            return it.reshape(it.b.node("mean", [x.node], shape=()), shapes[0])
        kept = list(in_shape)
        for a in axes:
            kept[a] = 1
            x = it.b.node("mean", [x.node], shape=tuple(kept), axis=a)
        return it.reshape(x, shapes[0])
    if name in _NAMED_UNARY and traced == [0] and tuple(it._in_shape(eqn, 0)) == tuple(shapes[0]):
        return it.b.node(_NAMED_UNARY[name], [it.exact(ins[0], shapes[0]).node], shape=shapes[0])
    if inner is None:
        raise Unsupported("JAX primitive '%s' is not supported" % eqn.primitive.name)
    closed = inner
    jaxpr = getattr(closed, "jaxpr", closed)
    consts = getattr(closed, "consts", [])
    return it.run(jaxpr, consts, ins, list(it.concrete))


def _reduced_axes(inner):
    """The axes of the first reduce_sum of a sub-computation (nested calls too); None when there is none."""
    jaxpr = getattr(inner, "jaxpr", inner)
    for e in jaxpr.eqns:
        if e.primitive.name == "reduce_sum":
            return sorted(int(a) for a in e.params["axes"])
        nested = e.params.get("jaxpr") or e.params.get("call_jaxpr")
        if nested is not None:
            found = _reduced_axes(nested)
            if found is not None:
                return found
    return None


def _reduced_axis(inner):
    """The one axis a softmax-like sub-computation reduces (looked for in nested calls too)."""
    jaxpr = getattr(inner, "jaxpr", inner)
    for e in jaxpr.eqns:
        if e.primitive.name in ("reduce_max", "reduce_sum") and len(e.params["axes"]) == 1:
            return int(e.params["axes"][0])
        nested = e.params.get("jaxpr") or e.params.get("call_jaxpr")
        if nested is not None:
            try:
                return _reduced_axis(nested)
            except Unsupported:
                pass
    raise Unsupported("a named softmax-like sub-computation reducing several axes is not supported")


def _pool(op):
    """``reduce_window_max`` / ``reduce_window_sum`` over the last two axes with a square window, one stride and no
    padding: max_pool2d, and avg_pool2d times the window's size (a sum pool)."""
    def rule(it, eqn, ins, shapes):
        p = eqn.params
        in_shape = it._in_shape(eqn, 0)
        win, strides = [int(d) for d in p["window_dimensions"]], [int(d) for d in p["window_strides"]]
        lead = len(in_shape) - 2
        plain = all(int(d) == 1 for key in ("base_dilation", "window_dilation") for d in p[key]) \
            and all(int(v) == 0 for q in p["padding"] for v in q)
        if lead not in (1, 2) or win[:lead] != [1] * lead or strides[:lead] != [1] * lead or win[-1] != win[-2] \
                or strides[-1] != strides[-2] or not plain:
            raise Unsupported("JAX primitive '%s' with window %s, strides %s, padding %s is not supported by gradtrace.jax "
                              "(a square window over the last two axes, one stride, no padding or dilation maps to %s)"
                              % (eqn.primitive.name, tuple(win), tuple(strides), tuple(map(tuple, p["padding"])), op))
        x = it.exact(ins[0], in_shape)
        y = it.b.node(op, [x.node], shape=shapes[0], kernel_size=win[-1], stride=strides[-1])
        if op == "avg_pool2d":
            k2 = it.b.const(it.np.asarray(float(win[-1] * win[-1])))
            y = it.b.node("mul", [y.node, k2.node], shape=shapes[0])
        return y
    return rule


PRIMITIVES = {
    "add": _elementwise("add"), "sub": _elementwise("sub"), "mul": _elementwise("mul"), "div": _elementwise("div"),
    "neg": _unary("neg"), "exp": _unary("exp"), "log": _unary("log"), "tanh": _unary("tanh"), "logistic": _unary("sigmoid"),
    "sqrt": _unary("sqrt"), "rsqrt": _rsqrt, "abs": _unary("abs"), "sin": _unary("sin"), "cos": _unary("cos"),
    "integer_pow": _integer_pow, "square": _square, "pow": _pow, "max": _max, "min": _min,
    "lt": _compare("lt"), "le": _compare("le"), "gt": _compare("gt"), "ge": _compare("ge"), "eq": _compare("eq"), "ne": _compare("ne"),
    "dot_general": _dot_general, "broadcast_in_dim": _broadcast_in_dim, "reshape": _reshape, "squeeze": _squeeze,
    "transpose": _transpose, "reduce_sum": _reduce("sum"), "reduce_max": _reduce("max"),
    "select_n": _select_n, "convert_element_type": _convert, "copy": _identity, "copy_p": _identity,
    "gather": _gather, "conv_general_dilated": _conv, "erf": _unary("erf"),
    "erfc": _erfc, "log1p": _log1p, "expm1": _expm1, "tan": _unary("tan"), "slice": _slice, "split": _split,
    "concatenate": _concatenate, "clamp": _clamp, "reduce_window_max": _pool("max_pool2d"),
    "reduce_window_sum": _pool("avg_pool2d"), "and": _mask("mul"), "or": _mask("maximum"), "not": _mask("not"),
    "pjit": _call, "jit": _call, "closed_call": _call, "custom_jvp_call": _call, "custom_vjp_call": _call,
}


def _in_shape(self, eqn, k):
    return tuple(eqn.invars[k].aval.shape)


_Interpreter._in_shape = _in_shape


def _named_functions(jax):
    """(module, attribute, wrapper) for the jax.nn / jax.scipy.special functions that stay one node: each wrapper
    calls the original inside a ``jax.jit`` named after it when its options are ones GradTrace's function takes
    (one integer axis; gelu's erf form), and the original as it is otherwise."""
    import jax.numpy  # noqa: F401
    import jax.scipy.special as special

    def named(name, original, accepts):
        def wrapper(x, *rest, **options):
            if not accepts(rest, options):
                return original(x, *rest, **options)
            def inner(v):
                return original(v, *rest, **options)
            inner.__name__ = inner.__qualname__ = name
            return jax.jit(inner)(x)
        wrapper.__name__, wrapper.__doc__, wrapper.__wrapped__ = original.__name__, original.__doc__, original
        return wrapper

    def one_axis(rest, options):
        axis = rest[0] if rest else options.get("axis", -1)
        return isinstance(axis, int) and len(rest) <= 1 and set(options) <= {"axis"}

    def lse_options(rest, options):
        axis = rest[0] if rest else options.get("axis")
        return isinstance(axis, int) and len(rest) <= 1 and set(options) <= {"axis", "keepdims"}

    def erf_form(rest, options):
        return (rest[:1] or [options.get("approximate", True)])[0] is False and len(rest) <= 1 and set(options) <= {"approximate"}

    def mean_options(rest, options):
        axis = rest[0] if rest else options.get("axis")
        return (axis is None or isinstance(axis, int)) and len(rest) <= 1 and set(options) <= {"axis", "keepdims"}

    out = []
    for module, attr, accepts in ((jax.numpy, "mean", mean_options), (jax.nn, "softmax", one_axis), (jax.nn, "log_softmax", one_axis),
                                  (jax.nn, "logsumexp", lse_options), (special, "logsumexp", lse_options),
                                  (jax.nn, "gelu", erf_form)):
        original = getattr(module, attr, None)
        if original is not None:
            out.append((module, attr, named(attr, original, accepts)))
    return out


def _locals_of(fn, params, args, np):
    """fn's local variables when it returns (run once more, eagerly, under a profile hook that watches only fn's own
    frame): name → float64 array, in the order fn assigned them; arguments, ``_names`` and non-arrays left out."""
    import sys
    code = getattr(fn, "__code__", None)
    if code is None:
        return {}
    found = {}

    def profile(frame, event, result):
        if event == "return" and frame.f_code is code:
            found.clear()
            found.update(frame.f_locals)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        fn(params, *args)
    finally:
        sys.setprofile(previous)
    arguments = set(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    out = {}
    for var, value in found.items():
        if var in arguments or var.startswith("_") or not hasattr(value, "shape") or not hasattr(value, "dtype"):
            continue
        a = np.asarray(value)
        if a.dtype.kind == "f":
            out[var] = a.astype(np.float64)
    return out


def _name_locals(nodes, values, local, skip, np):
    """Names the operations that hold a local variable's value (the last one made, when several do; equal to 1e-12
    relative, since JAX's eager run may round a fused sub-computation differently), once per name."""
    used = {n["name"] for n in nodes if n["name"]}
    for var, value in local.items():
        if var in used:
            continue
        same = [k for k, v in values.items() if k != skip and nodes[k]["name"] is None and nodes[k]["op"] not in ("input", "const")
                and v.shape == value.shape and np.allclose(v, value, rtol=1e-12, atol=1e-300)]
        if same:
            nodes[max(same)]["name"] = var
            used.add(var)


def capture(fn, params, *args, name="loss"):
    """The graph of ``fn(params, *args)`` (a scalar) as a ``gradtrace.Graph``, with ``jax.grad``'s gradients
    of every parameter as reference gradients. Runs in float64 (``jax_enable_x64``)."""
    import jax
    import numpy as np
    jax.config.update("jax_enable_x64", True)
    params = jax.tree_util.tree_map(lambda a: np.asarray(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a), params)
    patched = _named_functions(jax)
    saved = [(m, a, getattr(m, a)) for m, a, _ in patched]
    try:
        for m, a, w in patched:
            setattr(m, a, w)
        closed = jax.make_jaxpr(fn)(params, *args)
    finally:
        for m, a, original in saved:
            setattr(m, a, original)
    b = _Builder(np)
    leaves, _ = jax.tree_util.tree_flatten_with_path(params)
    try:
        names = list(inspect.signature(fn).parameters)[1:]
    except (TypeError, ValueError):
        names = []
    flat_args = []
    for k, a in enumerate(args):
        base = names[k] if k < len(names) else "arg%d" % (k + 1)
        for path, leaf in jax.tree_util.tree_flatten_with_path(a)[0]:
            flat_args.append((base + ("." + _path_name(path) if path else ""), np.asarray(leaf)))
    values = []
    for path, leaf in leaves:
        a = np.asarray(leaf, dtype=np.float64)
        n = {"id": len(b.nodes), "name": _path_name(path), "op": "input", "role": "parameter",
             "value": number(a) if a.ndim == 0 else {"shape": list(a.shape), "data": _map(a.tolist())}}
        b.nodes.append(n)
        values.append(Traced(n["id"], a.shape))
    named = {}
    for arg_name, a in flat_args:
        named[id(a)] = (arg_name, "labels" if a.dtype.kind in "iub" else "input")
        values.append(a)
    it = _Interpreter(jax, np, b, named)
    it.args = {id(a): a for _, a in flat_args}
    concrete = [np.asarray(leaf, dtype=np.float64) for _, leaf in leaves] + [a for _, a in flat_args]
    out = it.run(closed.jaxpr, closed.consts, values, concrete)[0]
    if not isinstance(out, Traced):
        raise Unsupported("the result does not depend on the parameters")
    if out.shape not in ((), (1,)):
        raise Unsupported("the result has shape %s; capture a scalar loss" % (out.shape,))
    b.nodes[out.node]["name"] = b.nodes[out.node]["name"] or name
    _name_locals(b.nodes, it.values, _locals_of(fn, params, args, np), out.node, np)
    grads = jax.grad(fn)(params, *args)
    ref = {}
    for (path, g) in jax.tree_util.tree_flatten_with_path(grads)[0]:
        g = np.asarray(g, dtype=np.float64)
        ref[_path_name(path)] = number(g) if g.ndim == 0 else {"shape": list(g.shape), "data": _map(g.tolist())}
    doc = {"format": "gradtrace-graph/2", "output": out.node, "source": {"framework": "jax", "version": jax.__version__},
           "nodes": b.nodes, "reference": {"grads": ref, "tolerance": 1e-9}}
    graph = Graph(doc)
    graph.primitives = sorted(it.used)
    return graph
