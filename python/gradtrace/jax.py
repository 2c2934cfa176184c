"""JAX functions into GradTrace: ``capture(fn, params, *args)`` → a ``gradtrace.Graph``.

The bridge interprets ``jax.make_jaxpr(fn)(params, *args)`` (in float64) equation by equation through one table,
``PRIMITIVES``, of jaxpr primitives to GradTrace functions. Values that depend on no parameter (index arithmetic,
``iota``, the data) are computed by JAX itself and enter the graph as constants; the named sub-computations
``log_softmax``, ``softmax`` and ``logsumexp`` stay one node; a ``broadcast_in_dim`` that only adds or stretches
axes is absorbed (a reshape at most), so the picture shows the broadcast sum on the edge as it does for
hand-written programs. Parameters are named by pytree path (``params["layers"][0]["w"]`` → ``layers.0.w``), the
other arguments by ``fn``'s parameter names. ``jax.grad``'s gradients go into the graph's reference gradients.

An equation the table cannot express is refused with ``Unsupported`` naming the primitive: never dropped.
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

    # -- values ------------------------------------------------------------------------------------------
    def read(self, env, v):
        if hasattr(v, "val"):  # a Literal
            return self.np.asarray(v.val)
        return env[v]

    def as_node(self, x, shape=None):
        """A node for x: traced values as they are, constants as const nodes (integers keep their dtype);
        an argument of ``fn`` used as it is becomes one const node with its name."""
        if isinstance(x, Traced):
            return x
        key = id(x)
        if key in self.made:
            return self.made[key]
        a = self.np.asarray(x)
        if key in self.named:
            name, role = self.named[key]
            node = self.b.const(a, name=name, role=role, integer=a.dtype.kind in "iub")
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

    def labels(self, column):
        """The labels of a pick: the integer argument of ``fn`` they equal (its node, named), else a const."""
        for key, (name, role) in self.named.items():
            arg = self.args.get(key)
            if arg is not None and arg.shape == column.shape and self.np.array_equal(arg, column):
                return self.as_node(arg)
        return self.b.const(column, role="labels", integer=True)

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
            if not any(isinstance(x, Traced) for x in ins):
                # Depends on no parameter: JAX computed it, and it enters the graph as a constant when used.
                for v in eqn.outvars:
                    env[v] = val[v]
                continue
            rule = PRIMITIVES.get(name)
            if rule is None:
                raise Unsupported("JAX primitive '%s' is not supported by gradtrace.jax (its table: %s)"
                                  % (name, ", ".join(sorted(PRIMITIVES))))
            out_shapes = [tuple(v.aval.shape) for v in eqn.outvars]
            outs = rule(self, eqn, ins, out_shapes)
            outs = outs if isinstance(outs, list) else [outs]
            for v, o in zip(eqn.outvars, outs):
                env[v] = o
        return [read(env, v) for v in jaxpr.outvars]


# -- the table: primitive → GradTrace ------------------------------------------------------------------------
def _elementwise(op):
    def rule(it, eqn, ins, shapes):
        xs = [it.as_node(x) for x in ins]
        import itertools  # noqa: F401
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


def _expand_dims(it, eqn, ins, shapes):
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
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    a_shape, b_shape = it._in_shape(eqn, 0), it._in_shape(eqn, 1)
    a, b = it.exact(ins[0], a_shape), it.exact(ins[1], b_shape)
    lc, rc, lb, rb = [list(map(int, t)) for t in (lc, rc, lb, rb)]
    ra, rb_ = len(a_shape), len(b_shape)
    nb = len(lb)
    if lb != list(range(nb)) or rb != list(range(nb)) or len(lc) != 1 or len(rc) != 1:
        raise Unsupported("JAX primitive 'dot_general' with dimension_numbers %s is not supported by gradtrace.jax "
                          "(it maps one contracted axis with leading batch axes to @)" % (eqn.params["dimension_numbers"],))
    if lc[0] != ra - 1:
        raise Unsupported("JAX primitive 'dot_general' contracting axis %d of a rank-%d operand is not supported" % (lc[0], ra))
    if rb_ - nb == 2 and rc[0] == rb_ - 1:
        # b contracted on its last axis: a @ bᵀ
        t_shape = tuple(b_shape[:-2]) + (b_shape[-1], b_shape[-2])
        b = it.b.node("transpose", [b.node], shape=t_shape) if rb_ == 2 else \
            it.b.node("transpose", [b.node], shape=t_shape, dim0=rb_ - 2, dim1=rb_ - 1)
    elif rc[0] != nb:
        raise Unsupported("JAX primitive 'dot_general' contracting axis %d of the right operand is not supported" % rc[0])
    return it.b.node("matmul", [a.node, b.node], shape=shapes[0])


def _select_n(it, eqn, ins, shapes):
    if len(ins) != 3:
        raise Unsupported("JAX primitive 'select_n' with %d cases is not supported (two cases map to where)" % (len(ins) - 1))
    c, false, true = ins
    return it.b.node("where", [it.as_node(c).node, it.as_node(true).node, it.as_node(false).node], shape=shapes[0])


def _identity(it, eqn, ins, shapes):
    return ins[0]


def _stop_gradient(it, eqn, ins, shapes):
    """A detached value (as softmax's max shift) is a constant holding its value: no gradient flows through it."""
    return it.b.const(it.concrete[0])


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
    sizes = tuple(eqn.params["slice_sizes"])
    if len(in_shape) == 2 and sizes == (1, 1) and idx.ndim == 2 and idx.shape[1] == 2 \
            and np.array_equal(idx[:, 0], np.arange(in_shape[0])) and idx.shape[0] == in_shape[0]:
        labels = it.labels(idx[:, 1])
        return it.b.node("pick", [x.node, labels.node], shape=shapes[0])
    if len(in_shape) == 2 and sizes == (1, in_shape[1]) and tuple(dn.collapsed_slice_dims) == (0,) and idx.shape[-1] == 1:
        ids = it.b.const(idx[..., 0], role="input", integer=True)
        return it.b.node("embedding", [x.node, ids.node], shape=shapes[0])
    raise Unsupported("JAX primitive 'gather' of this form is not supported (x[arange(n), labels] maps to pick, table[ids] to embedding)")


_NAMED = {"log_softmax": "log_softmax", "softmax": "softmax", "_softmax": "softmax", "logsumexp": "logsumexp"}


def _call(it, eqn, ins, shapes):
    """A named sub-computation: log_softmax, softmax and logsumexp stay one node; others are walked inside."""
    name = eqn.params.get("name")
    inner = eqn.params.get("jaxpr") or eqn.params.get("call_jaxpr")
    if name in _NAMED and len(ins) == 1:
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
    if name == "relu" and len(ins) == 1:
        return it.b.node("relu", [it.exact(ins[0], shapes[0]).node], shape=shapes[0])
    if inner is None:
        raise Unsupported("JAX primitive '%s' is not supported" % eqn.primitive.name)
    closed = inner
    jaxpr = getattr(closed, "jaxpr", closed)
    consts = getattr(closed, "consts", [])
    return it.run(jaxpr, consts, ins, list(it.concrete))


def _reduced_axis(inner):
    jaxpr = getattr(inner, "jaxpr", inner)
    for e in jaxpr.eqns:
        if e.primitive.name in ("reduce_max", "reduce_sum") and len(e.params["axes"]) == 1:
            return int(e.params["axes"][0])
    raise Unsupported("a named softmax-like sub-computation reducing several axes is not supported")


PRIMITIVES = {
    "add": _elementwise("add"), "sub": _elementwise("sub"), "mul": _elementwise("mul"), "div": _elementwise("div"),
    "neg": _unary("neg"), "exp": _unary("exp"), "log": _unary("log"), "tanh": _unary("tanh"), "logistic": _unary("sigmoid"),
    "sqrt": _unary("sqrt"), "rsqrt": _rsqrt, "abs": _unary("abs"), "sin": _unary("sin"), "cos": _unary("cos"),
    "integer_pow": _integer_pow, "square": _square, "pow": _pow, "max": _max, "min": _min,
    "lt": _compare("lt"), "le": _compare("le"), "gt": _compare("gt"), "ge": _compare("ge"), "eq": _compare("eq"), "ne": _compare("ne"),
    "dot_general": _dot_general, "broadcast_in_dim": _broadcast_in_dim, "reshape": _reshape, "squeeze": _squeeze,
    "expand_dims": _expand_dims, "transpose": _transpose, "reduce_sum": _reduce("sum"), "reduce_max": _reduce("max"),
    "select_n": _select_n, "convert_element_type": _identity, "copy": _identity, "copy_p": _identity,
    "stop_gradient": _stop_gradient, "gather": _gather,
    "pjit": _call, "jit": _call, "closed_call": _call, "custom_jvp_call": _call, "custom_vjp_call": _call,
}


def _in_shape(self, eqn, k):
    return tuple(eqn.invars[k].aval.shape)


_Interpreter._in_shape = _in_shape


def capture(fn, params, *args, name="loss"):
    """The graph of ``fn(params, *args)`` (a scalar) as a ``gradtrace.Graph``, with ``jax.grad``'s gradients
    of every parameter as reference gradients. Runs in float64 (``jax_enable_x64``)."""
    import jax
    import numpy as np
    jax.config.update("jax_enable_x64", True)
    params = jax.tree_util.tree_map(lambda a: np.asarray(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a), params)
    closed = jax.make_jaxpr(fn)(params, *args)
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
    grads = jax.grad(fn)(params, *args)
    ref = {}
    for (path, g) in jax.tree_util.tree_flatten_with_path(grads)[0]:
        g = np.asarray(g, dtype=np.float64)
        ref[_path_name(path)] = number(g) if g.ndim == 0 else {"shape": list(g.shape), "data": _map(g.tolist())}
    doc = {"format": "gradtrace-graph/2", "output": out.node, "source": {"framework": "jax", "version": jax.__version__},
           "nodes": b.nodes, "reference": {"grads": ref, "tolerance": 1e-9}}
    return Graph(doc)
