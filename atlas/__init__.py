"""Atlas: a compiler that fits code to one machine."""

__version__ = "0.1.0"


def load(path):
    """Load a compiled artefact folder; its functions become attributes."""
    from .machine.runtime import load as _load

    return _load(path)
