"""Atlas IR -> portable C11 text.

The generated code keeps every integer value as the *unsigned* C type of its
width (a bit pattern, as atlas.meaning.semantics does), so arithmetic wraps without
ever touching signed overflow.  Signed meaning appears only where an
operation needs it (compare, divide, shift right, widen, convert), and each
such operation is a small `static inline` helper in the prelude of the .c
file, written from its definition in atlas/meaning/semantics.py.  Helpers are
generated only for the (operation, type) pairs a module uses.

Values cross the C boundary in their natural types (int32_t, float, ...):
parameters are converted to bit patterns on entry, results back on return.

Assumes a C11 compiler where `int` is 32 bits wide and float/double are
IEEE 754 binary32/binary64 evaluated at their own precision
(FLT_EVAL_METHOD 0, as on x86_64 and AArch64).
"""

from __future__ import annotations

import re
import struct

import numpy as np

from atlas.meaning import ir
from atlas.machine.backend import BackendError

U = {8: "uint8_t", 16: "uint16_t", 32: "uint32_t", 64: "uint64_t"}
S = {8: "int8_t", 16: "int16_t", 32: "int32_t", 64: "int64_t"}
F = {32: "float", 64: "double"}
_SYM = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "and": "&",
    "or": "|",
    "xor": "^",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
}

# Words an intent may use as a name but C may not.
_RESERVED = set(
    """auto break case char const continue default do double else enum extern float for
goto if inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Bool _Complex _Imaginary _Alignas _Alignof _Atomic _Generic
_Noreturn _Static_assert _Thread_local bool true false NULL main
int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t size_t""".split()
)


def wide(w: int) -> str:
    """The unsigned type arithmetic on a w-bit value is done in: never one
    that promotes to (signed) int."""
    return "uint32_t" if w < 32 else U[w]


def ctype(t: ir.Scalar) -> str:
    """The C type of a value held inside generated code."""
    if t.is_bool:
        return "bool"
    if t.is_float:
        return F[t.bits]
    return U[t.bits]


def natural(t: ir.Scalar) -> str:
    """The C type of a value at the boundary: what a person would write."""
    if t.is_int and t.signed:
        return S[t.bits]
    return ctype(t)


def public_name(name: str) -> str:
    return name + "_" if name in _RESERVED else name


def header_param(p: ir.Param) -> str:
    n = public_name(p.name)
    if isinstance(p.ty, ir.Array):
        return f"{'' if p.ty.mutable else 'const '}{natural(p.ty.elem)} *{n}"
    return f"{natural(p.ty)} {n}"


def prototype(f: ir.Function) -> str:
    ret = natural(f.ret) if f.ret else "void"
    params = ", ".join(header_param(p) for p in f.params) or "void"
    return f"{ret} {f.name}({params})"


def counter_symbol(fn: str, label: str) -> str:
    return f"atlas_count_{fn}_{label}"


# ================================================================ the prelude


class Prelude:
    """The helpers a module needs, each written once, in the order asked."""

    def __init__(self):
        self.defs: dict[str, str] = {}

    def need(self, name: str, make) -> str:
        if name not in self.defs:
            self.defs[name] = "\n".join(make() if callable(make) else make)
        return name

    def text(self) -> str:
        return "\n\n".join(self.defs.values())

    # -- conversions at the boundary
    def to_signed(self, w: int) -> str:
        """bit pattern -> the signed value (without implementation-defined conversion)."""

        def make():
            if w < 64:
                return [
                    f"static inline {S[w]} atlas_sval{w}({U[w]} x) {{",
                    f"    return ({S[w]})((int64_t)x - ((x >> {w - 1}) ? ((int64_t)1 << {w}) : 0));",
                    "}",
                ]
            return [
                "static inline int64_t atlas_sval64(uint64_t x) {",
                "    if (x <= (uint64_t)INT64_MAX) return (int64_t)x;",
                "    return (int64_t)(x - ((uint64_t)1 << 63)) + INT64_MIN;",
                "}",
            ]

        return self.need(f"atlas_sval{w}", make)

    def float_bits(self, w: int) -> str:
        def make():
            return [
                f"static inline {F[w]} atlas_f{w}_bits({U[w]} b) {{",
                f"    union {{ {U[w]} u; {F[w]} f; }} v;   /* C11 allows reading the other member */",
                "    v.u = b; return v.f;",
                "}",
            ]

        return self.need(f"atlas_f{w}_bits", make)

    # -- integer helpers (t an integer Scalar)
    @staticmethod
    def magnitudes(t: ir.Scalar) -> list[str]:
        """C lines giving signed division's operands as sign flags na, nb and
        magnitudes ua, ub, in the unsigned type (MIN's magnitude fits there)."""
        w, u, W = t.bits, U[t.bits], wide(t.bits)
        return [
            f"    {u} na = ({u})(a >> {w - 1}), nb = ({u})(b >> {w - 1});",
            f"    {u} ua = na ? ({u})(({W})0 - a) : a, ub = nb ? ({u})(({W})0 - b) : b;",
        ]

    def int_op(self, op: str, t: ir.Scalar) -> str:
        w, u, W = t.bits, U[t.bits], wide(t.bits)
        name = f"atlas_{op}_{t.name}"
        sign = f"(({u})1 << {w - 1})"
        bodies = {
            "add": f"return ({u})(({W})a + ({W})b);",
            "sub": f"return ({u})(({W})a - ({W})b);",
            "mul": f"return ({u})(({W})a * ({W})b);",
            "neg": f"return ({u})(({W})0 - ({W})a);",
            "not": f"return ({u})~({W})a;",
        }
        if op in ("add", "sub", "mul"):
            return self.need(name, [f"static inline {u} {name}({u} a, {u} b) {{", "    " + bodies[op], "}"])
        if op in ("neg", "not"):
            return self.need(name, [f"static inline {u} {name}({u} a) {{", "    " + bodies[op], "}"])
        if op in ("eq", "ne", "lt", "le", "gt", "ge"):
            flip = f" ^ {sign}" if t.signed else ""
            a, b = f"(({u})(a{flip}))", f"(({u})(b{flip}))"
            sym = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
            if op in ("eq", "ne"):
                a, b = "a", "b"
            return self.need(name, [f"static inline bool {name}({u} a, {u} b) {{", f"    return {a} {sym} {b};", "}"])
        if op == "div":
            if not t.signed:
                body = [f"    if (b == 0) return ({u}){hex(t.mask)}u;", "    return a / b;"]
            else:
                body = [
                    *self.magnitudes(t),
                    f"    if (b == 0) return na ? ({u})1 : ({u}){hex(t.mask)}u;",
                    f"    {u} q = ({u})(ua / ub);",
                    f"    return (na != nb) ? ({u})(({W})0 - q) : q;",
                ]
            return self.need(name, [f"static inline {u} {name}({u} a, {u} b) {{", *body, "}"])
        if op == "rem":
            if not t.signed:
                body = ["    if (b == 0) return a;", f"    return ({u})(a % b);"]
            else:
                body = [
                    "    if (b == 0) return a;",
                    *self.magnitudes(t),
                    f"    {u} r = ({u})(ua % ub);",
                    f"    return na ? ({u})(({W})0 - r) : r;",
                ]
            return self.need(name, [f"static inline {u} {name}({u} a, {u} b) {{", *body, "}"])
        if op == "shl":
            return self.need(
                name,
                [
                    f"static inline {u} {name}({u} a, uint64_t s) {{",
                    f"    return s < {w} ? ({u})(({W})a << s) : 0;",
                    "}",
                ],
            )
        if op == "shr":
            if not t.signed:
                body = [f"    return s < {w} ? ({u})(a >> s) : 0;"]
            else:  # arithmetic: shift the complement of a negative value, complement back
                body = [
                    f"    {u} neg = ({u})(a >> {w - 1});",
                    f"    if (s >= {w}) return neg ? ({u}){hex(t.mask)}u : 0;",
                    f"    return neg ? ({u})~(({W})({u})~({W})a >> s) : ({u})(a >> s);",
                ]
            return self.need(name, [f"static inline {u} {name}({u} a, uint64_t s) {{", *body, "}"])
        if op in ("rotl", "rotr"):
            there, back = ("<<", ">>") if op == "rotl" else (">>", "<<")
            return self.need(
                name,
                [
                    f"static inline {u} {name}({u} a, uint64_t s) {{",
                    f"    unsigned k = (unsigned)(s & {w - 1}u);",
                    "    if (k == 0) return a;",
                    f"    return ({u})((({W})a {there} k) | (({W})a {back} ({w}u - k)));",
                    "}",
                ],
            )
        if op == "popcount":
            return self.need(
                name,
                [
                    f"static inline {u} {name}({u} a) {{",
                    "    uint64_t x = a, n = 0;",
                    "    while (x) { x &= x - 1; n++; }",
                    f"    return ({u})n;",
                    "}",
                ],
            )
        if op == "clz":
            return self.need(
                name,
                [
                    f"static inline {u} {name}({u} a) {{",
                    "    unsigned n = 0;",
                    f"    while (n < {w}u && !((a >> ({w - 1}u - n)) & 1u)) n++;",
                    f"    return ({u})n;",
                    "}",
                ],
            )
        if op == "ctz":
            return self.need(
                name,
                [
                    f"static inline {u} {name}({u} a) {{",
                    "    unsigned n = 0;",
                    f"    while (n < {w}u && !((a >> n) & 1u)) n++;",
                    f"    return ({u})n;",
                    "}",
                ],
            )
        if op == "abs":
            body = f"return (a >> {w - 1}) ? ({u})(({W})0 - a) : a;" if t.signed else "return a;"
            return self.need(name, [f"static inline {u} {name}({u} a) {{", "    " + body, "}"])
        if op == "bswap":
            return self.need(
                name,
                [
                    f"static inline {u} {name}({u} a) {{",
                    f"    {u} r = 0;",
                    f"    for (unsigned i = 0; i < {w // 8}u; i++)",
                    f"        r = ({u})((({W})r << 8) | ((a >> (8u * i)) & 0xffu));",
                    "    return r;",
                    "}",
                ],
            )
        if op in ("min", "max"):
            cmp = self.int_op("lt" if op == "min" else "gt", t)
            return self.need(
                name, [f"static inline {u} {name}({u} a, {u} b) {{", f"    return {cmp}(a, b) ? a : b;", "}"]
            )
        if op == "wmul":
            w2 = 2 * w
            if t.signed:
                ext = self.sext(w, w2)
                args = f"{ext}(a), {ext}(b)"
            else:
                args = f"({U[w2]})a, ({U[w2]})b"
            mul = self.int_op("mul", ir.Scalar("uint", w2))
            return self.need(
                name, [f"static inline {U[w2]} {name}({u} a, {u} b) {{", f"    return {mul}({args});", "}"]
            )
        if op == "mulhi":
            if w < 64:
                ext = self.sext(w, 64) if t.signed else ""
                return self.need(
                    name,
                    [
                        f"static inline {u} {name}({u} a, {u} b) {{",
                        f"    uint64_t p = (uint64_t){ext}(a) * (uint64_t){ext}(b);",
                        f"    return ({u})(p >> {w});",
                        "}",
                    ],
                )
            body = [
                "    uint64_t al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;",
                "    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;",
                "    uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);",
                "    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);",
            ]
            if t.signed:  # the signed high half from the unsigned one
                body += ["    if (a >> 63) hi -= b;", "    if (b >> 63) hi -= a;"]
            return self.need(
                name, [f"static inline uint64_t {name}(uint64_t a, uint64_t b) {{", *body, "    return hi;", "}"]
            )
        if op in ("add_sat", "sub_sat"):
            plain = self.int_op(op[:3], t)
            if not t.signed:
                test = "s < a" if op == "add_sat" else "a < b"
                limit = f"({u}){hex(t.mask)}u" if op == "add_sat" else "0"
                return self.need(
                    name,
                    [
                        f"static inline {u} {name}({u} a, {u} b) {{",
                        f"    {u} s = {plain}(a, b);",
                        f"    return ({test}) ? {limit} : s;",
                        "}",
                    ],
                )
            same = "==" if op == "add_sat" else "!="
            return self.need(
                name,
                [
                    f"static inline {u} {name}({u} a, {u} b) {{",
                    f"    {u} s = {plain}(a, b);",
                    f"    unsigned sa = (unsigned)(a >> {w - 1}), sb = (unsigned)(b >> {w - 1}), "
                    f"ss = (unsigned)(s >> {w - 1});",
                    f"    if (sa {same} sb && sa != ss)",
                    f"        return sa ? ({u})(({u})1 << {w - 1}) : ({u}){hex(t.mask >> 1)}u;",
                    "    return s;",
                    "}",
                ],
            )
        raise BackendError(f"the C backend has no helper for {op} on {t}")

    def sext(self, w_from: int, w_to: int) -> str:
        name = f"atlas_sext{w_from}_{w_to}"
        sign = f"(uint64_t)1 << {w_from - 1}"
        return self.need(
            name,
            [
                f"static inline {U[w_to]} {name}({U[w_from]} a) {{",
                f"    return ({U[w_to]})((((uint64_t)a ^ ({sign})) - ({sign})));",
                "}",
            ],
        )

    def ftoi(self, src: ir.Scalar, dst: ir.Scalar) -> str:
        """Saturating truncation toward zero, NaN -> 0 (semantics._float_to_int)."""
        wf, wi, f, u = src.bits, dst.bits, F[src.bits], U[dst.bits]
        sfx = "f" if wf == 32 else ""
        if dst.signed:
            lo, hi = f"-0x1p{wi - 1}{sfx}", f"0x1p{wi - 1}{sfx}"
            lo_val, hi_val = f"({u})(({u})1 << {wi - 1})", f"({u}){hex((1 << (wi - 1)) - 1)}u"
            inner = f"({u})({S[wi]})a"  # in range: truncation is defined, negatives convert modulo
        else:
            lo, hi = f"0x0p0{sfx}", f"0x1p{wi}{sfx}"
            lo_val, hi_val = "0", f"({u}){hex((1 << wi) - 1)}u"
            inner = f"({u})a"
        name = f"atlas_{src.name}_to_{dst.name}"
        return self.need(
            name,
            [
                f"static inline {u} {name}({f} a) {{",
                "    if (a != a) return 0;",
                f"    if (a < {lo}) return {lo_val};",
                f"    if ({hi} <= a) return {hi_val};",
                f"    return {inner};",
                "}",
            ],
        )

    def fabs(self, w: int) -> str:
        name = f"atlas_fabs{w}"
        return self.need(
            name,
            [
                f"static inline {F[w]} {name}({F[w]} a) {{",
                f"    union {{ {F[w]} f; {U[w]} u; }} v;",
                f"    v.f = a; v.u &= ({U[w]})~(({U[w]})1 << {w - 1}); return v.f;",
                "}",
            ],
        )

    def load(self, t: ir.Scalar) -> str:
        name = f"atlas_load_{t.name}"
        zero = "false" if t.is_bool else "0"
        return self.need(
            name,
            [
                f"static inline {ctype(t)} {name}(const {natural(t)} *p, uint64_t n, uint64_t i) {{",
                f"    return i < n ? ({ctype(t)})p[i] : {zero};",
                "}",
            ],
        )

    def store(self, t: ir.Scalar) -> str:
        name = f"atlas_store_{t.name}"
        v = f"{self.to_signed(t.bits)}(v)" if t.is_int and t.signed else "v"
        return self.need(
            name,
            [
                f"static inline void {name}({natural(t)} *p, uint64_t n, uint64_t i, {ctype(t)} v) {{",
                f"    if (i < n) p[i] = {v};",
                "}",
            ],
        )


# ================================================================ one module


class Emitter:
    def __init__(self, module: ir.Module):
        self.module = module
        self.pre = Prelude()
        self.counters: dict[str, list[str]] = {}

    # -- constants
    def const(self, c: ir.Const) -> str:
        t = c.ty
        if t.is_bool:
            return "true" if c.value else "false"
        if t.is_float:
            v = np.float32(c.value) if t.bits == 32 else np.float64(c.value)
            if not np.isfinite(v):
                bits = struct.unpack(
                    "<I" if t.bits == 32 else "<Q", struct.pack("<f" if t.bits == 32 else "<d", float(v))
                )[0]
                return f"{self.pre.float_bits(t.bits)}({hex(bits)}u)"
            return f"{float(v).hex()}{'f' if t.bits == 32 else ''}"
        v = int(c.value) & t.mask
        return f"UINT64_C({hex(v)})" if t.bits == 64 else f"(({U[t.bits]}){hex(v)}u)"

    # -- expressions
    def expr(self, e, pre: list[str]) -> str:
        """C text for e; statements that must run first (in this order) go to pre."""
        if isinstance(e, ir.Const):
            return self.const(e)
        if isinstance(e, ir.Var):
            return self.local(e.name)
        if isinstance(e, ir.Binary) and e.op in ("land", "lor"):
            return self.logic(e, pre)
        if isinstance(e, ir.Call):
            return self.call(e, pre)
        seq = self.has_call(e)
        kids = [self.operand(k, pre, seq) for k in ir.children(e)]
        return self.combine(e, kids)

    def has_call(self, e) -> bool:
        return any(isinstance(x, ir.Call) for x in ir.walk(e))

    def operand(self, e, pre: list[str], sequence: bool) -> str:
        """An operand; where the expression has a call, each operand is computed
        into a temporary in the interpreter's left-to-right order."""
        text = self.expr(e, pre)
        if not sequence or isinstance(e, (ir.Const, ir.Var)):
            return text
        t = self.temp()
        pre.append(f"{ctype(e.ty)} {t} = {text};")
        return t

    def temp(self) -> str:
        self.ntemps += 1
        return f"t_{self.ntemps}"

    def logic(self, e: ir.Binary, pre: list[str]) -> str:
        a = self.operand(e.a, pre, self.has_call(e))
        if not self.has_call(e.b):
            return f"({a} {'&&' if e.op == 'land' else '||'} {self.expr(e.b, pre)})"
        t = self.temp()
        inner: list[str] = []
        b = self.expr(e.b, inner)
        pre.append(f"bool {t} = {a};")
        pre.append(f"if ({t if e.op == 'land' else '!' + t}) {{   /* the right side runs only when needed */")
        pre.extend("    " + s for s in inner)
        pre.append(f"    {t} = {b};")
        pre.append("}")
        return t

    def call(self, e: ir.Call, pre: list[str]) -> str:
        callee = self.module.function(e.func)
        seq = self.has_call(e) and any(self.has_call(a) for a in e.args if not isinstance(a, ir.ArrayRef))
        args = []
        for p, a in zip(callee.params, e.args):
            if isinstance(a, ir.ArrayRef):
                ptr = self.arr(a.name)
                if p.ty.mutable and not a.ty.mutable:
                    ptr = f"({natural(p.ty.elem)} *){ptr}"
                args.append(ptr)
            else:
                v = self.operand(a, pre, seq)
                args.append(f"{self.pre.to_signed(a.ty.bits)}({v})" if a.ty.is_int and a.ty.signed else v)
        text = f"{callee.name}({', '.join(args)})"
        if callee.ret is not None and callee.ret.is_int:
            text = f"({ctype(callee.ret)}){text}"
        return text

    def combine(self, e, k: list[str]) -> str:
        P = self.pre
        if isinstance(e, ir.Load):
            return f"{P.load(e.ty)}({self.arr(e.array)}, {self.length(e.array)}, {k[0]})"
        if isinstance(e, ir.Unary):
            t = e.ty
            if e.op == "neg":
                return f"(-{k[0]})" if t.is_float else f"{P.int_op('neg', t)}({k[0]})"
            return f"(!{k[0]})" if t.is_bool else f"{P.int_op('not', t)}({k[0]})"
        if isinstance(e, ir.Binary):
            return self.binary(e, *k)
        if isinstance(e, ir.Cast):
            return self.cast(e.a.ty, e.ty, k[0])
        if isinstance(e, ir.Prim):
            return self.prim(e, k)
        raise BackendError(f"{getattr(e, 'span', '?')}: the C backend cannot emit {type(e).__name__}")

    def binary(self, e: ir.Binary, a: str, b: str) -> str:
        op, t, at = e.op, e.ty, e.a.ty
        if op in ir.COMPARE:
            if at.is_int:
                return f"{self.pre.int_op(op, at)}({a}, {b})"
            sym = _SYM[op]
            if at.is_bool:
                return f"((int){a} {sym} (int){b})"
            return f"({a} {sym} {b})"
        if t.is_bool:
            if op in ("and", "or"):
                return f"({a} {'&' if op == 'and' else '|'} {b})"
            if op == "xor":
                return f"({a} != {b})"
        if t.is_float:
            if op in ("add", "sub", "mul", "div"):
                return f"({a} {_SYM[op]} {b})"
        if t.is_int:
            if op in ("and", "or", "xor"):
                return f"(({U[t.bits]})({a} {_SYM[op]} {b}))"
            if op in ("shl", "shr"):
                return f"{self.pre.int_op(op, t)}({a}, {b})"
            if op in ir.ARITH:
                return f"{self.pre.int_op(op, t)}({a}, {b})"
        raise BackendError(f"{e.span}: the C backend cannot emit {op} on {t}")

    def cast(self, src: ir.Scalar, dst: ir.Scalar, a: str) -> str:
        P = self.pre
        if src == dst:
            return a
        if src.is_bool:
            if dst.is_float:
                return f"({a} ? ({F[dst.bits]})1 : ({F[dst.bits]})0)"
            return f"(({U[dst.bits]}){a})"
        if dst.is_bool:
            return f"({a} != 0)"
        if src.is_float and dst.is_float:
            return f"(({F[dst.bits]}){a})"
        if src.is_int and dst.is_float:
            v = f"{P.to_signed(src.bits)}({a})" if src.signed else a
            return f"(({F[dst.bits]}){v})"
        if src.is_float and dst.is_int:
            return f"{P.ftoi(src, dst)}({a})"
        if dst.bits > src.bits and src.signed:
            return f"{P.sext(src.bits, dst.bits)}({a})"
        return f"(({U[dst.bits]}){a})"

    def prim(self, e: ir.Prim, k: list[str]) -> str:
        P = self.pre
        if e.name == "select":
            return f"({k[0]} ? {k[1]} : {k[2]})"  # operands are pure or already computed
        t = e.args[0].ty
        if t.is_float:
            w = t.bits
            if e.name == "sqrt":
                P.need(
                    "atlas_sqrt",
                    [
                        "#if defined(__GNUC__)   /* no <math.h>: its names stay free for the intent */",
                        "#define ATLAS_SQRTF __builtin_sqrtf",
                        "#define ATLAS_SQRT __builtin_sqrt",
                        "#else",
                        "#include <math.h>",
                        "#define ATLAS_SQRTF sqrtf",
                        "#define ATLAS_SQRT sqrt",
                        "#endif",
                    ],
                )
                return f"{'ATLAS_SQRTF' if w == 32 else 'ATLAS_SQRT'}({k[0]})"
            if e.name == "abs":
                return f"{P.fabs(w)}({k[0]})"
            if e.name == "min":
                return self.fminmax(w, "min", k)
            if e.name == "max":
                return self.fminmax(w, "max", k)
            raise BackendError(f"{e.span}: the C backend cannot emit {e.name} on {t}")
        return f"{P.int_op(e.name, t)}({', '.join(k)})"

    def fminmax(self, w: int, which: str, k: list[str]) -> str:
        name = f"atlas_f{which}{w}"
        test = "a < b" if which == "min" else "b < a"
        self.pre.need(
            name, [f"static inline {F[w]} {name}({F[w]} a, {F[w]} b) {{", f"    return ({test}) ? a : b;", "}"]
        )
        return f"{name}({', '.join(k)})"

    # -- statements
    def block(self, f: ir.Function, stmts, depth: int) -> list[str]:
        pad = "    " * depth
        out: list[str] = []
        for s in stmts:
            pre: list[str] = []
            if isinstance(s, (ir.Let, ir.Assign)):
                v = self.expr(s.init if isinstance(s, ir.Let) else s.value, pre)
                lines = [f"{self.local(s.name)} = {v};"]
            elif isinstance(s, ir.LetArray):  # every element set to the value, computed once
                v, k = self.temp(), self.temp()
                pre.append(f"{ctype(s.elem)} {v} = {self.expr(s.init, pre)};")
                fill = f"{self.pre.store(s.elem)}({self.arr(s.name)}, {self.length(s.name)}, {k}, {v});"
                lines = [f"for (uint64_t {k} = 0; {k} < {self.length(s.name)}; {k}++) {fill}"]
            elif isinstance(s, ir.Store):
                seq = self.has_call(s.index) or self.has_call(s.value)
                elem = f.param(s.array).ty.elem
                i = self.operand(s.index, pre, seq)
                v = self.operand(s.value, pre, seq)
                lines = [f"{self.pre.store(elem)}({self.arr(s.array)}, {self.length(s.array)}, {i}, {v});"]
            elif isinstance(s, ir.If):
                c = self.expr(s.cond, pre)
                lines = [f"if ({c}) {{", *self.block(f, s.then, 1)]
                if s.else_:
                    lines += ["} else {", *self.block(f, s.else_, 1)]
                lines.append("}")
            elif isinstance(s, ir.For):
                seq = self.has_call(s.lo) or self.has_call(s.hi)
                lo = self.operand(s.lo, pre, seq)
                hi_t = self.temp()
                pre.append(f"{ctype(s.ty)} {hi_t} = {self.expr(s.hi, pre)};")
                lt = self.pre.int_op("lt", s.ty)
                add = self.pre.int_op("add", s.ty)
                v = self.local(s.var)
                lines = [f"for ({v} = {lo}; {lt}({v}, {hi_t}); {v} = {add}({v}, 1)) {{", *self.block(f, s.body, 1), "}"]
                lines = ["{", *("    " + x for x in pre + lines), "}"]
                pre = []
            elif isinstance(s, ir.While):
                cpre: list[str] = []
                c = self.expr(s.cond, cpre)
                if cpre:
                    lines = [
                        "for (;;) {",
                        *("    " + x for x in cpre),
                        f"    if (!({c})) break;",
                        *self.block(f, s.body, 1),
                        "}",
                    ]
                else:
                    lines = [f"while ({c}) {{", *self.block(f, s.body, 1), "}"]
            elif isinstance(s, ir.Return):
                if s.value is None:
                    lines = ["return;"]
                else:
                    v = self.expr(s.value, pre)
                    if f.ret.is_int and f.ret.signed:
                        v = f"{self.pre.to_signed(f.ret.bits)}({v})"
                    lines = [f"return {v};"]
            elif isinstance(s, ir.ExprStmt):
                lines = [self.call(s.expr, pre) + ";"]
            elif isinstance(s, ir.Count):
                sym = counter_symbol(f.name, s.label)
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", sym):
                    raise BackendError(f"{s.span}: the counter {s.label!r} of {f.name} cannot be a C name")
                labels = self.counters.setdefault(f.name, [])
                if s.label not in labels:
                    labels.append(s.label)
                lines = [f"{sym} += 1;"]
            elif isinstance(s, ir.When):
                raise BackendError(
                    f"{s.span}: a `when` reached the C backend; the module must be specialised for a probe first"
                )
            else:
                raise BackendError(f"the C backend cannot emit {type(s).__name__}")
            out.extend(pad + x for x in pre + lines)
        return out

    # -- names: every intent name gets a C identifier of its own
    def name_for(self, kind: str, name: str) -> str:
        key = (kind, name)
        if key not in self.names:
            base = kind + "_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
            c, k = base, 1
            while c in self.taken:
                k += 1
                c = f"{base}_{k}"
            self.taken.add(c)
            self.names[key] = c
        return self.names[key]

    def local(self, name: str) -> str:
        return self.name_for("v", name)

    def arr(self, name: str) -> str:
        return self.name_for("p", name)

    def length(self, name: str) -> str:
        return self.name_for("n", name)

    def function(self, f: ir.Function) -> list[str]:
        self.ntemps = 0
        self.names: dict[tuple[str, str], str] = {}
        self.taken: set[str] = set()
        if (
            not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", f.name)
            or f.name in _RESERVED
            or f.name.startswith(("atlas_", "ATLAS_"))
        ):
            raise BackendError(f"{f.span}: {f.name!r} cannot be the name of a C function")
        params = []
        entry: list[str] = []
        uses: list[str] = []
        for p in f.params:
            if isinstance(p.ty, ir.Array):
                params.append(f"{'' if p.ty.mutable else 'const '}{natural(p.ty.elem)} *{self.arr(p.name)}")
                uses.append(f"(void){self.arr(p.name)}; (void){self.length(p.name)};")
            else:
                arg = self.name_for("a", p.name)
                params.append(f"{natural(p.ty)} {arg}")
                entry.append(f"{ctype(p.ty)} {self.local(p.name)} = ({ctype(p.ty)}){arg};")
                uses.append(f"(void){self.local(p.name)};")
        for p in f.params:  # lengths, evaluated once on entry from the (immutable) scalars
            if isinstance(p.ty, ir.Array):
                pre: list[str] = []
                n = self.expr(p.ty.length, pre)
                if p.ty.length.ty.is_int and p.ty.length.ty.signed:
                    n = f"(uint64_t){self.pre.to_signed(p.ty.length.ty.bits)}({n})"
                entry.extend(pre)
                entry.append(f"uint64_t {self.length(p.name)} = (uint64_t){n};")
        locals_ = dict(ir.declared(f.body))
        decls = [f"{ctype(t)} {self.local(n)} = 0;" for n, t in locals_.items()]
        uses += [f"(void){self.local(n)};" for n in locals_]
        for n, la in f.local_arrays.items():  # the call's own storage, filled where declared
            decls.append(f"{natural(la.elem)} {self.arr(n)}[{la.length}];")
            decls.append(f"uint64_t {self.length(n)} = {la.length};")
        body = self.block(f, f.body, 1)
        ret = natural(f.ret) if f.ret else "void"
        lines = [f"{ret} {f.name}({', '.join(params) or 'void'}) {{", *("    " + x for x in entry + decls)]
        if uses:
            lines.append("    " + " ".join(uses) + "   /* quiet 'unused' warnings */")
        lines += body
        if f.ret is not None and not (f.body and isinstance(f.body[-1], ir.Return)):
            lines.append("    return 0;   /* falling off the end: the interpreter returns no value either */")
        lines.append("}")
        return lines


def generate(module: ir.Module, stem: str) -> tuple[str, str, dict[str, list[str]]]:
    """(header text, C source text, counter labels per function)."""
    em = Emitter(module)
    bodies = []
    for f in module.functions:
        bodies.append("\n".join(em.function(f)))
    guard = re.sub(r"[^A-Za-z0-9]", "_", stem).upper() + "_ATLAS_H"
    sources = ", ".join(name for name, _ in module.sources) or "(no source)"
    counters = [counter_symbol(fn, label) for fn, labels in em.counters.items() for label in labels]
    header = "\n".join(
        [
            f"/* {stem}.h: generated by atlas-c-backend from {sources}. */",
            f"#ifndef {guard}",
            f"#define {guard}",
            "",
            "#include <stdbool.h>",
            "#include <stdint.h>",
            "",
            "#ifdef __cplusplus",
            'extern "C" {',
            "#endif",
            "",
            *(f"/* {f.signature} */\n{prototype(f)};" for f in module.functions),
            *([""] + [f"extern uint64_t {c};   /* run-time counter */" for c in counters] if counters else []),
            "",
            "#ifdef __cplusplus",
            "}",
            "#endif",
            "",
            f"#endif /* {guard} */",
            "",
        ]
    )
    source = "\n".join(
        [
            f"/* {stem}.c: generated by atlas-c-backend from {sources}.",
            " * Plain C11; build without FP contraction (-ffp-contract=off) so that",
            " * every float operation rounds exactly as the intent says. */",
            f'#include "{stem}.h"',
            "",
            "#if defined(__GNUC__) && !defined(__clang__)",
            "/* GCC ignores the standard pragma (and -std=c11 already turns contraction off) */",
            "#else",
            "#pragma STDC FP_CONTRACT OFF",
            "#endif",
            "",
            *([f"uint64_t {c} = 0;" for c in counters] + [""] if counters else []),
            "/* ---- helpers: the exact semantics of each operation (atlas/meaning/semantics.py) ---- */",
            "",
            em.pre.text(),
            "",
            "/* ---- the functions ---- */",
            "",
            "\n\n".join(bodies),
            "",
        ]
    )
    return header, source, em.counters
