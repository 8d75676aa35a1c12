"""A typed random generator of intent programs.

Programs are well typed by construction: every expression is generated for
the type its context needs, every literal carries a suffix, and every
operand is parenthesised, so the checker's inference and the grammar's
precedence never decide anything.  The same seed gives the same program.

Besides free-form statements the generator writes, as templates, the
shapes that have miscompiled before or that the compiler rewrites hardest:
swaps through a local, copies, a store of a local then reassigning it,
inclusive and exclusive scans, affine folds (h = h * c + e), conditional
float updates, and small kernels (saxpy, dot, checksum, popcount, argmax,
prefix sum, brighten).
Loops are bounded by construction (a length parameter, a constant, or a
`bound` parameter the campaign keeps small), so only a deliberately slow
nest can exhaust the interpreter's fuel.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ...meaning import ir
from ...front.check import check
from ...logic import requires
from ...front.typecheck import primitives
from ...front.diagnostics import AtlasError
from ...front.syntax import parse

INTS = ("u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64")
FLOATS = ("f32", "f64")
SCALARS = INTS + FLOATS + ("bool",)
# Constant indexes: in range of every array, and past the short ones.
CONST_INDEXES = (0, 1, 2, 9, 17, 40)
MAX_CONST_INDEX = max(CONST_INDEXES)
HW_FACTS = ("hw.cpu.popcnt", "hw.cpu.avx2", "hw.cpu.avx512f", "hw.cpu.bmi2", "hw.cpu.sse2")

_ARITH = {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "rem"}
_BITS = {"&": "and", "|": "or", "^": "xor"}
_SHIFT = {"<<": "shl", ">>": "shr"}
_CMP = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


def bits(t: str) -> int:
    return 1 if t == "bool" else int(t[1:])


def int_range(t: str) -> tuple[int, int]:
    b = bits(t)
    return (-(1 << (b - 1)), (1 << (b - 1)) - 1) if t[0] == "i" else (0, (1 << b) - 1)


# ---------------------------------------------------------------- what a program is


@dataclass(frozen=True)
class Param:
    name: str
    ty: str  # a scalar name, or the element type of an array
    kind: str  # "length" | "bound" | "value" | "array"
    mutable: bool = False


@dataclass(frozen=True)
class FnSpec:
    name: str
    params: tuple[Param, ...]
    ret: str | None


@dataclass(frozen=True)
class Program:
    seed: int
    source: str
    functions: tuple[FnSpec, ...]
    rejected: int = 0  # candidates the checker refused before this one


# ---------------------------------------------------------------- the generator


@dataclass
class _Var:
    ty: str
    assignable: bool


@dataclass
class _Fn:
    """What is in scope while one function's body is written."""

    arrays: dict[str, tuple[str, bool]]  # name -> (element type, mutable)
    length: str  # the length parameter's name
    length_ty: str
    bounds: list[str]  # `bound` parameters (int scalars)
    scopes: list[dict[str, _Var]] = field(default_factory=lambda: [{}])
    loop_vars: list[tuple[str, str]] = field(default_factory=list)  # (name, type), innermost last
    loop_depth: int = 0
    # 'for' or 'while' per enclosing loop, innermost last: a `continue` is
    # written only in a `for` (a generated `while` steps at its body's end).
    loop_kinds: list[str] = field(default_factory=list)
    ret: str | None = None

    def vars(self, ty: str | None = None, assignable: bool = False) -> list[str]:
        seen: dict[str, _Var] = {}
        for frame in self.scopes:
            seen.update(frame)
        return [n for n, v in seen.items() if (ty is None or v.ty == ty) and (v.assignable or not assignable)]


class Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.counter = 0
        self.fn: _Fn | None = None

    @property
    def cur(self) -> _Fn:
        """The function whose body is being written (`function` sets it before writing one)."""
        if self.fn is None:
            raise RuntimeError("fuzz generator: no function is being written")
        return self.fn

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, seq):
        return self.rng.choice(list(seq))

    # -- literals
    def literal(self, t: str) -> str:
        r = self.rng
        if t == "bool":
            return self.pick(("true", "false"))
        if t in FLOATS:
            v = self.pick(
                (
                    0.0,
                    -0.0,
                    1.0,
                    -1.0,
                    0.5,
                    2.5,
                    3.0,
                    255.0,
                    1e10,
                    -1e-30,
                    3.0e38,
                    1e-45,
                    round(r.uniform(-300, 300), 3),
                )
            )
            text = repr(abs(v)) + t
            return f"(-{text})" if str(v).startswith("-") else text
        lo, hi = int_range(t)
        v = self.pick(
            (
                0,
                1,
                2,
                3,
                7,
                bits(t) - 1,
                bits(t),
                bits(t) + 1,
                lo,
                hi,
                hi - 1,
                lo + 1,
                -1 if lo else 255,
                r.randint(lo, hi),
                r.randint(-100, 100),
            )
        )
        v = min(max(v, lo), hi)
        return f"({v}{t})" if v < 0 else f"{v}{t}"

    # -- expressions
    def expr(self, t: str, depth: int = 2) -> str:
        if depth <= 0 or self.chance(0.2):
            return self.leaf(t)
        makers = [self.leaf, self.unary, self.cast, self.cast, self.prim, self.prim, self.select]
        if t in INTS:
            makers += [self.arith, self.arith, self.bitwise, self.shift, self.wmul]
        elif t in FLOATS:
            makers += [self.arith, self.arith]
        else:
            makers += [self.compare, self.compare, self.logic, self.bitwise]
        return self.pick(makers)(t, depth)

    def leaf(self, t: str, depth: int = 0) -> str:
        f = self.cur
        options = ["lit"]
        if f.vars(t):
            options += ["var", "var"]
        if any(e == t for e, _ in f.arrays.values()):
            options += ["load", "load"]
        if t == "u64":
            options.append("len")
        if t == f.length_ty:
            options.append("length")
        k = self.pick(options)
        if k == "var":
            return self.pick(f.vars(t))
        if k == "load":
            return f"{self.pick([a for a, (e, _) in f.arrays.items() if e == t])}[{self.index()}]"
        if k == "len":
            return f"len({self.pick(f.arrays)})"
        if k == "length":
            return f.length
        return self.literal(t)

    def index(self) -> str:
        f = self.cur
        k = self.rng.random()
        if f.loop_vars and k < 0.6:
            v, vt = self.pick(f.loop_vars) if self.chance(0.3) else f.loop_vars[-1]
            return self.pick((v, v, f"({v} + 1{vt})", f"({v} * 2{vt})", f"({v} ^ 1{vt})", f"(({v} as i64) - 1i64)"))
        if k < 0.85:
            return f"{self.pick(CONST_INDEXES)}{self.pick(('u64', 'u64', 'i32', 'u8'))}"
        return self.expr(self.pick(INTS), 1)

    def unary(self, t: str, depth: int) -> str:
        a = self.expr(t, depth - 1)
        if t == "bool":
            return f"(!{a})"
        if t in FLOATS:
            return f"(-{a})"
        return f"({self.pick('-~!')}{a})"

    def cast(self, t: str, depth: int) -> str:
        src = self.pick([s for s in SCALARS if s != t])
        return f"({self.expr(src, depth - 1)} as {t})"

    def arith(self, t: str, depth: int) -> str:
        ops = list(_ARITH) if t in INTS else ["+", "-", "*", "/"]
        return f"({self.expr(t, depth - 1)} {self.pick(ops)} {self.expr(t, depth - 1)})"

    def bitwise(self, t: str, depth: int) -> str:
        return f"({self.expr(t, depth - 1)} {self.pick(_BITS)} {self.expr(t, depth - 1)})"

    def shift(self, t: str, depth: int) -> str:
        count = self.literal(self.pick(INTS)) if self.chance(0.5) else self.expr(self.pick(INTS), depth - 1)
        return f"({self.expr(t, depth - 1)} {self.pick(_SHIFT)} {count})"

    def compare(self, t: str, depth: int) -> str:
        s = self.pick(SCALARS)
        return f"({self.expr(s, depth - 1)} {self.pick(_CMP)} {self.expr(s, depth - 1)})"

    def logic(self, t: str, depth: int) -> str:
        return f"({self.expr('bool', depth - 1)} {self.pick(('&&', '||'))} {self.expr('bool', depth - 1)})"

    def select(self, t: str, depth: int) -> str:
        if self.chance(0.4):
            return self.conditional(t, depth)
        return f"select({self.expr('bool', depth - 1)}, {self.expr(t, depth - 1)}, {self.expr(t, depth - 1)})"

    def conditional(self, t: str, depth: int) -> str:
        return f"({self._if_chain(t, depth)})"

    def _if_chain(self, t: str, depth: int) -> str:
        """`if c { a } else { b }`, sometimes `else if ...` (unparenthesised)."""
        head = f"if {self.expr('bool', depth - 1)} {{ {self.expr(t, depth - 1)} }} else "
        if depth > 1 and self.chance(0.3):
            return head + self._if_chain(t, depth - 1)
        return head + f"{{ {self.expr(t, depth - 1)} }}"

    def wmul(self, t: str, depth: int) -> str:
        if bits(t) < 16:
            return self.arith(t, depth)
        half = f"{t[0]}{bits(t) // 2}"
        return f"wmul({self.expr(half, depth - 1)}, {self.expr(half, depth - 1)})"

    def prim(self, t: str, depth: int) -> str:
        fits = []
        for name, spec in primitives().items():
            if spec["result"] != "T" or name == "select":
                continue
            kind_ok = {"int": t in INTS, "float": t in FLOATS, "num": t != "bool", "scalar": True}[spec["T"]]
            if kind_ok and spec.get("min_bits", 0) <= bits(t) <= spec.get("max_bits", 64):
                fits.append((name, spec["params"]))
        if not fits:
            return self.compare(t, depth)
        name, params = self.pick(fits)
        args = [self.expr(t, depth - 1) if p == "T" else self.expr(self.pick(INTS), depth - 1) for p in params]
        return f"{name}({', '.join(args)})"

    # -- statements
    def declare(self, name: str, t: str, assignable: bool = True) -> None:
        self.cur.scopes[-1][name] = _Var(t, assignable)

    def block(self, count: int, depth: int) -> list[str]:
        f = self.cur
        f.scopes.append({})
        arrays = dict(f.arrays)
        try:
            return [line for _ in range(count) for line in self.stmt(depth)]
        finally:
            f.scopes.pop()
            f.arrays = arrays  # a local array ends with its block

    def stmt(self, depth: int) -> list[str]:
        f = self.cur
        kinds = ["let", "let", "assign", "assign", "compound", "store", "store", "if", "local_array"]
        if depth > 0:
            kinds += ["for", "for", "template", "template", "while"]
            if f.loop_depth == 0:
                kinds += ["when"]
        if f.ret is not None and self.chance(0.05):
            kinds.append("early_return")
        if f.loop_kinds and self.chance(0.3):
            kinds.append("jump")
        return getattr(self, "s_" + self.pick(kinds))(depth)

    def s_let(self, depth: int) -> list[str]:
        t = self.pick(SCALARS)
        name = self.fresh("v")
        init = self.expr(t)
        self.declare(name, t)
        return [f"let {name}: {t} = {init};"]

    def s_local_array(self, depth: int) -> list[str]:
        """`let t = [v; N];`: N within, at and past the constant indexes."""
        t = self.pick(SCALARS)
        name = self.fresh("t")
        n = self.pick((1, 2, 4, 16, 41))
        typed = f": [{t}; {n}]" if self.chance(0.5) else ""
        line = f"let {name}{typed} = [{self.expr(t, 1)}; {n}];"
        self.cur.arrays[name] = (t, True)
        return [line]

    def s_assign(self, depth: int) -> list[str]:
        targets = self.cur.vars(assignable=True)
        if not targets:
            return self.s_let(depth)
        name = self.pick(targets)
        t = self._type_of(name)
        return [f"{name} = {self.expr(t)};"]

    def _type_of(self, name: str) -> str:
        for frame in reversed(self.cur.scopes):
            if name in frame:
                return frame[name].ty
        raise KeyError(name)

    def compound_op(self, t: str) -> str:
        if t in INTS:
            return self.pick([*_ARITH, *_BITS, *_SHIFT]) + "="
        if t in FLOATS:
            return self.pick("+-*/") + "="
        return self.pick(_BITS) + "="

    def compound_rhs(self, t: str, op: str) -> str:
        return self.expr(self.pick(INTS), 1) if op in ("<<=", ">>=") else self.expr(t)

    def s_compound(self, depth: int) -> list[str]:
        targets = self.cur.vars(assignable=True)
        if not targets:
            return self.s_let(depth)
        name = self.pick(targets)
        t = self._type_of(name)
        op = self.compound_op(t)
        return [f"{name} {op} {self.compound_rhs(t, op)};"]

    def s_store(self, depth: int) -> list[str]:
        muts = [a for a, (_, m) in self.cur.arrays.items() if m]
        if not muts:
            return self.s_let(depth)
        a = self.pick(muts)
        t = self.cur.arrays[a][0]
        if self.chance(0.3):
            op = self.compound_op(t)
            return [f"{a}[{self.index()}] {op} {self.compound_rhs(t, op)};"]
        return [f"{a}[{self.index()}] = {self.expr(t)};"]

    def s_if(self, depth: int) -> list[str]:
        out = [f"if {self.expr('bool')} {{", *self.indent(self.block(self.rng.randint(1, 3), depth - 1))]
        if self.chance(0.5):
            out += ["} else {", *self.indent(self.block(self.rng.randint(1, 2), depth - 1))]
        return out + ["}"]

    def s_when(self, depth: int) -> list[str]:
        fact = self.pick(HW_FACTS)
        return [
            f"when {'!' if self.chance(0.3) else ''}{fact} {{",
            *self.indent(self.block(self.rng.randint(1, 2), depth - 1)),
            "} else {",
            *self.indent(self.block(self.rng.randint(1, 2), depth - 1)),
            "}",
        ]

    def s_early_return(self, depth: int) -> list[str]:
        ret = self.cur.ret
        if ret is None:  # `stmt` offers an early return only in a function with a result
            raise RuntimeError("fuzz generator: early return in a function without a result")
        return [f"if {self.expr('bool', 1)} {{", f"    return {self.expr(ret)};", "}"]

    def s_jump(self, depth: int) -> list[str]:
        """`break` or `continue`, mostly under a condition, sometimes after
        a statement in the same arm or with an `else` that falls through."""
        word = "continue" if self.cur.loop_kinds[-1] == "for" and self.chance(0.5) else "break"
        if self.chance(0.1):
            return [f"{word};"]
        then = self.block(self.rng.randint(0, 1), 0) + [f"{word};"]
        out = [f"if {self.expr('bool', 1)} {{", *self.indent(then)]
        if self.chance(0.3):
            out += ["} else {", *self.indent(self.block(1, max(depth - 1, 0)))]
        return out + ["}"]

    def loop_header(self) -> tuple[str, str, str]:
        """(variable, its type, `for` header) for a loop over the length,
        a constant range, or a bound parameter."""
        f = self.cur
        var = self.fresh("i")
        kinds = ["length", "length", "const"] + (["bound"] if f.bounds else [])
        if f.loop_depth > 0:
            kinds = ["const", "const", "length"]  # keep nests cheap for the interpreter
        k = self.pick(kinds)
        if k == "length":
            lo = self.pick((0, 0, 0, 1))
            return var, f.length_ty, f"for {var} in {lo}{f.length_ty}..{f.length} {{"
        if k == "bound":
            b = self.pick(f.bounds)
            t = self._type_of(b)
            return var, t, f"for {var} in 0{t}..{b} {{"
        t = self.pick(INTS)
        lo, hi = self.pick(((0, 4), (0, 8), (0, 16), (1, 9), (3, 3), (0, 41)))
        return var, t, f"for {var} in {lo}{t}..{hi}{t} {{"

    def loop(self, body, header: tuple[str, str, str] | None = None) -> list[str]:
        """A loop whose body `body()` writes with the loop variable in scope
        (over `header`'s range where given: (variable, type, header))."""
        f = self.cur
        var, t, header_text = header or self.loop_header()
        f.scopes.append({var: _Var(t, False)})
        f.loop_vars.append((var, t))
        f.loop_depth += 1
        f.loop_kinds.append("for")
        try:
            lines = body()
        finally:
            f.loop_kinds.pop()
            f.loop_depth -= 1
            f.loop_vars.pop()
            f.scopes.pop()
        return [header_text, *self.indent(lines), "}"]

    def s_for(self, depth: int) -> list[str]:
        return self.loop(lambda: self.block(self.rng.randint(1, 4), depth - 1))

    def s_while(self, depth: int) -> list[str]:
        f = self.cur
        w = self.fresh("w")
        t = f.length_ty
        self.declare(w, t, assignable=False)  # only the loop's own step moves it
        extra = f" && {self.expr('bool', 1)}" if self.chance(0.3) else ""
        f.loop_vars.append((w, t))
        f.loop_depth += 1
        f.loop_kinds.append("while")
        try:
            body = self.block(self.rng.randint(1, 3), depth - 1)
        finally:
            f.loop_kinds.pop()
            f.loop_depth -= 1
            f.loop_vars.pop()
        # counted up, or down from the length with the step first or last:
        # the forms the front end reads as for loops (front/counted.py)
        way = self.pick(("up", "up", "down-first", "down-last"))
        if way == "up":
            return [
                f"let {w}: {t} = 0{t};",
                f"while ({w} < {f.length}){extra} {{",
                *self.indent(body),
                f"    {w} += 1{t};",
                "}",
            ]
        step = [f"    {w} -= 1{t};"]
        return [
            f"let {w}: {t} = {f.length};",
            f"while ({w} > 0{t}){extra} {{",
            *(step if way == "down-first" else []),
            *self.indent(body),
            *(step if way == "down-last" else []),
            "}",
        ]

    # -- templates: loop shapes written on purpose
    def s_template(self, depth: int) -> list[str]:
        return self.pick(
            (
                self.t_swap,
                self.t_copy,
                self.t_store_reassign,
                self.t_scan,
                self.t_carried,
                self.t_argfold,
                self.t_affine,
                self.t_cond_float,
                self.t_fold,
                self.t_loop_rule,
                self.t_swap_elements,
                self.t_passes,
            )
        )()

    def _arrays(self, t: str | None = None, mutable: bool = False) -> list[str]:
        return [a for a, (e, m) in self.cur.arrays.items() if (t is None or e == t) and (m or not mutable)]

    def _mut_and_source(self) -> tuple[str, str, str] | None:
        """(written array, read array of the same type, element type), or None."""
        pairs = [(w, r) for w in self._arrays(mutable=True) for r in self._arrays(self.cur.arrays[w][0])]
        if not pairs:
            return None
        w, r = self.pick(pairs)
        return w, r, self.cur.arrays[w][0]

    def t_swap(self) -> list[str]:
        t = self.pick(SCALARS)
        a, b, tmp = self.fresh("sa"), self.fresh("sb"), self.fresh("t")
        out = [f"let {a}: {t} = {self.expr(t, 1)};", f"let {b}: {t} = {self.expr(t, 1)};"]
        self.declare(a, t)
        self.declare(b, t)

        def body():
            lines = [f"let {tmp}: {t} = {a};", f"{a} = {b};", f"{b} = {tmp};"]
            self.declare(tmp, t)
            muts = self._arrays(t, mutable=True)
            if muts:
                lines.append(f"{self.pick(muts)}[{self.index()}] = {a};")
            return lines

        return out + (self.loop(body) if self.chance(0.7) else body())

    def t_swap_elements(self) -> list[str]:
        muts = self._arrays(mutable=True)
        if not muts:
            return self.t_swap()
        y = self.pick(muts)
        t = self.cur.arrays[y][0]
        tmp = self.fresh("t")

        def body():
            i, j = self.index(), self.index()
            return [f"let {tmp}: {t} = {y}[{i}];", f"{y}[{i}] = {y}[{j}];", f"{y}[{j}] = {tmp};"]

        return self.loop(body)

    def t_passes(self) -> list[str]:
        """Two or three loops over one range, one after the other, each a
        pass of stores (what loop fusion takes, and near misses of it:
        indexes ahead of or behind the loop variable)."""
        muts = self._arrays(mutable=True)
        if not muts:
            return self.t_copy()
        var, t, header = self.loop_header()
        out: list[str] = []
        for k in range(self.rng.randint(2, 3)):
            v = var if k == 0 else self.fresh("i")
            here = (v, t, header.replace(f"for {var} in", f"for {v} in", 1))

            def body(v=v):
                y = self.pick(muts)
                e = self.cur.arrays[y][0]
                lines = []
                for _ in range(self.rng.randint(1, 2)):
                    at = v if self.chance(0.7) else self.index()  # mostly the element of this iteration
                    lines.append(f"{y}[{at}] = {self.expr(e, 2)};")
                return lines

            out += self.loop(body, here)
        return out

    def t_copy(self) -> list[str]:
        found = self._mut_and_source()
        if found is None:
            return self.s_let(0)
        y, x, _ = found
        return self.loop(lambda: [f"{y}[{self.index()}] = {x}[{self.index()}];"])

    def t_store_reassign(self) -> list[str]:
        muts = self._arrays(mutable=True)
        if not muts:
            return self.t_swap()
        y = self.pick(muts)
        t = self.cur.arrays[y][0]
        v = self.fresh("v")

        def body():
            first = f"let {v}: {t} = {self.expr(t, 1)};"
            self.declare(v, t)
            return [first, f"{y}[{self.index()}] = {v};", f"{v} = {self.expr(t, 1)};", f"{y}[{self.index()}] = {v};"]

        return self.loop(body)

    def t_scan(self) -> list[str]:
        found = self._mut_and_source()
        if found is None or found[2] == "bool":
            return self.t_fold()
        y, x, t = found
        s = self.fresh("s")
        ints = ("+", "+", "^", "*", "|", "&", "-", "min", "max", "if>", "if<=")
        op = self.pick(ints) if t in INTS else self.pick("+*")
        inclusive = self.chance(0.5)
        out = [f"let {s}: {t} = {self.literal(t) if self.chance(0.3) else '0' + t};"]

        def body():
            i = self.cur.loop_vars[-1][0]
            e = f"{x}[{i}]"
            if op in ("min", "max"):
                step = f"{s} = {op}({s}, {e});"
            elif op.startswith("if"):  # a running maximum or minimum written with a branch
                step = f"if {e} {op[2:]} {s} {{ {s} = {e}; }}"
            else:
                step = f"{s} = {s} {op} {e};"
            put = f"{y}[{i}] = {s};"
            if t in INTS and self.chance(0.25):  # a value of the running value, not itself
                put = f"{y}[{i}] = {s} ^ {self.literal(t)};"
            return [step, put] if inclusive else [put, step]

        out += self.loop(body)
        self.declare(s, t)
        return out

    def t_carried(self) -> list[str]:
        """A scan carried through the array it stores, as C writes one
        (`y[i] = y[i - 1] + x[i]`, or in place): search/carried.py."""
        found = self._mut_and_source()
        if found is None or found[2] == "bool":
            return self.t_fold()
        y, x, t = found
        op = self.pick(("+", "+", "^", "*", "|", "&", "-", "min", "max") if t in INTS else "+*")

        def body():
            i, it = self.cur.loop_vars[-1]
            back = f"{y}[{i} - 1{it}]"
            e = f"{y}[{i}]" if self.chance(0.3) else f"{x}[{i}]"  # in place: the element not yet stored
            value = f"{op}({back}, {e})" if op in ("min", "max") else f"{back} {op} {e}"
            return [f"{y}[{i}] = {value};"]

        return self.loop(body)

    def t_argfold(self) -> list[str]:
        """Where the first or last extreme element is (an argmax or argmin),
        kept with its value or read back as x[k], and near misses: an
        element that is not the one taken, a k that starts past the loop;
        over integers or floats (NaN, infinities and both zeros among the
        inputs), k sometimes of another integer type, set to `i as T`."""
        xs = [a for a in self._arrays() if self.cur.arrays[a][0] in INTS + FLOATS]
        if not xs:
            return self.t_fold()
        x = self.pick(xs)
        t = self.cur.arrays[x][0]
        var, lt, header = self.loop_header()
        k, m = self.fresh("at"), self.fresh("best")
        rel = self.pick((">", ">=", "<", "<="))
        kept = self.chance(0.7)  # else compared with x[k]
        kt = self.pick(INTS) if kept and self.chance(0.3) else lt  # k = i as kt
        out = [f"let {k}: {kt} = {self.pick(('0' + kt, '0' + kt, self.literal(kt)))};"]
        if kept:
            out.append(f"let {m}: {t} = {self.literal(t)};")
        at = var if kt == lt else f"{var} as {kt}"

        def body():
            if not kept:
                return [f"if {x}[{var}] {rel} {x}[{k}] {{ {k} = {var}; }}"]
            e = f"{x}[{var}]" if self.chance(0.6) else self.expr(t, 1)
            taken = e if self.chance(0.9) else self.expr(t, 1)
            flip = {">": "<", ">=": "<=", "<": ">", "<=": ">="}[rel]
            cond = f"{e} {rel} {m}" if self.chance(0.5) else f"{m} {flip} {e}"
            return [f"if {cond} {{ {m} = {taken}; {k} = {at}; }}"]

        out += self.loop(body, (var, lt, header))
        self.declare(k, kt)
        if kept:
            self.declare(m, t)
        return out

    def t_cond_float(self) -> list[str]:
        t = self.pick(FLOATS)
        v = self.fresh("fv")
        out = [f"let {v}: {t} = {self.pick(('0.0', '-0.0', '1.0'))}{t};"]

        def body():
            return [f"if {self.expr('bool', 1)} {{", f"    {v} = {v} + {self.expr(t, 1)};", "}"]

        out += self.loop(body)
        self.declare(v, t)
        return out

    # Affine folds (atlas/meaning/affine.py), the multiplier spelt as a
    # product either way round, a shift and an add, or negated, and near
    # misses: a multiplier the loop changes, an xor of h (not affine).
    _AFFINE_BODIES = (
        "{h} = ({h} * {c}) + ({e});",
        "{h} = ({c} * {h}) + ({e});",
        "{h} = (({h} << {k}) + {h}) + ({e});",
        "{h} = ({e}) - ({h} * {c});",
        "{h} = ({h} << {k}) - ({e});",
        "{h} = ({h} * ({e})) + {c};",
        "{h} = ({h} ^ ({e})) * {c};",
    )

    def t_affine(self) -> list[str]:
        t = self.pick(INTS)
        h = self.fresh("h")
        out = [f"let {h}: {t} = {self.literal(t)};"]
        form = self.pick(self._AFFINE_BODIES)
        k = f"{self.rng.randint(1, bits(t) - 1)}{t}"
        out += self.loop(lambda: [form.format(h=h, c=self.literal(t), e=self.expr(t, 2), k=k)])
        self.declare(h, t)
        return out

    def t_fold(self) -> list[str]:
        t = self.pick(SCALARS)
        s = self.fresh("acc")
        out = [f"let {s}: {t} = {self.literal(t)};"]
        op = self.compound_op(t)
        out += self.loop(lambda: [f"{s} {op} {self.compound_rhs(t, op)};"])
        self.declare(s, t)
        return out

    # The shapes of the loop rules (primitives/loops.yaml) and their near
    # misses: the "unchanging" value c is sometimes built inside the loop,
    # where it may read the index or the accumulator.
    _LOOP_RULE_BODIES = (
        "{s} += {c} * ({e});",
        "{s} = ({e}) * {c} + {s};",
        "{s} -= {e};",
        "{s} -= {c} * ({e});",
        "{s} += ({e}) + {c};",
        "{s} ^= ({e}) & {c};",
        "{s} |= {c} & ({e});",
        "{s} += {c};",
        "{s} ^= {c};",
        "{s} |= {c};",
        "{s} &= {c};",
        "{s} = min({s}, {c});",
        "{s} = max({c}, {s});",
        "if {p} {{ {s} += {c}; }} else {{ {s} += {c}; }}",
        "if {p} {{ {s} += {c} * ({e}); }}",
        "{s} += ({e}) << {c};",
        "{s} ^= ({e}) >> {c};",
        "{s} |= ({e}) << {c};",
    )

    def t_loop_rule(self) -> list[str]:
        t = self.pick(INTS)
        s = self.fresh("acc")
        out = [f"let {s}: {t} = {self.literal(t)};"]
        template = self.pick(self._LOOP_RULE_BODIES)
        outside = self.expr(t, 1)  # before the loop: it cannot read the index
        self.declare(s, t)

        def body() -> list[str]:
            c = outside if self.chance(0.8) else self.expr(t, 1)
            return [template.format(s=s, c=c, e=self.expr(t, 1), p=self.expr("bool", 1))]

        out += self.loop(body)
        return out

    @staticmethod
    def indent(lines: list[str]) -> list[str]:
        return ["    " + line for line in lines]

    # -- functions
    def function(self, name: str) -> tuple[str, FnSpec]:
        r = self.rng
        if self.chance(0.35):
            return self.kernel(name)
        length_ty = self.pick(("u64", "u64", "u32", "i64"))
        main = self.pick(SCALARS)
        params = [Param("n", length_ty, "length")]
        arrays: dict[str, tuple[str, bool]] = {}
        for k in range(r.randint(1, 3)):
            elem = main if self.chance(0.6) else self.pick(SCALARS)
            mutable = k == 0 or self.chance(0.4)
            arrays[f"a{k}"] = (elem, mutable)
            params.append(Param(f"a{k}", elem, "array", mutable))
        bounds = []
        for k in range(r.randint(0, 3)):
            t = self.pick(SCALARS)
            params.append(Param(f"p{k}", t, "value"))
        if self.chance(0.4):
            bt = self.pick(INTS)
            params.append(Param("k", bt, "bound"))
            bounds.append("k")
        ret = self.pick((*SCALARS, None))
        self.fn = _Fn(arrays, "n", length_ty, bounds, ret=ret)
        for p in params:
            if p.kind != "array":
                self.declare(p.name, p.ty, assignable=False)
        body = self.block(r.randint(2, 6), depth=2)
        if ret is not None:
            body.append(f"return {self.expr(ret)};")
        pre = self.precondition(params) if self.chance(0.25) else None
        return self.render(name, params, ret, body, pre), FnSpec(name, tuple(params), ret)

    def precondition(self, params: list[Param]) -> str | None:
        """`requires`: one or two comparisons over the value parameters (never
        the sizes, which the campaign sets), each of which some values meet."""
        ints = [p for p in params if p.kind == "value" and p.ty in INTS]
        if not ints:
            return None
        parts = []
        for _ in range(self.rng.randint(1, 2)):
            a = self.pick(ints)
            others = [q for q in ints if q.ty == a.ty and q.name != a.name]
            if others and self.chance(0.4):
                parts.append(f"({a.name} {self.pick(('<', '!=', '>='))} {self.pick(others).name})")
            elif self.chance(0.3):
                m = self.pick((1, 3, 7, 15))
                parts.append(f"(({a.name} & {m}{a.ty}) == {self.rng.randint(0, m)}{a.ty})")
            else:
                lo, hi = int_range(a.ty)
                v = self.rng.randint(max(lo, -100), min(hi, 100))
                parts.append(f"({a.name} {self.pick(('<', '>', '!=', '<=', '>='))} {v}{a.ty})")
        return " && ".join(parts)

    def render(self, name: str, params: list[Param], ret: str | None, body: list[str], pre: str | None = None) -> str:
        def ptext(p: Param) -> str:
            if p.kind != "array":
                return f"{p.name}: {p.ty}"
            return f"{p.name}: {'mut ' if p.mutable else ''}[{p.ty}; n]"

        head = f"fn {name}({', '.join(ptext(p) for p in params)})" + (f" -> {ret}" if ret else "")
        head += f" requires {pre}" if pre else ""
        return "\n".join([head + " {", *self.indent(body), "}"])

    # -- kernels
    def kernel(self, name: str) -> tuple[str, FnSpec]:
        """A small kernel of a shape the benchmarks have (its kind drawn first)."""
        kind = self.pick(("saxpy", "dot", "checksum", "modular", "popcount", "argmax", "prefix", "brighten"))
        length_ty = self.pick(("u64", "u64", "u32"))
        params, head, body, ret = getattr(self, "_k_" + kind)(name, length_ty)
        return "\n".join([head + " {", *self.indent(body), "}"]), FnSpec(name, tuple(params), ret)

    def _k_saxpy(self, name: str, length_ty: str) -> tuple[list, str, list[str], str | None]:
        """The saxpy shape: y = a x + y."""
        n, z = f"n: {length_ty}", f"0{length_ty}"
        t = self.pick(FLOATS + INTS)
        params = [
            Param("n", length_ty, "length"),
            Param("a", t, "value"),
            Param("x", t, "array"),
            Param("y", t, "array", True),
        ]
        head = f"fn {name}({n}, a: {t}, x: [{t}; n], y: mut [{t}; n])"
        body = [f"for i in {z}..n {{", "    y[i] = a * x[i] + y[i];", "}"]
        ret = None
        return params, head, body, ret

    def _k_dot(self, name: str, length_ty: str) -> tuple[list, str, list[str], str | None]:
        """A dot product, added or subtracted."""
        n, z = f"n: {length_ty}", f"0{length_ty}"
        t = self.pick(FLOATS + INTS)
        params = [Param("n", length_ty, "length"), Param("x", t, "array"), Param("y", t, "array")]
        head = f"fn {name}({n}, x: [{t}; n], y: [{t}; n]) -> {t}"
        body = [
            f"let s: {t} = {self.pick(('0', '1'))}{t};",
            f"for i in {z}..n {{",
            f"    s {self.pick(('+=', '-='))} x[i] * y[i];",
            "}",
            "return s;",
        ]
        ret = t
        return params, head, body, ret

    def _k_checksum(self, name: str, length_ty: str) -> tuple[list, str, list[str], str | None]:
        """A running hash or checksum of narrower elements."""
        n, z = f"n: {length_ty}", f"0{length_ty}"
        t = self.pick(("u32", "u64", "u16"))
        e = self.pick(("u8", "u16", "u32"))
        params = [Param("n", length_ty, "length"), Param("x", e, "array"), Param("h0", t, "value")]
        head = f"fn {name}({n}, x: [{e}; n], h0: {t}) -> {t}"
        mix = self.pick(
            (
                f"(h ^ (x[i] as {t})) * {16777619 & int_range(t)[1]}{t}",
                f"rotl(h, 5u32) + (x[i] as {t})",
                f"add_sat(h, x[i] as {t})",
                f"(h + (x[i] as {t})) % 65521{t}",
            )
        )
        body = ["let h = h0;", f"for i in {z}..n {{", f"    h = {mix};", "}", "return h;"]
        ret = t
        return params, head, body, ret

    def _k_modular(self, name: str, length_ty: str) -> tuple[list, str, list[str], str | None]:
        """Running sums reduced modulo m (Adler, Fletcher, a modular sum),
        reduced by `%` or by a subtraction, capped at m (saturating), or
        (both sums) left to wrap at their type, from starts that may lie
        above m."""
        n, z = f"n: {length_ty}", f"0{length_ty}"
        t = self.pick(("u8", "u16", "u32", "u64"))
        e = self.pick(tuple(u for u in ("u8", "u16", "u32") if int_range(u)[1] <= int_range(t)[1]))
        m = self.pick(tuple(v for v in (2, 7, 251, 255, 65521, 65535, 2147483647) if v <= int_range(t)[1]))
        params = [
            Param("n", length_ty, "length"),
            Param("x", e, "array"),
            Param("a0", t, "value"),
            Param("b0", t, "value"),
        ]
        head = f"fn {name}({n}, x: [{e}; n], a0: {t}, b0: {t}) -> {t}"

        # the sums reduced by `%`, by a subtraction, by a select, or (with
        # both sums so) not at all: wrapping at their type, as an 8-bit
        # Fletcher sum does; or by `%` of a modulus the caller gives
        wrap = self.rng.random() < 0.25
        given = not wrap and self.rng.random() < 0.3
        capped = not wrap and self.rng.random() < 0.3  # saturating sums, held at m (or the caller's m)
        if given:
            params.append(Param("m", t, "value"))
            head = f"fn {name}({n}, x: [{e}; n], a0: {t}, b0: {t}, m: {t}) -> {t}"

        def reduce(v: str, into: str) -> list[str]:
            if wrap:
                return [f"    {into} = {v};"]
            if given and capped:
                return [
                    [f"    {into} = min({v}, m);"],
                    [f"    {into} = {v};", f"    if {into} > m {{ {into} = m; }}"],
                ][self.rng.randrange(2)]
            if given:  # by `%`, or by one subtraction once the sum reaches m
                if self.rng.random() < 0.5:
                    return [f"    {into} = {v};", f"    if {into} >= m {{ {into} -= m; }}"]
                return [f"    {into} = ({v}) % m;"]
            if capped:
                return [
                    [f"    {into} = min({v}, {m}{t});"],
                    [f"    {into} = {v};", f"    if {into} > {m}{t} {{ {into} = {m}{t}; }}"],
                    [
                        f"    let {into}_t = {v};",
                        f"    {into} = if {into}_t >= {m}{t} {{ {m}{t} }} else {{ {into}_t }};",
                    ],
                ][self.rng.randrange(3)]
            return [
                [f"    {into} = ({v}) % {m}{t};"],
                [f"    {into} = {v};", f"    if {into} >= {m}{t} {{ {into} -= {m}{t}; }}"],
                [
                    f"    let {into}_t = {v};",
                    f"    {into} = if {into}_t < {m}{t} {{ {into}_t }} else {{ {into}_t - {m}{t} }};",
                ],
            ][self.rng.randrange(3)]

        body = ["let a = a0;", "let b = b0;", f"for i in {z}..n {{"]
        body += reduce(f"a + (x[i] as {t})", "a")
        if self.rng.random() < 0.7:  # a second sum over the first, as Adler and Fletcher keep
            body += reduce(self.pick(("b + a", "a + b", f"b + a + {self.rng.randrange(4)}{t}")), "b")
        body += ["}", f"return a ^ (b << {self.rng.randrange(1, 9)}u32);"]
        return params, head, body, t

    def _k_popcount(self, name: str, length_ty: str) -> tuple[list, str, list[str], str | None]:
        """A popcount total, by the primitive or bit by bit as the machine allows."""
        n, z = f"n: {length_ty}", f"0{length_ty}"
        t = self.pick(INTS)
        params = [Param("n", length_ty, "length"), Param("w", t, "array")]
        head = f"fn {name}({n}, w: [{t}; n]) -> {t}"
        loop = [f"for i in {z}..n {{", "    total += popcount(w[i]);", "}"]
        manual = [
            f"for i in {z}..n {{",
            "    let x = w[i];",
            "    while x != 0" + t + " {",
            f"        total += x & 1{t};",
            f"        x = x >> 1{t};" if t[0] == "u" else f"        x = (x as u{t[1:]} >> 1u8) as {t};",
            "    }",
            "}",
        ]
        body = [
            f"let total: {t} = 0{t};",
            "when hw.cpu.popcnt {",
            *self.indent(loop),
            "} else {",
            *self.indent(manual),
            "}",
            "return total;",
        ]
        ret = t
        return params, head, body, ret

    def _k_argmax(self, name: str, length_ty: str) -> tuple[list, str, list[str], str | None]:
        """The index of the largest element."""
        n, z = f"n: {length_ty}", f"0{length_ty}"
        t = self.pick(SCALARS[:-1])
        params = [Param("n", length_ty, "length"), Param("x", t, "array")]
        head = f"fn {name}({n}, x: [{t}; n]) -> {length_ty}"
        cmp = self.pick((">", ">="))
        body = [
            f"let best: {length_ty} = {z};",
            "let bv = x[0];",
            f"for i in 1{length_ty}..n {{",
            f"    if x[i] {cmp} bv {{",
            "        bv = x[i];",
            "        best = i;",
            "    }",
            "}",
            "return best;",
        ]
        ret = length_ty
        return params, head, body, ret

    def _k_prefix(self, name: str, length_ty: str) -> tuple[list, str, list[str], str | None]:
        """An inclusive scan."""
        n, z = f"n: {length_ty}", f"0{length_ty}"
        t = self.pick(FLOATS + INTS)
        params = [Param("n", length_ty, "length"), Param("x", t, "array"), Param("y", t, "array", True)]
        head = f"fn {name}({n}, x: [{t}; n], y: mut [{t}; n]) -> {t}"
        step = ["    s += x[i];", "    y[i] = s;"]
        body = [
            f"let s: {t} = 0{t};",
            f"for i in {z}..n {{",
            *(step if self.chance(0.5) else step[::-1]),
            "}",
            "return s;",
        ]
        ret = t
        return params, head, body, ret

    def _k_brighten(self, name: str, length_ty: str) -> tuple[list, str, list[str], str | None]:
        """A clamped brightness shift."""
        n, z = f"n: {length_ty}", f"0{length_ty}"
        params = [
            Param("n", length_ty, "length"),
            Param("x", "u8", "array"),
            Param("y", "u8", "array", True),
            Param("d", "i32", "value"),
        ]
        head = f"fn {name}({n}, x: [u8; n], y: mut [u8; n], d: i32)"
        v = self.pick(
            (
                "min(max((x[i] as i32) + d, 0i32), 255i32) as u8",
                "add_sat(x[i], d as u8)",
                "select((x[i] as i32) + d > 255i32, 255u8, ((x[i] as i32) + d) as u8)",
            )
        )
        body = [f"for i in {z}..n {{", f"    y[i] = {v};", "}"]
        ret = None
        return params, head, body, ret

    def program(self, seed: int) -> Program:
        texts, specs = [], []
        for k in range(self.rng.randint(1, 2)):
            text, spec = self.function(f"f{k}")
            texts.append(text)
            specs.append(spec)
        return Program(seed, "\n\n".join(texts) + "\n", tuple(specs))


def check_source(source: str) -> ir.Module:
    """The checked module of `source` (raises AtlasError as `atlas check` would)."""
    return check(parse(source, "<fuzz>"))


def generate(seed: int, max_tries: int = 50) -> Program:
    """The program of `seed`: the first candidate the checker accepts (the
    number refused before it is kept: a refusal is a generator bug)."""
    for attempt in range(max_tries):
        prog = Generator(seed * 1000 + attempt).program(seed)
        try:
            module = check_source(prog.source)
        except AtlasError:
            continue
        if any(requires.never_met(f) for f in module.functions):
            continue  # a precondition no call meets: nothing could be compared
        return Program(prog.seed, prog.source, prog.functions, attempt)
    raise RuntimeError(f"seed {seed}: no well-typed program in {max_tries} tries")


# ---------------------------------------------------------------- coverage


def features(module: ir.Module) -> set[str]:
    """What a checked module exercises: operators and primitives by type,
    casts, parameter and local widths, statement kinds."""
    out: set[str] = set()

    def expr(e) -> None:
        if isinstance(e, ir.Binary):
            out.add(f"op:{e.op}:{_operand_type(e.a).name}")
        elif isinstance(e, ir.Unary):
            out.add(f"op:{e.op}:{e.ty.name}")
        elif isinstance(e, ir.Prim):
            out.add(f"prim:{e.name}:{_operand_type(e.args[-1 if e.name == 'select' else 0]).name}")
        elif isinstance(e, ir.Cast):
            out.add(f"cast:{_operand_type(e.a).name}:{e.ty.name}")
        elif isinstance(e, ir.Load):
            out.add(f"load:{e.ty.name}")
        for child in _children(e):
            expr(child)

    def stmts(body) -> None:
        for s in body:
            out.add(f"stmt:{type(s).__name__}")
            for child in _children(s):
                if isinstance(child, tuple):
                    stmts(child)
                else:
                    expr(child)
            if isinstance(s, ir.Let):
                out.add(f"local:{s.ty.name}")

    for fn in module.functions:
        if fn.requires is not None:
            out.add("requires")
        for p in fn.params:
            out.add(
                f"param:{'mut ' if isinstance(p.ty, ir.Array) and p.ty.mutable else ''}"
                f"{'array' if isinstance(p.ty, ir.Array) else 'scalar'}:"
                f"{(p.ty.elem if isinstance(p.ty, ir.Array) else p.ty).name}"
            )
        stmts(fn.body)
    return out


def _operand_type(e: ir.Expr) -> ir.Scalar:
    """An operand's type (only a call can lack one, and the checker refuses a
    call without a result as an operand)."""
    if e.ty is None:
        raise ValueError(f"features: a {type(e).__name__} without a type used as an operand")
    return e.ty


_EXPRS = (ir.Const, ir.Var, ir.Load, ir.Unary, ir.Binary, ir.Cast, ir.Prim, ir.Call)


def _children(node):
    """An IR node's expressions, and its statement blocks as tuples."""
    for name in getattr(node, "__dataclass_fields__", {}):
        v = getattr(node, name)
        if isinstance(v, _EXPRS):
            yield v
        elif isinstance(v, tuple) and v:
            if isinstance(v[0], _EXPRS):
                yield from v
            elif not isinstance(v[0], (str, ir.ArrayRef)):
                yield v


def required_features() -> set[str]:
    """Every operator, primitive and cast at every type that allows it, every
    scalar as a parameter and array element, every statement kind, and a
    precondition."""
    need = {f"stmt:{k}" for k in ("Let", "LetArray", "Assign", "Store", "If", "For", "While", "Return", "When")}
    need.add("requires")  # a function with a precondition
    need |= {"syntax:break", "syntax:continue", "syntax:if-expression"}
    for t in SCALARS:
        need |= {f"param:scalar:{t}", f"param:array:{t}", f"param:mut array:{t}", f"local:{t}", f"load:{t}"}
        need |= {f"cast:{t}:{u}" for u in SCALARS if u != t}
        need |= {f"op:{op}:{t}" for op in _CMP.values()}
        need.add(f"prim:select:{t}")
        if t == "bool":
            need |= {f"op:{op}:bool" for op in (*_BITS.values(), "land", "lor", "not")}
            continue
        need |= {f"op:{op}:{t}" for op in ("add", "sub", "mul", "div", "neg")}
        if t in INTS:
            need |= {f"op:{op}:{t}" for op in ("rem", *_BITS.values(), *_SHIFT.values(), "not")}
        for name, spec in primitives().items():
            kind_ok = {"int": t in INTS, "float": t in FLOATS, "num": True, "scalar": True}[spec["T"]]
            if kind_ok and spec.get("min_bits", 0) <= bits(t) <= spec.get("max_bits", 64):
                need.add(f"prim:{name}:{t}")
    return need


def source_features(source: str) -> set[str]:
    """What a program's text exercises that its checked IR spells in other
    terms: `break`, `continue` and the conditional expression."""
    from ...front.syntax import IfExprA, JumpA

    out: set[str] = set()

    def visit(node) -> None:
        if isinstance(node, JumpA):
            out.add(f"syntax:{node.kind}")
        elif isinstance(node, IfExprA):
            out.add("syntax:if-expression")
        for name in getattr(node, "__dataclass_fields__", {}):
            v = getattr(node, name)
            for x in v if isinstance(v, tuple) else (v,):
                if hasattr(x, "__dataclass_fields__"):
                    visit(x)

    for fn in parse(source, "<generated>").funcs:
        visit(fn)
    return out
