"""PyTorch models into GradTrace: ``capture(fn, *args, model=None, **kwargs)`` → a ``gradtrace.Graph``.

``fn(*args, **kwargs)`` runs once under a ``torch.overrides.TorchFunctionMode`` that sees every torch call at the
level the user wrote it (``F.linear``, ``x @ w``, ``F.cross_entropy``, tensor methods and operators) with all its
arguments. A call whose arguments depend on a parameter becomes a node (or a few) of GradTrace's registry through
one table, ``FUNCTIONS``; everything else (the data, the labels, masks, ``arange``, values computed under
``no_grad`` or after ``detach``) is computed by PyTorch and enters the graph as a constant where it is used.

Names are PyTorch's: parameters from ``model.named_parameters()`` (``fc1.weight``), the output of each module call
from ``model.named_modules()`` (``fc1``, ``blocks.0.attn``), the other tensor arguments of ``fn`` by ``fn``'s own
parameter names (``x``, ``y``), and an operation held by a local variable of ``fn`` or of a ``forward`` by that
variable (``scores``; inside module ``attn``: ``attn.scores``). Every operation carries the module it ran in
(``"module"``). Leaf values are
written in float64 (exact for a float32 model); PyTorch's own gradients of the parameters go into the graph's
reference gradients, so ``gradtrace check FILE.json`` compares them with GradTrace's.

A call GradTrace cannot express is refused with ``Unsupported``, naming the function and the module it ran in;
it is never dropped. In-place changes to a tensor that depends on a parameter are refused the same way.
"""

import inspect
import math
import sys

from . import Graph, number

__all__ = ["capture", "Unsupported", "FUNCTIONS"]


class Unsupported(ValueError):
    """A torch call (or a form of one) that GradTrace cannot express; the message names it and its module."""


# -- names -----------------------------------------------------------------------------------------------------------
def _func_name(func):
    """The key of a torch callable in ``FUNCTIONS``: ``__add__`` → ``add``, ``T.__get__`` → ``T``, ``fft_fft`` stays."""
    name = getattr(func, "__name__", None) or str(func)
    if name == "__get__":
        name = getattr(getattr(func, "__self__", None), "__name__", name)
    if name.startswith("__r") and name.endswith("__") and name[3:-2] in _REFLECTED:
        return "r" + name[3:-2]
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
    return name.lstrip("_") if name.startswith("_") and not name.startswith("__") else name


_REFLECTED = {"add", "sub", "mul", "truediv", "div", "matmul", "pow"}


def _display(func):
    """A torch callable as a user would write it: ``torch.fft.fft``, ``Tensor.cumsum``, ``torch.nn.functional.elu``."""
    name = getattr(func, "__name__", None) or str(func)
    module = getattr(func, "__module__", None) or ""
    qual = getattr(func, "__qualname__", "") or ""
    if name == "__get__":
        return "Tensor." + getattr(getattr(func, "__self__", None), "__name__", "?")
    for prefix, public in (("torch._C._fft", "torch.fft."), ("torch._C._linalg", "torch.linalg."), ("torch._C._special", "torch.special.")):
        if module == prefix:
            short = public.split(".")[1] + "_"
            return public + (name[len(short):] if name.startswith(short) else name)
    if module == "torch._C._nn" or module == "torch.nn.functional":
        return "torch.nn.functional." + name.lstrip("_")
    if qual.startswith(("TensorBase.", "Tensor.")):
        return "Tensor." + name
    if qual.startswith("_VariableFunctionsClass.") or module == "torch":
        return "torch." + name
    return (module + "." if module else "") + name


# -- the graph being written -------------------------------------------------------------------------------------------
class _Capture:
    """Nodes, and for each tensor that depends on a parameter the node holding it (tensors are kept alive so
    that ``id()`` stays theirs)."""

    def __init__(self, torch, params, modules, args_named):
        self.torch = torch
        self.nodes = []
        self.node_of = {}        # id(tensor) → node id (traced tensors, and consts already written)
        self.traced = set()      # node ids that depend on a parameter
        self.alive = []          # every tensor whose id is a key of node_of
        self.params = params     # id(tensor) → (name, module)
        self.args_named = args_named  # id(tensor) → name (fn's arguments)
        self.leaves = []         # (name, tensor) of input nodes, in id order
        self.names = set()
        self.stack = []          # module paths of the module calls running now
        self.kinds = []          # and their classes' names
        self.modules = modules   # id(module) → path
        self.func = None         # the call being recorded (for messages)
        self.mask = None         # the mask a dropout call drew
        self.version = {}        # id(tensor) → its in-place version counter when its node was recorded

    # -- names --------------------------------------------------------------------------------------------------
    def unique(self, name):
        if name not in self.names:
            self.names.add(name)
            return name
        k = 2
        while "%s_%d" % (name, k) in self.names:
            k += 1
        self.names.add("%s_%d" % (name, k))
        return "%s_%d" % (name, k)

    def where(self):
        if not self.stack:
            return "the top level of fn"
        path, kind = self.stack[-1], self.kinds[-1]
        return "module '%s' (%s)" % (path, kind) if path else "the model (%s)" % kind

    def refuse(self, message):
        raise Unsupported("%s in %s: %s" % (_display(self.func) if self.func is not None else "?", self.where(), message))

    # -- values -------------------------------------------------------------------------------------------------
    def _value(self, t):
        t = t.detach()
        if t.is_complex():
            self.refuse("complex values cannot be drawn")
        a = t.to("cpu", self.torch.float64)
        return number(a.item()) if a.dim() == 0 else {"shape": list(a.shape), "data": _rows(a.tolist())}

    def _keep(self, t, node):
        self.node_of[id(t)] = node
        self.version[id(t)] = t._version
        self.alive.append(t)

    def is_traced(self, x):
        if not isinstance(x, self.torch.Tensor):
            return False
        n = self.node_of.get(id(x))
        if n is not None:
            return n in self.traced
        return id(x) in self.params or (x.requires_grad and x.is_floating_point())

    def node(self, op, inputs, shape=None, name=None, **options):
        n = {"id": len(self.nodes), "name": name, "op": op, "inputs": list(inputs)}
        n.update(options)
        if shape is not None:
            n["shape"] = list(shape)
        if self.stack and self.stack[-1]:
            n["module"] = self.stack[-1]
        if name is None:
            del n["name"]
        self.nodes.append(n)
        self.traced.add(n["id"])
        return n["id"]

    def const(self, value, name=None, role=None):
        """A const node for a Python number or an untraced tensor (one node per tensor)."""
        torch = self.torch
        if isinstance(value, torch.Tensor):
            n = self.node_of.get(id(value))
            if n is not None:
                return n
            named = self.args_named.get(id(value))
            node = {"id": len(self.nodes), "name": name or (self.unique(named) if named else None), "op": "const", "inputs": []}
            integer = not value.is_floating_point()
            r = role or (("labels" if integer else "input") if named else None)
            if r:
                node["role"] = r
            if integer:
                node["dtype"] = "int"
            node["value"] = self._value(value)
            if node["name"] is None:
                del node["name"]
            self.nodes.append(node)
            self._keep(value, node["id"])
            return node["id"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.refuse("an argument %r that is neither a tensor nor a number" % (value,))
        node = {"id": len(self.nodes), "op": "const", "inputs": [], "value": number(value)}
        self.nodes.append(node)
        return node["id"]

    def ref(self, x):
        """The node holding x: traced tensors as recorded, parameters and other leaves that need a gradient as
        input nodes (made on first use), anything else as a const."""
        torch = self.torch
        if isinstance(x, torch.Tensor):
            n = self.node_of.get(id(x))
            if n is not None:
                if x._version != self.version.get(id(x), x._version):
                    # Changed in place since it was recorded, through a view of it or the tensor it views.
                    self.refuse("a tensor used after an in-place change of a tensor it shares memory with "
                                "(a view or its base): write the change out of place")
                return n
            if id(x) in self.params or (x.requires_grad and x.is_floating_point()):
                if id(x) in self.params:
                    name, module = self.params[id(x)]
                else:
                    name, module = self.args_named.get(id(x)) or "input%d" % len(self.leaves), None
                node = {"id": len(self.nodes), "name": self.unique(name), "op": "input",
                        "role": "parameter" if id(x) in self.params else "input"}
                if module:
                    node["module"] = module
                node["value"] = self._value(x)
                self.nodes.append(node)
                self.traced.add(node["id"])
                self._keep(x, node["id"])
                self.leaves.append((node["name"], x))
                return node["id"]
        return self.const(x)

    def reshape(self, n, shape_from, shape_to):
        if tuple(shape_from) == tuple(shape_to):
            return n
        if len(shape_to) == 0:
            return self.node("sum", [n], shape=())  # one element to a number
        return self.node("reshape", [n], shape=shape_to, to=[int(d) for d in shape_to])


def _rows(rows):
    if isinstance(rows, list):
        return [_rows(r) for r in rows]
    return number(rows)


# -- argument binding ----------------------------------------------------------------------------------------------------
def _bind(args, kwargs, names, defaults=None):
    """PyTorch's argument list bound to names: positional first, then keywords, then defaults."""
    out = dict(defaults or {})
    for k, v in zip(names, args):
        out[k] = v
    for k, v in kwargs.items():
        out[k] = v
    return out


def _dims(d, rank):
    if d is None:
        return None
    ds = list(d) if isinstance(d, (list, tuple)) else [d]
    return sorted(int(x) % rank if rank else 0 for x in ds)


def _pair(c, v, what):
    if isinstance(v, (list, tuple)):
        if len(set(v)) != 1:
            c.refuse("%s %s: GradTrace takes the same %s for height and width" % (what, tuple(v), what))
        v = v[0]
    return int(v)


# -- the table: torch function name → rule(capture, args, kwargs, out) → node (or a list for tuple results) -----------------------
def _same(c, args, kwargs, out):
    return c.ref(args[0])


def _unary(op, **fixed):
    def rule(c, args, kwargs, out):
        return c.node(op, [c.ref(args[0])], shape=out.shape, **fixed)
    return rule


def _binary(op, swap=False):
    def rule(c, args, kwargs, out):
        a, b = args[0], args[1] if len(args) > 1 else kwargs.get("other")
        if swap:
            a, b = b, a
        alpha = kwargs.get("alpha", 1)
        bn = c.ref(b)
        if alpha != 1:
            bn = c.node("mul", [bn, c.const(alpha)])
        return c.node(op, [c.ref(a), bn], shape=out.shape)
    return rule


def _pow(reflected=False):
    def rule(c, args, kwargs, out):
        a = args[0]
        b = args[1] if len(args) > 1 else kwargs.get("exponent")
        if reflected:
            a, b = b, a
        if not isinstance(b, c.torch.Tensor) or (not c.is_traced(b) and b.dim() == 0 and not reflected):
            e = float(b)
            return c.node("pow", [c.ref(a)], shape=out.shape, exponent=e)
        return c.node("pow", [c.ref(a), c.ref(b)], shape=out.shape)
    return rule


def _square(c, args, kwargs, out):
    return c.node("pow", [c.ref(args[0])], shape=out.shape, exponent=2.0)


def _rsqrt(c, args, kwargs, out):
    return c.node("pow", [c.ref(args[0])], shape=out.shape, exponent=-0.5)


def _reciprocal(c, args, kwargs, out):
    return c.node("pow", [c.ref(args[0])], shape=out.shape, exponent=-1.0)


def _log1p(c, args, kwargs, out):
    return c.node("log", [c.node("add", [c.ref(args[0]), c.const(1.0)])], shape=out.shape)


def _expm1(c, args, kwargs, out):
    return c.node("sub", [c.node("exp", [c.ref(args[0])]), c.const(1.0)], shape=out.shape)


def _gelu(c, args, kwargs, out):
    approximate = kwargs.get("approximate", args[1] if len(args) > 1 else "none")
    x = c.ref(args[0])
    if approximate == "none":
        return c.node("gelu", [x], shape=out.shape)
    # The tanh form, written out: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    inner = c.node("mul", [c.const(math.sqrt(2 / math.pi)),
                           c.node("add", [x, c.node("mul", [c.const(0.044715), c.node("pow", [x], exponent=3.0)])])])
    return c.node("mul", [c.node("mul", [c.const(0.5), x]), c.node("add", [c.const(1.0), c.node("tanh", [inner])])], shape=out.shape)


def _softplus(c, args, kwargs, out):
    a = _bind(args, kwargs, ["input", "beta", "threshold"], {"beta": 1.0, "threshold": 20.0})
    if a["beta"] != 1:
        c.refuse("softplus with beta=%s (GradTrace's softplus has beta 1)" % a["beta"])
    return c.node("softplus", [c.ref(a["input"])], shape=out.shape)


def _leaky_relu(c, args, kwargs, out):
    a = _bind(args, kwargs, ["input", "negative_slope", "inplace"], {"negative_slope": 0.01, "inplace": False})
    if a["inplace"]:
        _inplace(c, a["input"])
    return c.node("leaky_relu", [c.ref(a["input"])], shape=out.shape, negative_slope=float(a["negative_slope"]))


def _inplace(c, x):
    """inplace=True (nn.ReLU(inplace=True)): the tensor now holds the result, so its node becomes the new one.
    On a view it would change another tensor behind the graph's back: refused."""
    if x._is_view():
        c.refuse("inplace=True on a view of another tensor (write it out of place)")


def _activation(op):
    def rule(c, args, kwargs, out):
        if kwargs.get("inplace") or (len(args) > 1 and args[1] is True):
            _inplace(c, args[0])
        return c.node(op, [c.ref(args[0])], shape=out.shape)
    return rule


def _reduce(op):
    """sum/mean (and max with a dim): one GradTrace reduction per axis (each keeps its axis), then one reshape
    when PyTorch drops them (keepdim=False)."""
    def rule(c, args, kwargs, out):
        x = args[0]
        a = _bind(args[1:], kwargs, ["dim", "keepdim"], {"dim": None, "keepdim": False})
        if op == "max" and len(args) > 1 and isinstance(args[1], c.torch.Tensor):
            return c.node("maximum", [c.ref(x), c.ref(args[1])], shape=out.shape)
        dims = _dims(a["dim"], x.dim())
        n = c.ref(x)
        values = out[0] if isinstance(out, tuple) else out
        if dims is None or (len(dims) == x.dim() and not a["keepdim"]):
            n = c.node(op, [n], shape=())
            if a["keepdim"]:
                n = c.reshape(n, (), values.shape)
            result = n
        else:
            shape = list(x.shape)
            for d in dims:
                shape[d] = 1
                n = c.node(op, [n], axis=d)
            result = c.reshape(n, shape, values.shape)
        if isinstance(out, tuple):  # (values, indices): the indices carry no gradient
            return [result, None]
        return result
    return rule


def _logsumexp(c, args, kwargs, out):
    x = args[0]
    a = _bind(args[1:], kwargs, ["dim", "keepdim"], {"keepdim": False})
    dims = _dims(a["dim"], x.dim())
    if len(dims) != 1:
        c.refuse("logsumexp over %d axes (GradTrace's logsumexp takes one)" % len(dims))
    shape = list(x.shape)
    shape[dims[0]] = 1
    return c.reshape(c.node("logsumexp", [c.ref(x)], axis=dims[0]), shape, out.shape)


def _normalize(c, args, kwargs, out):
    """F.normalize (p = 2): x / max(‖x‖ along dim, eps), written out."""
    a = _bind(args, kwargs, ["input", "p", "dim", "eps"], {"p": 2.0, "dim": 1, "eps": 1e-12})
    if a["p"] != 2:
        c.refuse("p=%s (the Euclidean norm, p=2, is written out)" % a["p"])
    x = a["input"]
    n = c.ref(x)
    norm = c.node("sqrt", [c.node("sum", [c.node("pow", [n], exponent=2.0)], axis=int(a["dim"]) % x.dim())])
    return c.node("div", [n, c.node("clamp", [norm], min=float(a["eps"]))], shape=out.shape)


def _var(std):
    def rule(c, args, kwargs, out):
        x = args[0]
        a = _bind(args[1:], kwargs, ["dim", "unbiased", "keepdim"], {"dim": None, "keepdim": False})
        correction = kwargs.get("correction", 1 if a.get("unbiased", True) else 0)
        if isinstance(a.get("dim"), bool):  # var(x, unbiased)
            correction, a["dim"] = (1 if a["dim"] else 0), None
        dims = _dims(a["dim"], x.dim()) or list(range(x.dim()))
        n = c.ref(x)
        mean = n
        shape = list(x.shape)
        count = 1
        for d in dims:
            count *= shape[d]
            shape[d] = 1
            mean = c.node("mean", [mean], axis=d)
        sq = c.node("pow", [c.node("sub", [n, mean])], exponent=2.0)
        for d in dims:
            sq = c.node("sum", [sq], axis=d)
        v = c.node("div", [sq, c.const(float(count - correction))])
        if std:
            v = c.node("sqrt", [v])
        return c.reshape(v, shape, out.shape)
    return rule


def _view(c, args, kwargs, out):
    x = args[0]
    if not isinstance(out, c.torch.Tensor):
        return None
    return c.reshape(c.ref(x), x.shape, out.shape)


def _flatten(c, args, kwargs, out):
    x = args[0]
    a = _bind(args[1:], kwargs, ["start_dim", "end_dim"], {"start_dim": 0, "end_dim": -1})
    if x.dim() >= 2 and a["start_dim"] == 1 and a["end_dim"] in (-1, x.dim() - 1):
        return c.node("flatten", [c.ref(x)], shape=out.shape)
    return c.reshape(c.ref(x), x.shape, out.shape)


def _expand(c, args, kwargs, out):
    """expand/broadcast_to: x plus zeros of the full shape (the gradient sums back over the stretched axes)."""
    x = args[0]
    n = c.ref(x)
    if tuple(x.shape) == tuple(out.shape):
        return n
    return c.node("add", [n, c.const(c.torch.zeros(out.shape, dtype=c.torch.float64))], shape=out.shape)


def _transpose(c, args, kwargs, out):
    x = args[0]
    a = _bind(args[1:], kwargs, ["dim0", "dim1"])
    d0, d1 = int(a["dim0"]) % x.dim(), int(a["dim1"]) % x.dim()
    if d0 == d1:
        return c.ref(x)
    if x.dim() == 2:
        return c.node("transpose", [c.ref(x)], shape=out.shape)
    return c.node("transpose", [c.ref(x)], shape=out.shape, dim0=min(d0, d1), dim1=max(d0, d1))


def _T(c, args, kwargs, out):
    x = args[0]
    if x.dim() < 2:
        return c.ref(x)
    if x.dim() == 2:
        return c.node("transpose", [c.ref(x)], shape=out.shape)
    return c.node("permute", [c.ref(x)], shape=out.shape, dims=list(range(x.dim() - 1, -1, -1)))


def _mT(c, args, kwargs, out):
    x = args[0]
    if x.dim() == 2:
        return c.node("transpose", [c.ref(x)], shape=out.shape)
    return c.node("transpose", [c.ref(x)], shape=out.shape, dim0=x.dim() - 2, dim1=x.dim() - 1)


def _permute(c, args, kwargs, out):
    x = args[0]
    dims = args[1:] if len(args) > 1 else [kwargs["dims"]]
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = dims[0]
    dims = [int(d) % x.dim() for d in dims]
    if dims == list(range(x.dim())):
        return c.ref(x)
    if x.dim() == 2:
        return c.node("transpose", [c.ref(x)], shape=out.shape)
    return c.node("permute", [c.ref(x)], shape=out.shape, dims=dims)


def _slice_node(c, x, n, axis, start, stop, step=1, drop=False):
    """x[:, …, start:stop:step] on ``axis`` (GradTrace slices leading axes: the axes before it are taken whole)."""
    if not drop and start == 0 and stop == x.shape[axis] and step == 1:
        return n
    slices = [[0, int(x.shape[k]), 1] for k in range(axis)]
    slices.append(int(start) if drop else [int(start), int(stop), int(step)])
    return c.node("slice", [n], slices=slices)


def _split_like(c, x, out, axis):
    """The pieces of split/chunk/unbind/tensor_split: each a slice of x along ``axis``, found by its offset."""
    n = c.ref(x)
    nodes = []
    start = 0
    for piece in out:
        size = piece.shape[axis] if piece.dim() == x.dim() else 1
        drop = piece.dim() < x.dim()
        s = _slice_node(c, x, n, axis, start, start + size, 1, drop)
        if s != n:
            c.nodes[s]["shape"] = list(piece.shape)
        nodes.append(s)
        start += size
    return nodes


def _split(c, args, kwargs, out):
    x = args[0]
    a = _bind(args[1:], kwargs, ["split_size_or_sections", "dim"], {"dim": 0})
    if "split_size" in kwargs:
        a["split_size_or_sections"] = kwargs["split_size"]
    return _split_like(c, x, out, int(a["dim"]) % x.dim())


def _chunk(c, args, kwargs, out):
    x = args[0]
    a = _bind(args[1:], kwargs, ["chunks", "dim"], {"dim": 0})
    return _split_like(c, x, out, int(a["dim"]) % x.dim())


def _unbind(c, args, kwargs, out):
    x = args[0]
    a = _bind(args[1:], kwargs, ["dim"], {"dim": 0})
    return _split_like(c, x, out, int(a["dim"]) % x.dim())


def _narrow(c, args, kwargs, out):
    x = args[0]
    a = _bind(args[1:], kwargs, ["dim", "start", "length"])
    d = int(a["dim"]) % x.dim()
    start = int(a["start"]) % x.shape[d]
    s = _slice_node(c, x, c.ref(x), d, start, start + int(a["length"]))
    return s


def _getitem(c, args, kwargs, out):
    """x[…] with whole numbers, slices, None and ... (a slice node, then a reshape for None); x[arange(N), labels] is pick."""
    torch = c.torch
    x, index = args[0], args[1]
    items = list(index) if isinstance(index, tuple) else [index]
    tensors = [i for i in items if isinstance(i, torch.Tensor) or isinstance(i, list)]
    if tensors:
        if (len(items) == 2 and x.dim() == 2 and all(isinstance(i, torch.Tensor) for i in items)
                and not items[0].is_floating_point() and items[0].dim() == 1
                and torch.equal(items[0].cpu(), torch.arange(x.shape[0])) and not items[1].is_floating_point()
                and items[1].shape == items[0].shape):
            return c.node("pick", [c.ref(x), c.const(items[1], role="labels")], shape=out.shape)
        if (len(items) == 1 and isinstance(items[0], torch.Tensor) and not items[0].is_floating_point()
                and items[0].dtype != torch.bool and x.dim() == 2):
            ids = items[0]
            return c.node("embedding", [c.ref(x), c.const(ids, role="input")], shape=out.shape)
        c.refuse("indexing with tensors (GradTrace maps x[arange(N), labels] to pick and table[ids] to embedding)")
    # Expand ... into whole slices.
    if any(i is Ellipsis for i in items):
        k = items.index(Ellipsis)
        used = sum(1 for i in items if i is not None and i is not Ellipsis)
        items = items[:k] + [slice(None)] * (x.dim() - used) + items[k + 1:]
    slices = []
    axis = 0
    for i in items:
        if i is None:
            continue
        size = x.shape[axis]
        if isinstance(i, bool) or not isinstance(i, (int, slice)):
            c.refuse("the index %r" % (i,))
        if isinstance(i, int):
            slices.append(i % size)
        else:
            start, stop, step = i.indices(size)
            if step < 1:
                c.refuse("a slice with step %d (GradTrace slices step forward)" % step)
            if stop <= start:
                c.refuse("an empty slice")
            slices.append([start, stop, step])
        axis += 1
    while slices and isinstance(slices[-1], list) and slices[-1] == [0, x.shape[len(slices) - 1], 1]:
        slices.pop()
    n = c.ref(x)
    if slices:
        n = c.node("slice", [n], slices=slices)
    kept = []
    for k in range(x.dim()):
        if k < len(slices):
            s = slices[k]
            if isinstance(s, list):
                kept.append((s[1] - s[0] + s[2] - 1) // s[2])
        else:
            kept.append(x.shape[k])
    return c.reshape(n, kept, out.shape)


def _cat(op):
    def rule(c, args, kwargs, out):
        a = _bind(args, kwargs, ["tensors", "dim"], {"dim": 0})
        if "axis" in kwargs:
            a["dim"] = kwargs["axis"]
        ts = list(a["tensors"])
        if len(ts) > 8:
            c.refuse("%d tensors (GradTrace's %s takes 8 at most)" % (len(ts), op))
        rank = out.dim()
        return c.node(op, [c.ref(t) for t in ts], shape=out.shape, axis=int(a["dim"]) % rank)
    return rule


def _where(c, args, kwargs, out):
    a = _bind(args, kwargs, ["condition", "input", "other"])
    cond = a["condition"]
    cn = c.ref(cond)
    return c.node("where", [cn, c.ref(a["input"]), c.ref(a["other"])], shape=out.shape)


def _masked_fill(c, args, kwargs, out):
    a = _bind(args, kwargs, ["input", "mask", "value"])
    mask = a["mask"]
    mn = c.ref(mask)
    v = a["value"]
    vn = c.ref(v) if isinstance(v, c.torch.Tensor) else c.const(float(v))
    return c.node("where", [mn, vn, c.ref(a["input"])], shape=out.shape)


def _compare(op):
    def rule(c, args, kwargs, out):
        other = args[1] if len(args) > 1 else kwargs.get("other")
        return c.node(op, [c.ref(args[0]), c.ref(other)], shape=out.shape)
    return rule


def _clamp(c, args, kwargs, out):
    a = _bind(args[1:], kwargs, ["min", "max"], {"min": None, "max": None})
    n = c.ref(args[0])
    if isinstance(a["min"], c.torch.Tensor) or isinstance(a["max"], c.torch.Tensor):
        if a["min"] is not None:
            n = c.node("maximum", [n, c.ref(a["min"])])
        if a["max"] is not None:
            n = c.node("minimum", [n, c.ref(a["max"])])
        c.nodes[n]["shape"] = list(out.shape)
        return n
    options = {}
    if a["min"] is not None:
        options["min"] = float(a["min"])
    if a["max"] is not None:
        options["max"] = float(a["max"])
    return c.node("clamp", [n], shape=out.shape, **options)


def _clamp_side(side):
    def rule(c, args, kwargs, out):
        v = args[1] if len(args) > 1 else kwargs.get(side)
        if isinstance(v, c.torch.Tensor):
            return c.node("maximum" if side == "min" else "minimum", [c.ref(args[0]), c.ref(v)], shape=out.shape)
        return c.node("clamp", [c.ref(args[0])], shape=out.shape, **{side: float(v)})
    return rule


def _matmul(c, args, kwargs, out):
    a, b = args[0], args[1] if len(args) > 1 else kwargs.get("other", kwargs.get("mat2"))
    an, bn = c.ref(a), c.ref(b)
    if a.dim() == 1:
        an = c.node("reshape", [an], to=[1, a.shape[0]])
    if b.dim() == 1:
        bn = c.node("reshape", [bn], to=[b.shape[0], 1])
    n = c.node("matmul", [an, bn])
    shape = list(out.shape)
    if a.dim() == 1 or b.dim() == 1:  # the added axis of size 1 dropped again
        return c.node("reshape", [n], shape=shape, to=shape) if shape else c.node("sum", [n], shape=())
    c.nodes[n]["shape"] = shape
    return n


def _rmatmul(c, args, kwargs, out):
    return _matmul(c, [args[1], args[0]], {}, out)


def _linear(c, args, kwargs, out):
    a = _bind(args, kwargs, ["input", "weight", "bias"], {"bias": None})
    ins = [c.ref(a["input"]), c.ref(a["weight"])]
    if a["bias"] is not None:
        ins.append(c.ref(a["bias"]))
    return c.node("linear", ins, shape=out.shape)


def _conv2d(c, args, kwargs, out):
    a = _bind(args, kwargs, ["input", "weight", "bias", "stride", "padding", "dilation", "groups"],
              {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1})
    if _pair(c, a["dilation"], "dilation") != 1 or a["groups"] != 1:
        c.refuse("dilation %s, groups %s (GradTrace's conv2d has dilation 1 and groups 1)" % (a["dilation"], a["groups"]))
    padding = a["padding"]
    if padding == "valid":
        padding = 0
    elif padding == "same":
        k = a["weight"].shape[-1]
        if k % 2 == 0 or a["weight"].shape[-2] != k:
            c.refuse("padding='same' with kernel %s" % (tuple(a["weight"].shape[-2:]),))
        padding = k // 2
    if a["input"].dim() != 4:
        c.refuse("an input of rank %d (GradTrace's conv2d takes [N, C, H, W])" % a["input"].dim())
    ins = [c.ref(a["input"]), c.ref(a["weight"])]
    if a["bias"] is not None:
        ins.append(c.ref(a["bias"]))
    return c.node("conv2d", ins, shape=out.shape, stride=_pair(c, a["stride"], "stride"), padding=_pair(c, padding, "padding"))


def _pool(op):
    def rule(c, args, kwargs, out):
        a = _bind(args, kwargs, ["input", "kernel_size", "stride", "padding"], {"stride": None, "padding": 0})
        if _pair(c, a["padding"], "padding") != 0:
            c.refuse("padding %s (GradTrace's %s has no padding)" % (a["padding"], op))
        for key in ("dilation",):
            if key in kwargs and _pair(c, kwargs[key], key) != 1:
                c.refuse("%s=%s" % (key, kwargs[key]))
        if kwargs.get("ceil_mode") or kwargs.get("return_indices") or kwargs.get("divisor_override"):
            c.refuse("ceil_mode, return_indices or divisor_override")
        k = _pair(c, a["kernel_size"], "kernel_size")
        stride = a["stride"]
        options = {"kernel_size": k}
        if stride is not None and stride != [] and stride != ():
            options["stride"] = _pair(c, stride, "stride")
        return c.node(op, [c.ref(a["input"])], shape=out.shape, **options)
    return rule


def _embedding(c, args, kwargs, out):
    a = _bind(args, kwargs, ["input", "weight", "padding_idx", "max_norm"], {"padding_idx": None, "max_norm": None})
    if a["padding_idx"] is not None or a["max_norm"] is not None or kwargs.get("scale_grad_by_freq"):
        c.refuse("padding_idx, max_norm or scale_grad_by_freq (GradTrace's embedding takes rows as they are)")
    return c.node("embedding", [c.ref(a["weight"]), c.const(a["input"], role="input")], shape=out.shape)


def _embedding_bag(c, args, kwargs, out):
    a = _bind(args, kwargs, ["input", "weight", "offsets", "max_norm", "norm_type", "scale_grad_by_freq", "mode",
                             "sparse", "per_sample_weights", "include_last_offset", "padding_idx"],
              {"offsets": None, "mode": "mean", "max_norm": None, "per_sample_weights": None, "padding_idx": None})
    ids = a["input"]
    if ids.dim() != 2 or a["offsets"] is not None or a["per_sample_weights"] is not None or a["max_norm"] is not None \
            or a["padding_idx"] is not None or a["mode"] not in ("sum", "mean"):
        c.refuse("an embedding bag other than mode='sum' or 'mean' over the rows of a 2-D input without offsets")
    rows = c.node("embedding", [c.ref(a["weight"]), c.const(ids, role="input")])
    n = c.node(a["mode"], [rows], axis=1)
    return c.node("reshape", [n], shape=out.shape, to=list(out.shape))


def _layer_norm(c, args, kwargs, out):
    a = _bind(args, kwargs, ["input", "normalized_shape", "weight", "bias", "eps"], {"weight": None, "bias": None, "eps": 1e-5})
    x = a["input"]
    shape = tuple(a["normalized_shape"]) if isinstance(a["normalized_shape"], (list, tuple)) else (a["normalized_shape"],)
    n = c.ref(x)
    ins_extra = [a["weight"], a["bias"]]
    if len(shape) > 1:
        # Normalized over several trailing axes: over one axis of their product, and back.
        flat = 1
        for d in shape:
            flat *= d
        n = c.node("reshape", [n], to=list(x.shape[:x.dim() - len(shape)]) + [flat])
    ins = [n]
    for t in ins_extra:
        if t is None:
            if len(ins) == 2 and ins_extra[1] is not None:
                c.refuse("a bias without a weight")
            continue
        tn = c.ref(t)
        if len(shape) > 1:
            tn = c.node("reshape", [tn], to=[t.numel()])
        ins.append(tn)
    y = c.node("layer_norm", ins, eps=float(a["eps"]))
    if len(shape) > 1:
        return c.node("reshape", [y], shape=out.shape, to=list(out.shape))
    c.nodes[y]["shape"] = list(out.shape)
    return y


def _batch_norm(c, args, kwargs, out):
    a = _bind(args, kwargs, ["input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"],
              {"weight": None, "bias": None, "training": False, "momentum": 0.1, "eps": 1e-5})
    x = a["input"]
    if x.dim() not in (2, 4):
        c.refuse("an input of rank %d (GradTrace's batch_norm takes [N, C] or [N, C, H, W])" % x.dim())
    if a["training"] or a["running_mean"] is None:
        if a["weight"] is None and a["bias"] is not None:
            c.refuse("a bias without a weight")
        ins = [c.ref(x)] + [c.ref(t) for t in (a["weight"], a["bias"]) if t is not None]
        return c.node("batch_norm", ins, shape=out.shape, eps=float(a["eps"]))
    # Evaluation mode: the running statistics are constants, (x − mean)/√(var + eps)·weight + bias.
    torch = c.torch
    C = x.shape[1]
    view = [C] + [1] * (x.dim() - 2)
    mean = a["running_mean"].detach().to(torch.float64).reshape(view)
    scale = (1.0 / torch.sqrt(a["running_var"].detach().to(torch.float64) + float(a["eps"]))).reshape(view)
    n = c.node("mul", [c.node("sub", [c.ref(x), c.const(mean)]), c.const(scale)])
    if a["weight"] is not None:
        n = c.node("mul", [n, c.reshape(c.ref(a["weight"]), [C], view)])
    if a["bias"] is not None:
        n = c.node("add", [n, c.reshape(c.ref(a["bias"]), [C], view)])
    c.nodes[n]["shape"] = list(out.shape)
    return n


def _softmax(op):
    def rule(c, args, kwargs, out):
        a = _bind(args[1:], kwargs, ["dim"], {"dim": None})
        if a["dim"] is None:
            c.refuse("%s without dim" % op)
        return c.node(op, [c.ref(args[0])], shape=out.shape, axis=int(a["dim"]) % max(args[0].dim(), 1))
    return rule


def _reduction(c, a, n, count, out):
    r = a.get("reduction", "mean")
    if a.get("size_average") is not None or a.get("reduce") is not None:
        c.refuse("size_average/reduce (write reduction=)")
    if r == "mean":
        return n
    if r == "sum":
        return c.node("mul", [n, c.const(float(count))], shape=out.shape)
    c.refuse("reduction='%s' (GradTrace's losses are means; 'sum' is taken too)" % r)


def _class_loss(op):
    def rule(c, args, kwargs, out):
        a = _bind(args, kwargs, ["input", "target", "weight", "size_average", "ignore_index", "reduce", "reduction", "label_smoothing"],
                  {"weight": None, "ignore_index": -100, "reduction": "mean", "label_smoothing": 0.0})
        x, t = a["input"], a["target"]
        if a["weight"] is not None or a["label_smoothing"]:
            c.refuse("class weights or label smoothing")
        if x.dim() != 2:
            c.refuse("an input of rank %d (GradTrace's %s takes [N, C])" % (x.dim(), op))
        if t.is_floating_point():
            if op != "cross_entropy" or t.shape != x.shape:
                c.refuse("probability targets")
            # Class probabilities: −mean over rows of Σ target·log_softmax(input).
            lp = c.node("log_softmax", [c.ref(x)], axis=1)
            s = c.node("sum", [c.node("mul", [c.ref(t), lp])], axis=1)
            n = c.node("neg", [c.node("mean", [s])], shape=())
        else:
            if bool((t == a["ignore_index"]).any()):
                c.refuse("a target equal to ignore_index %d" % a["ignore_index"])
            n = c.node(op, [c.ref(x), c.const(t, role="labels")], shape=())
        return _reduction(c, a, n, x.shape[0], out)
    return rule


def _mse_loss(c, args, kwargs, out):
    a = _bind(args, kwargs, ["input", "target", "size_average", "reduce", "reduction"], {"reduction": "mean"})
    if tuple(a["input"].shape) != tuple(a["target"].shape):
        c.refuse("input %s and target %s of different shapes" % (tuple(a["input"].shape), tuple(a["target"].shape)))
    n = c.node("mse_loss", [c.ref(a["input"]), c.ref(a["target"])], shape=())
    return _reduction(c, a, n, a["input"].numel(), out)


def _bce(logits):
    def rule(c, args, kwargs, out):
        a = _bind(args, kwargs, ["input", "target", "weight", "size_average", "reduce", "reduction"], {"weight": None, "reduction": "mean"})
        if a["weight"] is not None or kwargs.get("pos_weight") is not None:
            c.refuse("weight or pos_weight")
        p = c.ref(a["input"])
        if logits:
            p = c.node("sigmoid", [p])
        n = c.node("binary_cross_entropy", [p, c.ref(a["target"])], shape=())
        return _reduction(c, a, n, a["input"].numel(), out)
    return rule


def _dropout(c, args, kwargs, out):
    """Dropout as it happened: x times the mask PyTorch drew (a constant, 0 or 1/(1 − p))."""
    a = _bind(args, kwargs, ["input", "p", "training", "inplace"], {"p": 0.5, "training": True, "inplace": False})
    if a["inplace"]:
        _inplace(c, a["input"])
    mask = c.mask
    if not a["training"] or a["p"] == 0 or mask is None:
        return c.ref(a["input"])
    torch = c.torch
    keep = (mask != 0).to(torch.float64) / (1.0 - float(a["p"]))
    m = c.const(keep, name=c.unique((c.stack[-1] + "." if c.stack and c.stack[-1] else "") + "dropout_mask"))
    return c.node("mul", [c.ref(a["input"]), m], shape=out.shape)


def _sdpa(c, args, kwargs, out):
    """scaled_dot_product_attention written out: softmax(q @ kᵀ · scale + mask) @ v."""
    a = _bind(args, kwargs, ["query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale"],
              {"attn_mask": None, "dropout_p": 0.0, "is_causal": False, "scale": None})
    if a["dropout_p"]:
        c.refuse("dropout_p > 0")
    q, k, v = a["query"], a["key"], a["value"]
    scale = a["scale"] if a["scale"] is not None else 1.0 / math.sqrt(q.shape[-1])
    kt = c.node("transpose", [c.ref(k)], dim0=k.dim() - 2, dim1=k.dim() - 1) if k.dim() > 2 else c.node("transpose", [c.ref(k)])
    s = c.node("mul", [c.node("matmul", [c.ref(q), kt]), c.const(float(scale))])
    torch = c.torch
    L, S = q.shape[-2], k.shape[-2]
    if a["is_causal"]:
        allowed = torch.ones(L, S, dtype=torch.bool).tril()
        s = c.node("where", [c.const(allowed.to(torch.float64)), s, c.const(float("-inf"))])
    m = a["attn_mask"]
    if m is not None:
        if m.dtype == torch.bool:
            s = c.node("where", [c.const(m.to(torch.float64)), s, c.const(float("-inf"))])
        else:
            s = c.node("add", [s, c.ref(m)])
    w = c.node("softmax", [s], axis=q.dim() - 1)
    return c.node("matmul", [w, c.ref(v)], shape=out.shape)


def _refuse_inplace(c, args, kwargs, out):
    c.refuse("an in-place change that GradTrace cannot follow (of a view, of a parameter, or one that makes a constant "
             "depend on a parameter): write it out of place")


FUNCTIONS = {
    # arithmetic (operators and methods), Python numbers included
    "add": _binary("add"), "radd": _binary("add", swap=True), "sub": _binary("sub"), "subtract": _binary("sub"),
    "rsub": _binary("sub", swap=True), "mul": _binary("mul"), "multiply": _binary("mul"), "rmul": _binary("mul", swap=True),
    "div": _binary("div"), "divide": _binary("div"), "true_divide": _binary("div"), "truediv": _binary("div"),
    "rtruediv": _binary("div", swap=True), "rdiv": _binary("div", swap=True),
    "neg": _unary("neg"), "negative": _unary("neg"), "pos": _same,
    "pow": _pow(), "rpow": _pow(reflected=True), "float_power": _pow(), "square": _square, "rsqrt": _rsqrt,
    "reciprocal": _reciprocal, "sqrt": _unary("sqrt"), "exp": _unary("exp"), "log": _unary("log"), "log1p": _log1p,
    "expm1": _expm1, "abs": _unary("abs"), "sin": _unary("sin"), "cos": _unary("cos"), "tan": _unary("tan"),
    # activations
    "relu": _activation("relu"), "tanh": _unary("tanh"), "sigmoid": _unary("sigmoid"), "gelu": _gelu,
    "silu": _activation("silu"), "softplus": _softplus, "leaky_relu": _leaky_relu,
    "softmax": _softmax("softmax"), "log_softmax": _softmax("log_softmax"),
    # reductions
    "sum": _reduce("sum"), "mean": _reduce("mean"), "max": _reduce("max"), "amax": _reduce("max"),
    "var": _var(False), "std": _var(True), "logsumexp": _logsumexp, "normalize": _normalize,
    # shapes
    "view": _view, "reshape": _view, "view_as": _view, "reshape_as": _view, "unsqueeze": _view, "squeeze": _view,
    "flatten": _flatten, "expand": _expand, "expand_as": _expand, "broadcast_to": _expand,
    "transpose": _transpose, "swapaxes": _transpose, "swapdims": _transpose, "t": _T, "T": _T, "mT": _mT, "permute": _permute,
    "split": _split, "chunk": _chunk, "unbind": _unbind, "narrow": _narrow, "getitem": _getitem,
    "cat": _cat("concat"), "concat": _cat("concat"), "concatenate": _cat("concat"), "stack": _cat("stack"),
    "contiguous": _same, "clone": _same, "to": _same, "float": _same, "double": _same, "type_as": _same, "cpu": _same,
    # selections and masks
    "where": _where, "masked_fill": _masked_fill,
    "lt": _compare("lt"), "le": _compare("le"), "gt": _compare("gt"), "ge": _compare("ge"), "eq": _compare("eq"), "ne": _compare("ne"),
    "less": _compare("lt"), "less_equal": _compare("le"), "greater": _compare("gt"), "greater_equal": _compare("ge"),
    "not_equal": _compare("ne"),
    "clamp": _clamp, "clip": _clamp, "clamp_min": _clamp_side("min"), "clamp_max": _clamp_side("max"),
    "maximum": _binary("maximum"), "minimum": _binary("minimum"),
    # layers
    "linear": _linear, "matmul": _matmul, "rmatmul": _rmatmul, "mm": _matmul, "bmm": _matmul,
    "conv2d": _conv2d, "max_pool2d": _pool("max_pool2d"), "avg_pool2d": _pool("avg_pool2d"),
    "embedding": _embedding, "embedding_bag": _embedding_bag, "layer_norm": _layer_norm, "batch_norm": _batch_norm,
    "dropout": _dropout, "scaled_dot_product_attention": _sdpa,
    # losses
    "cross_entropy": _class_loss("cross_entropy"), "nll_loss": _class_loss("nll_loss"), "mse_loss": _mse_loss,
    "binary_cross_entropy": _bce(False), "binary_cross_entropy_with_logits": _bce(True),
    # in place
    "setitem": _refuse_inplace,
}

# In-place arithmetic that is taken when its target is already a node: the node of the target becomes the result.
_IN_PLACE = {"iadd": "add", "add_": "add", "isub": "sub", "sub_": "sub", "imul": "mul", "mul_": "mul",
             "itruediv": "div", "idiv": "div", "div_": "div"}

# Calls that give a non-tensor, or a tensor that carries no gradient by nature, are never nodes.
_UNTRACED = {"detach", "data", "grad", "requires_grad_", "size", "dim", "numel", "item", "tolist", "numpy", "argmax",
             "argmin", "argsort", "nonzero", "sign", "round", "floor", "ceil", "long", "int", "bool", "zeros_like",
             "ones_like", "empty_like", "rand_like", "randn_like", "full_like", "new_zeros", "new_ones", "new_empty",
             "new_full", "new_tensor", "shape", "dtype", "device", "is_leaf", "grad_fn", "requires_grad", "ndim",
             "is_floating_point", "is_complex", "stride", "storage_offset", "data_ptr", "element_size", "repr",
             "format", "len", "bool", "hash", "get", "retain_grad", "register_hook", "backward"}


def _tensors(x, torch):
    if isinstance(x, torch.Tensor):
        yield x
    elif isinstance(x, (list, tuple)):
        for y in x:
            yield from _tensors(y, torch)
    elif isinstance(x, dict):
        for y in x.values():
            yield from _tensors(y, torch)


def _make_mode(torch, cap):
    from torch.overrides import TorchFunctionMode

    class Recorder(TorchFunctionMode):
        """Runs every torch call, then writes it into the graph when one of its arguments depends on a parameter."""

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            name = _func_name(func)
            traced = torch.is_grad_enabled() and name not in _UNTRACED and any(
                cap.is_traced(t) for t in _tensors((args, kwargs), torch))
            mask = None
            if traced and name == "dropout":
                # The mask PyTorch draws: dropout of ones from the same random state, then the call itself.
                before = torch.get_rng_state()
                out = func(*args, **kwargs)
                after = torch.get_rng_state()
                torch.set_rng_state(before)
                x = args[0] if args else kwargs["input"]
                mask = func(torch.ones_like(x), *args[1:], **kwargs)
                torch.set_rng_state(after)
            else:
                out = func(*args, **kwargs)
            if not traced:
                if name.endswith("_") and not name.endswith("__") and args and isinstance(args[0], torch.Tensor):
                    cap.node_of.pop(id(args[0]), None)  # a constant changed in place: written again when next used
                return out
            outs = list(_tensors(out, torch))
            if not outs:
                return out
            cap.func = func
            rule = FUNCTIONS.get(name)
            if name in _IN_PLACE:
                # x += y on a tensor that is already a node (and not a view): the node of x becomes x + y.
                x = args[0]
                if not (isinstance(x, torch.Tensor) and cap.node_of.get(id(x)) in cap.traced) or x._is_view():
                    _refuse_inplace(cap, args, kwargs, out)
                rule = FUNCTIONS[_IN_PLACE[name]]
            elif name.endswith("_") and not name.endswith("__") or name.startswith("i") and name[1:] in FUNCTIONS and name not in FUNCTIONS:
                _refuse_inplace(cap, args, kwargs, out)
            if rule is None:
                cap.refuse("GradTrace has no function for it (gradtrace.torch.FUNCTIONS lists the %d calls it maps)" % len(FUNCTIONS))
            if not any(t.is_floating_point() for t in outs) and rule not in _COMPARISONS:
                return out  # integer results (indices) carry no gradient: constants when used
            cap.mask = mask
            if args and out is args[0] and id(out) in cap.version:
                cap.version[id(out)] = out._version  # the target of an in-place call: its old node is the rule's input
            nodes = rule(cap, args, kwargs, out)
            if isinstance(out, torch.Tensor):
                cap._keep(out, nodes)
                cap.traced.add(nodes)
            else:
                for t, n in zip(out, nodes if isinstance(nodes, list) else [nodes]):
                    if n is not None and isinstance(t, torch.Tensor):
                        if id(t) not in cap.node_of:
                            cap._keep(t, n)
                        cap.traced.add(n)
            return out

    return Recorder()


_COMPARISONS = {FUNCTIONS[k] for k in ("lt", "le", "gt", "ge", "eq", "ne", "less", "less_equal", "greater", "greater_equal", "not_equal")}


def _free_variables(fn):
    """(name, value) of the variables fn reads from its closure and its globals, in order."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    found = []
    for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
        try:
            found.append((name, cell.cell_contents))
        except ValueError:  # an empty cell
            continue
    scope = getattr(fn, "__globals__", {})
    return found + [(name, scope[name]) for name in code.co_names if name in scope]


def _closure_module(fn, torch):
    """The modules with parameters that fn reads from its closure or its globals (``lambda x: crit(model(x), y)``):
    one is the model itself; several are named by their variable names (``encoder.fc.weight``); None when none."""
    found = _free_variables(fn)
    modules, seen = [], set()
    for name, value in found:
        if isinstance(value, torch.nn.Module) and id(value) not in seen and any(True for _ in value.parameters()):
            seen.add(id(value))
            modules.append((name, value))
    if not modules:
        return None
    if len(modules) == 1:
        return modules[0][1]
    return torch.nn.ModuleDict(dict(modules))


def _argument_names(fn, args, kwargs, torch):
    """id(tensor) → name for the tensors among fn's arguments: fn's own parameter names (x, y), nested ones dotted."""
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        items = list(bound.arguments.items())
    except (TypeError, ValueError):
        items = [("arg%d" % (k + 1), a) for k, a in enumerate(args)] + list(kwargs.items())
    names = {}
    def walk(prefix, x):
        if isinstance(x, torch.Tensor):
            names.setdefault(id(x), prefix)
        elif isinstance(x, (list, tuple)):
            for k, y in enumerate(x):
                walk("%s.%d" % (prefix, k), y)
        elif isinstance(x, dict):
            for k, y in x.items():
                walk("%s.%s" % (prefix, k), y)
    for name, value in items:
        walk(name, value)
    return names


def capture(fn, *args, model=None, name="loss", **kwargs):
    """The graph of ``fn(*args, **kwargs)`` (a scalar loss) as a ``gradtrace.Graph``, with PyTorch's gradients of
    every parameter as reference gradients.

    ``model`` (an ``nn.Module``) names the parameters and modules; without it, ``fn`` itself when it is a module,
    else the first module among the arguments, else the modules ``fn`` reads from its closure or its globals.
    Raises ``Unsupported`` for a call GradTrace cannot express."""
    import torch
    if model is None:
        if isinstance(fn, torch.nn.Module):
            model = fn
        else:
            model = next((a for a in list(args) + list(kwargs.values()) if isinstance(a, torch.nn.Module)), None)
        if model is None:
            model = _closure_module(fn, torch)
    params, modules = {}, {}
    if model is not None:
        for pname, p in model.named_parameters():
            params[id(p)] = (pname, pname.rpartition(".")[0])
        for mname, m in model.named_modules():
            modules[id(m)] = mname
    # Tensors that need a gradient and that fn reads by name from its closure or globals (makemore's C, W1, b1)
    # are parameters named by their variable names.
    for vname, value in _free_variables(fn):
        if isinstance(value, torch.Tensor) and value.requires_grad and value.is_floating_point() and id(value) not in params:
            params[id(value)] = (vname, "")
    cap = _Capture(torch, params, modules, _argument_names(fn, args, kwargs, torch))
    # Parameters that are also fn's arguments keep their parameter names.
    for key in params:
        cap.args_named.pop(key, None)

    def pre(module, inputs):
        known = id(module) in cap.modules
        cap.stack.append(cap.modules[id(module)] if known else (cap.stack[-1] if cap.stack else ""))
        cap.kinds.append(type(module).__name__ if known or not cap.kinds else cap.kinds[-1])

    def post(module, inputs, output):
        path = cap.stack.pop() if cap.stack else ""
        if cap.kinds:
            cap.kinds.pop()
        if not path or id(module) not in cap.modules:
            return
        for t in _tensors(output, torch):
            n = cap.node_of.get(id(t))
            if n is not None and n in cap.traced and cap.nodes[n]["op"] not in ("input", "const") and "name" not in cap.nodes[n]:
                cap.nodes[n]["name"] = cap.unique(path)
            break

    from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
    # The user's own variable names: when fn or a model's forward returns, its local variables name the
    # operations they hold that have no name yet (inside module attn: attn.scores), the returned value excepted
    # (its module names it).
    fn_code = getattr(fn, "__code__", None)

    def profile(frame, event, result):
        if event != "return" or (frame.f_code is not fn_code and frame.f_code.co_name != "forward"):
            return
        local = frame.f_locals
        if frame.f_code is fn_code:
            prefix = ""
        else:
            # The module is the forward's first argument, whatever it is called (`self` by convention).
            first = frame.f_code.co_varnames[0] if frame.f_code.co_argcount else None
            path = cap.modules.get(id(local.get(first))) if first else None
            if path is None:
                return
            prefix = path + "." if path else ""
        returned = {id(t) for t in _tensors(result, torch)}
        code = frame.f_code
        arguments = set(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount
                                         + bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)])
        for var, value in local.items():
            if var in arguments or var.startswith("_") or not isinstance(value, torch.Tensor) or id(value) in returned:
                continue
            n = cap.node_of.get(id(value))
            if n is not None and n in cap.traced and cap.nodes[n]["op"] not in ("input", "const") and "name" not in cap.nodes[n]:
                cap.nodes[n]["name"] = cap.unique(prefix + var)

    hooks = [register_module_forward_pre_hook(pre), register_module_forward_hook(post)]
    previous = sys.getprofile()
    try:
        sys.setprofile(profile)
        with _make_mode(torch, cap):
            out = fn(*args, **kwargs)
    finally:
        sys.setprofile(previous)
        for h in hooks:
            h.remove()
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        raise Unsupported("fn returned %s; capture a scalar loss (a tensor with one element)"
                          % (("a tensor of shape %s" % (tuple(out.shape),)) if isinstance(out, torch.Tensor) else type(out).__name__))
    n = cap.node_of.get(id(out))
    if n is None or n not in cap.traced:
        raise Unsupported("the result does not depend on any parameter (or was computed under no_grad/detach)")
    if out.dim() != 0:
        n = cap.node("sum", [n], shape=())
    if "name" not in cap.nodes[n]:
        cap.nodes[n]["name"] = cap.unique(name)
    # PyTorch's own gradients, without touching .grad.
    leaves = [t for _, t in cap.leaves]
    grads = torch.autograd.grad(out.reshape(()), leaves, allow_unused=True)
    ref = {}
    for (lname, t), g in zip(cap.leaves, grads):
        g = torch.zeros_like(t) if g is None else g
        ref[lname] = cap._value(g)
    low = min((t.dtype for t in leaves), key=lambda d: torch.finfo(d).bits) if leaves else torch.float64
    tolerance = {64: 1e-9, 32: 1e-3}.get(torch.finfo(low).bits, 1e-1)
    doc = {"format": "gradtrace-graph/2", "output": n, "source": {"framework": "torch", "version": torch.__version__},
           "nodes": cap.nodes, "reference": {"grads": ref, "tolerance": tolerance}}
    return Graph(doc)
