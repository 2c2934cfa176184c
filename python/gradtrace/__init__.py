"""GradTrace from Python: graphs captured from micrograd, PyTorch and JAX, drawn by the gradtrace executable.

Standard library only at import; each bridge imports its framework when it is used.
"""

import os
import shutil

__all__ = ["executable"]


def executable():
    """The gradtrace executable this package runs: $GRADTRACE, else the one inside the wheel, else the PATH."""
    env = os.environ.get("GRADTRACE")
    if env:
        return env
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bin", "gradtrace")
    if os.access(here, os.X_OK):
        return here
    found = shutil.which("gradtrace")
    if found:
        return found
    raise FileNotFoundError(
        "gradtrace executable not found: set $GRADTRACE, put gradtrace on the PATH, or pip install the gradtrace wheel")
