"""A CPU stand-in for the GPU, so that CI runs the NVPTX backend's kernels.

The backend's unoptimised LLVM IR for a kernel module is compiled for this
CPU instead, with the GPU's few intrinsics bound to a small C runtime:
thread and block ids are thread-local, `bar.sync` is a pthread barrier over
the block's threads, and a warp shuffle exchanges values through a slot per
thread between two barriers of the warp.  Each thread of a block is a real
OS thread (ctypes drops the GIL while a kernel runs), so barriers and
shuffles are exercised as they are on the GPU; blocks run one after another,
which is one of the schedules a GPU may choose, and shared memory is one
copy reused by each block in turn.

What this checks is the kernels' logic (which thread does which element,
how partial results combine, tails, scans), run against the interpreter.
PTX code generation itself is LLVM's; ptxas checks that the PTX assembles.
"""

from __future__ import annotations

import ctypes
import re
import subprocess
import threading
from pathlib import Path

import llvmlite.binding as llvm
import numpy as np

from atlas.meaning import ir
from atlas.machine.backend import describe
from atlas.backends.nvptx import host

RUNTIME = r"""
#include <pthread.h>
static __thread unsigned tid_x, tid_y;
static unsigned ctaid_x, ctaid_y, ntid_x, ntid_y, nctaid_x, nctaid_y;
static pthread_barrier_t block_bar, warp_bar[32];
static unsigned slot[1024];
unsigned emu_sreg_tid_x(void) { return tid_x; }
unsigned emu_sreg_tid_y(void) { return tid_y; }
unsigned emu_sreg_ctaid_x(void) { return ctaid_x; }
unsigned emu_sreg_ctaid_y(void) { return ctaid_y; }
unsigned emu_sreg_ntid_x(void) { return ntid_x; }
unsigned emu_sreg_ntid_y(void) { return ntid_y; }
unsigned emu_sreg_nctaid_x(void) { return nctaid_x; }
unsigned emu_sreg_nctaid_y(void) { return nctaid_y; }
void emu_barrier0(void) { pthread_barrier_wait(&block_bar); }
unsigned emu_shfl_bfly(unsigned mask, unsigned v, unsigned lanes, unsigned clamp) {
    unsigned t = tid_y * ntid_x + tid_x, w = t / 32;
    slot[t] = v;
    pthread_barrier_wait(&warp_bar[w]);
    unsigned r = slot[(t & ~31u) | ((t & 31u) ^ lanes)];
    pthread_barrier_wait(&warp_bar[w]);
    return r;
}
void emu_launch(unsigned gx, unsigned gy, unsigned bx, unsigned by) {
    nctaid_x = gx; nctaid_y = gy; ntid_x = bx; ntid_y = by;
    pthread_barrier_init(&block_bar, 0, bx * by);
    for (unsigned w = 0; w < (bx * by + 31) / 32; w++) pthread_barrier_init(&warp_bar[w], 0, 32);
}
void emu_block(unsigned x, unsigned y) { ctaid_x = x; ctaid_y = y; }
void emu_thread(unsigned x, unsigned y) { tid_x = x; tid_y = y; }
"""

_RENAMES = [
    (re.compile(r'@"?llvm\.nvvm\.read\.ptx\.sreg\.(\w+)\.([xyz])"?'), r"@emu_sreg_\1_\2"),
    (re.compile(r'@"?llvm\.nvvm\.barrier0"?'), "@emu_barrier0"),
    (re.compile(r'@"?llvm\.nvvm\.shfl\.sync\.bfly\.i32"?'), "@emu_shfl_bfly"),
]


def build(llvm_text: str, folder: Path) -> ctypes.CDLL:
    """The kernel module, compiled for this CPU against the runtime above."""
    text = llvm_text.replace(" addrspace(3)", "").replace("ptx_kernel ", "")
    text = re.sub(r"^target (triple|datalayout) = .*$", "", text, flags=re.M)
    for pattern, name in _RENAMES:
        text = pattern.sub(name, text)
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    mod = llvm.parse_assembly(text)
    mod.verify()
    tm = llvm.Target.from_default_triple().create_target_machine(reloc="pic", opt=1)
    (folder / "k.o").write_bytes(tm.emit_object(mod))
    (folder / "rt.c").write_text(RUNTIME)
    subprocess.run(
        [
            "cc",
            "-O1",
            "-shared",
            "-fPIC",
            "-pthread",
            "-o",
            str(folder / "k.so"),
            str(folder / "rt.c"),
            str(folder / "k.o"),
        ],
        check=True,
        capture_output=True,
    )
    return ctypes.CDLL(str(folder / "k.so"))


def run(lib: ctypes.CDLL, fn: ir.Function, gpu: dict, args: list):
    """Call `fn` (given numpy arrays and Python scalars, as the interpreter
    takes them) through the kernels of its "gpu" manifest block, laid out
    by the GPU host glue's own pure steps (argument checks, grids, scratch,
    marshalling), so that those run against real kernels too.  Arrays are
    written in place; returns the result, as the interpreter does."""
    values = host.bind_args(fn.name, describe(fn)["params"], args)
    grid_list = host.grids(fn.name, gpu, values)
    scratch = {
        name: np.full(n * t.itemsize, 0x5A, dtype=np.uint8).view(t)  # garbage, as on a GPU
        for name, (t, n) in host.scratch_counts(gpu, grid_list).items()
    }
    result = np.zeros(1, host.dtype_of(gpu["result"]["elem"])) if gpu["result"] else None
    for name, (gx, gy, _), (bx, by, _), kernel_args in host.marshal(gpu, values, grid_list, scratch, result):
        c_args = [
            a.ctypes.data_as(ctypes.c_void_p)
            if isinstance(a, np.ndarray)
            else np.ctypeslib.as_ctypes_type(a.dtype)(a.item())
            for a in kernel_args
        ]
        kernel = getattr(lib, name)
        kernel.argtypes, kernel.restype = [type(a) for a in c_args], None
        lib.emu_launch(gx, gy, bx, by)
        for y in range(gy):
            for x in range(gx):
                lib.emu_block(x, y)
                threads = [
                    threading.Thread(target=_thread, args=(lib, kernel, tx, ty, c_args))
                    for ty in range(by)
                    for tx in range(bx)
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
    if result is None:
        return None
    return bool(result[0]) if fn.ret.is_bool else result[0].item()


def _thread(lib, kernel, tx, ty, c_args):
    lib.emu_thread(tx, ty)
    kernel(*c_args)
