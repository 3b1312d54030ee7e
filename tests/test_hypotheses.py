"""Hypothesis support on a small results folder written by hand, then on the bundled interviews.

Six participants, one document each; codes a, b, c, d and frein in one theme::

    H1  supported_by [a, b]    contradicted_by [{all_of: [a, frein]}]
    H2  supported_by [c]       contradicted_by [d]

==========  ===========  ====  ==============================================  ==================
segment     participant  role  codings (score, status)                         evidence
==========  ===========  ====  ==============================================  ==================
p1#1.1      P1 (E1)      CGS   a .9 accepted                                   H1 for (accepted)
p1#3.1      P1 (E1)      CGS   a .95                                           H1 for
p2#1.1      P2 (E2)      CGS   b .8                                            H1 for
p2#3.1      P2 (E2)      CGS   d .65                                           H2 against
p3#1.1      P3 (E1)      DG    a .7, b .6                                      H1 for (a + b)
p3#3.1      P3 (E1)      DG    a .6, frein .8                                  H1 against only
p4#1.1      P4 (E2)      DG    b .55 accepted, a .5, frein .9 accepted         H1 for (b) + against
p5#1.1      P5 (E3)      DH    c .8                                            H2 for
p5#3.1      P5 (E3)      DH    d .75                                           H2 against
p5#5.1      P5 (E3)      DH    a .4 rejected                                   —
p5#7.1      P5 (E3)      DH    (none)                                          —
p6#1.1      P6 (E3)      MED   d .85 accepted                                  H2 against (acc.)
p6#3.1      P6 (E3)      MED   c .9 rejected                                   —
==========  ===========  ====  ==============================================  ==================

p3#3.1: its supporting match (a) is a subset of the contradicting match (a + frein): against only.
p4#1.1: (a + frein) absorbs a but not b, so the segment counts on both sides.

Status "all", min score 0 — H1 for: p1#1.1, p1#3.1, p2#1.1, p3#1.1, p4#1.1 → ss = 5, sp = 4
(P1, P2, P3, P4), accepted: p1#1.1 and p4#1.1 (2 segments, participants P1 and P4);
H1 against: p3#3.1, p4#1.1 → cs = 2, cp = 2, accepted 0 (a on p4#1.1 is only suggested).
H2 for: p5#1.1 → ss = 1, sp = 1; H2 against: p2#3.1, p5#3.1, p6#1.1 → cs = 3, cp = 3, 1 accepted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from qualcode.corpus import count_words
from qualcode.errors import CodebookError, OptionError
from qualcode.hypotheses import (
    DEFAULTS,
    VERDICTS,
    hypotheses_frame,
    hypothesis_support,
    to_dict,
    to_markdown,
)
from qualcode.results import load_results

PARTICIPANTS = {  # participant: (speaker, role, establishment)
    "P1": ("CGS 1", "CGS", "E1"), "P2": ("CGS 2", "CGS", "E2"), "P3": ("DG 1", "DG", "E1"),
    "P4": ("DG 2", "DG", "E2"), "P5": ("DH 3", "DH", "E3"), "P6": ("Médecin", "MED", "E3"),
}
SEGMENTS = {  # segment_id: text
    "p1#1.1": "La direction des soins pilote le comité IA avec nous.",
    "p1#3.1": "C'est le DS qui porte le projet de dictée vocale.",
    "p2#1.1": "Le DS fait le lien entre les équipes et les ingénieurs.",
    "p2#3.1": "La garantie humaine, c'est le médecin qui la porte.",
    "p3#1.1": "Le DS évalue les outils et forme les cadres.",
    "p3#3.1": "Le DS n'a pas été associé au choix de l'outil.",
    "p4#1.1": "Le DS porte la formation, mais il a été court-circuité sur l'évaluation.",
    "p5#1.1": "Le DS siège au comité d'éthique.",
    "p5#3.1": "L'éthique, c'est le DPO et le comité, pas le DS.",
    "p5#5.1": "On en parle peu.",
    "p5#7.1": "Voilà.",
    "p6#1.1": "Chez nous, c'est le médecin qui valide, le DS n'y est pas.",
    "p6#3.1": "Le DS contrôle l'habilitation des infirmières.",
}
CODINGS = [  # segment, code, score, status
    ("p1#1.1", "a", 0.9, "accepted"), ("p1#3.1", "a", 0.95, "suggested"),
    ("p2#1.1", "b", 0.8, "suggested"), ("p2#3.1", "d", 0.65, "suggested"),
    ("p3#1.1", "a", 0.7, "suggested"), ("p3#1.1", "b", 0.6, "suggested"),
    ("p3#3.1", "a", 0.6, "suggested"), ("p3#3.1", "frein", 0.8, "suggested"),
    ("p4#1.1", "b", 0.55, "accepted"), ("p4#1.1", "a", 0.5, "suggested"),
    ("p4#1.1", "frein", 0.9, "accepted"),
    ("p5#1.1", "c", 0.8, "suggested"), ("p5#3.1", "d", 0.75, "suggested"),
    ("p5#5.1", "a", 0.4, "rejected"),
    ("p6#1.1", "d", 0.85, "accepted"), ("p6#3.1", "c", 0.9, "rejected"),
]
VERDICT = {"min_participants": 2, "min_segments": 3, "contested_ratio": 0.6, "status": "all"}


def codebook_yaml(verdict: dict | None, language: str = "en") -> str:
    settings = f"settings:\n  verdict: {json.dumps(verdict)}\n" if verdict is not None else ""
    codes = "\n".join(f"      - {{id: {c}, label: {c.upper()}}}" for c in ("a", "b", "c", "d", "frein"))
    return (f"name: hyp-test\nversion: \"1\"\nlanguage: {language}\n{settings}"
            f"themes:\n  - id: t\n    label: Theme\n    codes:\n{codes}\n"
            "hypotheses:\n"
            "  - id: H1\n    statement: \"The DS makes AI relevant.\"\n"
            "    supported_by: [a, b]\n    contradicted_by:\n      - all_of: [a, frein]\n"
            "  - id: H2\n    statement: \"The DS guarantees ethics.\"\n"
            "    supported_by: [c]\n    contradicted_by: [d]\n")


def write_results(folder: Path, verdict: dict | None = VERDICT, language: str = "en") -> Path:
    rows, position = [], {}
    for segment_id, text in SEGMENTS.items():
        document = segment_id.split("#")[0]
        participant = document.upper()
        speaker, role, establishment = PARTICIPANTS[participant]
        start = position.get(document, 0)
        position[document] = start + len(text) + 1
        rows.append({"document_id": document, "segment_id": segment_id,
                     "turn_index": int(segment_id.split("#")[1].split(".")[0]), "speaker": speaker,
                     "participant_id": participant, "start": start, "end": start + len(text),
                     "words": count_words(text), "text": text, "question": "Et le DS ?", "role": role,
                     "establishment": establishment})
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / "segments.csv", index=False)
    pd.DataFrame([{"document_id": s.split("#")[0], "segment_id": s, "code_id": c, "theme_id": "t",
                   "score": score, "method": "rule", "evidence": "keyword", "status": status}
                  for s, c, score, status in CODINGS]).to_csv(folder / "codings.csv", index=False)
    (folder / "run.json").write_text("{}", encoding="utf-8")
    (folder / "codebook.yaml").write_text(codebook_yaml(verdict, language), encoding="utf-8")
    return folder


def support(tmp_path, verdict=VERDICT, language="en", **options):
    return {s.hypothesis_id: s
            for s in hypothesis_support(load_results(write_results(tmp_path / "r", verdict, language)),
                                        **options)}


# --- evidence ------------------------------------------------------------------------------------


def test_evidence_segments_and_absorption_rule(tmp_path):
    h1 = support(tmp_path)["H1"]
    assert h1.supporting.segment_id.tolist() == ["p1#1.1", "p1#3.1", "p2#1.1", "p3#1.1", "p4#1.1"]
    assert h1.contradicting.segment_id.tolist() == ["p3#3.1", "p4#1.1"]
    # p3#3.1 carries a and frein: the contradiction absorbs the support through a
    assert "p3#3.1" not in set(h1.supporting.segment_id)
    # p4#1.1: (a + frein) absorbs a but not b, so it supports through b only
    row = h1.supporting.set_index("segment_id").loc["p4#1.1"]
    assert (row.codes, row.score, row.status) == ("b", 0.55, "accepted")
    row = h1.contradicting.set_index("segment_id").loc["p4#1.1"]
    assert (row.codes, row.score, row.status) == ("a + frein", 0.5, "suggested")  # min(.5, .9)
    # p3#1.1 matches both a (.7) and b (.6): strength is the strongest match
    row = h1.supporting.set_index("segment_id").loc["p3#1.1"]
    assert (row.codes, row.score) == ("a; b", 0.7)
    assert h1.supporting.text.tolist()[0] == SEGMENTS["p1#1.1"]
    assert {"role", "establishment"} <= set(h1.supporting.columns)


def test_counts_split_by_status(tmp_path):
    result = support(tmp_path)
    assert result["H1"].counts == {
        "supporting_segments": 5, "supporting_accepted_segments": 2,  # p1#1.1, p4#1.1
        "supporting_suggested_segments": 3, "supporting_participants": 4,  # P1-P4
        "supporting_accepted_participants": 2,  # P1, P4
        "contradicting_segments": 2, "contradicting_accepted_segments": 0,
        "contradicting_suggested_segments": 2, "contradicting_participants": 2,  # P3, P4
        "contradicting_accepted_participants": 0}
    # rejected codings never count: p6#3.1 (c .9 rejected) would make P6 support H2
    assert result["H2"].counts["supporting_participants"] == 1
    assert result["H2"].counts["contradicting_segments"] == 3
    assert result["H2"].counts["contradicting_accepted_segments"] == 1  # p6#1.1


def test_by_group(tmp_path):
    table = support(tmp_path)["H1"].by_group.set_index(["by", "group"])
    columns = ["supporting_segments", "supporting_accepted_segments", "supporting_participants",
               "contradicting_segments", "contradicting_accepted_segments",
               "contradicting_participants"]
    expected = {
        ("participant_id", "P1"): [2, 1, 1, 0, 0, 0],  # p1#1.1 (accepted), p1#3.1
        ("participant_id", "P3"): [1, 0, 1, 1, 0, 1],  # p3#1.1 / p3#3.1
        ("participant_id", "P5"): [0, 0, 0, 0, 0, 0],  # the rejected a of p5#5.1 does not count
        ("role", "CGS"): [3, 1, 2, 0, 0, 0],  # p1#1.1, p1#3.1, p2#1.1
        ("role", "DG"): [2, 1, 2, 2, 0, 2],  # p3#1.1, p4#1.1 / p3#3.1, p4#1.1
        ("role", "MED"): [0, 0, 0, 0, 0, 0],
        ("establishment", "E1"): [3, 1, 2, 1, 0, 1],  # P1 ×2, P3 / p3#3.1
        ("establishment", "E2"): [2, 1, 2, 1, 0, 1],  # p2#1.1, p4#1.1 / p4#1.1
    }
    for key, values in expected.items():
        assert table.loc[key, columns].tolist() == values, key
    assert len(table) == 6 + 4 + 3  # every participant, role and establishment has a row


# --- quotes --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("quotes", "expected"), [
    # ranked: p1#3.1 .95 (P1 CGS), p1#1.1 .9 (P1 CGS), p2#1.1 .8 (P2 CGS), p3#1.1 .7 (P3 DG),
    #         p4#1.1 .55 (P4 DG)
    # pass 1 (new role): p1#3.1, p3#1.1 — enough for 2
    (2, ["p1#3.1", "p3#1.1"]),
    # pass 2 (new participant): p2#1.1 — p1#1.1 (.9) is skipped, P1 is already quoted
    (3, ["p1#3.1", "p2#1.1", "p3#1.1"]),
    # pass 2 adds p4#1.1, pass 3 the rest (p1#1.1); shown in ranking order
    (5, ["p1#3.1", "p1#1.1", "p2#1.1", "p3#1.1", "p4#1.1"]),
])
def test_quotes_strongest_and_varied(tmp_path, quotes, expected):
    frame = support(tmp_path, quotes=quotes)["H1"].quotes_for
    assert frame.segment_id.tolist() == expected
    assert frame["rank"].tolist() == list(range(1, len(expected) + 1))
    assert frame.quote.tolist() == [SEGMENTS[s] for s in expected]  # verbatim
    assert frame.columns.tolist()[:6] == ["rank", "quote", "speaker", "participant_id", "role",
                                          "document_id"]


def test_quotes_against(tmp_path):
    result = support(tmp_path)
    assert result["H1"].quotes_against.segment_id.tolist() == ["p3#3.1", "p4#1.1"]  # .6, .5
    frame = result["H2"].quotes_against
    assert frame.segment_id.tolist() == ["p6#1.1", "p5#3.1", "p2#3.1"]  # .85, .75, .65
    assert frame.status.tolist() == ["accepted", "suggested", "suggested"]
    assert frame.speaker.tolist() == ["Médecin", "DH 3", "CGS 2"]


# --- verdicts ------------------------------------------------------------------------------------


def test_supported_and_not_supported(tmp_path):
    result = support(tmp_path)  # N = 2, M = 3, r = 0.6
    assert result["H1"].verdict == "supported"
    assert result["H1"].rule == (  # 4 ≥ 2, 5 ≥ 3, 2 < 0.6 × 4 = 2.4
        "supported? yes: supporting participants (4) ≥ min_participants (2) and supporting "
        "segments (5) ≥ min_segments (3) and contradicting participants (2) < contested_ratio × "
        "supporting participants (0.6 × 4 = 2.4).")
    assert result["H2"].verdict == "not supported"
    assert result["H2"].rule == (  # sp = 1 < 2 twice, then 1 ≤ cp = 3
        "supported? no: supporting participants (1) < min_participants (2); "
        "contested? no: supporting participants (1) < min_participants (2); "
        "partly supported? no: supporting participants (1) ≤ contradicting participants (3); "
        "not supported: no rule above applies.")
    assert result["H1"].settings == VERDICT


def test_contested(tmp_path):
    h1 = support(tmp_path, {**VERDICT, "contested_ratio": 0.5})["H1"]
    assert h1.verdict == "contested"
    assert h1.rule == (  # cp = 2 ≥ 0.5 × 4 = 2, so not supported; 4 ≥ 2 and 2 ≥ 2
        "supported? no: contradicting participants (2) ≥ contested_ratio × supporting participants "
        "(0.5 × 4 = 2); contested? yes: supporting participants (4) ≥ min_participants (2) and "
        "contradicting participants (2) ≥ min_participants (2).")


def test_partly_supported_with_the_default_settings(tmp_path):
    h1 = support(tmp_path, verdict=None)["H1"]  # N = 3, M = 5, r = 0.5
    assert h1.settings == DEFAULTS
    assert h1.verdict == "partly supported"
    assert h1.rule == (  # 2 ≥ 0.5 × 4; cp 2 < 3; sp 4 > cp 2
        "supported? no: contradicting participants (2) ≥ contested_ratio × supporting participants "
        "(0.5 × 4 = 2); contested? no: contradicting participants (2) < min_participants (3); "
        "partly supported? yes: supporting participants (4) > contradicting participants (2).")


def test_accepted_only(tmp_path):
    # accepted codings: p1#1.1 a, p4#1.1 b and frein, p6#1.1 d. H1 for: p1#1.1, p4#1.1 (b; the
    # contradiction a + frein needs a, which is only suggested) → ss 2, sp 2, cp 0
    h1 = support(tmp_path, status="accepted")["H1"]
    assert h1.supporting.segment_id.tolist() == ["p1#1.1", "p4#1.1"]
    assert h1.contradicting.empty and h1.quotes_against.empty
    assert h1.counts["supporting_accepted_segments"] == h1.counts["supporting_segments"] == 2
    assert h1.verdict == "partly supported"
    assert h1.rule == (
        "supported? no: supporting segments (2) < min_segments (3); "
        "contested? no: contradicting participants (0) < min_participants (2); "
        "partly supported? yes: supporting participants (2) > contradicting participants (0).")
    assert h1.basis == "4 human-validated codings and 12 others; accepted codings only"


def test_status_from_the_codebook_and_min_score(tmp_path):
    h1 = support(tmp_path, {**VERDICT, "status": "suggested"})["H1"]
    assert "p1#1.1" not in set(h1.supporting.segment_id)  # its only coding is accepted
    assert h1.basis.endswith("; suggested codings only")
    # min score .6: p4#1.1 keeps only frein → H1 for p1#1.1, p1#3.1, p2#1.1, p3#1.1; against p3#3.1
    h1 = support(tmp_path / "s", min_score=0.6)["H1"]
    assert (h1.counts["supporting_segments"], h1.counts["supporting_participants"],
            h1.counts["contradicting_participants"]) == (4, 3, 1)
    assert h1.basis.endswith("(rejected excluded), score ≥ 0.6")


def test_french_labels_and_rule(tmp_path):
    result = support(tmp_path, language="fr")
    assert [result[h].verdict_label for h in ("H1", "H2")] == ["soutenue", "non soutenue"]
    assert result["H1"].verdict == "supported"
    assert result["H1"].rule == (
        "soutenue ? oui : participants en soutien (4) ≥ min_participants (2) et segments en soutien "
        "(5) ≥ min_segments (3) et participants en contradiction (2) < contested_ratio × "
        "participants en soutien (0,6 × 4 = 2,4).")
    assert result["H2"].rule.endswith(
        "partiellement soutenue ? non : participants en soutien (1) ≤ participants en contradiction "
        "(3) ; non soutenue : aucune règle ci-dessus ne s'applique.")
    contested = support(tmp_path / "c", {**VERDICT, "contested_ratio": 0.5}, "fr")["H1"]
    assert contested.verdict_label == "contestée"
    partly = support(tmp_path / "p", None, "fr")["H1"]
    assert partly.verdict_label == "partiellement soutenue"


def test_bad_settings_and_status(tmp_path):
    with pytest.raises(CodebookError) as error:
        support(tmp_path, {"min_participants": "three", "contested_ratio": -1, "status": "maybe"})
    assert [p.key for p in error.value.problems] == [
        "settings.verdict.min_participants", "settings.verdict.contested_ratio",
        "settings.verdict.status"]
    with pytest.raises(OptionError, match="'rejected' is not one of suggested, accepted, all"):
        support(tmp_path / "s", status="rejected")
    with pytest.raises(OptionError, match="min_score must be a number between 0 and 1, got 2"):
        support(tmp_path / "m", min_score=2)
    with pytest.raises(OptionError, match="quotes must be a whole number >= 0, got -1"):
        support(tmp_path / "q", quotes=-1)


# --- summaries -----------------------------------------------------------------------------------


def test_frame_markdown_and_dict(tmp_path):
    result = list(support(tmp_path).values())
    frame = hypotheses_frame(result)
    assert frame[["hypothesis_id", "verdict", "supporting_segments", "supporting_participants",
                  "contradicting_segments", "contradicting_participants",
                  "supporting_accepted_segments"]].values.tolist() == [
        ["H1", "supported", 5, 4, 2, 2, 2], ["H2", "not supported", 1, 1, 3, 3, 0]]
    markdown = to_markdown(result)
    assert "## H1 — supported" in markdown and "## H2 — not supported" in markdown
    assert f"> {SEGMENTS['p1#3.1']}\n> — CGS 1, CGS (p1; a; 0.95, suggested)" in markdown
    assert "| role | DG | 2 (1) | 2 | 2 (0) | 2 |" in markdown
    assert "| H1 | supported | 5 (2) | 4 | 2 (0) | 2 |" in markdown  # summary table
    data = json.loads(json.dumps(to_dict(result)))
    assert [h["verdict"] for h in data["hypotheses"]] == ["supported", "not supported"]
    assert data["hypotheses"][0]["quotes_for"][0]["quote"] == SEGMENTS["p1#3.1"]
    assert data["hypotheses"][1]["counts"]["contradicting_participants"] == 3


def test_french_markdown(tmp_path):
    markdown = to_markdown(list(support(tmp_path, language="fr").values()))
    assert markdown.startswith("# Hypothèses\n")
    assert "## H2 — non soutenue" in markdown and "### Citations contraires" in markdown


# --- the bundled interviews ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    from qualcode.coding import code_transcripts

    root = Path(__file__).parent.parent
    base = tmp_path_factory.mktemp("bundled")
    code_transcripts([root / "transcripts"], root / "codebooks" / "ds-ia-sante.yaml",
                     out=base / "out", cache_dir=base / "cache")
    results = load_results(base / "out")
    return results, hypothesis_support(results)


@pytest.mark.slow
def test_bundled_interviews(bundled):
    results, support_list = bundled
    assert [s.hypothesis_id for s in support_list] == ["H1", "H2"]
    texts = set(results.segments.text)
    participants = results.segments.participant_id.nunique()
    assert participants == 15
    for s in support_list:
        assert s.verdict in VERDICTS and s.verdict_label
        assert 0 < len(s.quotes_for) <= 5
        for quotes in (s.quotes_for, s.quotes_against):
            assert set(quotes.quote) <= texts  # verbatim, never paraphrased
        for side in ("supporting", "contradicting"):
            assert s.counts[f"{side}_participants"] <= participants
            rows = s.by_group[s.by_group.by == "role"]
            assert rows[f"{side}_segments"].sum() == s.counts[f"{side}_segments"]
        assert s.counts["supporting_participants"] == s.supporting.participant_id.nunique()
        assert str(s.counts["supporting_participants"]) in s.rule
    json.dumps(to_dict(support_list))
    assert all(q in to_markdown(support_list) for q in support_list[0].quotes_for.quote)
