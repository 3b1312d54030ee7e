"""Learning from validated codings inside a project: model suggestions, held-out scores, review order."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import qualcode
from conftest import code_bundled
from qualcode.assisted import add_model_suggestions, held_out, uncertainty_ranks
from qualcode.cli import app
from qualcode.errors import ResultsError
from qualcode.learning import uncertainty_order
from qualcode.review import review_queue
from qualcode.store import ProjectStore

ROOT = Path(__file__).resolve().parents[1]
FILES = ("entretien_05_cgs_chu2.txt", "entretien_10_dg_chu5.txt")  # the development gold's interviews


@pytest.fixture(scope="module")
def coded(tmp_path_factory) -> Path:
    return code_bundled(tmp_path_factory.mktemp("assisted"), FILES)


@pytest.fixture
def reviewed(coded, tmp_path) -> Path:
    """A copy where coder 'bob' decided on the first interview as the development gold says."""
    folder = tmp_path / "out"
    shutil.copytree(coded, folder)
    gold = pd.read_csv(ROOT / "gold" / "ds-ia-sante-dev.csv")
    gold = gold[gold.document_id == "entretien_05_cgs_chu2"]
    truth = set(zip(gold.segment_id, gold.code_id, strict=True))
    codings = pd.read_csv(folder / "codings.csv")
    mine = codings[codings.document_id == "entretien_05_cgs_chu2"]
    suggested = set(zip(mine.segment_id, mine.code_id, strict=True))
    rows = [(s, c, "accept" if (s, c) in truth else "reject", "bob", None, None) for s, c in suggested]
    rows += [(s, c, "add", "bob", None, None) for s, c in sorted(truth - suggested)]
    with ProjectStore(folder) as store:
        store.decide_many(sorted(rows))
    return folder


def test_model_suggestions_only_touch_undecided_segments(reviewed):
    before = pd.read_csv(reviewed / "codings.csv")
    summary = add_model_suggestions(reviewed, coder="bob")
    after = pd.read_csv(reviewed / "codings.csv", keep_default_na=False)
    model = after[after.method == "model"]
    assert summary["suggestions_added"] == len(model) > 0
    assert set(model.status) == {"suggested"}
    assert model.evidence.str.startswith("classifier trained on").all()
    with ProjectStore(reviewed) as store:
        decided_segments = set(store.decisions("bob").segment_id)
    assert not model.segment_id.isin(decided_segments).any()  # a person's segments are left alone
    assert ((model.score > 0) & (model.score <= 1)).all()
    decided = before[before.status != "suggested"].set_index(["segment_id", "code_id"]).status
    kept = after.set_index(["segment_id", "code_id"]).status.loc[decided.index]
    assert kept.tolist() == decided.tolist()  # human decisions untouched
    run = json.loads((reviewed / "run.json").read_text(encoding="utf-8"))
    assert run["model"]["coder"] == "bob" and run["model"]["suggestions_added"] == len(model)


def test_learning_again_replaces_the_earlier_model_suggestions(reviewed):
    first = add_model_suggestions(reviewed, coder="bob")
    second = add_model_suggestions(reviewed, coder="bob")
    codings = pd.read_csv(reviewed / "codings.csv", keep_default_na=False)
    assert second["suggestions_added"] == first["suggestions_added"]
    assert not codings.duplicated(["segment_id", "code_id", "method"]).any()
    assert not codings.evidence.str.count("classifier trained on").gt(1).any()


def test_held_out_scores_every_code_of_the_codebook(reviewed):
    figures = held_out(reviewed, coder="bob")
    codes = [c.id for c in qualcode.load_results(reviewed).codebook.codes]
    assert [row["code_id"] for row in figures["per_code"]] == codes
    assert figures["n_test"] == pytest.approx(0.2 * (figures["n_train"] + figures["n_test"]), abs=1)
    assert 0.0 <= figures["micro"]["f1"] <= 1.0


def test_uncertainty_order_puts_the_least_confident_segment_first(reviewed):
    queue = review_queue(reviewed, coder="bob", order="uncertainty")
    ranks = uncertainty_ranks(reviewed, queue.segment_id, coder="bob")
    assert [ranks[s] for s in queue.segment_id] == sorted(ranks[s] for s in queue.segment_id)
    from qualcode.learning import CodeClassifier, context_texts, labels_from_decisions

    results = qualcode.load_results(reviewed)
    codes = [c.id for c in results.codebook.codes]
    with ProjectStore(reviewed) as store:
        examples = labels_from_decisions(results.segments, store.decisions("bob"), codes=codes)
    texts = context_texts(results.segments)  # the segment with its previous sentence and question
    model = CodeClassifier().fit(list(texts.loc[examples.index]), list(examples.positives), codes=codes)
    pending = texts.loc[list(dict.fromkeys(queue.segment_id))]
    assert queue.segment_id.iloc[0] == uncertainty_order(model.predict_proba(pending))[0]


def test_learning_without_decisions_is_a_one_line_error(coded):
    with pytest.raises(ResultsError, match="no decisions by coder 'nobody' yet"):
        held_out(coded, coder="nobody")
    result = CliRunner().invoke(app, ["learn", str(coded), "--coder", "nobody"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"error: {coded}: no decisions by coder 'nobody' yet")


def test_cli_learn_and_held_out(reviewed):
    result = CliRunner().invoke(app, ["learn", str(reviewed), "--coder", "bob"])
    assert result.exit_code == 0, result.output
    assert "new suggestions (method model)" in result.stdout
    result = CliRunner().invoke(app, ["evaluate", "--pred", str(reviewed), "--held-out", "--coder", "bob"])
    assert result.exit_code == 0, result.output
    assert "micro F1" in result.stdout and "ds_accompagnement_changement" in result.stdout


# --- learning from a hand-coded table, with context -------------------------------------------------


def _dev_table(path: Path, document: str) -> Path:
    gold = pd.read_csv(ROOT / "gold" / "ds-ia-sante-dev.csv")
    gold[gold.document_id == document].to_csv(path, index=False)
    return path


def test_context_texts_add_the_previous_sentence_of_the_turn_and_the_question(coded):
    from qualcode.learning import context_texts

    segments = pd.read_csv(coded / "segments.csv", keep_default_na=False)
    texts = context_texts(segments)
    by_id = segments.set_index("segment_id")
    sizes = segments.groupby(["document_id", "turn_index"]).size()
    document, turn_index = sizes[sizes >= 2].index[0]
    turn = segments[(segments.document_id == document) & (segments.turn_index == turn_index)]
    first, second = turn.segment_id.iloc[0], turn.segment_id.iloc[1]
    question = by_id.at[first, "question"]
    assert question  # the bundled interviews ask a question before every participant turn
    assert texts[first] == f"{by_id.at[first, 'text']} ¶ {question}"  # no previous sentence in the turn
    assert texts[second] == f"{by_id.at[second, 'text']} ¶ {by_id.at[first, 'text']} ¶ {question}"
    assert (context_texts(segments, ()) == segments.text.to_numpy()).all()
    with pytest.raises(ValueError, match="unknown context part"):
        context_texts(segments, ("before",))


def test_labels_from_a_coded_table_cover_every_segment_of_its_documents(coded, tmp_path):
    from qualcode.evaluation import load_gold
    from qualcode.learning import labels_from_codings

    results = qualcode.load_results(coded)
    table = _dev_table(tmp_path / "dev05.csv", "entretien_05_cgs_chu2")
    coded_rows = load_gold(table, results.segments, {c.id for c in results.codebook.codes})
    labels = labels_from_codings(results.segments, coded_rows)
    ours = results.segments[results.segments.document_id == "entretien_05_cgs_chu2"]
    assert list(labels.index) == list(ours.segment_id)  # every segment, coded or not, in order
    raw = pd.read_csv(table)
    expected = raw.groupby("segment_id").code_id.apply(frozenset)
    for segment_id, positives in labels.positives.items():
        assert positives == expected.get(segment_id, frozenset())
    assert (labels.positives.map(len) == 0).sum() == len(ours) - raw.segment_id.nunique() > 0


def test_learning_from_a_coded_table_suggests_for_the_other_documents_with_an_example(coded, tmp_path):
    folder = tmp_path / "out"
    shutil.copytree(coded, folder)
    table = _dev_table(tmp_path / "dev05.csv", "entretien_05_cgs_chu2")
    summary = add_model_suggestions(folder, training=table, threshold=0.4)
    codings = pd.read_csv(folder / "codings.csv", keep_default_na=False)
    model = codings[codings.method == "model"]
    assert len(model) == summary["suggestions_added"] > 0
    assert set(model.document_id) == {"entretien_10_dg_chu5"}  # never the training interview
    assert (model.score >= 0.4).all() and set(summary["thresholds"].values()) == {0.4}
    assert summary["context"] == ["previous", "question"] and summary["training"] == str(table)
    # the nearest coded example is a sentence of the table that has the suggested code
    gold = pd.read_csv(table)
    given = set(zip(gold.text, gold.code_id, strict=True))
    assert all((row.nearest_exemplar, row.code_id) in given for row in model.itertuples())
    assert model.evidence.str.contains(r"hand-coded segments of dev05\.csv \(p = 0\.\d\d\); nearest coded "
                                       r"example «", regex=True).all()


def test_learning_options_and_bad_tables_are_one_line_errors(coded, tmp_path):
    table = _dev_table(tmp_path / "dev05.csv", "entretien_05_cgs_chu2")
    result = CliRunner().invoke(app, ["learn", str(coded), "--training", str(table), "--threshold", "0.4",
                                      "--tune-thresholds"])
    assert result.exit_code == 2 and "give either --threshold or --tune-thresholds" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("segment_id,code_id\nentretien_05_cgs_chu2#1.5,top_down\n"
                   "entretien_05_cgs_chu2#1.6,pilotage_ia\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["learn", str(coded), "--training", str(bad)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith(f"error: {bad}:3: unknown code 'pilotage_ia'")
    assert not (coded / "codings.csv").read_text(encoding="utf-8").count(",model,")  # nothing written
