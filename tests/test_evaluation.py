"""Evaluation against a gold standard, on a small results folder written by hand.

Six segments in two documents, three codes in two themes:

=========  ==========================  ===================  =========================
segment    suggested (score)           gold (multi-label)   gold (single-label)
=========  ==========================  ===================  =========================
d1#1.1     ethique .9, formation .6    ethique              ethique
d1#1.2     ethique .7                  formation            ethique
d1#3.1     pilotage .8                 pilotage             pilotage
d1#3.2     ethique .99 *rejected*      ethique              ethique
d2#1.1     ethique .55, pilotage .4    ethique, pilotage    pilotage
d2#3.1     formation .95               —                    formation
=========  ==========================  ===================  =========================

Themes: enjeux = {ethique, formation}, organisation = {pilotage}.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from qualcode.cli import app
from qualcode.errors import GoldError, QualcodeError, ResultsError
from qualcode.evaluation import evaluate, load_gold
from qualcode.results import load_results

CODEBOOK_YAML = """\
name: eval-test
version: "1"
language: fr
themes:
  - id: enjeux
    label: Enjeux
    codes:
      - id: ethique
        label: Éthique
      - id: formation
        label: Formation
  - id: organisation
    label: Organisation
    codes:
      - id: pilotage
        label: Pilotage
"""

TEXTS = {
    "d1#1.1": ("d1", 1, "Le comité d'éthique a validé le projet."),
    "d1#1.2": ("d1", 1, "On a formé les équipes de nuit au nouvel outil."),
    "d1#3.1": ("d1", 3, "La direction générale pilote la feuille de route."),
    "d1#3.2": ("d1", 3, "Le consentement des patients reste une question ouverte."),
    "d2#1.1": ("d2", 1, "Le copil a demandé un avis éthique sur les données."),
    "d2#3.1": ("d2", 3, "Les cadres suivent une formation en ligne sur l'IA."),
}
IDS = list(TEXTS)

SUGGESTED = [  # segment, code, score, status
    ("d1#1.1", "ethique", 0.9, "suggested"),
    ("d1#1.1", "formation", 0.6, "suggested"),
    ("d1#1.2", "ethique", 0.7, "suggested"),
    ("d1#3.1", "pilotage", 0.8, "suggested"),
    ("d1#3.2", "ethique", 0.99, "rejected"),
    ("d2#1.1", "ethique", 0.55, "accepted"),
    ("d2#1.1", "pilotage", 0.4, "suggested"),
    ("d2#3.1", "formation", 0.95, "suggested"),
]
THEME = {"ethique": "enjeux", "formation": "enjeux", "pilotage": "organisation"}

GOLD = [("d1#1.1", "ethique"), ("d1#1.2", "formation"), ("d1#3.1", "pilotage"),
        ("d1#3.2", "ethique"), ("d2#1.1", "ethique"), ("d2#1.1", "pilotage")]
SINGLE = [("d1#1.1", "ethique"), ("d1#1.2", "ethique"), ("d1#3.1", "pilotage"),
          ("d1#3.2", "ethique"), ("d2#1.1", "pilotage"), ("d2#3.1", "formation")]


def segments_frame() -> pd.DataFrame:
    rows, position = [], {"d1": 0, "d2": 0}
    for segment_id, (doc, turn, text) in TEXTS.items():
        start = position[doc] + 10  # room for a speaker label
        rows.append({"document_id": doc, "segment_id": segment_id, "turn_index": turn,
                     "speaker": "DG 1", "participant_id": "DG1", "start": start,
                     "end": start + len(text), "words": len(text.split()), "text": text,
                     "question": ""})
        position[doc] = start + len(text)
    return pd.DataFrame(rows)


SEGMENTS = segments_frame()
SPAN = {r.segment_id: (r.document_id, r.start, r.end, r.text) for r in SEGMENTS.itertuples()}


@pytest.fixture
def results(tmp_path) -> Path:
    """A results folder as `qualcode code` writes it, with the codebook it names."""
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(CODEBOOK_YAML, encoding="utf-8")
    folder = tmp_path / "results"
    folder.mkdir()
    SEGMENTS.to_csv(folder / "segments.csv", index=False)
    pd.DataFrame([{"document_id": SPAN[s][0], "segment_id": s, "code_id": c,
                   "theme_id": THEME[c], "score": score, "method": "rule",
                   "evidence": f"keyword «{c}» matched «{c}»", "status": status}
                  for s, c, score, status in SUGGESTED]).to_csv(folder / "codings.csv",
                                                                 index=False)
    run = {"codebook": {"path": str(codebook), "name": "eval-test"}}
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return folder


def write_gold(path: Path, pairs, how: str = "segment_id") -> Path:
    rows = []
    for segment_id, code in pairs:
        doc, start, end, text = SPAN[segment_id]
        if how == "segment_id":
            rows.append({"segment_id": segment_id, "code_id": code})
        elif how == "span":
            rows.append({"document_id": doc, "start": start, "end": end, "code_id": code})
        else:
            rows.append({"document_id": doc, "text": text, "code_id": code})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def by_code(report) -> dict:
    return {r["code_id"]: r for r in report.per_code.to_dict("records")}


def by_theme(report) -> dict:
    return {r["theme_id"]: r for r in report.per_theme.to_dict("records")}


def vectors(pairs, code, ids=IDS):
    """0/1 presence of ``code`` on each segment of ``ids``."""
    coded = {s for s, c in pairs if c == code}
    return [int(s in coded) for s in ids]


def predicted(min_score=0.0):
    return [(s, c) for s, c, score, status in SUGGESTED
            if status != "rejected" and score >= min_score]


# --- precision, recall, F1, kappa ---------------------------------------------------------------


def test_per_code_scores_computed_by_hand(results, tmp_path):
    report = evaluate(write_gold(tmp_path / "gold.csv", GOLD), results)
    codes = by_code(report)
    # ethique: gold {1.1, 3.2, d2 1.1}, kept suggestions {1.1, 1.2, d2 1.1} (3.2 was rejected)
    tp, fp, fn = 2, 1, 1
    assert (codes["ethique"]["tp"], codes["ethique"]["fp"], codes["ethique"]["fn"]) == (tp, fp, fn)
    assert codes["ethique"]["precision"] == round(tp / (tp + fp), 4) == 0.6667
    assert codes["ethique"]["recall"] == round(tp / (tp + fn), 4) == 0.6667
    assert codes["ethique"]["f1"] == round(2 * (2 / 3) * (2 / 3) / (2 / 3 + 2 / 3), 4)
    assert codes["ethique"]["support"] == 3 and codes["ethique"]["predicted"] == 3
    # formation: gold {1.2}, suggested {1.1, d2 3.1}: nothing right
    assert (codes["formation"]["tp"], codes["formation"]["fp"], codes["formation"]["fn"]) == (0, 2, 1)
    assert (codes["formation"]["precision"], codes["formation"]["recall"],
            codes["formation"]["f1"]) == (0.0, 0.0, 0.0)
    # pilotage: gold {3.1, d2 1.1}, suggested {3.1, d2 1.1}
    assert (codes["pilotage"]["tp"], codes["pilotage"]["fp"], codes["pilotage"]["fn"]) == (2, 0, 0)
    assert (codes["pilotage"]["precision"], codes["pilotage"]["recall"],
            codes["pilotage"]["f1"]) == (1.0, 1.0, 1.0)
    assert codes["ethique"]["theme_id"] == "enjeux"

    # micro: TP = 2 + 0 + 2 = 4, FP = 1 + 2 + 0 = 3, FN = 1 + 1 + 0 = 2
    micro = report.summary["codes"]["micro"]
    assert micro["precision"] == round(4 / 7, 4)
    assert micro["recall"] == round(4 / 6, 4)
    assert micro["f1"] == round(2 * 4 / (2 * 4 + 3 + 2), 4)  # = 8/13
    # macro over the three codes (all have gold support)
    macro = report.summary["codes"]["macro"]
    assert macro["precision"] == round((2 / 3 + 0 + 1) / 3, 4)
    assert macro["recall"] == round((2 / 3 + 0 + 1) / 3, 4)
    assert macro["f1"] == round((2 / 3 + 0 + 1) / 3, 4)

    assert report.summary["segments"] == 6 and report.summary["documents"] == 2
    assert report.summary["gold_codings"] == 6 and report.summary["predicted_codings"] == 7


def test_per_theme_scores_computed_by_hand(results, tmp_path):
    report = evaluate(write_gold(tmp_path / "gold.csv", GOLD), results)
    themes = by_theme(report)
    # enjeux present in gold on {1.1, 1.2, 3.2, d2 1.1}, suggested on {1.1, 1.2, d2 1.1, d2 3.1}
    tp, fp, fn = 3, 1, 1
    assert (themes["enjeux"]["tp"], themes["enjeux"]["fp"], themes["enjeux"]["fn"]) == (tp, fp, fn)
    assert themes["enjeux"]["precision"] == round(3 / 4, 4)
    assert themes["enjeux"]["recall"] == round(3 / 4, 4)
    assert themes["enjeux"]["f1"] == 0.75
    assert (themes["organisation"]["precision"], themes["organisation"]["recall"]) == (1.0, 1.0)


def test_kappa_matches_sklearn_on_presence_vectors(results, tmp_path):
    report = evaluate(write_gold(tmp_path / "gold.csv", GOLD), results)
    codes = by_code(report)
    pred = predicted()
    for code in ("ethique", "formation", "pilotage"):
        expected = cohen_kappa_score(vectors(GOLD, code), vectors(pred, code))
        assert codes[code]["kappa"] == round(expected, 4), code
    # pilotage is perfect; formation never agrees on a positive
    assert codes["pilotage"]["kappa"] == 1.0
    assert codes["formation"]["kappa"] < 0
    # micro kappa: all segment × code cells together
    gold_cells = [v for code in THEME for v in vectors(GOLD, code)]
    pred_cells = [v for code in THEME for v in vectors(pred, code)]
    assert report.summary["codes"]["micro"]["kappa"] == round(
        cohen_kappa_score(gold_cells, pred_cells), 4)


def test_errors_list_every_miss_and_false_alarm(results, tmp_path):
    report = evaluate(write_gold(tmp_path / "gold.csv", GOLD), results)
    errors = {(r.segment_id, r.code_id, r.error) for r in report.errors.itertuples()}
    assert errors == {("d1#1.2", "ethique", "wrongly added"), ("d1#3.2", "ethique", "missed"),
                      ("d1#1.1", "formation", "wrongly added"), ("d1#1.2", "formation", "missed"),
                      ("d2#3.1", "formation", "wrongly added")}
    added = report.errors[report.errors.error == "wrongly added"]
    assert added.evidence.str.startswith("keyword «").all()
    assert (report.errors.text == report.errors.segment_id.map(lambda s: SPAN[s][3])).all()


def test_min_score_drops_weak_suggestions(results, tmp_path):
    report = evaluate(write_gold(tmp_path / "gold.csv", GOLD), results, min_score=0.5)
    pilotage = by_code(report)["pilotage"]
    # the 0.4 suggestion on d2#1.1 is dropped: TP 1, FP 0, FN 1
    assert (pilotage["tp"], pilotage["fp"], pilotage["fn"]) == (1, 0, 1)
    assert (pilotage["precision"], pilotage["recall"]) == (1.0, 0.5)
    assert pilotage["f1"] == round(2 * 1 * 0.5 / (1 + 0.5), 4)


@pytest.mark.parametrize("how", ["span", "text"])
def test_gold_located_by_span_or_text_gives_the_same_result(results, tmp_path, how):
    by_id = evaluate(write_gold(tmp_path / "by_id.csv", GOLD), results)
    other = evaluate(write_gold(tmp_path / f"by_{how}.csv", GOLD, how), results)
    pd.testing.assert_frame_equal(other.per_code, by_id.per_code)
    pd.testing.assert_frame_equal(other.per_theme, by_id.per_theme)
    assert other.summary["codes"] == by_id.summary["codes"]
    assert other.summary["themes"] == by_id.summary["themes"]
    assert other.summary["segments"] == by_id.summary["segments"]


def test_load_gold_resolves_each_locator_to_segment_ids(tmp_path):
    codes = set(THEME)
    for how in ("segment_id", "span", "text"):
        gold = load_gold(write_gold(tmp_path / f"{how}.csv", GOLD, how), SEGMENTS, codes)
        assert sorted(zip(gold.segment_id, gold.code_id, strict=True)) == sorted(GOLD), how
        assert list(gold.line) == [2, 3, 4, 5, 6, 7]


def test_gold_text_is_matched_after_whitespace_and_apostrophe_normalisation(tmp_path):
    path = tmp_path / "gold.csv"
    pd.DataFrame([{"document_id": "d1", "text": "  Le comité  d’éthique a validé\nle projet. ",
                   "code_id": "ethique"}]).to_csv(path, index=False)
    gold = load_gold(path, SEGMENTS, set(THEME))
    assert list(gold.segment_id) == ["d1#1.1"]


def test_scope_gold_restricts_to_the_named_segments(results, tmp_path):
    gold = write_gold(tmp_path / "gold.csv", GOLD)  # does not name d2#3.1
    report = evaluate(gold, results, scope="gold")
    assert report.summary["segments"] == 5
    formation = by_code(report)["formation"]
    assert (formation["tp"], formation["fp"], formation["fn"]) == (0, 1, 1)  # d2#3.1 left out
    enjeux = by_theme(report)["enjeux"]
    # enjeux now: TP 3 (1.1, 1.2, d2 1.1), FP 0, FN 1 (3.2)
    assert (enjeux["precision"], enjeux["recall"]) == (1.0, 0.75)
    assert enjeux["f1"] == round(2 * 1 * 0.75 / 1.75, 4)
    assert "d2#3.1" not in set(report.errors.segment_id)
    # naming d2#3.1 with "(none)" brings it back into scope
    with_none = write_gold(tmp_path / "gold_none.csv", [*GOLD, ("d2#3.1", "(none)")])
    widened = evaluate(with_none, results, scope="gold")
    documents = evaluate(gold, results, scope="documents")
    assert widened.summary["segments"] == 6
    pd.testing.assert_frame_equal(widened.per_code, documents.per_code)


def test_unknown_scope_is_a_value_error(results, tmp_path):
    with pytest.raises(ValueError, match="scope"):
        evaluate(write_gold(tmp_path / "gold.csv", GOLD), results, scope="everything")


# --- single-label -------------------------------------------------------------------------------


def test_single_label_accuracy_against_the_majority_baseline(results, tmp_path):
    from sklearn.metrics import f1_score

    report = evaluate(write_gold(tmp_path / "gold.csv", SINGLE), results)
    single = report.single_label
    assert single is not None
    # top kept suggestion: 1.1 ethique (.9 > .6), 1.2 ethique, 3.1 pilotage, 3.2 none (rejected),
    # d2 1.1 ethique (.55 > .4), d2 3.1 formation
    y_true = ["ethique", "ethique", "pilotage", "ethique", "pilotage", "formation"]
    y_pred = ["ethique", "ethique", "pilotage", "(none)", "ethique", "formation"]
    assert single["segments"] == 6
    assert single["accuracy"] == round(4 / 6, 4)  # right on 1.1, 1.2, 3.1, d2 3.1
    assert single["majority_code"] == "ethique"
    assert single["majority_accuracy"] == round(3 / 6, 4)
    assert single["accuracy"] > single["majority_accuracy"]
    assert single["unassigned"] == 1
    # macro-F1 over ethique (P 2/3, R 2/3), formation (1, 1), pilotage (P 1, R 1/2 → F1 2/3)
    # and the "(none)" pseudo-label (predicted once, never true → 0)
    assert single["macro_f1"] == round((2 / 3 + 1 + 2 / 3 + 0) / 4, 4)
    assert single["macro_f1"] == round(f1_score(y_true, y_pred, average="macro", zero_division=0), 4)
    assert single["kappa"] == round(cohen_kappa_score(y_true, y_pred), 4)


def test_multi_label_gold_has_no_single_label_figures(results, tmp_path):
    assert evaluate(write_gold(tmp_path / "gold.csv", GOLD), results).single_label is None


# --- errors -------------------------------------------------------------------------------------


def test_unknown_code_in_gold_names_the_line(results, tmp_path):
    pairs = [GOLD[0], GOLD[1], ("d1#3.1", "pilotgae"), GOLD[3]]
    path = write_gold(tmp_path / "gold.csv", pairs)
    with pytest.raises(GoldError) as info:
        evaluate(path, results)
    assert info.value.line == 4  # header is line 1, the third row is line 4
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}:4: unknown code 'pilotgae'")
    assert "ethique, formation, pilotage" in str(info.value)


def test_gold_line_numbers_count_physical_lines(results, tmp_path):
    path = tmp_path / "gold.csv"
    path.write_text('segment_id,code_id,memo\n'
                    'd1#1.1,ethique,"a memo\nover two lines"\n'
                    'd1#1.2,inconnu,\n', encoding="utf-8")
    with pytest.raises(GoldError, match="unknown code 'inconnu'") as info:
        evaluate(path, results)
    assert info.value.line == 4


def test_unknown_segment_in_gold(results, tmp_path):
    path = tmp_path / "gold.csv"
    path.write_text("segment_id,code_id\nd1#1.1,ethique\nd1#9.9,ethique\n", encoding="utf-8")
    with pytest.raises(GoldError, match=r"unknown segment 'd1#9\.9'") as info:
        evaluate(path, results)
    assert info.value.line == 3


@pytest.mark.parametrize(("content", "message", "line"), [
    ("document_id,text,code_id\nd9,Bonjour à tous.,ethique\n", "unknown document 'd9'", 2),
    ("document_id,text,code_id\nd1,Un texte qui n'existe pas.,ethique\n", "text not found in d1", 2),
    ("document_id,start,end,code_id\nd1,10,x,ethique\n", "whole numbers", 2),
    ("document_id,start,end,code_id\nd1,5000,5100,ethique\n", "overlaps no segment", 2),
    ("segment,code_id\nd1#1.1,ethique\n", "neither segment_id nor document_id", 2),
    ("segment_id,code\nd1#1.1,ethique\n", "missing column 'code_id'", 1),
    ("segment_id,code_id\nd1#1.1,\n", "codes no segment", None),
])
def test_malformed_gold_rows(results, tmp_path, content, message, line):
    path = tmp_path / "gold.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(GoldError, match=message) as info:
        evaluate(path, results)
    assert info.value.line == line


def test_missing_gold_file(results, tmp_path):
    with pytest.raises(GoldError, match="no such file"):
        evaluate(tmp_path / "nowhere.csv", results)


def test_missing_results_folder_or_files(results, tmp_path):
    gold = write_gold(tmp_path / "gold.csv", GOLD)
    with pytest.raises(ResultsError, match="does not exist"):
        evaluate(gold, tmp_path / "no-results")
    (results / "run.json").unlink()
    (results / "codings.csv").unlink()
    with pytest.raises(ResultsError, match=r"missing codings\.csv, run\.json") as info:
        load_results(results)
    assert isinstance(info.value, QualcodeError)
    assert info.value.path == str(results)


def test_no_suggestions_scores_zero(results, tmp_path):
    header = "document_id,segment_id,code_id,theme_id,score,method,evidence,status\n"
    (results / "codings.csv").write_text(header, encoding="utf-8")
    report = evaluate(write_gold(tmp_path / "gold.csv", GOLD), results)
    assert report.summary["predicted_codings"] == 0
    assert (report.per_code.tp == 0).all() and (report.per_code.f1 == 0).all()
    assert set(report.errors.error) == {"missed"} and len(report.errors) == 6


def test_a_results_folder_without_its_codebook_is_refused(results, tmp_path):
    # The codebook defines the codes and themes evaluated: without it, figures would
    # silently leave out every code the machine never suggested.
    (tmp_path / "codebook.yaml").unlink()
    with pytest.raises(ResultsError, match="codebook of this run is missing"):
        evaluate(write_gold(tmp_path / "gold.csv", GOLD), results)


# --- the command line ---------------------------------------------------------------------------


def test_cli_evaluate_bad_gold_exits_2_with_file_and_line(results, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("segment_id,code_id\nd1#1.1,ethique\nd1#1.2,formation\nd1#3.1,inconnu\n",
                   encoding="utf-8")
    result = CliRunner().invoke(app, ["evaluate", "--gold", str(bad), "--pred", str(results)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {bad}:4: unknown code 'inconnu'")


def test_cli_evaluate_missing_results_exits_2(tmp_path):
    gold = write_gold(tmp_path / "gold.csv", GOLD)
    result = CliRunner().invoke(app, ["evaluate", "--gold", str(gold), "--pred",
                                      str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.output


def test_cli_evaluate_writes_json(results, tmp_path):
    gold = write_gold(tmp_path / "gold.csv", GOLD)
    target = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["evaluate", "--gold", str(gold), "--pred", str(results),
                                      "--json", str(target), "--errors", "2"])
    assert result.exit_code == 0, result.output
    assert "wrongly added" in result.stdout or "missed" in result.stdout
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["summary"]["codes"]["micro"]["precision"] == round(4 / 7, 4)
    assert {r["code_id"]: r["f1"] for r in data["per_code"]} == {
        "ethique": 0.6667, "formation": 0.0, "pilotage": 1.0}


# --- a second coder's table instead of the suggestions ------------------------------------------


def test_a_second_coders_table_is_scored_on_the_documents_both_coded(results, tmp_path):
    gold = write_gold(tmp_path / "gold.csv", GOLD)
    # The second coder coded d1 only: agrees on 1.1 and 3.1, gives formation to 3.2 instead
    # of ethique, and misses 1.2.  d2 is not theirs, so it is not scored.
    second = write_gold(tmp_path / "second.csv", [("d1#1.1", "ethique"), ("d1#3.1", "pilotage"),
                                                  ("d1#3.2", "formation")], how="text")
    report = evaluate(gold, results, table=second)
    assert report.summary["documents"] == 1 and report.summary["segments"] == 4
    assert report.summary["compared"] == str(second)
    codes = by_code(report)
    assert (codes["ethique"]["tp"], codes["ethique"]["fp"], codes["ethique"]["fn"]) == (1, 0, 1)
    assert (codes["formation"]["tp"], codes["formation"]["fp"], codes["formation"]["fn"]) == (0, 1, 1)
    assert (codes["pilotage"]["tp"], codes["pilotage"]["fp"], codes["pilotage"]["fn"]) == (1, 0, 0)
    assert report.summary["codes"]["micro"]["f1"] == round(2 * 2 / (2 * 2 + 1 + 2), 4)
    # the suggestions in the folder play no part: the gold against itself is perfect
    itself = evaluate(gold, results, table=gold)
    assert itself.summary["codes"]["micro"]["f1"] == 1.0 and itself.errors.empty


def test_cli_table_option_and_its_bad_input(results, tmp_path):
    gold = write_gold(tmp_path / "gold.csv", GOLD)
    result = CliRunner().invoke(app, ["evaluate", "--gold", str(gold), "--pred", str(results),
                                      "--table", str(gold)])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("segment_id,code_id\nd1#1.1,ethique\nd1#1.2,nope\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["evaluate", "--gold", str(gold), "--pred", str(results),
                                      "--table", str(bad)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith(f"error: {bad}:3: unknown code 'nope'")


def test_score_codings_matches_evaluate(results, tmp_path):
    from qualcode.evaluation import score_codings

    report = evaluate(write_gold(tmp_path / "gold.csv", GOLD), results)
    gold = pd.DataFrame(GOLD, columns=["segment_id", "code_id"])
    kept = pd.DataFrame(predicted(), columns=["segment_id", "code_id"])
    scores = score_codings(gold, kept, IDS, THEME)
    assert scores["codes"] == report.summary["codes"]
    assert scores["themes"] == report.summary["themes"]
