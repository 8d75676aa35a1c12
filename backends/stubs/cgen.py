"""A placed device -> the values the C templates print.

Device operations compute with unsigned integers and bool only (the
checker makes sure), so C's unsigned arithmetic already wraps as
atlas.meaning.semantics does.  What differs is made explicit: u8 and u16 operands
are widened to uint32_t before arithmetic (C would promote them to a signed
int, where a product can overflow), shifts by the width or more give 0,
division by zero gives all ones and remainder by zero the dividend, and an
array element past the end reads 0 and is never written.  Each such
operation is a small static inline helper, emitted only where used and
evaluating every argument exactly once, so a register read inside one
happens once, as in the interpreter.
"""

from __future__ import annotations

from atlas.front import devices
from atlas.meaning import interp, ir

C_KEYWORDS = frozenset(
    """auto break case char const continue default do double else enum extern
float for goto if inline int long register restrict return short signed sizeof static struct
switch typedef union unsigned void volatile while bool true false dev i value""".split()
)

_OPS = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "and": "&",
    "or": "|",
    "xor": "^",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "land": "&&",
    "lor": "||",
}


def ctype(t: ir.Scalar) -> str:
    return "bool" if t.is_bool else f"uint{t.bits}_t"


def const(value, t: ir.Scalar) -> str:
    if t.is_bool:
        return "true" if value else "false"
    text = f"{value:#x}" if value >= 1 << 16 else str(value)
    # A u8 or u16 literal needs no cast: it fits, and every operation it
    # meets converts it to the operation's type.
    return f"UINT64_C({text})" if t.bits == 64 else f"{text}u"


def bare(text: str) -> str:
    """text without one pair of parentheses around all of it."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(text) - 1:
            return text  # "(a) + (b)": the first pair closes early
    return text[1:-1]


def cast(t: ir.Scalar, a: str) -> str:
    return f"(({ctype(t)}){a})" if a.isidentifier() or a.endswith(")") and bare(a) != a else f"(({ctype(t)})({a}))"


def accessor(stem: str, verb: str, reg: str) -> str:
    """The C name of a register's accessor: `e1000_read_ctrl`."""
    return f"{stem}_{verb}_{reg.lower()}"


def hexu(value: int) -> str:
    return f"{value:#06x}u"


class OpWriter:
    """The C body of one operation of a placed device."""

    def __init__(self, stem: str, dev: ir.Device, fn: ir.Function, helpers: dict[str, str]):
        self.stem, self.dev, self.fn = stem, dev, fn
        self.helpers = helpers
        self.names: dict[str, str] = {}
        # Every C name this body declares, the user's and our own (`i_end`,
        # `tries`), so a source local can never take one of ours.
        self.taken: set[str] = {"dev"}
        self.lengths = {p.name: p.ty.length for p in fn.params if isinstance(p.ty, ir.Array)}
        # Names read anywhere: a local or parameter never read gets `(void)`.
        self.used: set[str] = set()
        for s in ir.walk_stmts(fn.body):
            if isinstance(s, ir.Store):
                self.used.add(s.array)
            for e in (e for x in ir.own_exprs(s) for e in ir.walk(x)):
                if isinstance(e, ir.Var):
                    self.used.add(e.name)
                elif isinstance(e, ir.Call):
                    self.used |= {a.name for a in e.args if isinstance(a, ir.ArrayRef)}
        for p in fn.params:  # array lengths name scalar parameters
            if isinstance(p.ty, ir.Array):
                self.used |= {e.name for e in ir.walk(p.ty.length) if isinstance(e, ir.Var)}

    # -- names and signature
    def name(self, n: str) -> str:
        if n not in self.names:
            c = n.replace(".", "__")  # the checker names a shadowing local `x.1`
            if c in C_KEYWORDS or c.startswith((f"{self.stem}_", "atlas_")):
                c += "_"  # a keyword, or the name of one of our functions
            self.names[n] = self.fresh(c)
        return self.names[n]

    def fresh(self, base: str) -> str:
        """`base`, or `base_2`, `base_3`...: a C name not yet declared here."""
        c, k = base, 1
        while c in self.taken:
            k += 1
            c = f"{base}_{k}"
        self.taken.add(c)
        return c

    def prototype(self) -> str:
        fn = self.fn
        params = [f"const struct {self.stem} *dev"]
        for p in fn.params:
            if isinstance(p.ty, ir.Array):
                q = "" if p.ty.mutable else "const "
                params.append(f"{q}{ctype(p.ty.elem)} *{self.name(p.name)}")
            else:
                params.append(f"{ctype(p.ty)} {self.name(p.name)}")
        ret = "void" if fn.ret is None else ctype(fn.ret)
        return f"{ret} {self.stem}_{fn.name}({', '.join(params)})"

    def body(self) -> list[str]:
        lines = ["    (void)dev;"] if not _touches_device(self.fn.body) else []
        for p in self.fn.params:
            if p.name not in self.used:
                lines.append(f"    (void){self.name(p.name)};")
        return lines + self.block(self.fn.body, 1)

    # -- statements
    def block(self, stmts, depth: int) -> list[str]:
        out: list[str] = []
        for s in stmts:
            out += self.stmt(s, depth)
        return out

    def stmt(self, s, depth: int) -> list[str]:
        pad = "    " * depth
        if isinstance(s, ir.Let):
            line = [f"{pad}{ctype(s.ty)} {self.name(s.name)} = {bare(self.expr(s.init))};"]
            if s.name not in self.used:  # read for its effect on the device
                line.append(f"{pad}(void){self.name(s.name)};")
            return line
        if isinstance(s, ir.Assign):
            return [f"{pad}{self.name(s.name)} = {bare(self.expr(s.value))};"]
        if isinstance(s, ir.Store):
            return self._store(s, depth)
        if isinstance(s, ir.If):
            out = [f"{pad}if ({bare(self.expr(s.cond))}) {{", *self.block(s.then, depth + 1)]
            if s.else_:
                out += [f"{pad}}} else {{", *self.block(s.else_, depth + 1)]
            return out + [f"{pad}}}"]
        if isinstance(s, ir.For):
            return self._for(s, depth)
        if isinstance(s, ir.While):
            return [f"{pad}while ({bare(self.expr(s.cond))}) {{", *self.block(s.body, depth + 1), f"{pad}}}"]
        if isinstance(s, ir.Return):
            return [f"{pad}return;" if s.value is None else f"{pad}return {bare(self.expr(s.value))};"]
        if isinstance(s, ir.ExprStmt):
            return [f"{pad}(void){self.expr(s.expr)};"]
        if isinstance(s, ir.RegWrite):
            reg = self.dev.register(s.reg)
            idx = "" if s.index is None else f", {self.expr(s.index)}"
            return [f"{pad}{accessor(self.stem, 'write', reg.name)}(dev{idx}, {bare(self.expr(s.value))});"]
        if isinstance(s, ir.Poll):
            return self._poll(s, depth)
        if isinstance(s, ir.Delay):
            return [f"{pad}atlas_delay_us({s.us}u);"]
        raise TypeError(f"a device operation holds no {type(s).__name__}")

    def _store(self, s: ir.Store, depth: int) -> list[str]:
        """An element stored: directly where the index is a constant in
        range, else through the helper that checks it."""
        pad = "    " * depth
        if isinstance(s.index, ir.Const) and self.in_range(s.array, s.index):
            return [f"{pad}{self.name(s.array)}[{s.index.value}] = {bare(self.expr(s.value))};"]
        elem = self.fn.array(s.array).elem
        h = self.helper_store(elem)
        return [f"{pad}{h}({self.name(s.array)}, {self.length(s.array)}, {self.expr(s.index)}, {self.expr(s.value)});"]

    def _for(self, s: ir.For, depth: int) -> list[str]:
        """A counted loop: its bound evaluated once, before it, as the IR's is."""
        pad = "    " * depth
        v, t = self.name(s.var), ctype(s.ty)
        hi = self.fresh(f"{v}_end")
        return [
            f"{pad}{{",
            f"{pad}    {t} {hi} = {self.expr(s.hi)};",
            f"{pad}    for ({t} {v} = {self.expr(s.lo)}; {v} < {hi}; {v} = ({t})({v} + 1u)) {{",
            *self.block(s.body, depth + 2),
            f"{pad}    }}",
            f"{pad}}}",
        ]

    def _poll(self, s: ir.Poll, depth: int) -> list[str]:
        """The interpreter's poll: up to `tries` evaluations, a pause
        between two of them, the else block if none held."""
        pad = "    " * depth
        k = self.fresh("tries")
        pause = f"atlas_delay_us({s.every}u);" if s.every else ";"
        test = f"!({bare(self.expr(s.cond))})"
        declare = []
        if s.var is not None:  # the value, then the test, each try
            if s.ty is None:
                raise TypeError(f"{s.span}: a poll that keeps its value in {s.var} has no type for it")
            v = self.name(s.var)
            declare = [f"{pad}{ctype(s.ty)} {v};"]
            test = f"({v} = {bare(self.expr(s.value))}, {test})"
        return declare + [
            f"{pad}{{",
            f"{pad}    uint32_t {k} = 0;",
            f"{pad}    while ({test} && ++{k} < {s.tries}u)",
            f"{pad}        {pause}",
            f"{pad}    if ({k} == {s.tries}u) {{",
            *self.block(s.else_, depth + 2),
            f"{pad}    }}",
            f"{pad}}}",
        ]

    def length(self, array: str) -> str:
        n = self.lengths[array]
        return f"{n.value}u" if isinstance(n, ir.Const) else f"(uint64_t)({self.expr(n)})"

    def in_range(self, array: str, index) -> bool:
        """A constant index below a constant length: no check is needed."""
        n = self.lengths[array]
        return isinstance(index, ir.Const) and isinstance(n, ir.Const) and index.value < n.value

    # -- expressions
    def expr(self, e) -> str:
        if isinstance(e, ir.Const):
            return const(e.value, e.ty)
        if _constant(e):  # e.g. put(R.F, 1): the field's bits, computed here
            return const(interp.constant(e), e.ty)
        if isinstance(e, ir.Var):
            return self.name(e.name)
        if isinstance(e, ir.Load):
            if isinstance(e.index, ir.Const) and self.in_range(e.array, e.index):
                return f"{self.name(e.array)}[{e.index.value}]"
            h = self.helper_load(e.ty)
            return f"{h}({self.name(e.array)}, {self.length(e.array)}, {self.expr(e.index)})"
        if isinstance(e, ir.RegRead):
            reg = self.dev.register(e.reg)
            idx = "" if e.index is None else f", {self.expr(e.index)}"
            return f"{accessor(self.stem, 'read', reg.name)}(dev{idx})"
        if isinstance(e, ir.Unary):
            a = self.expr(e.a)
            if e.ty.is_bool:
                return f"(!{a})"
            op = "-" if e.op == "neg" else "~"
            return f"(({ctype(e.ty)})({op}{self.wide(e.ty, a)}))"
        if isinstance(e, ir.Binary):
            return self.binary(e)
        if isinstance(e, ir.Cast):
            return cast(e.ty, self.expr(e.a))
        if isinstance(e, ir.Prim):
            t = e.ty
            args = ", ".join(self.expr(a) for a in e.args)
            return f"{self.helper_prim(e.name, t)}({args})"
        if isinstance(e, ir.Call):
            parts = ["dev"] + [self.name(a.name) if isinstance(a, ir.ArrayRef) else self.expr(a) for a in e.args]
            return f"{self.stem}_{e.func}({', '.join(parts)})"
        raise TypeError(f"a device operation holds no {type(e).__name__}")

    @staticmethod
    def wide(t: ir.Scalar, a: str) -> str:
        """u8/u16 operands as uint32_t, so C never promotes them to int."""
        if t.is_bool or t.bits >= 32 or a[0].isdigit():  # a literal is unsigned int already
            return a
        return f"(uint32_t){a}"

    def binary(self, e: ir.Binary) -> str:
        a, b = self.expr(e.a), self.expr(e.b)
        t = e.a.ty
        if t is None:  # the checker lets a call that gives no value stand only as a statement
            raise TypeError(f"{e.span}: the left operand of {e.op} gives no value")
        if e.op in ("land", "lor") or e.op in ir.COMPARE:
            return f"({a} {_OPS[e.op]} {b})"
        if e.op in ("shl", "shr"):
            if isinstance(e.b, ir.Const) and e.b.value < t.bits:  # the usual case: a field's shift
                sym = "<<" if e.op == "shl" else ">>"
                if t.bits >= 32:
                    return f"({a} {sym} {e.b.value})"
                return f"(({ctype(t)})({self.wide(t, a)} {sym} {e.b.value}))"
            return f"{self.helper_shift(e.op, t)}({a}, (uint64_t)({b}))"
        if e.op in ("div", "rem"):
            return f"{self.helper_div(e.op, t)}({a}, {b})"
        if t.is_bool or t.bits >= 32:  # bools, or unsigned C types that wrap as they are
            return f"({a} {_OPS[e.op]} {b})"
        return f"(({ctype(t)})({self.wide(t, a)} {_OPS[e.op]} {self.wide(t, b)}))"

    # -- helpers, each emitted once per file where used
    def _helper(self, name: str, ret: str, params: str, *body: str) -> str:
        """Emit `static inline ret name(params) { body }` once per file; its name."""
        lines = "".join(f"    {line}\n" for line in body)
        self.helpers.setdefault(name, f"static inline {ret} {name}({params})\n{{\n{lines}}}")
        return name

    def helper_load(self, t: ir.Scalar) -> str:
        c = ctype(t)
        return self._helper(
            f"atlas_load_{_tag(t)}", c, f"const {c} *a, uint64_t n, uint64_t i", f"return i < n ? a[i] : ({c})0;"
        )

    def helper_store(self, t: ir.Scalar) -> str:
        c = ctype(t)
        return self._helper(
            f"atlas_store_{_tag(t)}", "void", f"{c} *a, uint64_t n, uint64_t i, {c} v", "if (i < n)", "    a[i] = v;"
        )

    def helper_shift(self, op: str, t: ir.Scalar) -> str:
        c = ctype(t)
        sym = "<<" if op == "shl" else ">>"
        return self._helper(
            f"atlas_{op}_{_tag(t)}",
            c,
            f"{c} a, uint64_t s",
            f"return s < {t.bits}u ? ({c})({self.wide(t, 'a')} {sym} s) : ({c})0;",
        )

    def helper_div(self, op: str, t: ir.Scalar) -> str:
        c = ctype(t)
        zero = f"({c}){const(t.mask, t)}" if op == "div" else "a"
        sym = "/" if op == "div" else "%"
        return self._helper(f"atlas_{op}_{_tag(t)}", c, f"{c} a, {c} b", f"return b ? ({c})(a {sym} b) : {zero};")

    def helper_prim(self, name: str, t: ir.Scalar) -> str:
        c = ctype(t)
        if name == "select":
            return self._helper(f"atlas_select_{_tag(t)}", c, f"bool c, {c} a, {c} b", "return c ? a : b;")
        sym = "<" if name == "min" else ">"
        return self._helper(f"atlas_{name}_{_tag(t)}", c, f"{c} a, {c} b", f"return b {sym} a ? b : a;")


def _constant(e) -> bool:
    """Whether e is computed from literals alone."""
    return all(isinstance(x, (ir.Const, ir.Unary, ir.Binary, ir.Cast, ir.Prim)) for x in ir.walk(e))


def _tag(t: ir.Scalar) -> str:
    return "bool" if t.is_bool else f"u{t.bits}"


def _touches_device(stmts) -> bool:
    return any(
        isinstance(s, ir.RegWrite) or any(devices.touches(x) for x in ir.own_exprs(s)) for s in ir.walk_stmts(stmts)
    )
