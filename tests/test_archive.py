"""The search archive: SQLite bookkeeping keyed by intent and machine."""

import multiprocessing
import sqlite3

import pytest

from atlas.search.archive import SCHEMA_VERSION, Archive, default_path


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ATLAS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ATLAS_ARCHIVE", raising=False)
    return tmp_path / "cache"


def fill(a, intent="I1", machine="M1"):
    a.record(intent, machine, "f", {"unroll": 4}, "v-slow", "ok", 300.0, [310, 300, 290], {"rules": ["r1"]})
    a.record(intent, machine, "f", {"unroll": 8}, "v-crash", "crashed", None, [], None)
    a.record(intent, machine, "f", {"unroll": 2}, "v-fast", "ok", 100.0, [100, 101, 99], None)
    a.record(intent, machine, "f", {"unroll": 16}, "v-hang", "timeout", None, [], None)
    a.record(intent, machine, "g", {"unroll": 1}, "v-g", "ok", 50.0, [50], None)


def test_an_archive_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("ATLAS_ARCHIVE", str(tmp_path / "elsewhere.db"))
    assert default_path() == tmp_path / "elsewhere.db"


def test_lives_in_the_cache_dir(cache):
    assert default_path() == cache / "archive.sqlite3"
    with Archive() as a:
        fill(a)
    assert (cache / "archive.sqlite3").exists()
    db = sqlite3.connect(str(cache / "archive.sqlite3"))
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_record_and_read_back():
    with Archive() as a:
        a.record(
            "I1",
            "M1",
            "f",
            {"unroll": 4, "tier": "safe"},
            "vh",
            "ok",
            123.5,
            [120, 123, 130],
            {"rules": ["add-comm"], "proved": True},
        )
        [v] = a.variants("I1", "M1")
    assert v["genome"] == {"unroll": 4, "tier": "safe"}
    assert v["times_ns"] == [120, 123, 130]
    assert v["evidence"] == {"rules": ["add-comm"], "proved": True}
    assert (v["intent_hash"], v["machine"], v["function"], v["variant_hash"], v["status"], v["median_ns"]) == (
        "I1",
        "M1",
        "f",
        "vh",
        "ok",
        123.5,
    )


def test_ordering_fastest_first_failures_last():
    with Archive() as a:
        fill(a)
        order = [v["variant_hash"] for v in a.variants("I1", "M1", "f")]
        assert order == ["v-fast", "v-slow", "v-crash", "v-hang"]
        assert {v["function"] for v in a.variants("I1", "M1")} == {"f", "g"}
        assert [v["variant_hash"] for v in a.variants("I1", "M1")][:3] == ["v-g", "v-fast", "v-slow"]


def test_best_ignores_failures():
    with Archive() as a:
        a.record("I1", "M1", "f", {}, "crash", "crashed", None, [], None)
        a.record("I1", "M1", "f", {}, "err", "error", 1.0, [1], None)  # even with a time, not ok
        assert a.best("I1", "M1", "f") is None
        fill(a)
        assert a.best("I1", "M1", "f")["variant_hash"] == "v-fast"
        assert a.best("I1", "M1", "g")["variant_hash"] == "v-g"
        assert a.best("I1", "M1", "h") is None


def test_seen_and_keys_by_intent_and_machine():
    with Archive() as a:
        fill(a, machine="M1")
        assert a.seen("I1", "M1", "v-fast")
        assert a.seen("I1", "M1", "v-crash")  # failures are remembered too
        assert not a.seen("I1", "M1", "v-new")
        assert not a.seen("I1", "M2", "v-fast")  # the same variant on another machine is separate
        assert not a.seen("I2", "M1", "v-fast")  # ...and for another intent
        assert a.variants("I1", "M2") == [] and a.best("I1", "M2", "f") is None
        a.record("I1", "M2", "f", {"unroll": 4}, "v-slow", "ok", 50.0, [50], None)
        assert a.best("I1", "M2", "f")["variant_hash"] == "v-slow"
        assert a.best("I1", "M1", "f")["variant_hash"] == "v-fast"


def test_survives_reopen(tmp_path):
    path = tmp_path / "elsewhere" / "a.sqlite3"
    with Archive(path) as a:
        fill(a)
    a = Archive(path)
    try:
        assert len(a.variants("I1", "M1")) == 5
        assert a.best("I1", "M1", "f")["median_ns"] == 100.0
    finally:
        a.close()


def test_sets_another_layout_aside(tmp_path):
    path = tmp_path / "a.sqlite3"
    with Archive(path) as a:
        a.record("I", "M", "f", {"i": 1}, "v1", "ok", 1.0, [1], None)
    db = sqlite3.connect(str(path))
    db.execute("UPDATE schema_version SET version = 999")
    db.commit()
    db.close()
    with pytest.warns(UserWarning, match="layout 999"):
        a = Archive(path)
    with a:
        assert a.variants("I", "M") == []  # a fresh archive ...
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("a.sqlite3.v999-")]
    assert len(aside) == 1  # ... and the old one kept beside it


def test_champions_and_contexts():
    with Archive() as a:
        a.record("I", "M", "f", {"u": 1}, "vh", "ok", 10.0, [10], None, context="profile-A")
        a.record("I", "M", "f", {"u": 1}, "vh", "ok", 20.0, [20], None, context="profile-B")
        assert a.measured("I", "M", "f", "profile-A", "vh")["median_ns"] == 10.0
        assert a.measured("I", "M", "f", "profile-B", "vh")["median_ns"] == 20.0
        assert a.measured("I", "M", "f", "profile-C", "vh") is None
        assert a.champion("I", "M", "f", "profile-A") is None
        a.crown("I", "M", "f", "profile-A", {"u": 1}, {"evaluations": 3})
        a.crown("I", "M", "f", "profile-A", {"u": 2}, {"evaluations": 5})  # replaced, not added
        assert a.champion("I", "M", "f", "profile-A") == {"genome": {"u": 2}, "summary": {"evaluations": 5}}
        assert a.champion("I", "M2", "f", "profile-A") is None


def _writer(path, tag, n):
    with Archive(path) as a:
        for i in range(n):
            a.record("I", "M", "f", {"i": i}, f"{tag}{i}", "ok", float(i + 1), [i + 1], None)


def test_two_processes_write_at_once(tmp_path):
    path = tmp_path / "a.sqlite3"
    Archive(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), tag, 100)) for tag in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Archive(path) as a:
        assert len(a.variants("I", "M")) == 200
