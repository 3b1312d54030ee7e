"""Deductive automatic coding: apply a codebook to transcripts and suggest codings.

Every suggestion carries its provenance — the keywords or pattern that matched
(with any negation), the nearest exemplar and its similarity — and the status
``suggested``: the machine suggests, a human decides.

Score of a code on a segment (all in [0, 1])::

    rule       = 1 - Π (1 - w_hit)      w = 0.5 per keyword, 0.6 per pattern, ×0.4 if negated
    similarity = calibrated cosine to the nearest exemplar (see qualcode.similarity)
    score      = 1 - (1 - rule) × (1 - similarity)

A code is suggested when ``score >= threshold`` (the code's own, else the codebook's).

Examples
--------
>>> result = code_transcripts(["transcripts/"], "codebooks/ds-ia-sante.yaml")  # doctest: +SKIP
>>> result.codings.groupby("code_id").size()                                  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import platform
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .codebook import Codebook, load_codebook
from .corpus import Corpus, Segment, count_words, load_corpus
from .errors import CorpusError
from .hitcache import HitCache, record_hits, restore_hits, rule_signatures
from .parsing import LanguageData, ParsedDocument, Parser
from .participants import DEFAULT_INTERVIEWER_LABELS
from .rules import RuleHit, RuleMatcher, combine_hits
from .segmentation import _has_content, _trim
from .similarity import CALIBRATION, SimilarityModel

__all__ = ["CODING_COLUMNS", "CodingResult", "code_transcripts"]

KEYWORD_WEIGHT = 0.5
PATTERN_WEIGHT = 0.6
NEGATED_FACTOR = 0.4
CONTEXT_WEIGHT = 0.5  # weight of the neighbouring sentences' mean embedding
_END = object()

CODING_COLUMNS = ["document_id", "segment_id", "code_id", "theme_id", "score", "method",
                  "evidence", "rule_score", "similarity", "matched", "negated",
                  "nearest_exemplar", "status"]


@dataclass
class CodingResult:
    """Segments, suggested codings and the run record, as returned by :func:`code_transcripts`."""

    segments: object  # pandas.DataFrame
    codings: object  # pandas.DataFrame
    run: dict
    codebook: Codebook
    corpus: Corpus | None = field(default=None, repr=False)
    folder: Path | None = None

    def results(self):
        """The written results folder as :class:`~qualcode.results.Results`, for every analysis."""
        from .results import load_results

        if self.folder is None:
            raise ValueError("this run wrote no folder: call code_transcripts(..., out=DIR)")
        return load_results(self.folder)

    def summary(self):
        """Suggestions per theme and code: segments, documents, participants, mean score."""
        import pandas as pd

        codings = self.codings.merge(self.segments[["segment_id", "participant_id"]],
                                     on="segment_id", how="left")
        rows = []
        for code in self.codebook.codes:
            sub = codings[codings.code_id == code.id]
            rows.append({"theme_id": code.theme_id, "code_id": code.id, "label": code.label,
                         "segments": len(sub), "documents": sub.document_id.nunique(),
                         "participants": sub.participant_id.nunique(),
                         "mean_score": round(float(sub.score.mean()), 3) if len(sub) else None,
                         "rule": int((sub.method == "rule").sum()),
                         "embedding": int((sub.method == "embedding").sum()),
                         "hybrid": int((sub.method == "hybrid").sum())})
        return pd.DataFrame(rows)


def code_transcripts(
    paths: Iterable[str | Path],
    codebook: str | Path | Codebook,
    *,
    out: str | Path | None = None,
    participants: str | Path | None = None,
    interviewer_labels: Iterable[str] = DEFAULT_INTERVIEWER_LABELS,
    unit: str | None = None,
    similarity: str | None = None,
    threshold: float | None = None,
    context_window: int | None = None,
    cache_dir: str | Path | None = None,
    n_process: int = 0,
    progress: Callable[[str], None] | None = None,
) -> CodingResult:
    """Code every participant segment of the transcripts with ``codebook``.

    Options left as ``None`` come from the codebook's ``settings``.  With
    ``out``, writes ``segments.csv``, ``codings.csv``, ``run.json`` and a copy
    of the codebook (``codebook.yaml``) there atomically, and caches parses in
    ``out/.qualcode-cache`` (or ``cache_dir``).
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    if not isinstance(codebook, Codebook):
        codebook = load_codebook(codebook)
    settings = codebook.settings
    params = {
        "unit": unit or settings.unit,
        "similarity": similarity or settings.similarity,
        "threshold": settings.threshold if threshold is None else threshold,
        "context_window": settings.context_window if context_window is None else context_window,
        "accent_insensitive": settings.accent_insensitive,
    }
    params["calibration"] = list(CALIBRATION.get(params["similarity"], (0.0, 1.0)))
    if cache_dir is None and out is not None:
        cache_dir = Path(out) / ".qualcode-cache"
    parser = Parser(codebook.pipeline, cache_dir, n_process=n_process)
    texts = [*RuleMatcher.texts(codebook), *SimilarityModel.texts_for(codebook, params["similarity"])]
    if parser.has_parses():  # a re-run: what the codebook added is parsed while the corpus is read
        parser.prefetch_texts(texts)
    tick = time.perf_counter()
    paragraphs = load_corpus(paths, participants=participants, unit="paragraph",
                             interviewer_labels=interviewer_labels)
    if not paragraphs.segments:
        raise CorpusError("the transcripts contain no participant speech to code",
                          path=", ".join(str(p) for p in paths))
    timings["read"] = time.perf_counter() - tick

    by_doc = _paragraphs_by_document(paragraphs)
    items = [(d.text, d.sha256, [(s.start, s.end) for s in by_doc.get(d.document_id, [])])
             for d in paragraphs.documents]
    tick = time.perf_counter()
    language = _language_data(parser, items)
    model = SimilarityModel(codebook, language, params["similarity"])
    parses = _started(parser.parse_documents(items))  # the parser's workers start now
    parser.prefetch_texts(texts)  # unless started above or the pipeline is loaded
    rules = _Rules(codebook, language, parser, HitCache(cache_dir))
    timings["load_models"] = time.perf_counter() - tick

    tick = time.perf_counter()
    with _one_blas_thread():
        keys = [parser.document_key(sha, paragraphs) for _, sha, paragraphs in items]
        segments, codings = _parse_and_code(paragraphs.documents, keys, by_doc, parses, codebook,
                                            rules, model, params, progress)
    timings["parse_and_code"] = time.perf_counter() - tick

    corpus = Corpus(paragraphs.documents, tuple(segments), params["unit"],
                    paragraphs.attribute_names, paragraphs.participants_path)
    import pandas as pd

    segments_frame = corpus.segments_frame()
    segments_frame.insert(segments_frame.columns.get_loc("text"), "words",
                          [count_words(s.text) for s in segments])
    codings_frame = pd.DataFrame(codings, columns=CODING_COLUMNS)
    timings["total"] = time.perf_counter() - started
    run = _run_record(codebook, corpus, segments_frame, codings_frame, parser, params, timings)
    if out is not None:
        from .outputs import write_tables
        from .review import apply_decisions

        _record(out, run, codebook, segments_frame, codings_frame)
        # human decisions survive every re-run: codings.csv is the store's view of this run
        codings_frame = apply_decisions(out, write=False, segments=segments_frame,
                                        codebook=codebook, suggestions=codings_frame)
        write_tables(out, {"segments.csv": segments_frame, "codings.csv": codings_frame,
                           "codebook.yaml": codebook.source, "run.json": run})
    return CodingResult(segments_frame, codings_frame, run, codebook, corpus,
                        Path(out) if out is not None else None)


def _record(out, run, codebook, segments, codings) -> None:
    """Add the run's segments and suggestions to the project store of ``out``."""
    from .store import ProjectStore

    with ProjectStore(out) as store:
        store.record_run(run, codebook.source, segments, codings)


def _parse_and_code(documents, keys, by_doc, parses, codebook, rules, model, params,
                    progress) -> tuple[list[Segment], list[dict]]:
    """Segments and suggested codings of every document, given its parses in order.

    A document's similarity scores are computed at once, its codings as soon as ``rules``
    can complete its hits (see :class:`_Rules`): documents wait until then, in order.
    """
    if model.backend == "tfidf":  # TF-IDF is fitted on the whole corpus before scoring
        parsed_docs = list(parses)
        units = [_units(d, p, by_doc.get(d.document_id, []), params["unit"])
                 for d, p in zip(documents, parsed_docs, strict=True)]
        model.fit([_lemmas(p, i, j) for p, us in zip(parsed_docs, units, strict=True)
                   for _, i, j in us])
        stream = zip(documents, keys, parsed_docs, units, strict=True)
    else:
        model.fit()
        stream = ((d, k, p, _units(d, p, by_doc.get(d.document_id, []), params["unit"]))
                  for d, k, p in zip(documents, keys, parses, strict=True))
    segments: list[Segment] = []
    codings: list[dict] = []
    waiting: list[tuple] = []
    for document, key, parsed, doc_units in stream:
        segments.extend(s for s, _, _ in doc_units)
        ranges = [(i, j) for _, i, j in doc_units]
        waiting.append((document, key, parsed, doc_units, _similarity(parsed, doc_units, model, params),
                        rules.early(parsed, document.text, ranges, key)))
        if rules.ready():
            codings.extend(_decide_waiting(waiting, codebook, rules, model, params, progress))
    codings.extend(_decide_waiting(waiting, codebook, rules, model, params, progress))
    return segments, codings


def _decide_waiting(waiting: list[tuple], codebook, rules, model, params, progress) -> list[dict]:
    """Codings of the documents in ``waiting``, in order; empties it."""
    codings = []
    for document, key, parsed, doc_units, scores, early in waiting:
        ranges = [(i, j) for _, i, j in doc_units]
        hits = rules.complete(parsed, document.text, ranges, key, early)
        codings.extend(_decide(doc_units, codebook, hits, model, scores, params))
        if progress is not None:
            progress(document.document_id)
    waiting.clear()
    return codings


class _Rules:
    """The codebook's keywords and patterns, matched as soon as their parses are at hand.

    Each document's hits of unchanged rules come back from the rule-hit cache
    (:mod:`qualcode.hitcache`); the matchers run only for the rules it lacks, which after
    a codebook edit are the edited ones.  When the codebook has new keywords while every
    document is cached, the parser parses them in a background process
    (:meth:`Parser.prefetch_texts`).  Meanwhile documents get their similarity scores and
    every other hit (:meth:`early`), and wait; the new keywords' hits complete them once
    that process is done.  Hits are combined as one matcher for the whole codebook would
    find them (see :func:`~qualcode.rules.combine_hits`).
    """

    def __init__(self, codebook: Codebook, language: LanguageData, parser: Parser,
                 cache: HitCache) -> None:
        self.codebook, self.language, self.parser, self.cache = codebook, language, parser, cache
        texts = RuleMatcher.texts(codebook)
        self.new_keywords: list[str] = []
        if parser.prefetching():
            cached = parser.cached_texts(texts)
            self.new_keywords = [text for text in texts if text not in cached]
        self.signatures = rule_signatures(codebook)
        new = set(self.new_keywords)
        self.unparsed = {key for key in self.signatures  # keywords whose parse is on its way
                         if not key[1].startswith("pattern:") and key[1] in new}
        self._matchers: dict[frozenset, RuleMatcher] = {}

    def _matcher(self, keys: frozenset) -> RuleMatcher:
        """One compiled matcher per set of rules to match (usually one set for every document)."""
        if keys not in self._matchers:
            self._matchers[keys] = RuleMatcher(self.codebook, self.language, only=keys)
        return self._matchers[keys]

    def _match(self, keys: frozenset, parsed, text, ranges, entry, found: list) -> None:
        matcher = self._matcher(keys)
        hits = (matcher.keyword_hits(parsed, text, ranges), matcher.pattern_hits(parsed, text, ranges))
        record_hits(entry, {k: self.signatures[k] for k in keys}, *hits)
        found.extend(hits)

    def early(self, parsed: ParsedDocument, text: str, ranges, key: str) -> tuple[list, dict, bool]:
        """Cached hits, and the hits of every other rule whose parse is at hand."""
        entry = self.cache.load(key, ranges)
        cached = {k: s for k, s in self.signatures.items() if s in entry}
        found = list(restore_hits(entry, cached, len(ranges)))
        todo = frozenset(k for k in self.signatures if k not in cached and k not in self.unparsed)
        if todo:
            self._match(todo, parsed, text, ranges, entry, found)
        return found, entry, bool(todo)

    def ready(self) -> bool:
        """Whether :meth:`complete` can run without waiting for the background parse."""
        return not self.unparsed or not self.parser.prefetching()

    def complete(self, parsed: ParsedDocument, text: str, ranges, key: str,
                 early) -> list[list[RuleHit]]:
        """Every hit of each segment, as :meth:`RuleMatcher.match_units` finds them."""
        found, entry, changed = early
        todo = frozenset(k for k in self.unparsed if self.signatures[k] not in entry)
        if todo:
            self._match(todo, parsed, text, ranges, entry, found)
        if changed or todo:
            current = set(self.signatures.values())
            self.cache.store(key, ranges, {s: v for s, v in entry.items() if s in current})
        return combine_hits(*found)


def _started(iterator: Iterator) -> Iterator:
    """``iterator`` with its first item already taken.

    Taking the first parse starts the parser's worker processes, so that documents are
    parsed while this process compiles the codebook's keywords, patterns and exemplars.
    """
    first = next(iterator, _END)
    return iter(()) if first is _END else itertools.chain([first], iterator)


def _one_blas_thread():
    """A context in which numpy's BLAS uses one thread.

    Coding multiplies small matrices, one document at a time: waking BLAS threads for
    each costs far more than it saves (scoring ran ten times slower on two cores), and
    they would compete with the parser's worker processes.
    """
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _language_data(parser: Parser, items) -> LanguageData:
    """What coding needs of the pipeline; loaded now only if some document must be parsed.

    Documents to parse need the pipeline anyway (loaded before the parser's workers fork,
    so they share it).  When every document is cached, keywords, exemplars, vectors and the
    vocabulary for token patterns come from the cache and the package files instead.
    """
    if not parser.all_cached(items):
        parser.nlp  # noqa: B018
    return parser.language_data()


def _paragraphs_by_document(corpus: Corpus) -> dict[str, list[Segment]]:
    result: dict[str, list[Segment]] = {}
    for segment in corpus.segments:
        result.setdefault(segment.document_id, []).append(segment)
    return result


def _lemmas(parsed: ParsedDocument, i: int, j: int) -> list[str]:
    lemma, content = parsed.lemma, parsed.content
    return [lemma[k] for k in range(i, j) if content[k]]


def _units(document, parsed: ParsedDocument, paragraphs: Sequence[Segment],
           unit: str) -> list[tuple[Segment, int, int]]:
    """Segments of the coding unit with their token ranges, numbered within each turn."""
    spans: list[tuple[Segment, int, int]] = []  # (paragraph it belongs to, start, end)
    if unit == "sentence":
        spans = _sentence_spans(document.text, parsed, paragraphs)
    elif unit == "paragraph":
        spans = [(p, p.start, p.end) for p in paragraphs]
    else:  # turn: from the first to the last paragraph of the turn
        for p in paragraphs:
            if spans and spans[-1][0].turn_index == p.turn_index:
                spans[-1] = (spans[-1][0], spans[-1][1], p.end)
            else:
                spans.append((p, p.start, p.end))
    first, last = parsed.token_ranges([s for _, s, _ in spans], [e for _, _, e in spans])
    result = []
    counter: dict[int, int] = {}
    text = document.text
    for (paragraph, start, end), i, j in zip(spans, first.tolist(), last.tolist(), strict=True):
        k = counter[paragraph.turn_index] = counter.get(paragraph.turn_index, 0) + 1
        segment = Segment(paragraph.document_id, f"{paragraph.document_id}#{paragraph.turn_index}.{k}",
                          paragraph.turn_index, paragraph.speaker, paragraph.participant_id,
                          start, end, text[start:end], paragraph.question, paragraph.attributes)
        result.append((segment, i, j))
    return result


def _sentence_spans(text: str, parsed: ParsedDocument,
                    paragraphs: Sequence[Segment]) -> list[tuple[Segment, int, int]]:
    """The parse's sentences as (paragraph, start, end), trimmed, without empty ones."""
    by_start = {p.start: p for p in paragraphs}
    opens = parsed.sentence_starts()
    if not opens.size:
        return []
    n = len(parsed)
    closes = np.append(opens[1:], n) - 1
    starts, ends = parsed.start[opens], parsed.end[closes]
    first, _ = parsed.token_ranges(starts, ends)
    para_of_token = parsed.paragraph
    spans = []
    for start, end, i in zip(starts.tolist(), ends.tolist(), first.tolist(), strict=True):
        if i >= n:
            continue
        paragraph = paragraphs[int(para_of_token[i])]
        s, e = _trim(text, start, end)
        if e > s and _has_content(text[s:e]):
            spans.append((by_start.get(paragraph.start, paragraph), s, e))
    return spans


def _context_embeddings(embeddings, units, window: int):
    """Blend each segment's embedding with its neighbours' in the same turn.

    Same arithmetic as averaging each segment's neighbours one by one: neighbours are summed
    in order from the first one (float32), then divided by their number.
    """
    if window <= 0 or len(units) < 2:
        return embeddings
    dense = embeddings.toarray() if hasattr(embeddings, "toarray") else np.asarray(embeddings)
    turns = np.array([u[0].turn_index for u in units])
    n = len(units)
    total = np.zeros_like(dense)
    count = np.zeros(n, dtype=np.int64)
    for offset in (*range(-window, 0), *range(1, window + 1)):
        k = np.arange(max(0, -offset), min(n, n - offset))  # segments whose neighbour k+offset exists
        k = k[turns[k + offset] == turns[k]]
        first = count[k] == 0
        total[k[first]] = dense[k[first] + offset]
        total[k[~first]] += dense[k[~first] + offset]
        count[k] += 1
    blended = dense.copy()
    has = count > 0
    blended[has] = dense[has] + CONTEXT_WEIGHT * (total[has] / count[has, None].astype(dense.dtype))
    norms = np.linalg.norm(blended, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return blended / norms


def _rule_score(hits: Sequence[RuleHit]) -> float:
    remaining = 1.0
    for hit in hits:
        weight = PATTERN_WEIGHT if hit.kind == "pattern" else KEYWORD_WEIGHT
        if hit.negation:
            weight *= NEGATED_FACTOR
        remaining *= 1.0 - weight
    return 1.0 - remaining


def _code_document(text, parsed, units, codebook, matcher, model, params) -> list[dict]:
    hits = matcher.match_units(parsed, text, [(i, j) for _, i, j in units]) if units else []
    return _decide(units, codebook, hits, model, _similarity(parsed, units, model, params), params)


def _similarity(parsed, units, model, params):
    """Similarity, cosine and nearest exemplar of each segment (rows) to each code."""
    if not units:
        return None
    embeddings = model.embed_segments(parsed, [(i, j) for _, i, j in units],
                                      [s.text for s, _, _ in units])
    if model.backend != "none":
        embeddings = _context_embeddings(embeddings, units, params["context_window"])
    return model.score(embeddings)


def _decide(units, codebook, hits_per_unit, model, scores, params) -> list[dict]:
    """The suggested codings of a document: its rule hits combined with its similarity scores."""
    if not units:
        return []
    similarity, cosine, nearest = scores
    codes = codebook.codes
    code_index = {c.id: k for k, c in enumerate(codes)}
    rule = np.zeros(similarity.shape)
    grouped: dict[tuple[int, int], list[RuleHit]] = {}
    for u, hits in enumerate(hits_per_unit):
        for hit in hits:
            grouped.setdefault((u, code_index[hit.code_id]), []).append(hit)
    for (u, k), hits in grouped.items():
        rule[u, k] = _rule_score(hits)
    rule = np.round(rule, 4)
    sim = np.round(similarity, 4)
    score = np.round(1.0 - (1.0 - rule) * (1.0 - sim), 4)
    limits = np.array([c.threshold if c.threshold is not None else params["threshold"] for c in codes])
    rows = []
    for u, k in zip(*np.nonzero((score >= limits) & (score > 0)), strict=True):
        segment, code = units[u][0], codes[k]
        hits = grouped.get((u, k), [])
        s_uk = float(sim[u, k])
        method = "hybrid" if hits and s_uk > 0 else "rule" if hits else "embedding"
        exemplar = model.exemplars.texts[nearest[u, k]] if nearest[u, k] >= 0 else ""
        rows.append({
            "document_id": segment.document_id, "segment_id": segment.segment_id,
            "code_id": code.id, "theme_id": code.theme_id, "score": float(score[u, k]),
            "method": method, "evidence": _evidence(hits, exemplar, float(cosine[u, k]), s_uk),
            "rule_score": float(rule[u, k]), "similarity": s_uk,
            "matched": "; ".join(_hit_label(h) for h in hits),
            "negated": any(h.negation for h in hits),
            "nearest_exemplar": exemplar if s_uk > 0 else "",
            "status": "suggested",
        })
    return rows


def _hit_label(hit: RuleHit) -> str:
    return f"pattern {hit.rule}" if hit.kind == "pattern" else hit.rule


def _evidence(hits: Sequence[RuleHit], exemplar: str, cosine: float, sim: float) -> str:
    parts = []
    for hit in hits:
        what = f"pattern {hit.rule} matched «{hit.matched}»" if hit.kind == "pattern" \
            else f"keyword «{hit.rule}» matched «{hit.matched}»"
        if hit.negation:
            what += f" (negated by «{hit.negation}»)"
        parts.append(what)
    if sim > 0 and exemplar:
        short = exemplar if len(exemplar) <= 90 else exemplar[:87] + "…"
        parts.append(f"nearest exemplar «{short}» (cosine {cosine:.2f})")
    return "; ".join(parts)


def _run_record(codebook, corpus, segments, codings, parser, params, timings) -> dict:
    import datetime
    import hashlib
    import sys

    words = int(segments.words.sum()) if len(segments) else 0
    participants_sha = None
    if corpus.participants_path:
        participants_sha = hashlib.sha256(Path(corpus.participants_path).read_bytes()).hexdigest()
    return {
        "tool": {"name": "qualcode", "version": __version__, "python": sys.version.split()[0],
                 "platform": platform.platform()},
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "codebook": {"path": codebook.path, "name": codebook.name, "version": codebook.version,
                     "language": codebook.language, "sha256": codebook.sha256},
        "parameters": params,
        "parser": parser.fingerprint(),
        "corpus": {
            "participants_file": corpus.participants_path, "participants_sha256": participants_sha,
            "documents": [{"document_id": d.document_id, "file": Path(d.path).name,
                           "sha256": d.sha256, "format": d.format} for d in corpus.documents],
        },
        "counts": {"documents": len(corpus.documents), "segments": len(segments),
                   "words": words, "codings": len(codings),
                   "coded_segments": int(codings.segment_id.nunique()) if len(codings) else 0},
        "cache": dict(parser.stats),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "words_per_second": round(words / timings["total"]) if timings.get("total") else None,
    }
