"""The project store: machine suggestions and human decisions in one SQLite file.

A results folder is backed by ``project.sqlite`` (WAL journal, one transaction
per change, ``synchronous=FULL``): a decision is on disk when
:meth:`ProjectStore.decide` returns, and killing the process at any moment
leaves the store consistent.  Runs of ``qualcode code`` add suggestions; they
never touch the ``decisions`` table, so a re-run cannot overwrite or drop a
human decision.  A decision remembers the hash of the segment text it was made
on: when a re-run finds different text under that segment, the decision is kept
and flagged ``stale`` (to review again), never silently re-attached.

Tables: ``meta`` (schema version), ``codebooks`` (every codebook version used),
``runs``, ``segments`` (current text and hash), ``suggestions`` (per run, with
provenance), ``decisions`` (accept, reject, recode, add, memo; coder, time) and
``coverage`` (the documents a coder coded whole, as an imported coding says: their
segments without a decision are coded with nothing, not unseen).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import StoreError

__all__ = ["ACTIONS", "SCHEMA_VERSION", "ProjectStore", "StoreError"]

ACTIONS = ("accept", "reject", "recode", "add", "memo")
SCHEMA_VERSION = 2
STORE_NAME = "project.sqlite"


_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE codebooks (sha256 TEXT PRIMARY KEY, name TEXT, version TEXT, yaml TEXT NOT NULL,
                            first_used TEXT NOT NULL);
    CREATE TABLE runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,
                       codebook_sha256 TEXT NOT NULL REFERENCES codebooks(sha256), record TEXT NOT NULL);
    CREATE TABLE segments (segment_id TEXT PRIMARY KEY, document_id TEXT NOT NULL,
                           start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
                           text_sha256 TEXT NOT NULL, last_run INTEGER NOT NULL);
    CREATE TABLE suggestions (run_id INTEGER NOT NULL REFERENCES runs(run_id),
                              segment_id TEXT NOT NULL, code_id TEXT NOT NULL, score REAL NOT NULL,
                              method TEXT NOT NULL, evidence TEXT NOT NULL, record TEXT NOT NULL,
                              PRIMARY KEY (run_id, segment_id, code_id));
    CREATE TABLE decisions (decision_id INTEGER PRIMARY KEY AUTOINCREMENT,
                            segment_id TEXT NOT NULL, code_id TEXT NOT NULL,
                            action TEXT NOT NULL CHECK (action IN
                                ('accept', 'reject', 'recode', 'add', 'memo')),
                            new_code_id TEXT, memo TEXT, coder TEXT NOT NULL,
                            created_at TEXT NOT NULL, segment_sha256 TEXT NOT NULL,
                            undone INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX decisions_by_segment ON decisions(segment_id, code_id);
    """,
    2: """
    CREATE TABLE coverage (coder TEXT NOT NULL, document_id TEXT NOT NULL, source TEXT NOT NULL,
                           created_at TEXT NOT NULL, PRIMARY KEY (coder, document_id));
    """,
}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


class ProjectStore:
    """Open (creating or migrating) the store of a results folder."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / STORE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"unreadable project store: {exc}", path=self.path) from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ProjectStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(f"store schema {version} is newer than this qualcode ({SCHEMA_VERSION}); "
                             "upgrade qualcode", path=self.path)
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction() as db:
                for statement in filter(str.strip, _MIGRATIONS[target].split(";")):
                    db.execute(statement)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(target),))

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])

    # ------------------------------------------------------------------ runs

    def record_run(self, run: dict, codebook_yaml: str, segments, codings) -> int:
        """Store a run's segments and suggestions in one transaction; return its run id.

        Only segments that are new or changed are written again; every segment of the
        run gets it as ``last_run``.
        """
        codebook_sha = _sha(codebook_yaml)
        current = list(zip(segments.segment_id.tolist(), segments.document_id.tolist(),
                           segments.start.tolist(), segments.end.tolist(), segments.text.tolist(),
                           strict=True))
        columns = list(codings.columns)
        records = (dict(zip(columns, values, strict=True))  # read while inserting
                   for values in zip(*(codings[c].tolist() for c in columns), strict=True))
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO codebooks VALUES (?, ?, ?, ?, ?)",
                       (codebook_sha, run["codebook"]["name"], run["codebook"]["version"],
                        codebook_yaml, _now()))
            cursor = db.execute("INSERT INTO runs (created_at, codebook_sha256, record) VALUES (?, ?, ?)",
                                (_now(), codebook_sha, json.dumps(run, sort_keys=True, default=str)))
            run_id = int(cursor.lastrowid)
            stored = {row[0]: row[1:] for row in db.execute(
                'SELECT segment_id, document_id, start, "end", text_sha256 FROM segments')}
            changed = []
            for segment_id, document_id, start, end, text in current:
                row = (document_id, int(start), int(end), _sha(text))
                if stored.get(segment_id) != row:
                    changed.append((segment_id, *row[:3], text, row[3], run_id))
            db.executemany(
                'INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(segment_id) DO UPDATE SET '
                'document_id=excluded.document_id, start=excluded.start, "end"=excluded."end", '
                'text=excluded.text, text_sha256=excluded.text_sha256, last_run=excluded.last_run',
                changed)
            db.execute("CREATE TEMP TABLE IF NOT EXISTS run_segments (segment_id TEXT PRIMARY KEY)")
            db.execute("DELETE FROM run_segments")
            db.executemany("INSERT OR IGNORE INTO run_segments VALUES (?)", ((r[0],) for r in current))
            db.execute("UPDATE segments SET last_run = ? WHERE segment_id IN (SELECT segment_id FROM "
                       "run_segments)", (run_id,))
            db.executemany("INSERT INTO suggestions VALUES (?, ?, ?, ?, ?, ?, ?)",
                           ((run_id, c["segment_id"], c["code_id"], float(c["score"]), c["method"],
                             c["evidence"], json.dumps(c, ensure_ascii=False, default=str))
                            for c in records))
        return run_id

    def suggestions(self, run_id: int | None = None):
        """The machine suggestions of a run (default: the latest), with full provenance."""
        import pandas as pd

        run_id = self.latest_run() if run_id is None else run_id
        rows = self.db.execute("SELECT record FROM suggestions WHERE run_id = ? ORDER BY rowid",
                               (run_id,)).fetchall()
        records = [json.loads(r[0]) for r in rows]
        for record in records:
            record.pop("machine_evidence", None)
        return pd.DataFrame(records)

    def add_model_suggestions(self, rows: list[dict]) -> int:
        """Put a classifier's suggestions into the latest run, replacing an earlier classifier's.

        A (segment, code) the run already suggests keeps its method and score; the
        classifier's evidence is appended to its own.  Returns how many suggestions
        are new.
        """
        run_id = self.latest_run()
        if run_id is None:
            raise StoreError("no run to add suggestions to", path=self.path)
        with self._transaction() as db:
            db.execute("DELETE FROM suggestions WHERE run_id = ? AND method = 'model'", (run_id,))
            existing = {(s, c): json.loads(r) for s, c, r in db.execute(
                "SELECT segment_id, code_id, record FROM suggestions WHERE run_id = ?", (run_id,))}
            for record in existing.values():  # forget an earlier classifier's note
                record["evidence"] = record.pop("machine_evidence", record["evidence"])
            new = 0
            for row in rows:
                key = (row["segment_id"], row["code_id"])
                if key in existing:
                    record = existing[key]
                    record["machine_evidence"] = record["evidence"]
                    record["evidence"] = f"{record['evidence']}; {row['evidence']}"
                    continue
                db.execute("INSERT INTO suggestions VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (run_id, key[0], key[1], row["score"], "model", row["evidence"],
                            json.dumps(row, ensure_ascii=False, default=str)))
                new += 1
            db.executemany("UPDATE suggestions SET evidence = ?, record = ? "
                           "WHERE run_id = ? AND segment_id = ? AND code_id = ?",
                           [(r["evidence"], json.dumps(r, ensure_ascii=False, default=str), run_id,
                             s, c) for (s, c), r in existing.items()])
        return new

    def latest_run(self) -> int | None:
        row = self.db.execute("SELECT MAX(run_id) FROM runs").fetchone()
        return row[0]

    # ------------------------------------------------------------------ decisions

    def decide(self, segment_id: str, code_id: str, action: str, coder: str, *,
               new_code_id: str | None = None, memo: str | None = None) -> int:
        """Record one human decision (committed when this returns); return its id."""
        return self.decide_many([(segment_id, code_id, action, coder, new_code_id, memo)])[0]

    def decide_many(self, decisions: list[tuple], *,
                    covered: Iterable[tuple[str, str, str]] = ()) -> list[int]:
        """Record ``(segment_id, code_id, action, coder, new_code_id, memo)`` tuples, all or none.

        ``covered``: ``(coder, document_id, source)`` for documents the coder coded whole
        (an imported coding), recorded in the same transaction; see :meth:`coverage`.
        """
        checked = [self._checked(*d) for d in decisions]
        ids = []
        with self._transaction() as db:
            for values in checked:
                cursor = db.execute(
                    "INSERT INTO decisions (segment_id, code_id, action, new_code_id, memo, coder, "
                    "created_at, segment_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)
                ids.append(int(cursor.lastrowid))
            db.executemany("INSERT OR IGNORE INTO coverage VALUES (?, ?, ?, ?)",
                           [(coder, document, source, _now()) for coder, document, source in covered])
        return ids

    def coverage(self, coder: str | None = None):
        """Documents coders coded whole (``coder, document_id, source, created_at``), as a DataFrame.

        An import records them: a segment of such a document that the coder's decisions do
        not name was read and given no code.
        """
        import pandas as pd

        query, params = "SELECT * FROM coverage", []
        if coder is not None:
            query, params = query + " WHERE coder = ?", [coder]
        return pd.read_sql_query(query + " ORDER BY coder, document_id", self.db, params=params)

    def _checked(self, segment_id, code_id, action, coder, new_code_id=None, memo=None) -> tuple:
        if action not in ACTIONS:
            raise StoreError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}",
                             path=self.path)
        if action == "recode" and not new_code_id:
            raise StoreError("a re-code needs the new code", path=self.path)
        if not coder:
            raise StoreError("a decision needs a coder name", path=self.path)
        row = self.db.execute("SELECT text_sha256 FROM segments WHERE segment_id = ?",
                              (segment_id,)).fetchone()
        if row is None:
            raise StoreError(f"unknown segment {segment_id!r}", path=self.path)
        return (segment_id, code_id, action, new_code_id, memo, coder, _now(), row[0])

    def undo(self, coder: str) -> int | None:
        """Undo the coder's most recent decision still in force; return its id (None if none)."""
        with self._transaction() as db:
            row = db.execute("SELECT MAX(decision_id) FROM decisions WHERE coder = ? AND undone = 0",
                             (coder,)).fetchone()
            if row[0] is None:
                return None
            db.execute("UPDATE decisions SET undone = 1 WHERE decision_id = ?", (row[0],))
        return int(row[0])

    def decisions(self, coder: str | None = None, *, include_undone: bool = False):
        """Decisions as a DataFrame, with ``stale`` = the segment's text changed since."""
        import pandas as pd

        query = ("SELECT d.*, (s.text_sha256 IS NULL OR s.text_sha256 != d.segment_sha256) AS stale "
                 "FROM decisions d LEFT JOIN segments s USING (segment_id) WHERE 1=1")
        params: list = []
        if coder is not None:
            query += " AND d.coder = ?"
            params.append(coder)
        if not include_undone:
            query += " AND d.undone = 0"
        frame = pd.read_sql_query(query + " ORDER BY d.decision_id", self.db, params=params)
        frame["stale"] = frame["stale"].astype(bool)
        return frame

    def coders(self) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT coder FROM decisions UNION SELECT coder FROM coverage ORDER BY coder")]

    def effective_codings(self, suggestions, coder: str | None = None):
        """Suggestions of the latest run with the human decisions applied.

        Each coder's latest decision in force on a (segment, code) counts: accept →
        ``accepted``; reject → ``rejected``; recode → the suggestion ``rejected``
        and the new code ``accepted``; add → the code ``accepted``.  Across coders
        (``coder=None``) a coding is ``accepted`` when any coder's latest decision
        accepts it, else ``rejected`` when one rejects it; ``coder`` lists who.
        An accepted coding the latest run no longer suggests is kept, with its last
        machine provenance (or method ``human`` when the machine never suggested
        it).  Stale decisions (the segment text changed) are not applied: the
        coding stays ``suggested`` with ``needs_review``.  Memos fill ``memo``.
        """
        import pandas as pd

        decisions = self.decisions(coder)
        codings = suggestions.copy()
        codings["coder"] = ""
        codings["needs_review"] = False
        codings["memo"] = ""
        if decisions.empty:
            return codings
        votes = self._votes(decisions)
        index = {(s, c): label for label, s, c in zip(codings.index, codings.segment_id,
                                                      codings.code_id, strict=True)}
        extra = []
        for key, (status, who, review) in sorted(votes.items()):
            if key in index:
                if status is not None:
                    codings.loc[index[key], ["status", "coder"]] = [status, who]
                codings.loc[index[key], "needs_review"] = review
            elif status == "accepted" or review:
                row = self._last_suggestion(*key) or {
                    "segment_id": key[0], "code_id": key[1], "score": 1.0, "method": "human",
                    "evidence": f"added by {who}"}
                row.update(status="accepted" if status == "accepted" else "suggested", coder=who,
                           needs_review=review, memo="")
                extra.append(row)
        if extra:
            codings = pd.concat([codings, pd.DataFrame(extra)], ignore_index=True)
        where = {(s, c): label for label, s, c in zip(codings.index, codings.segment_id,
                                                      codings.code_id, strict=True)}
        for m in decisions[decisions.action == "memo"].itertuples():
            if (m.segment_id, m.code_id) in where:  # memos on codes nobody coded have no row
                codings.loc[where[(m.segment_id, m.code_id)], "memo"] = m.memo or ""
        return codings

    @staticmethod
    def _votes(decisions) -> dict[tuple[str, str], tuple[str | None, str, bool]]:
        """``(segment, code) → (status, coders, needs_review)`` from each coder's latest decision."""
        latest = decisions[decisions.action != "memo"].drop_duplicates(
            ["segment_id", "code_id", "coder"], keep="last")
        marks: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for d in latest.itertuples():
            key = (d.segment_id, d.code_id)
            new_code = d.new_code_id if isinstance(d.new_code_id, str) and d.new_code_id else None
            target = (d.segment_id, new_code or d.code_id)
            if d.stale:
                marks.setdefault(target if d.action == "add" else key, []).append((d.coder, "review"))
                continue
            if d.action in ("accept", "reject", "recode"):
                outcome = "accepted" if d.action == "accept" else "rejected"
                marks.setdefault(key, []).append((d.coder, outcome))
            if d.action in ("add", "recode"):
                marks.setdefault(target, []).append((d.coder, "accepted"))
        votes = {}
        for key, items in marks.items():
            accepted = sorted({c for c, o in items if o == "accepted"})
            rejected = sorted({c for c, o in items if o == "rejected"})
            status = "accepted" if accepted else "rejected" if rejected else None
            votes[key] = (status, ", ".join(accepted or rejected),
                          any(o == "review" for _, o in items))
        return votes

    def _last_suggestion(self, segment_id: str, code_id: str) -> dict | None:
        row = self.db.execute("SELECT record FROM suggestions WHERE segment_id = ? AND code_id = ? "
                              "ORDER BY run_id DESC LIMIT 1", (segment_id, code_id)).fetchone()
        return json.loads(row[0]) if row else None
