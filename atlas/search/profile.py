"""Input profiles: the representative inputs a search times candidates on.

A profile is a YAML file that describes sample inputs for one function
(docs/profile.md has the format, with examples):

    function: classify
    sizes: [1048576]                 # values of the length parameter: one sample each
    seed: 1                          # optional, default 0
    scalars: {a: 1.5}                # non-length scalars: a value or a distribution
    arrays:                          # an independent distribution per array
      x: {uniform: [-1.0, 1.0]}
    records:                         # or a joint one over arrays of one length
      - {weight: 85, port: 443, size: {uniform: [1001, 1500]}, flags: 0}
      - ...

`load_profile(path)` reads and checks the structure (keys, distributions,
weights); `Profile.inputs(fn)` binds it to a checked function, checks every
name and value against the signature, and draws one argument list per size.
`generated(fn)` gives the inputs used when there is no profile.  Every error
is an AtlasError pointing into the profile: `file:line:col`, what was
expected and what was found, the line and a caret.

Drawing is vectorised numpy, seeded per (seed, sample, parameter), so a
sample does not change when another parameter or size is added.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, TypeGuard, Union

import numpy as np
import yaml

from ..meaning import ir
from ..front.diagnostics import AtlasError
from ..logic import requires
from ..meaning.interp import dtype, evaluate, to_value

FORMAT = "atlas-profile/1"  # part of the digest: bump it when drawing changes
ALIGN = 64  # bytes; every array's data starts on this boundary
MAX_ELEMENTS = 1 << 32  # per array; a larger length is refused, not allocated
DEFAULT_INT, DEFAULT_FLOAT, DEFAULT_BOOL = 3, 1.5, True  # scalars nobody mentions
# An integer parameter nobody mentions is also measured at this (at most
# its type's largest): a modulus, a table size or a threshold is rarely 3,
# and a variant guarded on it, or a branch on it, behaves otherwise there
LARGE_INT = 1000

_TOP_KEYS = ("function", "sizes", "seed", "scalars", "arrays", "records")
_DIST_KEYS = ("value", "uniform", "choice", "mix")
_MAX_DEPTH = 64


# ---------------------------------------------------------------- distributions


@dataclass(frozen=True)
class Constant:
    value: Union[int, float, bool]
    span: ir.Span | None = None


@dataclass(frozen=True)
class Uniform:
    """Integers: every value in [lo, hi] except `exclude`; floats: [lo, hi)."""

    lo: Union[int, float]
    hi: Union[int, float]
    exclude: tuple = ()
    span: ir.Span | None = None
    lo_span: ir.Span | None = None
    hi_span: ir.Span | None = None
    exclude_spans: tuple = ()


@dataclass(frozen=True)
class Choice:
    """Each element one of `values`, all equally likely."""

    values: tuple
    spans: tuple = ()
    span: ir.Span | None = None


@dataclass(frozen=True)
class Mix:
    """Parts in proportion to their (relative) weights, shuffled together."""

    weights: tuple
    parts: tuple
    span: ir.Span | None = None


Dist = Union[Constant, Uniform, Choice, Mix]


@dataclass(frozen=True)
class Records:
    """A joint distribution over several arrays: each record class gives
    one distribution per field (array); classes in proportion to weights."""

    fields: tuple  # array names, in the order of the first record
    weights: tuple
    entries: tuple  # per class: {field: Dist}
    span: ir.Span | None = None
    field_spans: dict = field(default_factory=dict)  # field -> span of its key in the first record


# ---------------------------------------------------------------- the YAML tree


class _Loader(yaml.SafeLoader):
    """SafeLoader reading floats as YAML 1.2 does: `1e6` and `1.5e-3` are
    numbers (YAML 1.1, PyYAML's default, reads them as strings)."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in rs if tag != "tag:yaml.org,2002:float"]
    for ch, rs in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                  |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                  |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                  |[-+]?\.(?:inf|Inf|INF)
                  |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


@dataclass
class _N:
    """A YAML node: kind 'scalar' (value: the Python value), 'seq' (value:
    list of _N) or 'map' (value: list of (key _N, value _N))."""

    kind: str
    value: Any  # YAML data, by kind: a scalar, a list of _N, or a list of (_N, _N)
    span: ir.Span

    def get(self, key: str):
        for k, v in self.value:
            if k.value == key:
                return k, v
        return None, None

    def plain(self):
        if self.kind == "scalar":
            return self.value
        if self.kind == "seq":
            return [n.plain() for n in self.value]
        return {str(k.value): v.plain() for k, v in self.value}


def _span(file: str, node) -> ir.Span:
    s, e = node.start_mark, node.end_mark
    return ir.Span(file, s.line + 1, s.column + 1, e.line + 1, e.column + 1)


def _wrap(loader, node, file: str, text: str, depth: int = 0) -> _N:
    span = _span(file, node)
    if depth > _MAX_DEPTH:
        raise AtlasError(span, "the profile nests too deeply (or refers to itself through an alias)", source=text)
    if isinstance(node, yaml.ScalarNode):
        return _N("scalar", loader.construct_object(node), span)
    if isinstance(node, yaml.SequenceNode):
        return _N("seq", [_wrap(loader, n, file, text, depth + 1) for n in node.value], span)
    loader.flatten_mapping(node)  # `<<: *anchor` merges
    pairs: list[tuple[_N, _N]] = []
    seen: dict[object, ir.Span] = {}
    for k, v in node.value:
        key = _wrap(loader, k, file, text, depth + 1)
        if key.kind != "scalar":
            raise AtlasError(key.span, "expected a name as a key, found " + _found(key), source=text)
        if key.value in seen:
            raise AtlasError(
                key.span,
                f"duplicate key '{key.value}'",
                f"it is first given on line {seen[key.value].line}",
                source=text,
            )
        seen[key.value] = key.span
        pairs.append((key, _wrap(loader, v, file, text, depth + 1)))
    return _N("map", pairs, span)


def _found(n: _N) -> str:
    if n.kind == "map":
        return "a mapping"
    if n.kind == "seq":
        return "a list"
    v = n.value
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return "`true`" if v else "`false`"
    if isinstance(v, int):
        return f"the integer {v}"
    if isinstance(v, float):
        return f"the number {v!r}"
    if isinstance(v, str):
        return f"the string '{v}'"
    return f"a {type(v).__name__} ({v})"


def _is_int(v: object) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> TypeGuard[int | float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite(v) -> bool:
    return isinstance(v, int) or math.isfinite(v)


def _suggest(word, choices) -> str | None:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


# ---------------------------------------------------------------- the profile


class Profile:
    """A loaded profile.  `inputs(fn)` draws its samples for a function."""

    def __init__(self, path: str, text: str, root: _N):
        self.path = path
        self.text = text
        self.digest = hashlib.sha256(
            (FORMAT + "\n" + json.dumps(root.plain(), sort_keys=True, separators=(",", ":"), default=str)).encode()
        ).hexdigest()
        self._root = root
        if root.kind != "map":
            raise self._err(
                root.span,
                "expected a mapping with `function`, `sizes` and `arrays` or `records`, found " + _found(root),
            )
        for k, _ in root.value:
            if k.value not in _TOP_KEYS:
                raise self._unknown(k, _TOP_KEYS, "a profile")
        fkey, fnode = root.get("function")
        if fnode is None:
            raise self._err(
                root.span,
                "missing `function`: expected the name of the function this profile is for, e.g. `function: tiered`",
            )
        if fnode.kind != "scalar" or not isinstance(fnode.value, str) or not fnode.value.isidentifier():
            raise self._err(fnode.span, "expected the name of a function, found " + _found(fnode))
        self.function: str = fnode.value
        self._function_span = fnode.span
        self._sizes = self._read_sizes(root.get("sizes")[1])
        self.seed: int = self._read_seed(root.get("seed")[1])
        self.scalars: dict[str, Dist] = self._read_params(root.get("scalars")[1], "scalars")
        self.arrays: dict[str, Dist] = self._read_params(root.get("arrays")[1], "arrays")
        self.records: Records | None = self._read_records(root.get("records")[1])
        self._keys = {}  # parameter name -> span of the key that names it
        for section in ("scalars", "arrays"):
            node = root.get(section)[1]
            for k, _ in node.value if node is not None and node.kind == "map" else ():
                self._keys[str(k.value)] = k.span
        if self.records is not None:
            for f in self.records.fields:
                if f in self.arrays:
                    raise self._err(
                        self._keys[f],
                        f"'{f}' is given both in `arrays` and in `records`; expected one distribution per array",
                        "records already give it a joint distribution",
                    )
                self._keys[f] = self.records.field_spans[f]

    def __repr__(self) -> str:
        return f"Profile({self.path!r}, function={self.function!r}, digest={self.digest[:12]})"

    @property
    def samples(self) -> int | None:
        """How many argument lists `inputs` gives (None: one, no sizes given)."""
        return None if self._sizes is None else self._sizes[2]

    def check_function(self, names) -> None:
        """Refuse a profile whose function is not among `names` (the compiled
        files' functions): it would otherwise be silently unused."""
        if self.function not in names:
            raise self._err(
                self._function_span,
                f"the profile is for '{self.function}', which the compiled files do not define",
                note=f"they define: {', '.join(names) or 'no functions'}",
            )

    # -- errors

    def _err(self, span, message, note=None) -> AtlasError:
        return AtlasError(span, message, note, source=self.text)

    def _unknown(self, key: _N, allowed, where: str) -> AtlasError:
        return self._err(
            key.span,
            f"unknown key '{key.value}' in {where}; expected one of " + ", ".join(allowed),
            _suggest(key.value, allowed),
        )

    # -- reading

    def _read_sizes(self, node: _N | None):
        """None, or (kind, data, count): ('list', [(v, span)], k) or
        ('map', {param: (key span, [(v, span)] of length k)}, k)."""
        if node is None:
            return None

        def values(n: _N) -> list:
            items = [n] if n.kind == "scalar" else n.value if n.kind == "seq" else None
            if items is None or not items:
                raise self._err(
                    n.span,
                    "expected a list of sizes (non-negative integers, one "
                    "sample each), found " + ("an empty list" if items == [] else _found(n)),
                )
            for it in items:
                if it.kind != "scalar" or not _is_int(it.value) or it.value < 0:
                    raise self._err(it.span, "expected a size (a non-negative integer), found " + _found(it))
            return [(it.value, it.span) for it in items]

        if node.kind != "map":
            vs = values(node)
            return ("list", vs, len(vs))
        if not node.value:
            raise self._err(node.span, "expected sizes per length parameter, e.g. {n: [1024]}, found an empty mapping")
        per, count, first = {}, None, None
        for k, v in node.value:
            vs = values(v)
            if v.kind == "seq":
                if count is not None and len(vs) != count:
                    raise self._err(
                        v.span,
                        f"expected {count} sizes, as for '{first}', found {len(vs)}",
                        "sample i takes the i-th size of every length parameter; "
                        "a single integer (not a list) is used for every sample",
                    )
                count, first = len(vs), first or k.value
            per[str(k.value)] = (k.span, vs, v.kind == "seq")
        count = count or 1
        return ("map", {p: (ks, vs if is_list else vs * count) for p, (ks, vs, is_list) in per.items()}, count)

    def _read_seed(self, node: _N | None) -> int:
        if node is None:
            return 0
        if node.kind != "scalar" or not _is_int(node.value) or node.value < 0:
            raise self._err(node.span, "expected a seed (a non-negative integer), found " + _found(node))
        return node.value

    def _read_params(self, node: _N | None, section: str) -> dict[str, Dist]:
        if node is None or (node.kind == "scalar" and node.value is None):  # `arrays:` left empty
            return {}
        if node.kind != "map":
            raise self._err(
                node.span,
                f"expected `{section}` to map parameter names to values or distributions, found " + _found(node),
            )
        return {str(k.value): self._dist(v) for k, v in node.value}

    def _read_records(self, node: _N | None) -> Records | None:
        if node is None:
            return None
        if node.kind != "seq" or not node.value:
            raise self._err(
                node.span,
                "expected `records` to be a list of record classes, e.g. "
                "- {weight: 85, port: 443, flags: 0}, found "
                + ("an empty list" if node.kind == "seq" else _found(node)),
            )
        fields, field_spans, weights, entries = None, {}, [], []
        for rec in node.value:
            if rec.kind != "map":
                raise self._err(
                    rec.span,
                    "expected a record class: a mapping with `weight` and "
                    "one value or distribution per array, found " + _found(rec),
                )
            wkey, wnode = rec.get("weight")
            if wnode is None:
                raise self._err(
                    rec.span,
                    "missing `weight` in this record class (expected a "
                    "positive number: its share, relative to the other classes)",
                )
            weights.append(self._weight(wnode))
            names = [(k.value, k) for k, _ in rec.value if k.value != "weight"]
            if not names:
                raise self._err(rec.span, "expected at least one array in this record class, found only `weight`")
            if fields is None:
                fields = tuple(str(n) for n, _ in names)
                field_spans = {str(n): k.span for n, k in names}
            else:
                for n, k in names:
                    if n not in fields:
                        raise self._err(
                            k.span,
                            f"unexpected field '{n}': expected the fields of "
                            f"the first record class ({', '.join(fields)})",
                            "every record class gives every field",
                        )
                missing = [f for f in fields if f not in dict(names)]
                if missing:
                    raise self._err(
                        rec.span,
                        f"missing field '{missing[0]}' in this record class: "
                        f"expected the fields of the first one ({', '.join(fields)})",
                        "every record class gives every field",
                    )
            entries.append({str(k.value): self._dist(v) for k, v in rec.value if k.value != "weight"})
        return Records(fields or (), tuple(weights), tuple(entries), node.span, field_spans)

    def _weight(self, node: _N) -> float:
        v = node.value if node.kind == "scalar" else None
        if not _is_number(v) or not _finite(v) or v <= 0:
            raise self._err(
                node.span,
                "expected a positive weight (a number above 0, relative to the others), found " + _found(node),
            )
        return float(v)

    def _dist(self, node: _N, entry: bool = False) -> Dist:
        """A value or a distribution; `entry`: one part of a mix (has `weight`)."""
        if node.kind == "scalar":
            if not isinstance(node.value, (bool, int, float)):
                raise self._err(
                    node.span,
                    "expected a value (a number, `true` or `false`) or a "
                    "distribution ({uniform: [lo, hi]}, {choice: [...]}, {mix: [...]}), "
                    "found " + _found(node),
                )
            return Constant(node.value, node.span)
        if node.kind == "seq":
            raise self._err(
                node.span,
                "expected a value or a distribution, found a list",
                "for one of several values write {choice: [...]}",
            )
        allowed = _DIST_KEYS + ("except",) + (("weight",) if entry else ())
        for k, _ in node.value:
            if k.value not in allowed:
                if k.value == "weight":
                    raise self._err(
                        k.span,
                        "unexpected `weight`: expected a distribution "
                        "(weights belong to the entries of a mix or of records)",
                    )
                raise self._unknown(k, allowed, "a distribution")
        kinds = [(k, v) for k, v in node.value if k.value in _DIST_KEYS]
        if not kinds:
            raise self._err(node.span, "expected a distribution: one of " + ", ".join(_DIST_KEYS) + ", found none")
        if len(kinds) > 1:
            raise self._err(
                kinds[1][0].span,
                f"expected one distribution, found both `{kinds[0][0].value}` and `{kinds[1][0].value}`",
                "to combine distributions use {mix: [...]}",
            )
        ((key, val),) = kinds
        ekey, enode = node.get("except")
        if enode is not None and key.value != "uniform":
            raise self._err(
                ekey.span, f"unexpected `except` with `{key.value}`: expected it only with `uniform` (over integers)"
            )
        if key.value == "value":
            if val.kind != "scalar" or not isinstance(val.value, (bool, int, float)):
                raise self._err(val.span, "expected a value (a number, `true` or `false`), found " + _found(val))
            return Constant(val.value, val.span)
        if key.value == "uniform":
            return self._uniform(val, enode)
        if key.value == "choice":
            return self._choice(val)
        return self._mix(val)

    def _uniform(self, val: _N, enode: _N | None) -> Uniform:
        if val.kind != "seq" or len(val.value) != 2:
            raise self._err(
                val.span,
                "expected [lo, hi] (two numbers), found "
                + (f"a list of {len(val.value)}" if val.kind == "seq" else _found(val)),
            )
        lo, hi = val.value
        for b in (lo, hi):
            if b.kind != "scalar" or not _is_number(b.value) or not _finite(b.value):
                raise self._err(b.span, "expected a finite number as a bound, found " + _found(b))
        if lo.value > hi.value:
            raise self._err(val.span, f"expected lo <= hi, found lo {lo.value} above hi {hi.value}")
        excl, espans = (), ()
        if enode is not None:
            items = enode.value if enode.kind == "seq" else None
            if items is None:
                raise self._err(enode.span, "expected a list of integers to leave out, found " + _found(enode))
            for it in items:
                if it.kind != "scalar" or not _is_int(it.value):
                    raise self._err(it.span, "expected an integer to leave out, found " + _found(it))
            excl, espans = tuple(it.value for it in items), tuple(it.span for it in items)
        return Uniform(lo.value, hi.value, excl, val.span, lo.span, hi.span, espans)

    def _choice(self, val: _N) -> Choice:
        if val.kind != "seq" or not val.value:
            raise self._err(
                val.span,
                "expected a non-empty list of values to choose from, found "
                + ("an empty list" if val.kind == "seq" else _found(val)),
            )
        for it in val.value:
            if it.kind != "scalar" or not isinstance(it.value, (bool, int, float)):
                raise self._err(it.span, "expected a value (a number, `true` or `false`), found " + _found(it))
        return Choice(tuple(it.value for it in val.value), tuple(it.span for it in val.value), val.span)

    def _mix(self, val: _N) -> Mix:
        if val.kind != "seq" or not val.value:
            raise self._err(
                val.span,
                "expected a non-empty list of weighted parts, e.g. "
                "[{weight: 90, uniform: [21, 1000]}, ...], found "
                + ("an empty list" if val.kind == "seq" else _found(val)),
            )
        weights, parts = [], []
        for it in val.value:
            if it.kind != "map":
                raise self._err(
                    it.span,
                    "expected a part of the mix: a mapping with `weight` and "
                    "a distribution, e.g. {weight: 5, value: 0}, found " + _found(it),
                )
            wkey, wnode = it.get("weight")
            if wnode is None:
                raise self._err(
                    it.span,
                    "missing `weight` in this part of the mix (expected a "
                    "positive number, relative to the other parts)",
                )
            weights.append(self._weight(wnode))
            parts.append(self._dist(it, entry=True))
        return Mix(tuple(weights), tuple(parts), val.span)

    # -- binding to a function

    def inputs(self, fn: ir.Function) -> list[list]:
        """One argument list per size, in fn's parameter order: numpy arrays
        of the element dtype (64-byte aligned), Python ints, floats and bools
        for scalars.  Raises AtlasError, pointing into the profile, where the
        profile does not fit fn's signature."""
        if fn.name != self.function:
            raise self._err(self._function_span, f"expected a profile for '{fn.name}', found one for '{self.function}'")
        params = {p.name: p for p in fn.params}
        lengths = length_params(fn)
        for name, span in self._keys.items():
            if name not in params:
                raise self._err(
                    span, f"unknown parameter '{name}': expected a parameter of {fn.signature}", _suggest(name, params)
                )
        for name in self.scalars:
            p = params[name]
            if isinstance(p.ty, ir.Array):
                raise self._err(
                    self._keys[name],
                    f"'{name}' is an array ({p.ty}): expected it under `arrays` or `records`, not `scalars`",
                )
            if name in lengths:
                raise self._err(
                    self._keys[name],
                    f"'{name}' is a length parameter: expected its values under `sizes`, not `scalars`",
                )
        for name in [*self.arrays, *(self.records.fields if self.records else ())]:
            p = params[name]
            if not isinstance(p.ty, ir.Array):
                raise self._err(
                    self._keys[name],
                    f"'{name}' is a scalar ({p.ty}): expected it "
                    "under `scalars`" + (", or `sizes` as a length parameter" if name in lengths else ""),
                )
        # Every value against its type, before anything is drawn.
        for name, d in self.scalars.items():
            self._check(d, fn.scalar(name), name)
        for name, d in self.arrays.items():
            self._check(d, fn.array(name).elem, name)
        if self.records is not None:
            for entry in self.records.entries:
                for f, d in entry.items():
                    self._check(d, fn.array(f).elem, f)
        samples = self._length_values(fn, lengths)
        scal, arrs = dict(self.scalars), dict(self.arrays)
        covered = arrs.keys() | set(self.records.fields if self.records else ())
        for p in fn.params:
            if isinstance(p.ty, ir.Scalar) and p.name not in lengths and p.name not in scal:
                scal[p.name] = _default_scalar(p.ty)
            if isinstance(p.ty, ir.Array) and p.name not in covered:
                arrs[p.name] = _default_array(p.ty)
        out = []
        for i, values in enumerate(samples):
            lens = self._lengths(fn, values, i)
            out.append(_sample(fn, values, lens, scal, arrs, self.records, self.seed, i))
        return out

    def _length_values(self, fn: ir.Function, lengths: list[str]) -> list[dict]:
        """Per sample: length parameter -> value, checked against its type."""
        if not lengths:
            if self._sizes is not None:
                node = self._root.get("sizes")[1]
                raise self._err(
                    node.span,
                    f"unexpected `sizes`: {fn.name} has no length parameter",
                    f"its signature is {fn.signature}",
                )
            return [{}]
        if self._sizes is None:
            first = self._root.value[0][0].span
            eg = (
                f"sizes: [{DEFAULT_SIZE}]"
                if len(lengths) == 1
                else "sizes: {" + ", ".join(f"{n}: [64]" for n in lengths) + "}"
            )
            raise self._err(
                first,
                f"missing `sizes`: expected values for the length parameter"
                f"{'s' if len(lengths) > 1 else ''} {', '.join(lengths)} of {fn.name}",
                f"e.g. `{eg}`: one sample per entry",
            )
        kind, data, count = self._sizes
        node = self._root.get("sizes")[1]
        if kind == "list":
            if len(lengths) > 1:
                raise self._err(
                    node.span,
                    "expected sizes per length parameter, e.g. "
                    "{" + ", ".join(f"{n}: [64]" for n in lengths) + "}, found a list",
                    f"{fn.name} has the length parameters {', '.join(lengths)}",
                )
            per = {lengths[0]: (None, data)}
        else:
            for name, (kspan, _) in data.items():
                if name not in lengths:
                    raise self._err(
                        kspan,
                        f"'{name}' is not a length parameter of {fn.name}: expected one of {', '.join(lengths)}",
                        _suggest(name, lengths),
                    )
            for name in lengths:
                if name not in data:
                    raise self._err(
                        node.span,
                        f"missing the sizes of length parameter '{name}' (expected values for {', '.join(lengths)})",
                    )
            per = data
        for name, (_, vs) in per.items():
            t = fn.scalar(name)
            for v, span in vs:
                self._fit(v, span, t, name)
        return [{name: per[name][1][i][0] for name in lengths} for i in range(count)]

    def _lengths(self, fn: ir.Function, values: dict, i: int) -> dict[str, int]:
        spans = {}
        if self._sizes is not None:  # else no length parameter: no values
            kind, data, _ = self._sizes
            for name in values:
                spans[name] = data[i][1] if kind == "list" else data[name][1][i][1]
        where = next(iter(spans.values()), self._function_span)
        try:
            lens = array_lengths(fn, values)
        except ValueError as exc:
            raise self._err(where, f"cannot compute the array lengths for these sizes: {exc}") from None
        for name, n in lens.items():
            if not 0 <= n <= MAX_ELEMENTS:
                raise self._err(
                    where,
                    f"expected array lengths from 0 to {MAX_ELEMENTS}, found "
                    f"{n} for '{name}' ({ir.pretty_expr(fn.array(name).length)})",
                )
        if self.records is not None:
            got = {f: lens[f] for f in self.records.fields}
            if len(set(got.values())) > 1:
                raise self._err(
                    self.records.span,
                    "expected the arrays of `records` to have one "
                    "length, found " + ", ".join(f"{f}: {n}" for f, n in got.items()),
                    "records are joint, element by element",
                )
        return lens

    def _fit(self, v, span, t: ir.Scalar, name: str):
        """Refuse a value that is not of type t."""

        def no(expected):
            return self._err(
                span,
                f"expected {expected} for '{name}', found " + _found(_N("scalar", v, span)),
                f"'{name}' is of type {t}",
            )

        if t.is_bool:
            if not isinstance(v, bool):
                raise no("`true` or `false`")
        elif t.is_int:
            lo, hi = _int_range(t)
            if not _is_int(v):
                raise no(f"an integer ({t}, {lo} to {hi})")
            if not lo <= v <= hi:
                raise no(f"{_a(t)} ({lo} to {hi})")
        else:
            if not _is_number(v):
                raise no(f"a number ({t})")
            big = float(np.finfo(dtype(t)).max)
            if _finite(v) and abs(v) > big:
                raise no(f"{_a(t)} (at most {big:g} in magnitude)")

    def _check(self, d: Dist, t: ir.Scalar, name: str) -> None:
        if isinstance(d, Constant):
            self._fit(d.value, d.span, t, name)
        elif isinstance(d, Choice):
            for v, s in zip(d.values, d.spans):
                self._fit(v, s, t, name)
        elif isinstance(d, Mix):
            for part in d.parts:
                self._check(part, t, name)
        elif t.is_bool:
            raise self._err(
                d.span,
                f"expected a distribution of bools for '{name}', found `uniform`",
                "write {choice: [false, true]}",
            )
        else:
            self._fit(d.lo, d.lo_span, t, name)
            self._fit(d.hi, d.hi_span, t, name)
            if t.is_float:
                if d.exclude:
                    raise self._err(
                        d.exclude_spans[0] if d.exclude_spans else d.span,
                        f"unexpected `except` for '{name}': expected it only over "
                        f"integers, and '{name}' is of type {t}",
                    )
                if not d.lo < d.hi:
                    raise self._err(
                        d.span, f"expected lo < hi for floats ([lo, hi) must not be empty), found [{d.lo}, {d.hi})"
                    )
            else:
                for v, s in zip(d.exclude, d.exclude_spans):
                    self._fit(v, s, t, name)
                    if not d.lo <= v <= d.hi:
                        raise self._err(s, f"expected a value from {d.lo} to {d.hi} to leave out, found {v}")
                if len(set(d.exclude)) > d.hi - d.lo:
                    raise self._err(
                        d.span,
                        f"expected some value of [{d.lo}, {d.hi}] to remain, found every one left out by `except`",
                    )


def load_profile(path) -> Profile:
    """Read and check a profile file; raises AtlasError at the offending line."""
    shown = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise AtlasError(None, f"{shown}: cannot read the profile: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise AtlasError(None, f"{shown}: the profile is not UTF-8 text ({exc.reason})") from None
    return parse_profile(text, shown)


def parse_profile(text: str, path: str = "<profile>") -> Profile:
    """A profile from its text; `path` is the name errors show."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise AtlasError(
                ir.Span(path, 1, 1),
                "expected a mapping with `function`, `sizes` and `arrays` or `records`, found an empty file",
                source=text,
            )
        root = _wrap(loader, node, path, text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        span = ir.Span(path, mark.line + 1, mark.column + 1) if mark else ir.Span(path, 1, 1)
        problem = f"{e.problem} {e.context or ''}".strip() if e.problem else str(e)
        raise AtlasError(span, f"not valid YAML: {problem}", source=text) from None
    except yaml.YAMLError as e:
        raise AtlasError(ir.Span(path, 1, 1), f"not valid YAML: {e}", source=text) from None
    finally:
        loader.dispose()
    return Profile(path, text, root)


# ---------------------------------------------------------------- signatures


def length_params(fn: ir.Function) -> list[str]:
    """The parameters that some array's length expression reads, in parameter order."""
    used: set[str] = set()
    for p in fn.params:
        if isinstance(p.ty, ir.Array):
            used |= {e.name for e in ir.walk(p.ty.length) if isinstance(e, ir.Var)}
    return [p.name for p in fn.params if p.name in used]


def array_lengths(fn: ir.Function, values: dict) -> dict[str, int]:
    """Each array's length (exact arithmetic) for given length-parameter values."""
    bits = {name: to_value(fn.scalar(name), v) for name, v in values.items()}
    return {p.name: evaluate(p.ty.length, bits, exact=True) for p in fn.params if isinstance(p.ty, ir.Array)}


def _a(t: ir.Scalar) -> str:
    return ("an " if t.name[0] in "if" else "a ") + t.name


def _int_range(t: ir.Scalar) -> tuple[int, int]:
    return (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.signed else (0, t.mask)


def _default_array(t: ir.Array) -> Dist:
    """An array nobody mentions: zeros if written, else uniform over its type."""
    e = t.elem
    if t.mutable:
        return Constant(False if e.is_bool else 0)
    if e.is_bool:
        return Choice((False, True))
    if e.is_float:
        return Uniform(-1.0, 1.0)
    return Uniform(*_int_range(e))


def _default_scalar(t: ir.Scalar, large: bool = False) -> Dist:
    if t.is_bool or t.is_float:
        return Constant(DEFAULT_BOOL if t.is_bool else DEFAULT_FLOAT)
    return Constant(min(LARGE_INT, _int_range(t)[1]) if large else DEFAULT_INT)


DEFAULT_SIZE = 4096


def generated(fn: ir.Function, size: int = DEFAULT_SIZE, seed: int = 0, both: bool = True) -> list[list]:
    """Inputs when there is no profile: one argument list, or two where fn
    has integer parameters that are not lengths.  The length
    parameters all get one value m, the largest (up to `size`, and what
    their types hold) for which the largest array has at most `size`
    elements (n: n = size; n * n: n = isqrt(size)); arrays are uniform over
    their type (floats in [-1, 1), bools false/true), written arrays zeros;
    other scalars 3 (ints), 1.5 (floats), true (bools), and in the second
    list (`both`) the same arrays with the integers at LARGE_INT (or their
    type's largest where smaller)."""
    lengths = length_params(fn)
    values: dict = {}
    if lengths:
        cap = min([size] + [_int_range(fn.scalar(n))[1] for n in lengths])

        def fits(m):
            try:
                lens = array_lengths(fn, {n: m for n in lengths})
            except ValueError:
                return False
            return all(0 <= v <= size for v in lens.values())

        lo, hi = 0, max(cap, 0)  # the largest m in [0, cap] that fits
        if not fits(lo):
            raise AtlasError(
                fn.span,
                f"cannot choose sizes for {fn.name}: even with "
                f"{', '.join(lengths)} = 0 an array is not 0 to {size} elements long",
            )
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(mid):
                lo = mid
            else:
                hi = mid - 1
        values = {n: lo for n in lengths}
    lens = array_lengths(fn, values)
    others = {p.name: p.ty for p in fn.params if isinstance(p.ty, ir.Scalar) and p.name not in values}
    arrs = {p.name: _default_array(p.ty) for p in fn.params if isinstance(p.ty, ir.Array)}
    out = [_sample(fn, values, lens, {n: _default_scalar(t) for n, t in others.items()}, arrs, None, seed, 0)]
    if both and any(t.is_int for t in others.values()):
        large = {n: _default_scalar(t, large=True) for n, t in others.items()}
        out.append(_sample(fn, values, lens, large, arrs, None, seed, 0))  # sample 0: the same arrays
    return out


# ---------------------------------------------------------------- drawing


def _rng(seed: int, index: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, index, zlib.crc32(name.encode())])


def _sample(fn, values, lens, scalars, arrays, records, seed, index) -> list:
    """One argument list."""
    out: dict = {}
    for p in fn.params:
        if isinstance(p.ty, ir.Scalar):
            if p.name in values:
                out[p.name] = int(values[p.name])
            else:
                v = _draw(scalars[p.name], p.ty, 1, _rng(seed, index, p.name))[0].item()
                out[p.name] = bool(v) if p.ty.is_bool else float(v) if p.ty.is_float else int(v)
        elif p.name in arrays:
            a = _aligned(lens[p.name], dtype(p.ty.elem))
            a[...] = _draw(arrays[p.name], p.ty.elem, lens[p.name], _rng(seed, index, p.name))
            out[p.name] = a
    if records is not None:
        out.update(_draw_records(fn, records, lens, _rng(seed, index, "records:" + ",".join(records.fields))))
    if fn.requires is not None:  # a function is measured only where it is defined
        drawn = {p.name: out[p.name] for p in fn.params if isinstance(p.ty, ir.Scalar)}
        met = requires.satisfying(fn, drawn, _rng(seed, index, "requires"), keep_first=tuple(values))
        if met is None:
            raise AtlasError(fn.span, f"no inputs of {fn.name} meet its precondition with {_sizes(values)}")
        out.update(met)
    return [out[p.name] for p in fn.params]


def _sizes(values: dict) -> str:
    return ", ".join(f"{n} = {v}" for n, v in values.items()) or "any sizes"


def _aligned(n: int, dt: np.dtype) -> np.ndarray:
    buf = np.empty(n * dt.itemsize + ALIGN, np.uint8)
    off = (-buf.ctypes.data) % ALIGN
    return buf[off : off + n * dt.itemsize].view(dt)


def _split(k: int, weights, rng) -> np.ndarray:
    """k elements shared in proportion to weights: each part gets the floor
    of its share, the few left over go to parts drawn by their remainders
    (so counts are exact to within one, and a single draw is a weighted pick)."""
    w = np.asarray(weights, np.float64)
    share = k * (w / w.sum())
    counts = np.floor(share).astype(np.int64)
    counts = np.minimum(counts, k)
    left = int(k - counts.sum())
    if left > 0:
        frac = np.maximum(share - counts, 0)
        if frac.sum() <= 0 or np.count_nonzero(frac) < left:
            frac = w
        counts[rng.choice(len(w), left, replace=False, p=frac / frac.sum())] += 1
    return counts


def _draw(d: Dist, t: ir.Scalar, k: int, rng) -> np.ndarray:
    """k values of distribution d as an array of dtype(t) (values already checked)."""
    dt = dtype(t)
    if isinstance(d, Constant):
        return np.full(k, d.value, dt)
    if isinstance(d, Choice):
        return np.array(d.values, dt)[rng.integers(0, len(d.values), k)]
    if isinstance(d, Mix):
        counts = _split(k, d.weights, rng)
        parts = [_draw(p, t, int(c), rng) for p, c in zip(d.parts, counts)]
        return rng.permutation(np.concatenate(parts)) if parts else np.empty(0, dt)
    if t.is_float:
        lo, hi = dt.type(d.lo), dt.type(d.hi)
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(hi - lo):
                x = (lo + (hi - lo) * rng.random(k, dtype=dt)).astype(dt)
            else:  # a range wider than the type: never form hi - lo
                r = rng.random(k)
                x = (r * float(hi) + (1 - r) * float(lo)).astype(dt)
        return np.clip(x, lo, np.nextafter(hi, lo), out=x)  # [lo, hi), whatever the rounding
    excl = sorted(v for v in set(d.exclude) if d.lo <= v <= d.hi)
    x = rng.integers(d.lo, d.hi - len(excl), k, dtype=dt, endpoint=True)
    for e in excl:  # the ascending gaps: shift everything at or above each
        x[x >= dt.type(e)] += dt.type(1)
    return x


def _draw_records(fn, rec: Records, lens, rng) -> dict:
    n = lens[rec.fields[0]]
    counts = _split(n, rec.weights, rng)
    cols: dict[str, list] = {f: [] for f in rec.fields}
    for entry, c in zip(rec.entries, counts):
        for f in rec.fields:
            cols[f].append(_draw(entry[f], fn.array(f).elem, int(c), rng))
    order = rng.permutation(n)  # one shuffle for every field: records stay whole
    out = {}
    for f in rec.fields:
        a = _aligned(n, dtype(fn.param(f).ty.elem))
        a[...] = np.concatenate(cols[f])[order]
        out[f] = a
    return out
