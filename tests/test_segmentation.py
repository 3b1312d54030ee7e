"""Cutting a turn into units of coding: turn, paragraphs, sentences."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.segmentation import UNITS, paragraph_spans, segment_turn

TURN = (
    "DG 1 : Oui, bien sûr. Alors, je suis directeur général.\n"
    "  Le CHU compte 7 500 professionnels.  \n"
    "\n"
    "…\n"
    "Et l'IA ? C'est un axe majeur.\n"
)
START = len("DG 1 : ")


def pieces(text, spans):
    return [text[s:e] for s, e in spans]


def period_splitter(paragraphs):
    """A stand-in for spaCy: a sentence ends after '.', '?' or '!' followed by a space."""
    result = []
    for paragraph in paragraphs:
        spans, begin = [], 0
        for i, char in enumerate(paragraph):
            if char in ".?!" and (i + 1 == len(paragraph) or paragraph[i + 1] == " "):
                spans.append((begin, i + 1))
                begin = i + 1
        if begin < len(paragraph):
            spans.append((begin, len(paragraph)))
        result.append(spans)
    return result


def test_units():
    assert UNITS == ("sentence", "paragraph", "turn")


def test_turn_unit_is_the_trimmed_turn():
    spans = segment_turn(TURN, START, len(TURN), "turn")
    assert pieces(TURN, spans) == [TURN[START:].strip()]


def test_paragraph_unit_skips_blank_and_punctuation_only_lines():
    spans = segment_turn(TURN, START, len(TURN), "paragraph")
    assert pieces(TURN, spans) == [
        "Oui, bien sûr. Alors, je suis directeur général.",
        "Le CHU compte 7 500 professionnels.",
        "Et l'IA ? C'est un axe majeur.",
    ]
    assert spans == paragraph_spans(TURN, START, len(TURN))


def test_sentence_unit_with_a_splitter():
    seen = []

    def splitter(paragraphs):
        seen.append(list(paragraphs))
        return period_splitter(paragraphs)

    spans = segment_turn(TURN, START, len(TURN), "sentence", splitter)
    assert pieces(TURN, spans) == [
        "Oui, bien sûr.", "Alors, je suis directeur général.",
        "Le CHU compte 7 500 professionnels.",
        "Et l'IA ?", "C'est un axe majeur.",
    ]
    # The splitter sees trimmed paragraphs, never text across a line break.
    assert seen == [["Oui, bien sûr. Alors, je suis directeur général.",
                     "Le CHU compte 7 500 professionnels.", "Et l'IA ? C'est un axe majeur."]]


def test_sentence_spans_are_clipped_to_their_paragraph_and_dropped_when_empty():
    text = "Un. Deux.\nTrois."

    def sloppy(paragraphs):
        # Overshoots the paragraph, returns an empty and a punctuation-only sentence.
        return [[(0, 3), (3, 3), (3, 100)], [(0, 0), (0, 6), (5, 6)]]

    spans = segment_turn(text, 0, len(text), "sentence", sloppy)
    assert pieces(text, spans) == ["Un.", "Deux.", "Trois."]


def test_turn_part_of_a_larger_text():
    text = "Q : Et alors ?\nCGS 1 : Bon. On verra.\nQ : Merci."
    start = text.index("Bon.")
    end = text.index("\nQ : Merci.")
    assert pieces(text, segment_turn(text, start, end, "sentence", period_splitter)) == [
        "Bon.", "On verra."]
    assert segment_turn(text, start, end, "turn") == [(start, end)]


@pytest.mark.parametrize("unit", UNITS)
def test_turn_without_words_gives_no_segment(unit):
    text = "Q : …\n  -- \n"
    assert segment_turn(text, 4, len(text), unit, period_splitter) == []


@pytest.mark.parametrize("unit", UNITS)
def test_empty_range(unit):
    assert segment_turn("abc", 1, 1, unit, period_splitter) == []


def test_unknown_unit():
    with pytest.raises(ValueError, match="unit must be one of"):
        segment_turn(TURN, 0, len(TURN), "word")


def test_sentence_unit_needs_a_splitter():
    with pytest.raises(ValueError, match="sentence splitter"):
        segment_turn(TURN, 0, len(TURN), "sentence")


def test_splitter_must_answer_for_every_paragraph():
    with pytest.raises(ValueError):
        segment_turn(TURN, START, len(TURN), "sentence", lambda paragraphs: [[(0, 3)]])


@pytest.mark.slow
def test_spacy_sentence_splitter_on_french():
    from qualcode.nlp import spacy_sentence_splitter

    splitter = spacy_sentence_splitter()
    text = ("CGS 4 : Le projet qui me tient à cœur, c'est l'insuffisance cardiaque. "
            "On a des patients qui reviennent, enfin, vous voyez. Une décompensation, ils "
            "sortent, trois semaines après ils reviennent.\nVoilà.")
    spans = segment_turn(text, len("CGS 4 : "), len(text), "sentence", splitter)
    sentences = pieces(text, spans)
    assert sentences[0] == "Le projet qui me tient à cœur, c'est l'insuffisance cardiaque."
    assert sentences[-1] == "Voilà."
    assert 3 <= len(sentences) <= 5
    assert all("\n" not in s for s in sentences)


# --- properties -------------------------------------------------------------------------------

_text = st.text(st.sampled_from("abcé Z09.,?!…-'\n\t  "), max_size=200)


@st.composite
def _turns(draw):
    text = draw(_text)
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, len(text)))
    return text, start, end


def _check(text, start, end, spans):
    previous = start
    for s, e in spans:
        assert previous <= s < e <= end
        assert not text[s].isspace() and not text[e - 1].isspace()
        assert any(c.isalnum() for c in text[s:e])
        previous = e


def _covered(spans, text, start, end):
    """Every letter or digit of the turn lies in some span."""
    inside = set()
    for s, e in spans:
        inside.update(range(s, e))
    return all(i in inside for i in range(start, end) if text[i].isalnum())


@settings(max_examples=300)
@given(_turns())
def test_turn_and_paragraph_units(case):
    text, start, end = case
    turn = segment_turn(text, start, end, "turn")
    _check(text, start, end, turn)
    assert len(turn) <= 1
    assert _covered(turn, text, start, end)
    paragraphs = segment_turn(text, start, end, "paragraph")
    _check(text, start, end, paragraphs)
    assert _covered(paragraphs, text, start, end)
    assert all("\n" not in text[s:e] for s, e in paragraphs)
    # The turn unit is the whole trimmed range; paragraphs lie inside it.
    stripped = text[start:end].strip()
    if any(c.isalnum() for c in stripped):
        assert pieces(text, turn) == [stripped]
        assert all(turn[0][0] <= s and e <= turn[0][1] for s, e in paragraphs)
    else:
        assert turn == [] and paragraphs == []


@settings(max_examples=300)
@given(_turns(), st.data())
def test_sentence_unit_with_random_splitter(case, data):
    text, start, end = case
    received = []

    def splitter(paragraphs):
        received.extend(paragraphs)
        result = []
        for paragraph in paragraphs:
            cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(paragraph) - 1)),
                                            max_size=4)))
            bounds = [0, *[c for c in cuts if c < len(paragraph)], len(paragraph)]
            spans = list(itertools.pairwise(bounds))
            if data.draw(st.booleans()) and spans:  # a splitter may overshoot the end
                spans[-1] = (spans[-1][0], spans[-1][1] + 5)
            result.append(spans)
        return result

    sentences = segment_turn(text, start, end, "sentence", splitter)
    _check(text, start, end, sentences)
    assert _covered(sentences, text, start, end)
    paragraphs = paragraph_spans(text, start, end)
    assert received == [text[s:e] for s, e in paragraphs]
    for s, e in sentences:
        assert any(ps <= s and e <= pe for ps, pe in paragraphs)
