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
    from qualcode.learning import CodeClassifier

    results = qualcode.load_results(reviewed)
    with ProjectStore(reviewed) as store:
        model = CodeClassifier().fit_decisions(results.segments, store.decisions("bob"),
                                               codes=[c.id for c in results.codebook.codes])
    texts = results.segments.set_index("segment_id").text.loc[list(dict.fromkeys(queue.segment_id))]
    assert queue.segment_id.iloc[0] == uncertainty_order(model.predict_proba(texts))[0]


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
