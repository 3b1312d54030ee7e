"""Coding matrices checked against values computed by hand on a tiny results folder.

The fixture: 2 documents, 3 participants, 8 segments, 12 codings (2 rejected), and a
codebook with 2 themes × 2 codes.  Every expected matrix below is written out
literally, with the arithmetic in a comment.  One module-scoped run on the bundled
interviews checks invariants on real output.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from qualcode.matrices import code_matrix, cooccurrence, crosstab, segment_code_matrix, select_codings
from qualcode.results import load_results

CODEBOOK_YAML = """\
name: matrices-test
version: "1"
language: fr
themes:
  - id: organisation
    label: Organisation
    codes:
      - {id: pilotage, label: Pilotage central}
      - {id: terrain, label: Initiatives de terrain}
  - id: enjeux
    label: Enjeux
    codes:
      - {id: ethique, label: Éthique}
      - {id: formation, label: Formation}
"""
CODES = ["pilotage", "terrain", "ethique", "formation"]
THEMES = ["organisation", "enjeux"]

PARTICIPANTS = {  # participant → role, establishment
    "P1": ("DG", "E1"),
    "P2": ("CGS", "E1"),
    "P3": ("CGS", "E2"),
}
SEGMENTS = [  # segment, turn, participant, start, words
    ("d1#1.1", 1, "P1", 10, 10),
    ("d1#1.2", 1, "P1", 60, 20),
    ("d1#3.1", 3, "P2", 200, 5),
    ("d1#3.2", 3, "P2", 230, 15),
    ("d1#5.1", 5, "P1", 400, 10),
    ("d2#1.1", 1, "P3", 10, 30),
    ("d2#3.1", 3, "P3", 300, 10),
    ("d2#3.2", 3, "P3", 350, 10),
]
IDS = [s[0] for s in SEGMENTS]
# Words: d1 = 10+20+5+15+10 = 60, d2 = 30+10+10 = 50; P1 = 40, P2 = 20, P3 = 50.
CODINGS = [  # segment, code, score, status
    ("d1#1.1", "pilotage", 0.9, "accepted"),
    ("d1#1.1", "ethique", 0.6, "suggested"),
    ("d1#1.2", "pilotage", 0.4, "suggested"),
    ("d1#1.2", "terrain", 0.7, "suggested"),
    ("d1#3.1", "ethique", 0.8, "rejected"),
    ("d1#3.1", "formation", 0.5, "suggested"),
    ("d1#3.2", "ethique", 0.95, "accepted"),
    ("d2#1.1", "terrain", 0.65, "suggested"),
    ("d2#1.1", "formation", 0.3, "suggested"),
    ("d2#3.1", "ethique", 0.85, "suggested"),
    ("d2#3.1", "formation", 0.75, "accepted"),
    ("d2#3.2", "pilotage", 0.55, "rejected"),
]
# Not rejected ("all"):  d1#1.1 {pilotage, ethique}  d1#1.2 {pilotage, terrain}  d1#3.1 {formation}
#                        d1#3.2 {ethique}  d2#1.1 {terrain, formation}  d2#3.1 {ethique, formation}
#                        d1#5.1 and d2#3.2 uncoded.
THEME_OF = {"pilotage": "organisation", "terrain": "organisation",
            "ethique": "enjeux", "formation": "enjeux"}


@pytest.fixture
def results(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    rows = []
    for segment_id, turn, participant, start, words in SEGMENTS:
        role, establishment = PARTICIPANTS[participant]
        text = " ".join(["mot"] * words)
        rows.append({"document_id": segment_id.split("#")[0], "segment_id": segment_id,
                     "turn_index": turn, "speaker": participant, "participant_id": participant,
                     "start": start, "end": start + len(text), "words": words, "text": text,
                     "question": "Et l'IA ?", "role": role, "establishment": establishment})
    pd.DataFrame(rows).to_csv(folder / "segments.csv", index=False)
    pd.DataFrame([{"document_id": s.split("#")[0], "segment_id": s, "code_id": c,
                   "theme_id": THEME_OF[c], "score": score, "method": "rule", "evidence": f"keyword «{c}»",
                   "status": status} for s, c, score, status in CODINGS]
                 ).to_csv(folder / "codings.csv", index=False)
    (folder / "run.json").write_text(json.dumps({"codebook": {"name": "matrices-test"}}),
                                     encoding="utf-8")
    (folder / "codebook.yaml").write_text(CODEBOOK_YAML, encoding="utf-8")
    return load_results(folder)


def frame(rows: dict, name: str, columns: list[str], column_name: str = "code_id") -> pd.DataFrame:
    """An expected matrix from ``{row label: [values in column order]}``."""
    return pd.DataFrame(list(rows.values()), index=pd.Index(list(rows), name=name),
                        columns=pd.Index(columns, name=column_name))


def pairs(selected: pd.DataFrame) -> list[tuple[str, str]]:
    return sorted(zip(selected.segment_id, selected.code_id, strict=True))


# --- select_codings -----------------------------------------------------------------------------


ALL = [("d1#1.1", "ethique"), ("d1#1.1", "pilotage"), ("d1#1.2", "pilotage"), ("d1#1.2", "terrain"),
       ("d1#3.1", "formation"), ("d1#3.2", "ethique"), ("d2#1.1", "formation"), ("d2#1.1", "terrain"),
       ("d2#3.1", "ethique"), ("d2#3.1", "formation")]


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, ALL),  # every status but rejected: the 2 rejected codings are gone
    ({"status": "accepted"}, [("d1#1.1", "pilotage"), ("d1#3.2", "ethique"), ("d2#3.1", "formation")]),
    ({"status": "suggested"}, [("d1#1.1", "ethique"), ("d1#1.2", "pilotage"), ("d1#1.2", "terrain"),
                               ("d1#3.1", "formation"), ("d2#1.1", "formation"), ("d2#1.1", "terrain"),
                               ("d2#3.1", "ethique")]),
    # scores >= 0.7 (0.7 itself kept; the rejected 0.8 still excluded)
    ({"min_score": 0.7}, [("d1#1.1", "pilotage"), ("d1#1.2", "terrain"), ("d1#3.2", "ethique"),
                          ("d2#3.1", "ethique"), ("d2#3.1", "formation")]),
    ({"themes": "organisation"}, [("d1#1.1", "pilotage"), ("d1#1.2", "pilotage"), ("d1#1.2", "terrain"),
                                  ("d2#1.1", "terrain")]),
    ({"codes": ["ethique"]}, [("d1#1.1", "ethique"), ("d1#3.2", "ethique"), ("d2#3.1", "ethique")]),
    ({"where": {"role": "CGS"}}, [("d1#3.1", "formation"), ("d1#3.2", "ethique"), ("d2#1.1", "formation"),
                                  ("d2#1.1", "terrain"), ("d2#3.1", "ethique"), ("d2#3.1", "formation")]),
    ({"where": {"role": ["CGS", "DG"], "establishment": "E2"}},
     [("d2#1.1", "formation"), ("d2#1.1", "terrain"), ("d2#3.1", "ethique"), ("d2#3.1", "formation")]),
    ({"status": "accepted", "themes": ["enjeux"], "where": {"establishment": "E1"}}, [("d1#3.2", "ethique")]),
])
def test_select_codings_filters(results, filters, expected):
    assert pairs(select_codings(results, **filters)) == expected


def test_select_codings_joins_segment_columns(results):
    selected = select_codings(results, codes="formation")
    assert {"text", "words", "participant_id", "role", "establishment", "theme_id"} <= set(selected.columns)
    assert list(selected.role) == ["CGS", "CGS", "CGS"]
    assert list(selected.words) == [5, 30, 10]


@pytest.mark.parametrize(("filters", "message"), [
    ({"status": "validated"}, "unknown status 'validated'; choose from: suggested, accepted, all"),
    ({"status": "rejected"}, "unknown status 'rejected'"),
    ({"themes": ["organisation", "ethics"]}, "unknown theme 'ethics'; choose from: organisation, enjeux"),
    ({"codes": "bottom_up"}, "unknown code 'bottom_up'; choose from: pilotage, terrain, ethique, formation"),
    ({"where": {"age": 40}}, "unknown attribute 'age'; choose from: role, establishment, "
                             "participant_id, document_id"),
    ({"where": {"role": ["DG", "DRH"]}}, "unknown role 'DRH'; choose from: CGS, DG"),
])
def test_select_codings_rejects_unknown_options(results, filters, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        select_codings(results, **filters)


@pytest.mark.parametrize("score", [-0.1, 1.5, "0.5", True])
def test_select_codings_rejects_bad_min_score(results, score):
    with pytest.raises(ValueError, match="min_score must be a number between 0 and 1"):
        select_codings(results, min_score=score)


# --- segment_code_matrix ------------------------------------------------------------------------


def test_segment_code_matrix_presence_keeps_every_segment(results):
    expected = frame({          # pilotage terrain ethique formation
        "d1#1.1": [1, 0, 1, 0],
        "d1#1.2": [1, 1, 0, 0],
        "d1#3.1": [0, 0, 0, 1],  # ethique rejected
        "d1#3.2": [0, 0, 1, 0],
        "d1#5.1": [0, 0, 0, 0],  # never coded
        "d2#1.1": [0, 1, 0, 1],
        "d2#3.1": [0, 0, 1, 1],
        "d2#3.2": [0, 0, 0, 0],  # pilotage rejected
    }, "segment_id", CODES)
    assert_frame_equal(segment_code_matrix(results), expected)


def test_segment_code_matrix_score_by_theme_takes_the_best_code(results):
    expected = frame({          # organisation enjeux
        "d1#1.1": [0.9, 0.6],
        "d1#1.2": [0.7, 0.0],   # max(pilotage 0.4, terrain 0.7)
        "d1#3.1": [0.0, 0.5],
        "d1#3.2": [0.0, 0.95],
        "d1#5.1": [0.0, 0.0],
        "d2#1.1": [0.65, 0.3],
        "d2#3.1": [0.0, 0.85],  # max(ethique 0.85, formation 0.75)
        "d2#3.2": [0.0, 0.0],
    }, "segment_id", THEMES, "theme_id")
    assert_frame_equal(segment_code_matrix(results, value="score", level="theme"), expected)


def test_segment_code_matrix_theme_presence_counts_once(results):
    matrix = segment_code_matrix(results, level="theme", status="suggested")
    # suggested only: d1#1.2 has pilotage + terrain → organisation is 1, not 2
    expected = frame({"d1#1.1": [0, 1], "d1#1.2": [1, 0], "d1#3.1": [0, 1], "d1#3.2": [0, 0],
                      "d1#5.1": [0, 0], "d2#1.1": [1, 1], "d2#3.1": [0, 1], "d2#3.2": [0, 0]},
                     "segment_id", THEMES, "theme_id")
    assert_frame_equal(matrix, expected)


def test_segment_code_matrix_filters_rows_and_columns(results):
    matrix = segment_code_matrix(results, themes="enjeux", where={"participant_id": "P3"})
    expected = frame({"d2#1.1": [0, 1], "d2#3.1": [1, 1], "d2#3.2": [0, 0]},
                     "segment_id", ["ethique", "formation"])
    assert_frame_equal(matrix, expected)


def test_segment_code_matrix_rejects_bad_value(results):
    with pytest.raises(ValueError, match="unknown value 'count'; choose from: presence, score"):
        segment_code_matrix(results, value="count")
    with pytest.raises(ValueError, match="unknown level 'code_id'; choose from: code, theme"):
        segment_code_matrix(results, level="code_id")


# --- code_matrix --------------------------------------------------------------------------------


def test_code_matrix_segments_by_document(results):
    expected = frame({                # pilotage terrain ethique formation
        "d1": [2, 1, 2, 1],           # pilotage 1.1+1.2; ethique 1.1+3.2 (3.1 rejected)
        "d2": [0, 1, 1, 2],           # pilotage on 3.2 rejected; formation 1.1+3.1
    }, "document_id", CODES)
    assert_frame_equal(code_matrix(results), expected)


def test_code_matrix_words_and_coverage_by_document(results):
    words = frame({
        "d1": [30, 20, 25, 5],        # 10+20 | 20 | 10+15 | 5
        "d2": [0, 30, 10, 40],        # 0 | 30 | 10 | 30+10
    }, "document_id", CODES)
    coverage = frame({
        "d1": [50.0, 33.3, 41.7, 8.3],  # /60 words: 30/60, 20/60, 25/60, 5/60
        "d2": [0.0, 60.0, 20.0, 80.0],  # /50 words: 0, 30/50, 10/50, 40/50
    }, "document_id", CODES)
    assert_frame_equal(code_matrix(results, measure="words"), words)
    assert_frame_equal(code_matrix(results, measure="coverage"), coverage)


def test_code_matrix_theme_coverage_does_not_double_count(results):
    expected = frame({
        "d1": [50.0, 50.0],   # organisation 1.1+1.2 = 30/60; enjeux 1.1+3.1+3.2 = 10+5+15 = 30/60
        "d2": [60.0, 80.0],   # organisation 1.1 = 30/50; enjeux 1.1+3.1 = 40/50 (not 30+10+10 = 50)
    }, "document_id", THEMES, "theme_id")
    assert_frame_equal(code_matrix(results, measure="coverage", level="theme"), expected)


def test_code_matrix_presence_by_participant(results):
    expected = frame({"P1": [1, 1, 1, 0], "P2": [0, 0, 1, 1], "P3": [0, 1, 1, 1]},
                     "participant_id", CODES)
    assert_frame_equal(code_matrix(results, by="participant", measure="presence"), expected)


def test_code_matrix_participants_and_segments_by_role(results):
    participants = frame({
        "CGS": [0, 1, 2, 2],   # terrain P3; ethique P2 (3.2) + P3 (3.1); formation P2 + P3
        "DG": [1, 1, 1, 0],
    }, "role", CODES)
    segments = frame({"CGS": [0, 1, 2, 3], "DG": [2, 1, 1, 0]}, "role", CODES)
    assert_frame_equal(code_matrix(results, by="role", measure="participants"), participants)
    assert_frame_equal(code_matrix(results, by="role"), segments)


def test_code_matrix_keeps_groups_without_codings(results):
    # accepted, organisation only: just d1#1.1 pilotage; d2 and E2 stay as rows of zeros
    expected = frame({"d1": [1, 0], "d2": [0, 0]}, "document_id", ["pilotage", "terrain"])
    assert_frame_equal(code_matrix(results, status="accepted", themes="organisation"), expected)
    coverage = frame({"E1": [16.7], "E2": [0.0]}, "establishment", ["organisation"], "theme_id")  # 10/60
    assert_frame_equal(code_matrix(results, by="establishment", measure="coverage", level="theme",
                                   status="accepted", themes="organisation"), coverage)


def test_code_matrix_where_restricts_groups_and_coverage_totals(results):
    # CGS only: d1 keeps P2's 20 words (d1#3.1 5 + d1#3.2 15)
    expected = frame({"d1": [0.0, 0.0, 75.0, 25.0], "d2": [0.0, 60.0, 20.0, 80.0]}, "document_id", CODES)
    assert_frame_equal(code_matrix(results, measure="coverage", where={"role": "CGS"}), expected)
    only_p1 = code_matrix(results, by="participant", where={"participant_id": "P1"})
    assert_frame_equal(only_p1, frame({"P1": [2, 1, 1, 0]}, "participant_id", CODES))


def test_code_matrix_rejects_bad_options(results):
    with pytest.raises(ValueError, match="unknown grouping 'site'; choose from: document, participant, "
                                         "role, establishment"):
        code_matrix(results, by="site")
    with pytest.raises(ValueError, match="unknown measure 'count'; choose from: segments, coverage"):
        code_matrix(results, measure="count")


# --- crosstab -----------------------------------------------------------------------------------


def crosstab_frame(segments: dict, participants: dict, name: str, columns: list[str],
                   level: str = "code_id") -> pd.DataFrame:
    labels = [*columns, "Total"]
    index = pd.MultiIndex.from_tuples([(m, c) for m in ("segments", "participants") for c in labels],
                                      names=["measure", level])
    rows = [segments[r] + participants[r] for r in segments]
    return pd.DataFrame(rows, index=pd.Index(list(segments), name=name), columns=index)


# Role × code, all statuses but rejected.  Cells count distinct units; Total = units of any code/group.
ROLE_SEGMENTS = {                # pilotage terrain ethique formation | Total
    "CGS": [0, 1, 2, 3, 4],      # Total: d1#3.1, d1#3.2, d2#1.1, d2#3.1
    "DG": [2, 1, 1, 0, 2],       # Total: d1#1.1, d1#1.2
    "Total": [2, 2, 3, 3, 6],
}
ROLE_PARTICIPANTS = {
    "CGS": [0, 1, 2, 2, 2],      # Total: P2, P3
    "DG": [1, 1, 1, 0, 1],
    "Total": [1, 2, 3, 2, 3],
}


def test_crosstab_counts_with_totals(results):
    expected = crosstab_frame(ROLE_SEGMENTS, ROLE_PARTICIPANTS, "role", CODES)
    assert_frame_equal(crosstab(results, "role"), expected)


def test_crosstab_row_percentages(results):
    segments = {
        "CGS": [0.0, 25.0, 50.0, 75.0, 100.0],    # 0/4, 1/4, 2/4, 3/4 (sums past 100: multi-coding)
        "DG": [100.0, 50.0, 50.0, 0.0, 100.0],    # 2/2, 1/2, 1/2, 0/2
        "Total": [33.3, 33.3, 50.0, 50.0, 100.0],  # 2/6, 2/6, 3/6, 3/6
    }
    participants = {
        "CGS": [0.0, 50.0, 100.0, 100.0, 100.0],  # of 2
        "DG": [100.0, 100.0, 100.0, 0.0, 100.0],  # of 1
        "Total": [33.3, 66.7, 100.0, 66.7, 100.0],  # of 3
    }
    expected = crosstab_frame(segments, participants, "role", CODES)
    assert_frame_equal(crosstab(results, "role", normalize="row"), expected)


def test_crosstab_column_percentages(results):
    segments = {
        "CGS": [0.0, 50.0, 66.7, 100.0, 66.7],   # 0/2, 1/2, 2/3, 3/3, 4/6
        "DG": [100.0, 50.0, 33.3, 0.0, 33.3],     # 2/2, 1/2, 1/3, 0/3, 2/6
        "Total": [100.0] * 5,
    }
    participants = {
        "CGS": [0.0, 50.0, 66.7, 100.0, 66.7],   # 0/1, 1/2, 2/3, 2/2, 2/3
        "DG": [100.0, 50.0, 33.3, 0.0, 33.3],     # 1/1, 1/2, 1/3, 0/2, 1/3
        "Total": [100.0] * 5,
    }
    expected = crosstab_frame(segments, participants, "role", CODES)
    assert_frame_equal(crosstab(results, "role", normalize="column"), expected)


def test_crosstab_by_theme_counts_segments_once(results):
    segments = {                 # organisation enjeux | Total
        "E1": [2, 3, 4],         # org d1#1.1, d1#1.2; enjeux d1#1.1, d1#3.1, d1#3.2 (not 4 codings)
        "E2": [1, 2, 2],         # org d2#1.1; enjeux d2#1.1, d2#3.1 (not 3 codings)
        "Total": [3, 5, 6],
    }
    participants = {"E1": [1, 2, 2], "E2": [1, 1, 1], "Total": [2, 3, 3]}
    expected = crosstab_frame(segments, participants, "establishment", THEMES, "theme_id")
    assert_frame_equal(crosstab(results, "establishment", level="theme"), expected)


def test_crosstab_filters_keep_empty_groups(results):
    # accepted: d1#1.1 pilotage (DG, P1), d1#3.2 ethique (CGS, P2); d2#3.1 formation is not a chosen code
    segments = {"CGS": [0, 1, 1], "DG": [1, 0, 1], "Total": [1, 1, 2]}  # pilotage ethique | Total
    participants = {"CGS": [0, 1, 1], "DG": [1, 0, 1], "Total": [1, 1, 2]}
    expected = crosstab_frame(segments, participants, "role", ["pilotage", "ethique"])  # codebook order
    assert_frame_equal(crosstab(results, "role", status="accepted", codes=["ethique", "pilotage"]),
                       expected)
    # a group with no coding: row of zeros, and 0.0 (not NaN) once normalised by row
    normalised = crosstab(results, "role", normalize="row", where={"role": "DG"}, codes="formation")
    assert normalised.loc["DG"].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_crosstab_rejects_bad_options(results):
    with pytest.raises(ValueError, match="unknown attribute 'document'; choose from: role, establishment"):
        crosstab(results, "document")
    with pytest.raises(ValueError, match="unknown normalize 'index'; choose from: None, row, column"):
        crosstab(results, "role", normalize="index")


# --- cooccurrence -------------------------------------------------------------------------------


def symmetric(upper: dict, diagonal: list, columns: list[str] = CODES,
              name: str = "code_id") -> pd.DataFrame:
    """A symmetric matrix from its diagonal and ``{(a, b): value}`` above it."""
    size = len(columns)
    values = [[0.0] * size for _ in range(size)]
    for i in range(size):
        values[i][i] = diagonal[i]
    for (a, b), value in upper.items():
        i, j = columns.index(a), columns.index(b)
        values[i][j] = values[j][i] = value
    labels = pd.Index(columns, name=name)
    result = pd.DataFrame(values, index=labels, columns=labels)
    return result.astype("int64") if all(isinstance(d, int) for d in diagonal) else result


def test_cooccurrence_by_segment(results):
    # units: 1.1 {pil, eth}, 1.2 {pil, ter}, 3.1 {for}, 3.2 {eth}, 2·1.1 {ter, for}, 2·3.1 {eth, for}
    counts = symmetric({("pilotage", "terrain"): 1, ("pilotage", "ethique"): 1, ("terrain", "formation"): 1,
                        ("ethique", "formation"): 1}, [2, 2, 3, 3])
    jaccard = symmetric({("pilotage", "terrain"): 1 / 3,   # 1 / (2+2-1)
                         ("pilotage", "ethique"): 1 / 4,   # 1 / (2+3-1)
                         ("terrain", "formation"): 1 / 4,  # 1 / (2+3-1)
                         ("ethique", "formation"): 1 / 5},  # 1 / (3+3-1)
                        [1.0] * 4)
    got_counts, got_jaccard = cooccurrence(results)
    assert_frame_equal(got_counts, counts)
    assert_frame_equal(got_jaccard, jaccard)


def test_cooccurrence_by_turn(results):
    # turns: d1 t1 {pil, eth, ter}, d1 t3 {for, eth}, d1 t5 {}, d2 t1 {ter, for}, d2 t3 {eth, for}
    counts = symmetric({("pilotage", "terrain"): 1, ("pilotage", "ethique"): 1, ("terrain", "ethique"): 1,
                        ("terrain", "formation"): 1, ("ethique", "formation"): 2}, [1, 2, 3, 3])
    jaccard = symmetric({("pilotage", "terrain"): 1 / 2,   # 1 / (1+2-1)
                         ("pilotage", "ethique"): 1 / 3,   # 1 / (1+3-1)
                         ("terrain", "ethique"): 1 / 4,    # 1 / (2+3-1)
                         ("terrain", "formation"): 1 / 4,  # 1 / (2+3-1)
                         ("ethique", "formation"): 2 / 4},  # 2 / (3+3-2)
                        [1.0] * 4)
    got_counts, got_jaccard = cooccurrence(results, scope="turn")
    assert_frame_equal(got_counts, counts)
    assert_frame_equal(got_jaccard, jaccard)


def test_cooccurrence_by_window(results):
    # windows of ±1 segment: d1: 1.1+1.2 {pil, eth, ter}; 1.1–3.1 {pil, eth, ter, for};
    # 1.2–3.2 {pil, ter, for, eth}; 3.1–5.1 {for, eth}; 3.2+5.1 {eth};
    # d2: 1.1+3.1 {ter, for, eth}; 1.1–3.2 {ter, for, eth}; 3.1+3.2 {eth, for}
    counts = symmetric({("pilotage", "terrain"): 3, ("pilotage", "ethique"): 3, ("pilotage", "formation"): 2,
                        ("terrain", "ethique"): 5, ("terrain", "formation"): 4,
                        ("ethique", "formation"): 6}, [3, 5, 8, 6])
    jaccard = symmetric({("pilotage", "terrain"): 3 / 5,     # 3 / (3+5-3)
                         ("pilotage", "ethique"): 3 / 8,     # 3 / (3+8-3)
                         ("pilotage", "formation"): 2 / 7,   # 2 / (3+6-2)
                         ("terrain", "ethique"): 5 / 8,      # 5 / (5+8-5)
                         ("terrain", "formation"): 4 / 7,    # 4 / (5+6-4)
                         ("ethique", "formation"): 6 / 8},   # 6 / (8+6-6)
                        [1.0] * 4)
    got_counts, got_jaccard = cooccurrence(results, scope="window", window=1)
    assert_frame_equal(got_counts, counts)
    assert_frame_equal(got_jaccard, jaccard)


def test_cooccurrence_window_follows_start_offsets_not_file_order(results):
    expected = cooccurrence(results, scope="window", window=1)
    # file order d1: 3.1, 1.1, 5.1, 1.2, 3.2 and d2: 3.2, 1.1, 3.1 — windows must follow start offsets
    results.segments = results.segments.iloc[[2, 0, 4, 1, 3, 7, 5, 6]].reset_index(drop=True)
    for got, want in zip(cooccurrence(results, scope="window", window=1), expected, strict=True):
        assert_frame_equal(got, want)


def test_cooccurrence_window_zero_is_segment_scope(results):
    for got, want in zip(cooccurrence(results, scope="window", window=0), cooccurrence(results),
                         strict=True):
        assert_frame_equal(got, want)


def test_cooccurrence_by_theme_counts_segments_once(results):
    # units: 1.1 {org, enj}, 1.2 {org} (two codes, once), 3.1 {enj}, 3.2 {enj}, 2·1.1 {org, enj}, 2·3.1 {enj}
    counts = symmetric({("organisation", "enjeux"): 2}, [3, 5], THEMES, "theme_id")
    jaccard = symmetric({("organisation", "enjeux"): 2 / 6}, [1.0, 1.0], THEMES, "theme_id")  # 2/(3+5-2)
    got_counts, got_jaccard = cooccurrence(results, level="theme")
    assert_frame_equal(got_counts, counts)
    assert_frame_equal(got_jaccard, jaccard)


def test_cooccurrence_with_filters(results):
    # accepted only: 1.1 {pil}, 3.2 {eth}, 2·3.1 {for}; by turn d1 t3 has eth only → nothing shared
    counts, jaccard = cooccurrence(results, scope="turn", status="accepted")
    assert_frame_equal(counts, symmetric({}, [1, 0, 1, 1]))
    assert_frame_equal(jaccard, symmetric({}, [1.0] * 4))  # 0/0 off the diagonal reads 0.0
    counts, _ = cooccurrence(results, scope="turn", where={"role": "CGS"}, codes=["ethique", "formation"])
    # CGS turns: d1 t3 {eth, for} (for from 3.1), d2 t1 {for}, d2 t3 {eth, for}
    assert_frame_equal(counts, symmetric({("ethique", "formation"): 2}, [2, 3], ["ethique", "formation"]))


def test_cooccurrence_rejects_bad_options(results):
    with pytest.raises(ValueError, match="unknown scope 'document'; choose from: segment, turn, window"):
        cooccurrence(results, scope="document")
    with pytest.raises(ValueError, match="window must be a whole number of segments >= 0, got -1"):
        cooccurrence(results, scope="window", window=-1)


def test_no_codings_gives_zeros_not_errors(results):
    results.codings = results.codings.iloc[:0]
    assert segment_code_matrix(results, value="score").to_numpy().tolist() == [[0.0] * 4] * 8
    assert code_matrix(results, measure="coverage").to_numpy().tolist() == [[0.0] * 4] * 2
    assert crosstab(results, "role", normalize="column").to_numpy().sum() == 0.0
    counts, jaccard = cooccurrence(results, scope="window")
    assert counts.to_numpy().sum() == 0
    assert_frame_equal(jaccard, symmetric({}, [1.0] * 4))


# --- the bundled interviews ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled(bundled_run):
    return load_results(bundled_run.folder)


@pytest.mark.slow
def test_matrices_on_bundled_results(bundled):
    codes = [c.id for c in bundled.codebook.codes]
    matrix = segment_code_matrix(bundled)
    assert list(matrix.index) == list(bundled.segments.segment_id)
    assert matrix.index.is_unique and list(matrix.columns) == codes

    kept = bundled.codings[bundled.codings.status != "rejected"]
    distinct = kept.drop_duplicates(["segment_id", "code_id"]).code_id.value_counts()
    by_document = code_matrix(bundled, by="document", measure="segments")
    assert by_document.sum().to_dict() == distinct.reindex(codes, fill_value=0).to_dict()
    assert list(by_document.index) == sorted(bundled.segments.document_id.unique())
    assert (matrix.sum() == by_document.sum()).all()

    table = crosstab(bundled, "role", level="theme")
    assert len(table.index) == 7 and table.index[-1] == "Total"
    assert set(table.index[:-1]) == {"CGS", "DG", "DH", "Directeur IA", "Ingénieur", "Médecin"}

    for scope in ("segment", "turn", "window"):
        counts, jaccard = cooccurrence(bundled, scope=scope, window=2)
        assert_frame_equal(jaccard, jaccard.T)
        assert_frame_equal(counts, counts.T)
        assert (pd.Series(jaccard.values.diagonal()) == 1.0).all()
        assert ((jaccard >= 0) & (jaccard <= 1)).all().all()
    segment_counts, _ = cooccurrence(bundled)
    assert segment_counts.values.diagonal().tolist() == by_document.sum().tolist()
