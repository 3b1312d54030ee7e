"""Human review on a real run of two bundled interviews: queue, bulk accept, spreadsheets, terminal.

One module-scoped run of :func:`code_transcripts` (sharing its parse cache with
test_store.py) is copied for every test that records decisions.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import warnings
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from qualcode.cli import app
from qualcode.coding import code_transcripts
from qualcode.errors import OptionError, ResultsError
from qualcode.matrices import code_matrix
from qualcode.results import load_results
from qualcode.review import accept_above, apply_decisions, export_queue, import_decisions, review_queue
from qualcode.store import ProjectStore

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "transcripts"
CODEBOOK = ROOT / "codebooks" / "ds-ia-sante.yaml"
FILES = ["entretien_01_dg_chu1.txt", "entretien_13_med_urg_ch6.txt"]
DOCUMENTED_COLUMNS = ["segment_id", "code_id", "score", "method", "speaker", "text", "evidence",
                      "decision", "new_code_id", "memo"]
SESSION = "a\nr\nc\nlevier\nn\nfrein\nm\nun mémo\nu\ns\nq\n"

runner = CliRunner()


def codebook_order() -> list[str]:
    """Code ids in the order the codebook YAML lists them (nested codes after their parent)."""
    data = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    order: list[str] = []

    def walk(codes):
        for code in codes or []:
            order.append(code["id"])
            walk(code.get("codes"))

    for theme in data["themes"]:
        walk(theme.get("codes"))
    return order


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("review")
    transcripts = folder / "transcripts"
    transcripts.mkdir()
    for name in FILES:
        shutil.copy(BUNDLED / name, transcripts / name)
    with open(BUNDLED / "participants.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    with open(transcripts / "participants.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([rows[0], *(r for r in rows[1:] if r[0] in FILES)])
    cache = tmp_path_factory.getbasetemp() / "qualcode-store-review-cache"  # shared with test_store.py
    code_transcripts([transcripts / f for f in FILES], CODEBOOK, out=folder / "out",
                     participants=transcripts / "participants.csv", cache_dir=cache)
    return folder / "out"


@pytest.fixture
def folder(base, tmp_path) -> Path:
    return Path(shutil.copytree(base, tmp_path / "results"))


pytestmark = pytest.mark.usefixtures("wide_console")  # fixture in conftest.py


def codings_csv(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "codings.csv", keep_default_na=False, dtype={"memo": str})


def pairs(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(frame.segment_id, frame.code_id, strict=True))


def status_of(frame: pd.DataFrame) -> dict[tuple[str, str], str]:
    return dict(zip(pairs(frame), frame.status, strict=True))


def unsuggested(codings: pd.DataFrame, segment_id: str) -> str:
    suggested = set(codings[codings.segment_id == segment_id].code_id)
    return next(c for c in codebook_order() if c not in suggested)


def reading_order(folder: Path) -> list[str]:
    """Document ids in the order of the run record (the corpus order)."""
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    return [d["document_id"] for d in run["corpus"]["documents"]]


def normalized(text: str) -> str:
    """Terminal output without panel borders and line folds."""
    return " ".join(text.replace("│", " ").split())


# ---------------------------------------------------------------------------- the queue


def test_queue_by_confidence_holds_every_pending_suggestion_least_sure_first(folder):
    codings = codings_csv(folder)
    queue = review_queue(folder, coder="alice")
    assert sorted(pairs(queue)) == sorted(pairs(codings))
    assert queue.score.is_monotonic_increasing
    assert queue.score.iloc[0] == codings.score.min()
    assert {"speaker", "text", "question", "evidence", "method"} <= set(queue.columns)
    decided = pairs(queue)[3]
    with ProjectStore(folder) as store:
        store.decide(*decided, "reject", "alice")
    after = review_queue(folder, coder="alice")
    assert decided not in pairs(after) and len(after) == len(queue) - 1


def test_queue_by_code_follows_the_codebook_then_the_documents(folder):
    order = codebook_order()
    segments = pd.read_csv(folder / "segments.csv", keep_default_na=False).set_index("segment_id")
    documents = reading_order(folder)
    queue = review_queue(folder, coder="alice", order="code")
    keys = [(order.index(c), documents.index(segments.document_id[s]), int(segments.start[s]))
            for s, c in pairs(queue)]
    assert keys == sorted(keys)
    assert len({k[0] for k in keys}) > 5
    assert sorted(pairs(queue)) == sorted(pairs(codings_csv(folder)))


def test_queue_by_document_follows_the_reading_order(folder):
    segments = pd.read_csv(folder / "segments.csv", keep_default_na=False).set_index("segment_id")
    documents = reading_order(folder)
    queue = review_queue(folder, coder="alice", order="document")
    keys = [(documents.index(segments.document_id[s]), int(segments.start[s])) for s in queue.segment_id]
    assert keys == sorted(keys)
    assert (keys[0][0], keys[-1][0]) == (0, len(documents) - 1)


@pytest.mark.parametrize("order", ["confidence", "code", "document"])
def test_queue_for_one_code(folder, order):
    codings = codings_csv(folder)
    code = codings.code_id.value_counts().index[0]
    queue = review_queue(folder, coder="alice", order=order, code=code)
    assert set(queue.code_id) == {code}
    assert sorted(pairs(queue)) == sorted(pairs(codings[codings.code_id == code]))


def test_unknown_order_or_code_lists_the_valid_values(folder):
    with pytest.raises(OptionError) as caught:
        review_queue(folder, coder="alice", order="random")
    assert str(caught.value) == ("unknown order 'random'; choose from: confidence, uncertainty, code, "
                                 "document")
    with pytest.raises(OptionError) as caught:
        review_queue(folder, coder="alice", code="optimisme")
    message = str(caught.value)
    assert message.startswith("unknown code 'optimisme'; choose from: ")
    assert message.split("choose from: ")[1].split(", ") == codebook_order()
    result = runner.invoke(app, ["review", str(folder), "--coder", "alice", "--order", "random"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: unknown order 'random'; choose from: confidence, "
                                          "uncertainty, code, document"]


# ---------------------------------------------------------------------------- bulk accept


def test_accept_above_accepts_exactly_the_pending_suggestions_at_or_above_the_threshold(folder):
    codings = codings_csv(folder)
    scores = sorted(codings.score)
    threshold = scores[len(scores) * 3 // 4]  # a score that occurs: ties at the threshold count
    high = codings[codings.score >= threshold]
    assert (codings.score == threshold).any() and 3 < len(high) < len(codings)
    rejected_by_alice, accepted_by_bob = pairs(high)[:2]
    with ProjectStore(folder) as store:
        store.decide(*rejected_by_alice, "reject", "alice")
        store.decide(*accepted_by_bob, "accept", "bob")
    expected = set(pairs(high)) - {rejected_by_alice}

    assert accept_above(folder, threshold, coder="alice") == len(expected)
    with ProjectStore(folder) as store:
        alice = store.decisions("alice")
    assert set(pairs(alice[alice.action == "accept"])) == expected
    assert len(alice) == len(expected) + 1
    statuses = status_of(codings_csv(folder))
    assert {p for p, s in statuses.items() if s == "accepted"} == expected | {accepted_by_bob}
    assert statuses[rejected_by_alice] == "rejected"
    assert {s for p, s in statuses.items() if p not in expected | {rejected_by_alice, accepted_by_bob}} \
        == {"suggested"}
    assert accept_above(folder, threshold, coder="alice") == 0  # nothing pending is left above it
    with pytest.raises(OptionError, match="between 0 and 1"):
        accept_above(folder, 1.5, coder="alice")


def test_accept_above_from_the_command_line(folder):
    codings = codings_csv(folder)
    expected = int((codings.score >= 0.8).sum())
    result = runner.invoke(app, ["review", str(folder), "--coder", "x", "--accept-above", "0.8"])
    assert result.exit_code == 0, result.output
    assert f"Accepted {expected} suggestions scoring ≥ 0.8 as x" in result.stdout
    assert (codings_csv(folder).status == "accepted").sum() == expected


# ---------------------------------------------------------------------------- spreadsheets


def read_queue(path: Path) -> pd.DataFrame:
    if path.suffix == ".xlsx":
        return pd.read_excel(path, sheet_name="queue", dtype=str).fillna("")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def fill(path: Path, edits: dict[int, dict[str, str]]) -> None:
    """Type into the queue file like a colleague: ``edits[row index] = {column: value}``."""
    if path.suffix == ".xlsx":
        workbook = openpyxl.load_workbook(path)
        sheet = workbook["queue"]
        header = [cell.value for cell in sheet[1]]
        for index, values in edits.items():
            for column, value in values.items():
                sheet.cell(row=index + 2, column=header.index(column) + 1, value=value)
        workbook.save(path)
    else:
        frame = read_queue(path)
        for index, values in edits.items():
            for column, value in values.items():
                frame.loc[index, column] = value
        frame.to_csv(path, index=False, lineterminator="\n")


def distinct_segment_rows(queue: pd.DataFrame, n: int) -> list[int]:
    rows, seen = [], set()
    for index, segment_id in enumerate(queue.segment_id):
        if segment_id not in seen:
            rows.append(index)
            seen.add(segment_id)
        if len(rows) == n:
            return rows
    raise AssertionError("not enough segments")


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_fill_and_import_a_queue_file(folder, tmp_path, suffix):
    codings = codings_csv(folder)
    path = export_queue(folder, tmp_path / f"queue{suffix}", coder="carol")
    exported = read_queue(path)
    queue = review_queue(folder, coder="carol", order="document")
    assert list(exported.columns) == DOCUMENTED_COLUMNS
    assert pairs(exported) == pairs(queue)
    assert (exported[["decision", "new_code_id", "memo"]] == "").all().all()
    assert exported.text.tolist() == queue.text.tolist()
    assert [float(s) for s in exported.score] == queue.score.tolist()

    r = distinct_segment_rows(exported, 5)
    recode_to = unsuggested(codings, exported.segment_id[r[2]])
    add_code = unsuggested(codings, exported.segment_id[r[3]])
    fill(path, {r[0]: {"decision": "accept"}, r[1]: {"decision": "Reject "},
                r[2]: {"decision": "recode", "new_code_id": recode_to},
                r[3]: {"decision": "add", "code_id": add_code},
                r[4]: {"decision": "memo", "memo": "à discuter en équipe"}})
    assert import_decisions(folder, path, coder="carol") == 5

    with ProjectStore(folder) as store:
        decisions = store.decisions()
    assert set(decisions.coder) == {"carol"}
    assert decisions.action.tolist() == ["accept", "reject", "recode", "add", "memo"]
    assert pairs(decisions) == [*(pairs(exported)[i] for i in r[:3]),
                                (exported.segment_id[r[3]], add_code), pairs(exported)[r[4]]]
    assert decisions.new_code_id[2] == recode_to and decisions.memo[4] == "à discuter en équipe"
    table = codings_csv(folder)
    statuses = status_of(table)
    assert statuses[pairs(exported)[r[0]]] == "accepted"
    assert statuses[pairs(exported)[r[1]]] == "rejected"
    assert statuses[pairs(exported)[r[2]]] == "rejected"
    assert statuses[(exported.segment_id[r[2]], recode_to)] == "accepted"
    assert statuses[(exported.segment_id[r[3]], add_code)] == "accepted"
    memo = table[(table.segment_id == exported.segment_id[r[4]]) & (table.code_id == exported.code_id[r[4]])]
    assert memo.memo.tolist() == ["à discuter en équipe"]
    # the add and the memo decide no suggestion: three items leave the queue
    assert len(review_queue(folder, coder="carol")) == len(queue) - 3


def test_export_is_ready_for_the_next_pandas(folder, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.Pandas4Warning)
        export_queue(folder, tmp_path / "queue.csv", coder="carol")


BAD_ROWS = {
    "unknown code": ({"decision": "accept", "code_id": "optimisme"}, "unknown code 'optimisme'"),
    "unknown segment": ({"decision": "accept", "segment_id": "entretien_99#1.1"},
                        "unknown segment 'entretien_99#1.1'"),
    "unknown decision": ({"decision": "approve"}, "unknown decision 'approve'; use one of accept, reject"),
    "recode without new code": ({"decision": "recode"}, "re-code needs a known new_code_id, got ''"),
}


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_a_queue_file_with_one_bad_row_records_nothing(folder, tmp_path, suffix, kind):
    path = export_queue(folder, tmp_path / f"queue{suffix}", coder="carol")
    edit, message = BAD_ROWS[kind]
    fill(path, {0: {"decision": "accept"}, 1: {"decision": "reject"}, 2: {"decision": "accept"},
                3: edit, 4: {"decision": "accept"}})
    codings = (folder / "codings.csv").read_bytes()
    with pytest.raises(ResultsError) as caught:
        import_decisions(folder, path, coder="carol")
    assert str(caught.value).startswith(f"{path}:5: ")  # header on line 1, the 4th row on line 5
    assert message in str(caught.value)
    with ProjectStore(folder) as store:
        assert store.decisions(include_undone=True).empty
    assert (folder / "codings.csv").read_bytes() == codings


# ---------------------------------------------------------------------------- terminal review


def session(folder: Path, keys: str, coder: str = "tui"):
    return runner.invoke(app, ["review", str(folder), "--coder", coder], input=keys)


def first_item(output: str) -> tuple[int, str]:
    match = re.search(r"1/(\d+) · [^·]+ · (\S+)", output)
    assert match, output[:500]
    return int(match.group(1)), match.group(2)


def test_a_review_session_records_each_key_and_shows_the_question_and_evidence(folder):
    queue = review_queue(folder, coder="tui")
    result = session(folder, SESSION)
    assert result.exit_code == 0, result.output
    with ProjectStore(folder) as store:
        decisions = store.decisions("tui")
        everything = store.decisions(include_undone=True)
    assert decisions.action.tolist() == ["accept", "reject", "recode", "add"]
    assert decisions.segment_id.tolist() == queue.segment_id[:4].tolist()
    assert pairs(decisions)[:3] == pairs(queue)[:3]
    assert decisions.new_code_id[2] == "levier"
    assert "frein" in {decisions.code_id[3], decisions.new_code_id[3]}
    assert set(everything.coder) == {"tui"} and everything.created_at.str.len().min() > 0
    memo = everything.iloc[-1]
    assert (memo.action, memo.memo, memo.undone) == ("memo", "un mémo", 1)
    # adding a code leaves the reviewer on the same suggestion, so the memo is about it too
    assert (memo.segment_id, memo.code_id) == pairs(queue)[3]
    assert f"4 decisions recorded, 1 skipped, {len(queue) - 3} left in the queue." in result.stdout

    shown = normalized(result.stdout)
    first = queue.iloc[0]
    assert first_item(result.stdout) == (len(queue), first.segment_id)
    assert first.question and f"Q: {normalized(first.question)}" in shown
    assert normalized(first.evidence) in shown
    assert normalized(first.text) in shown
    assert "undone: the decision is back in the queue" in shown

    statuses = status_of(codings_csv(folder))  # codings.csv follows the session
    assert statuses[pairs(queue)[0]] == "accepted"
    assert statuses[pairs(queue)[1]] == "rejected"
    assert statuses[pairs(queue)[2]] == "rejected"
    assert statuses[(queue.segment_id[2], "levier")] == "accepted"


def test_a_second_session_resumes_with_what_is_left_and_quitting_records_nothing(folder):
    before = review_queue(folder, coder="tui")
    total, _ = first_item(session(folder, SESSION).stdout)
    remaining = review_queue(folder, coder="tui")
    assert pairs(remaining)[0] == pairs(before)[3]  # the skipped item (code added, memo undone)
    result = session(folder, "a\nq\n")
    assert result.exit_code == 0, result.output
    total2, first2 = first_item(result.stdout)
    assert total2 == len(remaining) == total - 3  # accept, reject, re-code; the add decides nothing
    assert first2 == remaining.segment_id[0]
    assert pairs(remaining)[0] != pairs(before)[0]
    with ProjectStore(folder) as store:
        assert pairs(store.decisions("tui"))[-1] == pairs(remaining)[0]
        count = len(store.decisions(include_undone=True))
    assert count == 6

    quit_now = session(folder, "q\n")
    assert quit_now.exit_code == 0, quit_now.output
    assert first_item(quit_now.stdout)[0] == total - 4
    assert "0 decisions recorded, 0 skipped" in quit_now.stdout
    with ProjectStore(folder) as store:
        assert len(store.decisions(include_undone=True)) == count


def test_adding_a_code_in_the_terminal_adds_that_code(folder):
    queue = review_queue(folder, coder="tui")
    segment_id = queue.segment_id[0]
    code = unsuggested(codings_csv(folder), segment_id)
    assert session(folder, f"n\n{code}\nq\n").exit_code == 0
    table = codings_csv(folder)
    added = table[(table.segment_id == segment_id) & (table.code_id == code)]
    assert added[["status", "method"]].values.tolist() == [["accepted", "human"]]


def test_a_memo_alone_leaves_the_suggestion_in_the_queue(folder):
    queue = review_queue(folder, coder="tui")
    assert session(folder, "m\nà revoir\nq\n").exit_code == 0
    assert pairs(queue)[0] in pairs(review_queue(folder, coder="tui"))


# ---------------------------------------------------------------------------- reports on decisions


def test_reports_can_rest_on_human_validated_codings_only(folder):
    assert load_results(folder).basis == "machine suggestions only (no human decision yet)"
    codings = codings_csv(folder)
    chosen = pairs(codings.sort_values("score", ascending=False))[:6]
    with ProjectStore(folder) as store:
        store.decide_many([(s, c, "accept", "alice", None, None) for s, c in chosen[:5]]
                          + [(*chosen[5], "reject", "alice", None, None)])
    apply_decisions(folder)

    table = codings_csv(folder)
    accepted = table[table.status == "accepted"].drop_duplicates(["segment_id", "code_id"])
    assert sorted(pairs(accepted)) == sorted(chosen[:5])
    expected = accepted.groupby(["document_id", "code_id"]).size()
    results = load_results(folder)
    matrix = code_matrix(results, status="accepted")
    cells = matrix.stack()
    assert cells[cells > 0].sort_index().to_dict() == expected.sort_index().to_dict()
    assert int(matrix.values.sum()) == 5
    assert int(code_matrix(results).values.sum()) > 5  # every coding but the rejected one
    assert results.basis == f"5 human-validated codings and {len(table) - 5} others"


# --- a table of codings made elsewhere --------------------------------------------------------------


def _dev_rows(document: str) -> pd.DataFrame:
    gold = pd.read_csv(ROOT / "gold" / "ds-ia-sante-dev.csv")
    return gold[gold.document_id == document]


def test_a_coded_table_becomes_add_decisions_of_its_coder(folder, tmp_path):
    from qualcode.review import import_codings

    rows = _dev_rows("entretien_01_dg_chu1")
    assert set(rows.coder) == {"coder_c"}
    table = tmp_path / "coded.csv"
    rows.to_csv(table, index=False)
    suggested = pd.read_csv(folder / "codings.csv", keep_default_na=False)
    machine = set(zip(suggested.segment_id, suggested.code_id, strict=True))
    counts = import_codings(folder, table)
    assert counts == {"coder_c": {"add": len(rows), "memo": 0, "unchanged": 0}}
    codings = pd.read_csv(folder / "codings.csv", keep_default_na=False).set_index(["segment_id", "code_id"])
    for pair in zip(rows.segment_id, rows.code_id, strict=True):
        assert codings.at[pair, "status"] == "accepted" and codings.at[pair, "coder"] == "coder_c"
        if pair in machine:  # an add on a suggestion accepts it, with the machine's provenance
            assert codings.at[pair, "method"] != "human"
        else:
            assert codings.at[pair, "method"] == "human"
            assert codings.at[pair, "evidence"] == "added by coder_c"
    assert import_codings(folder, table) == {"coder_c": {"add": 0, "memo": 0, "unchanged": len(rows)}}
    with ProjectStore(folder) as store:
        assert len(store.decisions("coder_c")) == len(rows)  # the second import recorded nothing


def test_a_table_without_coders_needs_one_and_bad_rows_record_nothing(folder, tmp_path):
    from qualcode.review import import_codings

    rows = _dev_rows("entretien_01_dg_chu1").drop(columns=["coder"])
    table = tmp_path / "coded.csv"
    rows.to_csv(table, index=False)
    with pytest.raises(ResultsError, match="row has no coder") as info:
        import_codings(folder, table)
    assert info.value.line == 2
    assert import_codings(folder, table, coder="alice")["alice"]["add"] == len(rows)
    renamed = tmp_path / "renamed.csv"
    _dev_rows("entretien_01_dg_chu1").to_csv(renamed, index=False)
    assert import_codings(folder, renamed, coders={"coder_c": "bob"})["bob"]["add"] == len(rows)
    bad = tmp_path / "bad.csv"
    bad.write_text("segment_id,code_id,coder\nentretien_01_dg_chu1#1.2,top_down,carol\n"
                   "entretien_01_dg_chu1#1.3,pilotage_ia,carol\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", str(bad), "--into", str(folder)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith(f"error: {bad}:3: unknown code 'pilotage_ia'")
    with ProjectStore(folder) as store:
        assert store.decisions("carol").empty


def test_cli_imports_a_table_and_says_what_it_recorded(folder, tmp_path):
    table = tmp_path / "coded.csv"
    rows = _dev_rows("entretien_01_dg_chu1")
    rows.to_csv(table, index=False)
    result = CliRunner().invoke(app, ["import", str(table), "--into", str(folder), "--coder", "coder_c=dana"])
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} decisions recorded" in result.stdout and "dana" in result.stdout
    result = CliRunner().invoke(app, ["import", str(table), "--into", str(folder), "--code", "a=b"])
    assert result.exit_code == 2 and "no --code" in result.output


def test_imported_tables_cover_their_documents_and_agree_as_evaluate_says(folder):
    """Two coders' tables of interview 13: agreement counts every segment of the interview,
    so its per-code kappa is the one ``qualcode evaluate --table`` computes independently."""
    from qualcode.agreement import agreement
    from qualcode.evaluation import evaluate
    from qualcode.review import coder_codings, import_codings

    first = ROOT / "gold" / "ds-ia-sante-test.csv"
    second = ROOT / "gold" / "ds-ia-sante-test-second-coder.csv"
    thirteen = folder.parent / "first-13.csv"
    gold = pd.read_csv(first)
    gold[gold.document_id == "entretien_13_med_urg_ch6"].to_csv(thirteen, index=False)
    import_codings(folder, thirteen)
    import_codings(folder, second)
    segments = pd.read_csv(folder / "segments.csv")
    ours = set(segments.segment_id[segments.document_id == "entretien_13_med_urg_ch6"])
    codings, units = coder_codings(folder, ["coder_a", "coder_x"])
    assert set(units["coder_a"]) == set(units["coder_x"]) == ours  # coded or not, every segment
    codes = [c.id for c in load_results(folder).codebook.codes]
    report = agreement(codings, coders=["coder_a", "coder_x"], units=units, codes=codes)
    independent = evaluate(thirteen, folder, table=second).per_code.set_index("code_id")
    compared = 0
    for row in report.per_code.itertuples():
        expected = independent.at[row.code_id, "kappa"]
        if independent.at[row.code_id, "support"] and not pd.isna(row.cohen_kappa):
            assert row.cohen_kappa == pytest.approx(expected, abs=1e-4), row.code_id
            compared += 1
    assert compared >= 10


def test_learning_from_imported_decisions_counts_uncoded_segments_as_negatives(folder, tmp_path):
    from qualcode.learning import labels_from_decisions
    from qualcode.review import import_codings

    rows = _dev_rows("entretien_01_dg_chu1")
    table = tmp_path / "coded.csv"
    rows.to_csv(table, index=False)
    import_codings(folder, table)
    results = load_results(folder)
    with ProjectStore(folder) as store:
        decisions = store.decisions("coder_c")
        covered_documents = set(store.coverage("coder_c").document_id)
    assert covered_documents == {"entretien_01_dg_chu1"}
    covered = results.segments.segment_id[results.segments.document_id.isin(covered_documents)]
    labels = labels_from_decisions(results.segments, decisions, covered=covered)
    assert set(labels.index) == set(covered)  # every segment of the interview is an example
    empty = labels[labels.positives.map(len) == 0]
    assert len(empty) == len(covered) - rows.segment_id.nunique() > 0
