"""The check stage: parsed files -> one typed module.

The functions are typed by atlas/front/typecheck.py, then the device descriptions
are checked by atlas/front/devices.py, which builds on the same checker.  Every
error is an AtlasError at the offending span, carrying the text of the file
it points into.
"""

from __future__ import annotations

import hashlib

from ..meaning import ir
from .devices import check_devices
from .diagnostics import AtlasError
from .syntax import ModuleA
from .typecheck import check_functions


def check(*asts: ModuleA) -> ir.Module:
    """Check parsed files as one module (they may call each other)."""
    texts = {a.file: a.text for a in asts}
    try:
        functions = check_functions([f for a in asts for f in a.funcs])
    except AtlasError as err:
        src = texts.get(err.span.file) if err.span else None
        raise (err.with_source(src) if src is not None else err) from None
    sources = tuple((a.file, hashlib.sha256(a.text.encode()).hexdigest()) for a in asts)
    return ir.Module(functions, sources, check_devices(asts))
