"""Loading libgnnpool_torch.so and calling its ops (``torch.ops.gnnpool.*``)."""

import os

import torch

_LIBRARY = "libgnnpool_torch.so"
_loaded = None


def library_path():
    """Where the op library is: $GNNPOOL_TORCH_LIBRARY, next to this package, or the installed one."""
    env = os.environ.get("GNNPOOL_TORCH_LIBRARY")
    if env:
        return env
    local = os.path.join(os.path.dirname(os.path.abspath(__file__)), _LIBRARY)
    if os.path.exists(local):
        return local
    try:
        from ._library import PATH  # written by `cmake --install`
        return PATH
    except ImportError:
        pass
    raise ImportError(
        "gnnpool_torch: cannot find " + _LIBRARY + ". Build gnnpool with -DGNNPOOL_WITH_TORCH=ON and set "
        "GNNPOOL_TORCH_LIBRARY to the library's path (for example build/release/src/torch/" + _LIBRARY + ")")


def load_library(path=None):
    """Loads the op library (once); returns its path."""
    global _loaded
    if _loaded is None:
        path = path or library_path()
        if not os.path.exists(path):
            raise ImportError("gnnpool_torch: " + path + " does not exist")
        torch.ops.load_library(path)
        _loaded = path
    return _loaded


def ops():
    load_library()
    return torch.ops.gnnpool


def structure_cache(capacity=None):
    """How many edge_index conversions each dtype keeps (default 4); sets it when given (0: off).

    Returns the capacity before the call. Turn the cache off for code that changes an edge_index
    tensor in place behind torch's back (through a NumPy array that shares its memory).
    """
    return ops().structure_cache(-1 if capacity is None else int(capacity))


def buffer_cache(capacity=None):
    """How many spare buffer sets the bridge keeps per kind of layer call (default 2); sets it when
    given (0: off, and frees what the cache holds).

    Returns the capacity before the call. The buffers are the outputs, caches and gradients of
    finished calls; the next step writes into them instead of allocating again.
    """
    return ops().buffer_cache(-1 if capacity is None else int(capacity))


def _value(key, v):
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        if ";" in v or "=" in v:
            raise ValueError("gnnpool_torch: option %s=%r may not contain ';' or '='" % (key, v))
        return v
    if isinstance(v, (list, tuple)):
        return ",".join(str(int(i)) for i in v)
    raise TypeError("gnnpool_torch: option %s has the unsupported type %s" % (key, type(v).__name__))


def config(**options):
    """The options text of a layer: "key=value;key=value"."""
    return ";".join("%s=%s" % (k, _value(k, v)) for k, v in options.items())
