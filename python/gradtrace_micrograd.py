"""Hand a micrograd graph to GradTrace: the first bridge's entry points, kept as thin wrappers of
``gradtrace.micrograd`` (standard library only).

    import gradtrace_micrograd as g
    g.to_json(loss)             # the graph as GradTrace's JSON (README: "Graphs as JSON")
    g.write(loss, "loss.json")  # ... saved; then: gradtrace trace loss.json
    g.show(loss)                # the HTML step player, displayed inline by Jupyter

New code: ``gradtrace.micrograd.capture(loss, model=model)`` names parameters by the model's attribute paths.
"""

from gradtrace import Player
from gradtrace.micrograd import capture

__all__ = ["to_json", "write", "show", "Player"]


def to_json(value, model=None):
    """The graph that ends in ``value`` as GradTrace's JSON text."""
    return capture(value, model=model).to_json()


def write(value, path, model=None):
    """Saves ``to_json(value)`` to ``path`` (then ``gradtrace trace path``, ``gradtrace render path -o x.svg``)."""
    return capture(value, model=model).write(path)


def show(value, gradtrace=None, args=(), model=None):
    """Runs ``gradtrace animate`` on the graph of ``value`` and returns a ``Player`` (the HTML player).

    ``gradtrace`` is the executable (default: $GRADTRACE, else the wheel's, else the PATH); ``args`` are more
    options, such as ``["--collapse", "neuron"]``."""
    import os
    old = os.environ.get("GRADTRACE")
    if gradtrace:
        os.environ["GRADTRACE"] = gradtrace
    try:
        return capture(value, model=model).player(*args)
    finally:
        if gradtrace:
            if old is None:
                del os.environ["GRADTRACE"]
            else:
                os.environ["GRADTRACE"] = old
