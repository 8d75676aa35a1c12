"""The search's archive: every evaluated variant and its measurements.

Kept in an SQLite database in the user's cache directory (`archive.sqlite3`
under $ATLAS_CACHE_DIR, else $XDG_CACHE_HOME/atlas, else ~/.cache/atlas;
$ATLAS_ARCHIVE names another file),
apart from the emitted code, which carries none of it.  Rows are keyed by
the intent's hash AND the machine's fingerprint: a variant's speed on one
machine says nothing about another.

    with Archive() as a:
        if not a.seen(intent, machine, vhash):
            a.record(intent, machine, "saxpy", genome, vhash, "ok", 1234.0, [1200, 1234], evidence)
        a.best(intent, machine, "saxpy")

Two processes may write at once: WAL mode lets readers run beside a writer,
and the busy timeout makes a second writer wait instead of failing.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import warnings
from pathlib import Path

from ..files import cache_dir  # not .rules: that needs z3
from ..meaning import ir

SCHEMA_VERSION = 2


def intent_hash(module: ir.Module) -> str:
    """The key of an intent in the archive: its source files, each by base
    name and content digest, so the same text in another folder is the same
    intent."""
    h = hashlib.sha256()
    for f, digest in sorted(module.sources):
        h.update(f"{os.path.basename(f)}\0{digest}\0".encode())
    return h.hexdigest()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS variants (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    intent_hash  TEXT NOT NULL,
    machine      TEXT NOT NULL,
    function     TEXT NOT NULL,
    context      TEXT NOT NULL DEFAULT '',   -- what else the timing depended on (profile, feedback)
    variant_hash TEXT NOT NULL,
    genome       TEXT NOT NULL,          -- JSON
    status       TEXT NOT NULL,          -- "ok" | "crashed" | "timeout" | "error" | ...
    median_ns    REAL,                   -- NULL unless measured
    times_ns     TEXT NOT NULL,          -- JSON list
    evidence     TEXT,                   -- JSON or NULL
    created      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS variants_key ON variants (intent_hash, machine, function);
CREATE INDEX IF NOT EXISTS variants_seen ON variants (intent_hash, machine, variant_hash);
CREATE TABLE IF NOT EXISTS champions (
    intent_hash  TEXT NOT NULL,
    machine      TEXT NOT NULL,
    function     TEXT NOT NULL,
    context      TEXT NOT NULL,
    genome       TEXT NOT NULL,          -- JSON
    summary      TEXT NOT NULL,          -- JSON: timings, evaluations, search time
    created      REAL NOT NULL,
    PRIMARY KEY (intent_hash, machine, function, context)
);
"""


def default_path() -> Path:
    """$ATLAS_ARCHIVE, else archive.sqlite3 in the cache directory."""
    named = os.environ.get("ATLAS_ARCHIVE")
    return Path(named) if named else cache_dir() / "archive.sqlite3"


class ArchiveError(Exception):
    """The archive cannot be used, and is not a damaged file to replace."""


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    """Whether sqlite found the file's contents damaged (not a database, or
    corrupt), as opposed to a file it could not open or lock."""
    return (
        getattr(exc, "sqlite_errorname", None) in ("SQLITE_NOTADB", "SQLITE_CORRUPT")
        or type(exc) is sqlite3.DatabaseError
    )


class ArchiveNotice(UserWarning):
    """The archive was moved aside and started afresh (a damaged file, an
    older layout).  Only a cache: nothing the user wrote is lost."""


class Archive:
    def __init__(self, path=None, timeout_s: float = 30.0):
        self.path = Path(path) if path is not None else default_path()
        self._conn: sqlite3.Connection | None = None
        self._connect(timeout_s)

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ArchiveError(f"the search archive {self.path} is closed")
        return self._conn

    def _connect(self, timeout_s: float) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(f"the search archive {self.path} cannot be created: {exc.strerror or exc}") from None
        try:
            row = self._open(timeout_s)
        except sqlite3.DatabaseError as exc:
            self.close()
            if not _damaged(exc) or not self.path.is_file():
                # Not a damaged file (a folder, no permission, a lock held
                # too long): nothing to move aside; say which file it was.
                raise ArchiveError(f"the search archive {self.path} cannot be opened: {exc}") from None
            # Random bytes, a truncated copy: every search and `atlas
            # variants` would fail on it, --fresh included.  It is a cache,
            # so it is kept for inspection and a new one started.
            self._move_aside("damaged", f"is damaged ({exc})")
            row = self._open(timeout_s)
        if row is not None and row[0] != SCHEMA_VERSION:
            # Only a cache: an archive of another layout is set aside, not
            # read wrongly and not deleted.
            self.close()
            self._move_aside(f"v{row[0]}", f"had layout {row[0]}")
            self._connect(timeout_s)

    def _open(self, timeout_s: float):
        """Connect, check the file and create the tables; the schema row."""
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE below).
        self._conn = sqlite3.connect(str(self.path), timeout=timeout_s, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        self._db.execute("PRAGMA journal_mode = WAL")
        # A file whose header survived but whose pages did not reads fine
        # until a query touches them; quick_check finds that now, in
        # milliseconds for an archive of this size.
        verdict = self._db.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise sqlite3.DatabaseError(verdict)
        with self._write():
            for stmt in filter(str.strip, _SCHEMA.split(";")):  # executescript would commit early
                self._db.execute(stmt)
            row = self._db.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                self._db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
        return row

    def _move_aside(self, suffix: str, why: str) -> None:
        aside = self.path.with_name(f"{self.path.name}.{suffix}-{int(time.time())}")
        try:
            self.path.rename(aside)
        except FileNotFoundError:  # another process moved it aside first
            return
        for extra in ("-wal", "-shm"):
            Path(str(self.path) + extra).unlink(missing_ok=True)
        warnings.warn(
            ArchiveNotice(f"the search archive {self.path} {why}; moved aside to {aside}, and a new one started")
        )

    # ------------------------------------------------------------ transactions

    class _Tx:
        def __init__(self, db):
            self.db = db

        def __enter__(self):
            # IMMEDIATE takes the write lock at once, so two writers queue on
            # the busy timeout rather than deadlock upgrading a read lock.
            self.db.execute("BEGIN IMMEDIATE")

        def __exit__(self, kind, value, tb):
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")
            return False

    def _write(self):
        return Archive._Tx(self._db)

    # ------------------------------------------------------------ writing

    def record(
        self,
        intent_hash: str,
        machine: str,
        function: str,
        genome: dict,
        variant_hash: str,
        status: str,
        median_ns: float | None,
        times_ns: list,
        evidence: dict | None = None,
        context: str = "",
    ) -> int:
        """Store one evaluated variant; returns its row id."""
        with self._write():
            cur = self._db.execute(
                "INSERT INTO variants (intent_hash, machine, function, context, variant_hash, genome,"
                " status, median_ns, times_ns, evidence, created) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    intent_hash,
                    machine,
                    function,
                    context,
                    variant_hash,
                    json.dumps(genome, sort_keys=True),
                    status,
                    None if median_ns is None else float(median_ns),
                    json.dumps([int(t) for t in times_ns]),
                    None if evidence is None else json.dumps(evidence, sort_keys=True),
                    time.time(),
                ),
            )
            return cur.lastrowid or 0  # an INSERT always sets it

    # ------------------------------------------------------------ reading

    @staticmethod
    def _row(r: sqlite3.Row) -> dict:
        d = dict(r)
        d["genome"] = json.loads(d["genome"])
        d["times_ns"] = json.loads(d["times_ns"])
        d["evidence"] = None if d["evidence"] is None else json.loads(d["evidence"])
        return d

    # Fastest ok first; failures (and unmeasured rows) after, oldest first among equals.
    _ORDER = "ORDER BY (status = 'ok' AND median_ns IS NOT NULL) DESC, median_ns ASC, id ASC"

    def variants(
        self, intent_hash: str, machine: str, function: str | None = None, context: str | None = None
    ) -> list[dict]:
        sql, params = "SELECT * FROM variants WHERE intent_hash = ? AND machine = ?", [intent_hash, machine]
        if function is not None:
            sql += " AND function = ?"
            params.append(function)
        if context is not None:
            sql += " AND context = ?"
            params.append(context)
        return [self._row(r) for r in self._db.execute(f"{sql} {self._ORDER}", params)]

    def best(self, intent_hash: str, machine: str, function: str) -> dict | None:
        """The fastest variant that ran ok, or None."""
        r = self._db.execute(
            "SELECT * FROM variants WHERE intent_hash = ? AND machine = ? AND function = ?"
            " AND status = 'ok' AND median_ns IS NOT NULL ORDER BY median_ns ASC, id ASC LIMIT 1",
            (intent_hash, machine, function),
        ).fetchone()
        return None if r is None else self._row(r)

    def seen(self, intent_hash: str, machine: str, variant_hash: str) -> bool:
        """Whether this structural variant was already evaluated on this machine."""
        return (
            self._db.execute(
                "SELECT 1 FROM variants WHERE intent_hash = ? AND machine = ? AND variant_hash = ? LIMIT 1",
                (intent_hash, machine, variant_hash),
            ).fetchone()
            is not None
        )

    def measured(self, intent_hash: str, machine: str, function: str, context: str, variant_hash: str) -> dict | None:
        """The latest evaluation of this structural variant in this context, or None."""
        r = self._db.execute(
            "SELECT * FROM variants WHERE intent_hash = ? AND machine = ? AND function = ?"
            " AND context = ? AND variant_hash = ? ORDER BY id DESC LIMIT 1",
            (intent_hash, machine, function, context, variant_hash),
        ).fetchone()
        return None if r is None else self._row(r)

    # ------------------------------------------------------------ champions

    def crown(self, intent_hash: str, machine: str, function: str, context: str, genome: dict, summary: dict) -> None:
        """Remember the winner of a search, so an unchanged recompile needs none."""
        with self._write():
            self._db.execute(
                "INSERT OR REPLACE INTO champions VALUES (?,?,?,?,?,?,?)",
                (
                    intent_hash,
                    machine,
                    function,
                    context,
                    json.dumps(genome, sort_keys=True),
                    json.dumps(summary, sort_keys=True),
                    time.time(),
                ),
            )

    def champion(self, intent_hash: str, machine: str, function: str, context: str) -> dict | None:
        r = self._db.execute(
            "SELECT genome, summary FROM champions WHERE intent_hash = ? AND machine = ?"
            " AND function = ? AND context = ?",
            (intent_hash, machine, function, context),
        ).fetchone()
        return None if r is None else {"genome": json.loads(r[0]), "summary": json.loads(r[1])}

    # ------------------------------------------------------------ lifetime

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
