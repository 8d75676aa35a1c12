"""No traceback on any input (issue 14): every input, however damaged or
large, ends in an accepted program or a clear error with a non-zero exit
status -- located (`file:line:col: error:` and a caret) where it has a
place, else one line naming the file.

The front end's located errors are golden cases in tests/malformed/ (098-103:
nesting, huge literals, reserved names); this file holds what needs the
command line, the file system or several stages: bytes that are not UTF-8,
valid programs nested hundreds deep compiled and run, output folders that
cannot be written, damaged artefacts, archives and timing loops, profiles
for absent functions, the superoptimiser's report, and a fixed slice of the
mutation campaign (atlas/tools/fuzz/mutate.py).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from atlas.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAXPY = ROOT / "intents" / "saxpy.ax"
LOCATED = re.compile(r"^\S+:\d+:\d+: error: ")


def atlas(*args, env=None) -> tuple[int, str]:
    """`atlas ARGS` in this process: (exit status, stdout and stderr)."""
    result = CliRunner().invoke(main, [str(a) for a in args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def clear_failure(status: int, output: str) -> str:
    """The message of a failed command, which must be one clear error."""
    assert status != 0, output
    assert "Traceback" not in output
    assert output.strip(), "a failure that says nothing"
    return output.strip()


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---------------------------------------------------------------- 1. encoding


def test_bytes_that_are_not_utf8_are_a_located_error(tmp_path):
    f = tmp_path / "bad.ax"
    f.write_bytes("fn f(x: i64) -> i64 {\n    // é\n    return x\xff + 1;\n}\n".encode("latin-1"))
    proc = subprocess.run(
        [sys.executable, "-m", "atlas.tools.cli", "check", str(f)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0] == f"{f}:2:8: error: byte 0xe9 is not UTF-8 text"  # the first bad byte
    assert lines[2].endswith("^") and "Traceback" not in proc.stderr


def test_every_command_reading_intents_locates_bad_bytes(tmp_path):
    f = tmp_path / "bad.ax"
    f.write_bytes(b"fn f(x: i64) -> i64 {\n    return x\xff + 1;\n}\n")
    for args in (
        ["check", f],
        ["compile", f, "--no-search", "-o", tmp_path / "out"],
        ["run", f, "f", "1"],
        ["variants", f],
    ):
        message = clear_failure(*atlas(*args))
        assert message.startswith(f"{f}:2:13: error: byte 0xff is not UTF-8 text"), args


# ---------------------------------------------------------------- 2. depth


def _sum(n):
    return "fn f(x: i64) -> i64 {\n    return " + " + ".join(["x"] * n) + ";\n}\n"


def _negations(n):
    return "fn f(x: i64) -> i64 {\n    return " + "-" * n + "x;\n}\n"


def _ifs(n):
    return (
        "fn f(x: i64) -> i64 {\n    let y: i64 = x;\n"
        + "".join(f"if x > {i} {{\n" for i in range(n))
        + "y = y + 1;\n"
        + "}\n" * n
        + "    return y;\n}\n"
    )


DEEP = {
    "sum250": (_sum(250), 3, 750),
    "negations350": (_negations(350), 3, 3),
    "negations351": (_negations(351), 3, -3),
    "ifs250": (_ifs(250), 300, 301),
}


@pytest.mark.cc
@pytest.mark.parametrize("name", sorted(DEEP))
def test_deep_valid_programs_compile_and_run(tmp_path, name):
    text, arg, want = DEEP[name]
    f = write(tmp_path / f"{name}.ax", text)
    status, out = atlas("compile", f, "--no-search", "-o", tmp_path / "out")
    assert status == 0, out
    assert atlas("run", tmp_path / "out", "f", arg) == (0, f"{want}\n")
    assert atlas("run", f, "f", arg) == (0, f"{want}\n")  # the interpreter too


def test_nesting_limit_is_a_located_error(tmp_path):
    from atlas.front.syntax import MAX_DEPTH

    ok = write(tmp_path / "ok.ax", _sum(MAX_DEPTH - 1))
    assert atlas("check", ok)[0] == 0
    f = write(tmp_path / "deep.ax", _sum(MAX_DEPTH + 5))
    message = clear_failure(*atlas("check", f))
    assert message.startswith(f"{f}:2:") and f"nesting deeper than {MAX_DEPTH}" in message
    f = write(tmp_path / "deep_ifs.ax", _ifs(MAX_DEPTH + 5))
    assert f"nesting deeper than {MAX_DEPTH}" in clear_failure(*atlas("check", f))


def test_run_deep_passes_ctrl_c_on(tmp_path):
    script = write(
        tmp_path / "interrupt.py",
        """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)   # a background job starts with it ignored
from atlas.front.syntax import run_deep
def work():
    print("started", flush=True)
    while True:
        sum(range(1000))
try:
    run_deep(work)
except KeyboardInterrupt:
    print("interrupted", flush=True)
""",
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "started\n"
    proc.send_signal(2)
    out, _ = proc.communicate(timeout=60)
    assert out == "interrupted\n" and proc.returncode == 0


def test_run_deep_restores_the_limits_and_passes_exceptions():
    from atlas.front.syntax import run_deep

    before = sys.getrecursionlimit()
    assert run_deep(lambda: sys.getrecursionlimit()) > before
    assert sys.getrecursionlimit() == before
    with pytest.raises(SystemExit):
        run_deep(sys.exit, 3)


# ---------------------------------------------------------------- 3. literals


def test_literals_past_pythons_digit_limit_are_located(tmp_path):
    for lit in ("9" * 5000, "0" * 5000 + "7", "0x" + "f" * 300):
        f = write(tmp_path / "big.ax", f"fn f(x: u64) -> u64 {{\n    return x + {lit};\n}}\n")
        status, out = atlas("check", f)
        if lit.lstrip("0") == "7":
            assert status == 0, out  # leading zeros are no size
        else:
            assert clear_failure(status, out).startswith(f"{f}:2:16: error: literal too large for any type")
    f = write(tmp_path / "float.ax", "fn f(x: f64) -> f64 {\n    return x + " + "1" + "0" * 400 + ";\n}\n")
    assert "literal too large for any type" in clear_failure(*atlas("check", f))


# ---------------------------------------------------------------- 4. reserved names


@pytest.mark.parametrize("name", ["_init", "_fini", "memset", "atlas_count_f_x", "__dso_handle"])
def test_reserved_symbols_are_refused_before_linking(tmp_path, name):
    f = write(tmp_path / "r.ax", f"fn {name}(x: i64) -> i64 {{\n    return x;\n}}\n")
    message = clear_failure(*atlas("compile", f, "--no-search", "-o", tmp_path / "out"))
    assert message.startswith(f"{f}:1:4: error: '{name}' is reserved")
    assert "ld" not in message.split("\n")[0]


def test_other_underscore_names_are_ordinary(tmp_path):
    f = write(tmp_path / "u.ax", "fn _helper(x: i64) -> i64 {\n    return x;\n}\n")
    assert atlas("check", f)[0] == 0


# ---------------------------------------------------------------- 5. the command line


def test_unwritable_output_is_refused_before_the_compile(tmp_path):
    blocker = write(tmp_path / "a-file", "")
    for out, says in (
        (blocker / "out", "is not a folder"),
        (blocker, "is a file"),
        ("/proc/atlas-no-such/out", "cannot write there"),
    ):
        message = clear_failure(*atlas("compile", SAXPY, "-o", out, "--budget", "1"))
        assert says in message and "compiled" not in message and "search" not in message
    (tmp_path / "notes").mkdir()
    notes = write(tmp_path / "notes" / "x.txt", "mine")
    assert "not an Atlas artefact folder" in clear_failure(*atlas("compile", SAXPY, "--no-search", "-o", notes.parent))
    assert notes.read_text() == "mine"


def test_probe_into_a_missing_folder(tmp_path):
    out = tmp_path / "missing" / "probe.json"
    assert clear_failure(*atlas("probe", "-o", out)) == f"{out}: cannot write: No such file or directory"


@pytest.fixture(scope="module")
def artefact(tmp_path_factory):
    out = tmp_path_factory.mktemp("robust") / "saxpy"
    status, text = atlas("compile", SAXPY, "--no-search", "-o", out)
    assert status == 0, text
    return out


@pytest.mark.cc
def test_run_errors_are_one_line(tmp_path, artefact):
    missing = tmp_path / "nope.npy"
    assert (
        clear_failure(*atlas("run", artefact, "saxpy", 4, 2.0, f"@{missing}", "zeros"))
        == f"argument 'x': cannot read {missing}: No such file or directory"
    )
    message = clear_failure(*atlas("run", artefact, "saxpy", 10**15, 2.0, "zeros", "zeros"))
    assert message == f"argument 'x': {10**15} elements of f32 do not fit in memory"
    assert (
        clear_failure(*atlas("run", tmp_path, "saxpy", 1))
        == f"{tmp_path} is not a compiled artefact: {tmp_path / 'manifest.json'} is missing"
    )


@pytest.mark.cc
def test_damaged_or_foreign_artefacts(tmp_path, artefact):
    damaged = tmp_path / "damaged"
    shutil.copytree(artefact, damaged)
    (damaged / "manifest.json").write_text('{"format": "atlas-artefact/1",')
    message = clear_failure(*atlas("run", damaged, "saxpy", 1, 1.0, "[1]", "[1]"))
    assert message.startswith(f"{damaged / 'manifest.json'}:1:") and "damaged manifest" in message
    assert len(message.splitlines()) == 1
    foreign = tmp_path / "foreign"
    shutil.copytree(artefact, foreign)
    manifest = json.loads((foreign / "manifest.json").read_text())
    manifest["cpu_flags"] = ["no_such_cpu_flag"]
    (foreign / "manifest.json").write_text(json.dumps(manifest))
    message = clear_failure(*atlas("run", foreign, "saxpy", 1, 1.0, "[1]", "[1]"))
    assert message.startswith(f"{foreign} was compiled for a CPU with no_such_cpu_flag")


# ---------------------------------------------------------------- 6. damaged caches


def test_a_damaged_archive_is_moved_aside_and_rebuilt(tmp_path):
    archive = tmp_path / "archive.sqlite3"
    archive.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    status, out = atlas("variants", SAXPY, env={"ATLAS_ARCHIVE": str(archive)})
    assert status == 0, out
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("archive.sqlite3.damaged-")]
    assert len(aside) == 1
    assert f"warning: the search archive {archive} is damaged" in out and str(aside[0]) in out
    assert atlas("variants", SAXPY, env={"ATLAS_ARCHIVE": str(archive)}) == (0, out.splitlines()[-1] + "\n")


def test_an_archive_that_cannot_be_opened_is_left_alone(tmp_path):
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    (folder / "mine.txt").write_text("mine")
    for archive, says in ((folder, "cannot be opened"), (tmp_path / "x.txt" / "a.sqlite3", "cannot be created")):
        if archive.parent.name == "x.txt":
            archive.parent.write_text("")
        message = clear_failure(*atlas("variants", SAXPY, env={"ATLAS_ARCHIVE": str(archive)}))
        assert message == f"the search archive {archive} {says}: " + message.split(": ", 1)[1]
    assert (folder / "mine.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-file", "x.txt"]


def test_an_archive_damaged_past_its_header(tmp_path):
    from atlas.search.archive import Archive, ArchiveNotice

    path = tmp_path / "a.sqlite3"
    with Archive(path) as a:
        for i in range(200):
            a.record("i", "m", "f", {"g": i}, f"v{i}", "ok", 1.0, [1], {"pad": "x" * 200})
    with Archive(path) as a:
        a._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[8192:] = bytes(len(data) - 8192)
    path.write_bytes(bytes(data))
    with pytest.warns(ArchiveNotice, match="moved aside"):
        with Archive(path) as a:
            assert a.variants("i", "m") == []


@pytest.mark.cc
def test_a_damaged_timing_loop_is_rebuilt(tmp_path, monkeypatch):
    from atlas.search import worker
    from atlas.front.typecheck import signature_of

    monkeypatch.setenv("ATLAS_CACHE_DIR", str(tmp_path))
    sig = signature_of("fn f(n: u64, x: [f32; n]) -> f32")
    so, note = worker.timer_library(sig)
    assert so and note == ""
    Path(so).write_bytes(b"\x7fELF damaged")
    again, note = worker.timer_library(sig)
    assert again == so and "is damaged" in note and "moved aside to" in note
    assert worker._loads(Path(so)) is None
    assert any(".damaged-" in p.name for p in Path(so).parent.iterdir())


# ---------------------------------------------------------------- 7. profiles


def test_a_profile_for_an_absent_function_is_an_error(tmp_path):
    profile = ROOT / "intents" / "profiles" / "tiered.yaml"
    message = clear_failure(*atlas("compile", SAXPY, "--profile", profile, "-o", tmp_path / "o", "--budget", "1"))
    assert message.startswith(f"{profile}:") and "'tiered'" in message
    assert "they define: saxpy" in message


# ---------------------------------------------------------------- 8. the superoptimiser


def test_superopt_reports_a_root_the_rules_already_reduce(tmp_path):
    f = write(
        tmp_path / "abs.ax",
        "fn p09_abs(x: i32) -> i32 {\n    if x < 0 {\n        return -x;\n    }\n    return x;\n}\n",
    )
    status, out = atlas("superopt", f, "--budget", "1", "--learned", tmp_path / "learned.yaml")
    assert status == 0, out
    assert "p09_abs" in out and "rules suffice" in out


# ---------------------------------------------------------------- 9. the mutation campaign


def test_mutation_campaign_slice():
    from atlas.tools.fuzz.mutate import campaign

    report = campaign(200, seed=14, timeout_s=60)
    assert sum(report.counts.values()) == 200
    assert report.ok, report.render() + "\n" + "\n".join(out[-2000:] for _, _, out in report.failures[:3])
    assert report.counts["accepted"] and report.counts["located error"]


def test_run_saves_its_outputs_whole(tmp_path):
    import numpy as np

    f = write(
        tmp_path / "k.ax",
        "fn f(n: u64, x: [i32; n], y: mut [i32; n]) -> i32 {\n"
        "    let s: i32 = 0;\n"
        "    for i in 0..n { y[i] = x[i] * 2; s += x[i]; }\n"
        "    return s;\n}\n",
    )
    status, text = atlas("run", f, "f", 40, "iota", "zeros", "--out", tmp_path / "o")
    assert status == 0, text
    y = np.load(tmp_path / "o" / "y.npy")
    assert y.dtype == np.int32 and y.tolist() == [2 * i for i in range(40)]
    assert np.load(tmp_path / "o" / "return.npy") == sum(range(40))
    assert "..." in text and f"(all 40 in {tmp_path / 'o' / 'y.npy'})" in text
    status, text = atlas("run", f, "f", 40, "iota", "zeros")
    assert status == 0 and "--out DIR saves them whole" in text
    blocker = write(tmp_path / "file", "")
    message = clear_failure(*atlas("run", f, "f", 4, "iota", "zeros", "--out", blocker))
    assert str(blocker) in message
