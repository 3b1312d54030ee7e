"""The project store on a real run of two bundled interviews: decisions, re-runs, kills, schema.

One module-scoped run of :func:`code_transcripts` is copied for every test that writes
decisions; the re-runs reuse its parse cache, so only an edited or added transcript is
parsed again.  Kill-safety tests drive a separate Python process and SIGKILL it.
"""

from __future__ import annotations

import csv
import datetime
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from qualcode.cli import app
from qualcode.coding import code_transcripts
from qualcode.review import apply_decisions, review_queue
from qualcode.store import SCHEMA_VERSION, ProjectStore, StoreError

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "transcripts"
CODEBOOK = ROOT / "codebooks" / "ds-ia-sante.yaml"
FILES = ["entretien_01_dg_chu1.txt", "entretien_13_med_urg_ch6.txt"]
EXTRA = "entretien_09_cgs_chu4.txt"


def write_participants(folder: Path, files: list[str]) -> Path:
    """participants.csv of the bundle, restricted to ``files``."""
    with open(BUNDLED / "participants.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    kept = [rows[0], *(r for r in rows[1:] if r[0] in files)]
    assert len(kept) == len(files) + 1
    path = folder / "participants.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(kept)
    return path


def codebook_tree(path: Path) -> tuple[list[str], dict[str, str]]:
    """Code ids in codebook order and the theme of each, read straight from the YAML."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    order: list[str] = []
    theme_of: dict[str, str] = {}

    def walk(codes, theme):
        for code in codes or []:
            order.append(code["id"])
            theme_of[code["id"]] = theme
            walk(code.get("codes"), theme)

    for theme in data["themes"]:
        walk(theme.get("codes"), theme["id"])
    return order, theme_of


@dataclass
class Project:
    transcripts: Path
    out: Path
    cache: Path

    def copy(self, dest: Path) -> Path:
        """A private copy of the results folder (store included) to write decisions into."""
        shutil.copytree(self.out, dest)
        return dest

    def copy_transcripts(self, dest: Path) -> Path:
        shutil.copytree(self.transcripts, dest)
        return dest

    def rerun(self, out: Path, *, transcripts: Path | None = None, files: list[str] = FILES,
              codebook: Path = CODEBOOK):
        folder = transcripts or self.transcripts
        return code_transcripts([folder / f for f in files], codebook, out=out,
                                participants=folder / "participants.csv", cache_dir=self.cache)


def codings_csv(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "codings.csv", keep_default_na=False, dtype={"memo": str})


def row(frame: pd.DataFrame, segment_id: str, code_id: str) -> pd.Series:
    rows = frame[(frame.segment_id == segment_id) & (frame.code_id == code_id)]
    assert len(rows) == 1, (segment_id, code_id, rows)
    return rows.iloc[0]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    base = tmp_path_factory.mktemp("store")
    transcripts = base / "transcripts"
    transcripts.mkdir()
    for name in FILES:
        shutil.copy(BUNDLED / name, transcripts / name)
    write_participants(transcripts, FILES)
    # shared with test_review.py: whichever module runs first parses, the other reads the cache
    cache = tmp_path_factory.getbasetemp() / "qualcode-store-review-cache"
    project = Project(transcripts, base / "out", cache)
    project.rerun(project.out)
    return project


@pytest.fixture
def folder(project, tmp_path) -> Path:
    return project.copy(tmp_path / "results")




def pick(codings: pd.DataFrame, n: int, *, min_score: float = 0.0, exclude=()) -> list[tuple[str, str]]:
    """``n`` distinct (segment, code) suggestions on distinct segments, strongest first."""
    chosen, segments = [], set(s for s, _ in exclude)
    for r in codings.sort_values(["score", "segment_id"], ascending=[False, True]).itertuples():
        if r.score >= min_score and r.segment_id not in segments:
            chosen.append((r.segment_id, r.code_id))
            segments.add(r.segment_id)
        if len(chosen) == n:
            return chosen
    raise AssertionError(f"not enough suggestions scoring ≥ {min_score}")


def unsuggested_code(codings: pd.DataFrame, segment_id: str, order: list[str]) -> str:
    suggested = set(codings[codings.segment_id == segment_id].code_id)
    return next(c for c in order if c not in suggested)


# ---------------------------------------------------------------------------- the real run


def test_a_run_records_its_suggestions_and_segments_in_the_store(project):
    codings = codings_csv(project.out)
    segments = pd.read_csv(project.out / "segments.csv", keep_default_na=False)
    with ProjectStore(project.out) as store:
        assert store.schema_version == SCHEMA_VERSION
        stored = store.suggestions()
        assert store.decisions().empty
        n_segments = store.db.execute("SELECT COUNT(*) FROM segments").fetchone()[0]
    assert len(codings) > 50
    assert set(codings.status) == {"suggested"}
    assert list(zip(stored.segment_id, stored.code_id, strict=True)) == \
        list(zip(codings.segment_id, codings.code_id, strict=True))
    assert n_segments == len(segments)


# ---------------------------------------------------------------------------- decisions


def test_every_kind_of_decision_is_recorded_with_coder_and_time_and_reaches_codings_csv(folder):
    order, theme_of = codebook_tree(CODEBOOK)
    codings = codings_csv(folder)
    accepted, rejected, recoded, added, memoed = pick(codings, 5)
    new_code = unsuggested_code(codings, recoded[0], order)
    add_code = unsuggested_code(codings, added[0], order)
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    with ProjectStore(folder) as store:
        ids = [store.decide(*accepted, "accept", "alice"),
               store.decide(*rejected, "reject", "alice"),
               store.decide(*recoded, "recode", "alice", new_code_id=new_code),
               store.decide(added[0], add_code, "add", "alice"),
               store.decide(*memoed, "memo", "alice", memo="à relire : ironie ?")]
        decisions = store.decisions()
    after = datetime.datetime.now(datetime.UTC)
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert decisions.decision_id.tolist() == ids
    assert decisions.action.tolist() == ["accept", "reject", "recode", "add", "memo"]
    assert set(decisions.coder) == {"alice"}
    assert decisions.new_code_id.tolist()[2] == new_code
    assert decisions.memo.tolist()[4] == "à relire : ironie ?"
    assert not decisions.stale.any() and not decisions.undone.any()
    for stamp in decisions.created_at:
        moment = datetime.datetime.fromisoformat(stamp)
        assert moment.tzinfo is not None and before <= moment <= after

    # the store is the truth; codings.csv is rewritten from it
    assert set(codings_csv(folder).status) == {"suggested"}
    effective = apply_decisions(folder)
    table = codings_csv(folder)
    assert len(table) == len(effective) == len(codings) + 2  # the re-code's new code, the added code
    assert (row(table, *accepted).status, row(table, *accepted).coder) == ("accepted", "alice")
    assert (row(table, *rejected).status, row(table, *rejected).coder) == ("rejected", "alice")
    assert row(table, *recoded).status == "rejected"
    for segment_id, code_id in [(recoded[0], new_code), (added[0], add_code)]:
        human = row(table, segment_id, code_id)
        assert (human.status, human.method, human.coder) == ("accepted", "human", "alice")
        assert human.document_id == segment_id.split("#")[0]
        assert human.theme_id == theme_of[code_id]
    assert row(table, *memoed).memo == "à relire : ironie ?"
    assert row(table, *memoed).status == "suggested"
    untouched = ~table.set_index(["segment_id", "code_id"]).index.isin(
        [accepted, rejected, recoded, memoed, (recoded[0], new_code), (added[0], add_code)])
    assert set(table[untouched].status) == {"suggested"}
    assert not table.needs_review.any()


def test_invalid_decisions_are_refused_and_nothing_is_recorded(folder):
    (segment_id, code_id), = pick(codings_csv(folder), 1)
    with ProjectStore(folder) as store:
        with pytest.raises(StoreError, match="unknown action 'approve'; use one of accept, reject"):
            store.decide(segment_id, code_id, "approve", "alice")
        with pytest.raises(StoreError, match="re-code needs the new code"):
            store.decide(segment_id, code_id, "recode", "alice")
        with pytest.raises(StoreError, match=r"unknown segment 'nowhere#1\.1'"):
            store.decide("nowhere#1.1", code_id, "accept", "alice")
        with pytest.raises(StoreError, match="coder"):
            store.decide(segment_id, code_id, "accept", "")
        with pytest.raises(StoreError, match="unknown segment"):  # all or none
            store.decide_many([(segment_id, code_id, "accept", "alice", None, None),
                               ("nowhere#1.1", code_id, "accept", "alice", None, None)])
        assert store.decisions(include_undone=True).empty


def test_coders_are_kept_apart_for_blind_parallel_coding(folder):
    codings = codings_csv(folder)
    (a1, a2, b1) = pick(codings, 3)
    with ProjectStore(folder) as store:
        store.decide(*a1, "accept", "alice")
        store.decide(*a2, "reject", "alice")
        store.decide(*b1, "reject", "bob")
        assert store.coders() == ["alice", "bob"]
        assert set(zip(store.decisions("alice").segment_id, store.decisions("alice").code_id,
                       strict=True)) == {a1, a2}
        assert store.decisions("bob").action.tolist() == ["reject"]
        suggestions = store.suggestions()
        for_bob = store.effective_codings(suggestions, coder="bob")
        for_alice = store.effective_codings(suggestions, coder="alice")
    assert row(for_bob, *a1).status == row(for_bob, *a2).status == "suggested"
    assert row(for_bob, *a1).coder == ""
    assert row(for_bob, *b1).status == "rejected"
    assert row(for_alice, *a1).status == "accepted" and row(for_alice, *a2).status == "rejected"
    assert row(for_alice, *b1).status == "suggested"

    queue_bob = set(zip(*(review_queue(folder, coder="bob")[c] for c in ("segment_id", "code_id")),
                        strict=True))
    queue_alice = set(zip(*(review_queue(folder, coder="alice")[c] for c in ("segment_id", "code_id")),
                          strict=True))
    assert {a1, a2} <= queue_bob and b1 not in queue_bob
    assert b1 in queue_alice and not {a1, a2} & queue_alice
    assert len(queue_bob) == len(codings) - 1 and len(queue_alice) == len(codings) - 2


def test_codings_csv_keeps_a_coding_accepted_when_one_coder_accepted_it_last(folder):
    (pair,) = pick(codings_csv(folder), 1)
    with ProjectStore(folder) as store:
        store.decide(*pair, "accept", "alice")
        store.decide(*pair, "reject", "bob")
    apply_decisions(folder)
    assert row(codings_csv(folder), *pair).status == "accepted"


def test_undo_restores_the_last_decision_of_that_coder_only(folder):
    codings = codings_csv(folder)
    first, second, other = pick(codings, 3)
    with ProjectStore(folder) as store:
        assert store.undo("alice") is None
        d1 = store.decide(*first, "accept", "alice")
        d2 = store.decide(*second, "reject", "alice")
        d3 = store.decide(*other, "accept", "bob")  # bob's decision is the most recent of all
        assert store.undo("alice") == d2
        assert store.decisions("alice").decision_id.tolist() == [d1]
        assert store.decisions("bob").decision_id.tolist() == [d3]
        everything = store.decisions(include_undone=True).set_index("decision_id")
        assert everything.undone.to_dict() == {d1: 0, d2: 1, d3: 0}
    assert second in set(zip(review_queue(folder, coder="alice").segment_id,
                             review_queue(folder, coder="alice").code_id, strict=True))
    table = apply_decisions(folder)
    assert row(table, *second).status == "suggested"
    assert row(table, *first).status == "accepted" and row(table, *other).status == "accepted"
    with ProjectStore(folder) as store:
        assert store.undo("alice") == d1
        assert store.undo("alice") is None
        assert store.decisions("bob").decision_id.tolist() == [d3]


# ---------------------------------------------------------------------------- the human guarantee


def decide_sample(folder: Path, pairs: list[tuple[str, str]], coder: str = "alice") -> None:
    """accept, reject, recode, add, memo on the first five pairs; accept the rest."""
    order, _ = codebook_tree(CODEBOOK)
    codings = codings_csv(folder)
    with ProjectStore(folder) as store:
        store.decide(*pairs[0], "accept", coder)
        store.decide(*pairs[1], "reject", coder)
        store.decide(*pairs[2], "recode", coder, new_code_id=unsuggested_code(codings, pairs[2][0], order))
        store.decide(pairs[3][0], unsuggested_code(codings, pairs[3][0], order), "add", coder)
        store.decide(*pairs[4], "memo", coder, memo="garder pour le rapport")
        for pair in pairs[5:]:
            store.decide(*pair, "accept", coder)
    apply_decisions(folder)


def snapshot(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The decisions, and the review columns of codings.csv for every decided pair."""
    with ProjectStore(folder) as store:
        decisions = store.decisions(include_undone=True)
    table = codings_csv(folder)
    keys = set(zip(decisions.segment_id, decisions.code_id, strict=True)) | set(
        zip(decisions.segment_id, decisions.new_code_id, strict=True))
    decided = table[[(s, c) in keys for s, c in zip(table.segment_id, table.code_id, strict=True)]]
    columns = ["segment_id", "code_id", "status", "coder", "method", "needs_review", "memo"]
    return decisions, decided[columns].sort_values(columns[:2]).reset_index(drop=True)


@dataclass
class Rerun:
    before: tuple[pd.DataFrame, pd.DataFrame]
    after: tuple[pd.DataFrame, pd.DataFrame]
    folder: Path
    low: tuple[str, str] = ("", "")


def edited_codebook(path: Path, *, threshold: float, code: str, keyword: str) -> Path:
    data = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    data["settings"]["threshold"] = threshold
    data["version"] = data["version"] + "-edited"

    def add(codes):
        for c in codes or []:
            if c["id"] == code:
                c["keywords"].append(keyword)
            add(c.get("codes"))

    for theme in data["themes"]:
        add(theme.get("codes"))
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def codebook_rerun(project, tmp_path_factory) -> Rerun:
    """Decisions, then a re-run with a stricter threshold and one more keyword."""
    base = tmp_path_factory.mktemp("codebook-rerun")
    folder = project.copy(base / "results")
    codings = codings_csv(folder)
    pairs = pick(codings, 8, min_score=0.6)
    low = pick(codings[codings.score < 0.52], 1, exclude=pairs)[0]  # below the new threshold
    decide_sample(folder, pairs)
    with ProjectStore(folder) as store:
        store.decide(*low, "accept", "alice")
    apply_decisions(folder)
    before = snapshot(folder)
    codebook = edited_codebook(base / "codebook-1.1.yaml", threshold=0.52, code="levier",
                               keyword="guichet unique")
    project.rerun(folder, codebook=codebook)
    return Rerun(before, snapshot(folder), folder, low)


def test_rerun_after_editing_the_codebook_keeps_every_decision(codebook_rerun):
    (decisions_before, _), (decisions_after, _) = codebook_rerun.before, codebook_rerun.after
    assert len(decisions_before) == 9
    pd.testing.assert_frame_equal(decisions_after, decisions_before)
    with ProjectStore(codebook_rerun.folder) as store:
        assert store.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2
        versions = [r[0] for r in store.db.execute("SELECT version FROM codebooks ORDER BY version")]
        original = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))["version"]
        assert versions == [original, original + "-edited"]
    table = codings_csv(codebook_rerun.folder)
    machine = table[(table.method != "human") & (table.status != "accepted")]
    assert machine.score.min() >= 0.52  # the new codebook was used (human-accepted codings stay)…
    assert table.matched.str.contains("guichet unique").any()  # …with its new keyword


def test_rerun_after_editing_the_codebook_keeps_the_statuses_in_codings_csv(codebook_rerun):
    (_, before), (_, after) = codebook_rerun.before, codebook_rerun.after
    low = codebook_rerun.low
    kept = before[(before.segment_id != low[0]) | (before.code_id != low[1])].reset_index(drop=True)
    assert set(kept.status) == {"accepted", "rejected", "suggested"}
    after = after[(after.segment_id != low[0]) | (after.code_id != low[1])].reset_index(drop=True)
    pd.testing.assert_frame_equal(after, kept)


def test_a_human_accepted_coding_survives_a_stricter_threshold(codebook_rerun):
    _, after = codebook_rerun.after
    assert codebook_rerun.low in set(zip(after.segment_id, after.code_id, strict=True))
    assert row(after, *codebook_rerun.low).status == "accepted"


def test_rerun_with_an_added_transcript_keeps_every_decision_and_status(project, tmp_path):
    folder = project.copy(tmp_path / "results")
    transcripts = project.copy_transcripts(tmp_path / "transcripts")
    shutil.copy(BUNDLED / EXTRA, transcripts / EXTRA)
    write_participants(transcripts, [*FILES, EXTRA])
    decide_sample(folder, pick(codings_csv(folder), 7))
    decisions_before, before = snapshot(folder)
    project.rerun(folder, transcripts=transcripts, files=[*FILES, EXTRA])
    decisions_after, after = snapshot(folder)
    pd.testing.assert_frame_equal(decisions_after, decisions_before)
    pd.testing.assert_frame_equal(after, before)
    table = codings_csv(folder)
    assert Path(EXTRA).stem in set(table.document_id)
    assert set(table[table.document_id == Path(EXTRA).stem].status) == {"suggested"}


@dataclass
class Edited:
    folder: Path
    changed: tuple[str, str]
    later: tuple[str, str]
    decisions_before: pd.DataFrame


@pytest.fixture(scope="module")
def edited_transcript(project, tmp_path_factory) -> Edited:
    """Decisions, then a re-run after one decided sentence of a transcript was reworded."""
    base = tmp_path_factory.mktemp("edited-transcript")
    folder = project.copy(base / "results")
    transcripts = project.copy_transcripts(base / "transcripts")
    codings = codings_csv(folder)
    segments = pd.read_csv(folder / "segments.csv", keep_default_na=False)
    document = Path(FILES[0]).stem
    mine = codings[(codings.document_id == document) & (codings.method != "embedding")]
    changed = pick(mine, 1, min_score=0.7)[0]
    start = int(segments.set_index("segment_id").start[changed[0]])
    later_rows = mine[mine.segment_id.map(segments.set_index("segment_id").start) > start]
    later = pick(later_rows, 1)[0]
    with ProjectStore(folder) as store:
        store.decide(*changed, "accept", "alice")
        store.decide(*later, "reject", "alice")
        decisions_before = store.decisions()
    apply_decisions(folder)

    text = segments.set_index("segment_id").text[changed[0]]
    path = transcripts / FILES[0]
    content = path.read_text(encoding="utf-8")
    assert content.count(text) == 1 and text[-1] in ".?!"
    path.write_text(content.replace(text, text[:-1] + ", franchement" + text[-1]), encoding="utf-8")
    project.rerun(folder, transcripts=transcripts)
    return Edited(folder, changed, later, decisions_before)


def test_a_decision_on_edited_text_is_kept_flagged_stale_and_not_applied(edited_transcript):
    folder, changed, later = edited_transcript.folder, edited_transcript.changed, edited_transcript.later
    segments = pd.read_csv(folder / "segments.csv", keep_default_na=False).set_index("segment_id")
    assert "franchement" in segments.text[changed[0]]  # same segment id, different text
    with ProjectStore(folder) as store:
        decisions = store.decisions()
    before = edited_transcript.decisions_before
    pd.testing.assert_frame_equal(decisions.drop(columns="stale"), before.drop(columns="stale"))
    stale = dict(zip(decisions.segment_id, decisions.stale, strict=True))
    assert stale == {changed[0]: True, later[0]: False}  # the later sentence moved but kept its text
    table = codings_csv(folder)
    edited = row(table, *changed)
    assert (edited.status, bool(edited.needs_review), edited.coder) == ("suggested", True, "")
    assert (table.status == "accepted").sum() == 0  # never silently re-attached
    moved = row(table, *later)
    assert (moved.status, bool(moved.needs_review)) == ("rejected", False)
    assert table.needs_review.sum() == 1


def test_a_stale_decision_brings_its_coding_back_to_the_queue(edited_transcript):
    queue = review_queue(edited_transcript.folder, coder="alice")
    assert edited_transcript.changed in set(zip(queue.segment_id, queue.code_id, strict=True))


# ---------------------------------------------------------------------------- kill safety

DECIDE_LOOP = textwrap.dedent("""
    import sys
    from qualcode.store import ProjectStore

    store = ProjectStore(sys.argv[1])
    segments = sys.argv[2:]
    i = 0
    while True:
        print(store.decide(segments[i % len(segments)], "levier", "accept", "robot", memo=str(i)),
              flush=True)
        i += 1
""")

RUN_LOOP = textwrap.dedent("""
    import sys
    import pandas as pd
    from qualcode.store import ProjectStore

    store, n = ProjectStore(sys.argv[1]), int(sys.argv[2])
    ids = [f"big#{i}" for i in range(n)]
    segments = pd.DataFrame({"segment_id": ids, "document_id": "big", "start": range(n),
                             "end": range(1, n + 1), "text": [f"phrase {i}" for i in range(n)]})
    codings = pd.DataFrame({"segment_id": ids, "code_id": "levier", "score": 0.75, "method": "rule",
                            "evidence": "keyword"})
    k = 0
    while True:
        print(store.record_run({"codebook": {"name": "big", "version": str(k)}}, f"name: big{k}",
                               segments, codings), flush=True)
        k += 1
""")

# the suggestions of the run are produced slowly, inside record_run's transaction, after the run
# row and the (re-worded) segments were written: the kill lands in the middle of the transaction
RUN_INTERRUPTED = textwrap.dedent("""
    import sys, time
    import pandas as pd
    from qualcode.store import ProjectStore

    store = ProjectStore(sys.argv[1])
    real = pd.read_sql_query('SELECT segment_id, document_id, start, "end", text FROM segments',
                             store.db)
    real["text"] = real["text"] + " (modifié)"
    n = 30000
    big = pd.DataFrame({"segment_id": [f"big#{i}" for i in range(n)], "document_id": "big",
                        "start": range(n), "end": range(1, n + 1), "text": "phrase"})
    segments = pd.concat([real, big], ignore_index=True)

    class SlowColumn:
        def __init__(self, name):
            self.name = name

        def tolist(self):  # the store reads suggestions row by row while it inserts them
            values = {"code_id": "levier", "score": 0.75, "method": "rule", "evidence": "keyword"}
            for i in range(n):
                if self.name == "segment_id" and i == n // 2:
                    print("inside", flush=True)
                    time.sleep(120)
                yield f"big#{i}" if self.name == "segment_id" else values[self.name]

    class SlowCodings:
        columns = ["segment_id", "code_id", "score", "method", "evidence"]

        def __getitem__(self, name):
            return SlowColumn(name)

    store.record_run({"codebook": {"name": "big", "version": "9"}}, "name: big", segments,
                     SlowCodings())
    print("committed", flush=True)
""")


def run_and_kill(script: str, args: list[str], enough) -> tuple[list[str], str]:
    """Run ``script``, SIGKILL it once ``enough(lines)``; return every complete line it printed."""
    process = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        while not enough(lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
        os.kill(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        rest, errors = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, errors
    assert enough(lines), errors
    return lines + rest.split("\n")[:-1], errors  # a last line without newline was cut mid-print


def copy_store(source: Path, dest: Path) -> Path:
    dest.mkdir()
    with sqlite3.connect(source / "project.sqlite") as src, \
            sqlite3.connect(dest / "project.sqlite") as dst:
        src.backup(dst)
    src.close()
    dst.close()
    return dest


def integrity(folder: Path) -> str:
    with ProjectStore(folder) as store:
        return store.db.execute("PRAGMA integrity_check").fetchone()[0]


def tables(folder: Path) -> dict[str, list]:
    with ProjectStore(folder) as store:
        return {name: store.db.execute(f"SELECT * FROM {name} ORDER BY rowid").fetchall()
                for name in ("codebooks", "runs", "segments", "suggestions", "decisions", "meta")}


def test_killing_a_process_while_it_records_decisions_loses_no_committed_decision(project, tmp_path):
    folder = copy_store(project.out, tmp_path / "killed")
    segments = sorted(codings_csv(project.out).segment_id.unique())[:20]
    printed, _ = run_and_kill(DECIDE_LOOP, [str(folder), *segments], lambda lines: len(lines) >= 50)
    ids = [int(line) for line in printed]
    assert len(ids) >= 50 and ids == sorted(set(ids))
    assert integrity(folder) == "ok"
    with ProjectStore(folder) as store:
        decisions = store.decisions("robot").set_index("decision_id")
        assert not store.decisions().stale.any()
    assert set(ids) <= set(decisions.index)
    assert len(decisions) <= len(ids) + 1  # at most one committed and not yet printed
    for i, decision_id in enumerate(ids):  # the content, not just the id
        assert decisions.memo[decision_id] == str(i)
        assert decisions.segment_id[decision_id] == segments[i % len(segments)]


def test_killing_a_process_inside_a_run_insert_leaves_the_store_as_it_was(project, tmp_path):
    folder = copy_store(project.out, tmp_path / "killed")
    with ProjectStore(folder) as store:
        (segment_id, code_id), = pick(codings_csv(project.out), 1)
        store.decide(segment_id, code_id, "accept", "alice")
    before = tables(folder)
    printed, _ = run_and_kill(RUN_INTERRUPTED, [str(folder)], lambda lines: "inside" in lines)
    assert "committed" not in printed
    assert integrity(folder) == "ok"
    assert tables(folder) == before  # neither the run row, nor the re-worded segments, nor a suggestion
    with ProjectStore(folder) as store:
        assert not store.decisions().stale.any()


def test_killing_a_process_between_and_during_run_inserts_keeps_whole_runs_only(project, tmp_path):
    folder = copy_store(project.out, tmp_path / "killed")
    n = 20000
    with ProjectStore(folder) as store:
        first_run = store.latest_run()
        first_count = len(store.suggestions())
    printed, _ = run_and_kill(RUN_LOOP, [str(folder), str(n)], lambda lines: len(lines) >= 3)
    assert integrity(folder) == "ok"
    with ProjectStore(folder) as store:
        runs = dict(store.db.execute(
            "SELECT r.run_id, COUNT(s.run_id) FROM runs r LEFT JOIN suggestions s USING (run_id) "
            "GROUP BY r.run_id").fetchall())
        orphans = store.db.execute("SELECT COUNT(*) FROM suggestions WHERE run_id NOT IN "
                                   "(SELECT run_id FROM runs)").fetchone()[0]
        last_runs = {r[0] for r in store.db.execute("SELECT DISTINCT last_run FROM segments")}
    assert {int(p) for p in printed} <= set(runs)
    assert runs.pop(first_run) == first_count
    assert runs and set(runs.values()) == {n}  # every run is whole
    assert orphans == 0
    assert last_runs <= {first_run, *runs}


# ---------------------------------------------------------------------------- schema


def test_a_new_store_has_the_current_schema_version(tmp_path):
    with ProjectStore(tmp_path / "new") as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with ProjectStore(tmp_path / "new") as store:  # reopening migrates nothing
        assert store.schema_version == SCHEMA_VERSION


def newer_store(folder: Path) -> Path:
    with sqlite3.connect(folder / "project.sqlite") as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    db.close()
    return folder


def test_a_store_from_a_newer_qualcode_is_refused(folder):
    newer_store(folder)
    with pytest.raises(StoreError) as caught:
        ProjectStore(folder)
    message = str(caught.value)
    assert message.startswith(str(folder / "project.sqlite") + ": ")
    assert f"store schema {SCHEMA_VERSION + 1} is newer than this qualcode ({SCHEMA_VERSION})" in message
    assert "upgrade qualcode" in message


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    (tmp_path / "project.sqlite").write_text("segment_id,code_id\nnot a database\n" * 50)
    with pytest.raises(StoreError) as caught:
        ProjectStore(tmp_path)
    assert str(caught.value).startswith(str(tmp_path / "project.sqlite") + ": unreadable project store")


@pytest.mark.parametrize("damage", ["not sqlite", "newer"])
def test_the_cli_shows_a_bad_store_as_one_error_line(folder, damage, wide_console):
    if damage == "newer":
        newer_store(folder)
        expected = "is newer than this qualcode"
    else:
        (folder / "project.sqlite").write_bytes(b"PK\x03\x04 this is a zip, not a database" * 100)
        expected = "unreadable project store"
    content = (folder / "project.sqlite").read_bytes()
    result = CliRunner().invoke(app, ["review", str(folder), "--coder", "x", "--accept-above", "0.9"])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {folder / 'project.sqlite'}: ")
    assert expected in lines[0]
    assert (folder / "project.sqlite").read_bytes() == content  # left as it was


def test_a_version_1_store_is_migrated_and_keeps_its_decisions(folder):
    segment = pd.read_csv(folder / "segments.csv").segment_id.iloc[0]
    with ProjectStore(folder) as store:
        store.decide(segment, "frein", "add", "alice")
    with sqlite3.connect(folder / "project.sqlite") as db:  # as qualcode 0.1 left it
        db.execute("DROP TABLE coverage")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.close()
    with ProjectStore(folder) as store:
        assert store.schema_version == SCHEMA_VERSION == 2
        assert store.coverage().empty
        assert list(store.decisions("alice").segment_id) == [segment]


def test_coverage_is_recorded_with_the_decisions_or_not_at_all(folder):
    segments = pd.read_csv(folder / "segments.csv")
    first = segments.iloc[0]
    with ProjectStore(folder) as store:
        with pytest.raises(StoreError, match="unknown segment"):
            store.decide_many([(first.segment_id, "frein", "add", "alice", None, None),
                               ("no#1.1", "frein", "add", "alice", None, None)],
                              covered=[("alice", first.document_id, "coded.csv")])
        assert store.coverage().empty and store.decisions().empty
        store.decide_many([], covered=[("alice", first.document_id, "coded.csv")] * 2)
        coverage = store.coverage("alice")
        assert list(coverage.document_id) == [first.document_id] and list(coverage.source) == ["coded.csv"]
        assert store.coders() == ["alice"]  # a coder who coded a document with nothing still counts
