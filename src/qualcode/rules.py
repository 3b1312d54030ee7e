"""Rule evidence: codebook keywords and token patterns found in a segment, with negation.

Keywords are parsed with the same pipeline as the transcripts and matched on
lemmas (accent-insensitive when the codebook asks) and on lower-cased surface
forms, so "former les équipes" also finds "on a formé l'équipe".  The keyword
index finds exactly what spaCy's ``PhraseMatcher`` on ``LEMMA`` and on ``NORM``
would find with those folded forms (a test checks it on the bundled interviews),
but scans the cached token arrays instead of rebuilding ``Doc`` objects.  Token
patterns are spaCy ``Matcher`` patterns.  A negation cue in the same clause
(``ne … pas``, ``aucun``, ``sans``, ``jamais``, ``not``, ``no``…) does not drop
the hit: it is recorded and weakens the evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from .codebook import Codebook
from .parsing import LanguageData, ParsedDocument, fold

__all__ = ["NEGATION_CUES", "RuleHit", "RuleMatcher", "combine_hits", "pattern_anchors_exact"]

_LITERAL_ATTRS = ("LEMMA", "LOWER", "ORTH", "TEXT", "NORM")
_REQUIRED_OPS = (None, "1", "+")  # operators under which a pattern token must occur

NEGATION_CUES = frozenset({
    "pas", "aucun", "aucune", "sans", "jamais", "rien", "ni", "nul", "nulle", "guere",
    "not", "no", "never", "without", "n't", "none", "nothing", "nor", "neither",
})
_WEAK_CUES = frozenset({"plus", "personne"})  # negations only together with "ne"
_NE = frozenset({"ne", "n'", "n"})
_CLAUSE_BREAKS = frozenset({",", ";", ":", ".", "?", "!", "…", "—", "–", "(", ")", "mais", "et", "ou",
                            "donc", "car", "puis", "parce", "but", "and", "or", "because"})


@dataclass(frozen=True)
class RuleHit:
    """One keyword or pattern match in a segment."""

    code_id: str
    kind: str  # "keyword" or "pattern"
    rule: str  # the keyword as written in the codebook, or the pattern id
    matched: str  # the words of the segment that matched
    start: int
    end: int
    negation: str | None = None  # the negation cue found in the same clause


class RuleMatcher:
    """Compiled keywords and patterns of a codebook.

    Parameters
    ----------
    codebook : Codebook
    nlp : spaCy Language or :class:`~qualcode.parsing.LanguageData`
        The pipeline that parsed the transcripts (needed to lemmatise keywords), or what
        a :class:`~qualcode.parsing.Parser` serves of it from its cache.
    """

    def __init__(self, codebook: Codebook, nlp, *, keywords: Collection[str] | None = None,
                 patterns: bool = True, only: Collection[tuple[str, str]] | None = None) -> None:
        self.codebook = codebook
        self.data = LanguageData.of(nlp)
        self.accents = not codebook.settings.accent_insensitive
        self.keywords = keywords  # only these of the codebook's keywords (None: all)
        self.patterns = patterns  # whether to compile its token patterns
        # only these rules: (code_id, keyword) and (code_id, "pattern:" + pattern id); None: all
        self.only = None if only is None else frozenset(only)
        self.lemma_index_: dict[tuple[str, ...], list[tuple[str, str]]] = defaultdict(list)
        self.lower_index_: dict[tuple[str, ...], list[tuple[str, str]]] = defaultdict(list)
        self.lengths_: list[int] = []
        self.matchers_: dict[str, object] = {}
        self._known_words_: dict[str, dict[str, int]] = {}  # per token field: string → word id
        self._compile()

    @staticmethod
    def texts(codebook: Codebook) -> list[str]:
        """The texts a matcher for ``codebook`` parses: its keywords."""
        return [kw for code in codebook.codes for kw in code.keywords]

    def _compile(self) -> None:
        entries = [(code.id, kw) for code in self.codebook.codes for kw in code.keywords
                   if (self.keywords is None or kw in self.keywords)
                   and (self.only is None or (code.id, kw) in self.only)]
        parses = self.data.parse_texts([kw for _, kw in entries])
        for (code_id, keyword), parsed in zip(entries, parses, strict=True):
            lemmas = tuple(self._fold(w) for w in parsed.lemma_raw)  # token.lemma_ or token.lower_
            lowers = tuple(self._fold(parsed.lexeme(w)["lower"]) for w in parsed.orth)
            if not lemmas:
                continue
            for index, seq in ((self.lemma_index_, lemmas), (self.lower_index_, lowers)):
                if (code_id, keyword) not in index[seq]:
                    index[seq].append((code_id, keyword))
        # First word → phrase lengths starting with it: most words start no phrase at all.
        self.starts_: dict[tuple[int, str], set[int]] = defaultdict(set)
        for which, index in enumerate((self.lemma_index_, self.lower_index_)):
            for seq in index:
                self.starts_[(which, seq[0])].add(len(seq))
        self.lengths_ = sorted({len(seq) for seq in self.lemma_index_})
        self._compile_ids()
        self._compile_patterns()

    def _compile_ids(self) -> None:
        """The keyword index over integer word ids, so documents are scanned with arrays."""
        self.word_ids_: dict[str, int] = {}
        for index in (self.lemma_index_, self.lower_index_):
            for seq in index:
                for word in seq:
                    self.word_ids_.setdefault(word, len(self.word_ids_))
        ids = self.word_ids_
        self.id_index_ = [{tuple(ids[w] for w in seq): hits for seq, hits in index.items()}
                          for index in (self.lemma_index_, self.lower_index_)]
        # Lengths in the order the sets iterate: the scan order of the string-keyed version.
        self.id_starts_ = [{} for _ in range(2)]
        self.start_masks_ = [np.zeros(len(ids) + 1, dtype=np.bool_) for _ in range(2)]
        for (which, word), lengths in self.starts_.items():
            self.id_starts_[which][ids[word]] = list(lengths)
            self.start_masks_[which][ids[word]] = True  # the extra last slot stands for "no id"

    def _compile_patterns(self) -> None:
        """One Matcher per pattern key, and the words each pattern requires.

        A segment runs the Matcher only when it holds every required word of some pattern
        (its anchors); then only the patterns that can match there run.
        """
        patterns = [(code.id, p) for code in self.codebook.codes for p in code.patterns
                    if self.patterns and (self.only is None or (code.id, "pattern:" + p.id) in self.only)]
        self.pattern_codes_: dict[str, tuple[str, str]] = {}
        self.pattern_anchors_: list[list[set[str]]] = []
        self.pattern_keys_: list[str] = []  # pattern → its key (a Matcher)
        self.pattern_exact_: list[bool] = []  # its anchors are words every match contains
        if not patterns:
            return
        from spacy.matcher import Matcher

        for code_id, pattern in patterns:
            key = f"{code_id}::{pattern.id}"
            if key not in self.matchers_:
                self.matchers_[key] = Matcher(self.data.vocab, validate=True)
            self.matchers_[key].add(key, [list(pattern.pattern)])
            self.pattern_codes_[key] = (code_id, pattern.id)
            self.pattern_keys_.append(key)
            self.pattern_anchors_.append(_anchors(pattern.pattern))
            self.pattern_exact_.append(pattern_anchors_exact(pattern.pattern))
        self.anchor_words_: dict[str, list[int]] = defaultdict(list)  # word → anchor sets
        self.pattern_anchor_ids_: list[np.ndarray] = []
        count = 0
        for anchors in self.pattern_anchors_:
            self.pattern_anchor_ids_.append(np.arange(count, count + len(anchors)))
            for options in anchors:
                for word in options:
                    self.anchor_words_[word].append(count)
                count += 1
        self.anchor_count_ = count

    def _fold(self, text: str) -> str:
        return fold(text, accents=self.accents)

    def match(self, parsed: ParsedDocument, text: str, i: int, j: int) -> list[RuleHit]:
        """Hits in tokens ``[i, j)`` of ``parsed`` (one segment); ``text`` is the document text."""
        return self.match_units(parsed, text, [(i, j)])[0]

    def match_units(self, parsed: ParsedDocument, text: str,
                    ranges: list[tuple[int, int]]) -> list[list[RuleHit]]:
        """Hits for each segment given as a token range ``[i, j)``; a hit never crosses segments.

        Keywords are looked up in one pass over the document, starting only at words
        that begin some keyword; the Matcher runs only on segments that contain every
        required word of at least one pattern.
        """
        return combine_hits(self.keyword_hits(parsed, text, ranges),
                            self.pattern_hits(parsed, text, ranges))

    def keyword_hits(self, parsed: ParsedDocument, text: str,
                     ranges: list[tuple[int, int]]) -> list[dict[tuple[str, str], RuleHit]]:
        """For each segment, the first hit of each (code, keyword) found in it."""
        n_tokens = len(parsed)
        unit_of = np.full(n_tokens + 1, -1, dtype=np.int64)
        for u, (i, j) in enumerate(ranges):
            unit_of[i:j] = u
        found: list[dict[tuple[str, str], RuleHit]] = [{} for _ in ranges]
        if not self.word_ids_:
            return found
        # The parse stores lemmas without accents and surface forms with them; fold as asked.
        if self.accents:
            sides = (("lemma_raw", self._fold), ("lower", None))
        else:
            sides = (("lemma", None), ("lower", self._fold))
        for which, (field, folder) in enumerate(sides):
            words = self._word_ids(parsed, field, folder)
            candidates = np.flatnonzero(self.start_masks_[which][words] & (unit_of[:n_tokens] >= 0))
            if candidates.size:
                self._keyword_hits(parsed, text, ranges, unit_of.tolist(), words.tolist(), which,
                                   candidates.tolist(), found)
        return found

    def pattern_hits(self, parsed: ParsedDocument, text: str,
                     ranges: list[tuple[int, int]]) -> list[dict[tuple[str, str], RuleHit]]:
        """For each segment, the first hit of each (code, pattern) found in it."""
        found: list[dict[tuple[str, str], RuleHit]] = [{} for _ in ranges]
        if self.matchers_:
            self._all_pattern_hits(parsed, text, ranges, found)
        return found

    def _word_ids(self, parsed: ParsedDocument, field: str, folder) -> np.ndarray:
        """Each token's word id in the keyword index (the last id, "none", if in no keyword).

        Work is per distinct string of the document, remembered across documents.
        """
        strings, ids = parsed.strings, parsed.ids[field]
        none = len(self.word_ids_)
        known = self._known_words_.setdefault(field, {})
        present = np.unique(ids)
        values = []
        for k in present.tolist():
            text = strings[k]
            value = known.get(text)
            if value is None:
                value = known[text] = self.word_ids_.get(text if folder is None else folder(text), none)
            values.append(value)
        table = np.full(len(strings), none, dtype=np.int64)
        table[present] = values
        return table[ids]

    def _keyword_hits(self, parsed, text, ranges, unit_of, words, which, candidates, found) -> None:
        n_tokens = len(words)
        index, starts = self.id_index_[which], self.id_starts_[which]
        for k in candidates:
            u = unit_of[k]
            for n in starts[words[k]]:
                if k + n > n_tokens or unit_of[k + n - 1] != u:
                    continue
                for code_id, keyword in index.get(tuple(words[k:k + n]), ()):
                    if (code_id, keyword) in found[u]:
                        continue
                    i, j = ranges[u]
                    start, end = int(parsed.start[k]), int(parsed.end[k + n - 1])
                    found[u][(code_id, keyword)] = RuleHit(
                        code_id, "keyword", keyword, text[start:end], start, end,
                        self._negation(parsed, i, j, k, k + n))

    def _all_pattern_hits(self, parsed, text, ranges, found) -> None:
        """Pattern hits where some pattern can match, each running only where it can.

        A pattern's own Matcher finds its matches in the same order as one Matcher for
        every pattern does (states of different patterns never interact), so running
        fewer patterns on a segment changes nothing but the time it takes.
        """
        possible = self._patterns_possible(parsed, ranges)  # segments × patterns
        if not possible.size:
            return
        wanted = possible.any(axis=1)
        exact = np.array(self.pattern_exact_, dtype=np.bool_)
        # A pattern whose anchors are not sure to occur in its matches runs wherever any runs.
        runs = (possible | ~exact) & wanted[:, None]
        for u in np.flatnonzero(wanted).tolist():
            keys = list(dict.fromkeys(self.pattern_keys_[p] for p in np.flatnonzero(runs[u]).tolist()))
            i, j = ranges[u]
            for hit in self._pattern_hits(parsed, text, i, j, keys):
                found[u].setdefault((hit.code_id, "pattern:" + hit.rule), hit)

    def _patterns_possible(self, parsed: ParsedDocument, ranges) -> np.ndarray:
        """Whether each segment holds every required word of each pattern (else skip the Matcher).

        The words tested are the lower-cased lemmas and the (folded) surface forms.  Only
        tokens that are some anchor's word are counted, then found by position per segment.
        """
        count = self.anchor_count_
        strings = parsed.strings
        fields = []
        for field, lowered in (("lemma_raw", True), ("lower", False)):
            ids = parsed.ids[field]
            per_string = np.zeros((len(strings), count), dtype=np.bool_)
            for k in np.unique(ids).tolist():
                anchors = self.anchor_words_.get(strings[k].lower() if lowered else strings[k])
                if anchors:
                    per_string[k, anchors] = True
            fields.append((ids, per_string))
        tokens = np.flatnonzero(np.logical_or.reduce([table.any(axis=1)[ids] for ids, table in fields]))
        present = np.logical_or.reduce([table[ids[tokens]] for ids, table in fields])
        seen = np.zeros((tokens.size + 1, count), dtype=np.int32)
        np.cumsum(present, axis=0, dtype=np.int32, out=seen[1:])
        bounds = np.array(ranges, dtype=np.int64).reshape(-1, 2)
        first, last = np.searchsorted(tokens, bounds[:, 0]), np.searchsorted(tokens, bounds[:, 1])
        inside = (seen[last] - seen[first]) > 0  # segments × anchor sets
        possible = np.empty((len(ranges), len(self.pattern_anchor_ids_)), dtype=np.bool_)
        for p, anchors in enumerate(self.pattern_anchor_ids_):
            possible[:, p] = inside[:, anchors].all(axis=1)
        return possible

    def _pattern_hits(self, parsed: ParsedDocument, text: str, i: int, j: int,
                      keys) -> list[RuleHit]:
        if j <= i:
            return []
        doc = self.data.doc(parsed, i, j)
        hits = []
        for key in keys:
            code_id, pattern_id = self.pattern_codes_[key]
            for _match_id, s, e in self.matchers_[key](doc):
                start, end = int(parsed.start[i + s]), int(parsed.end[i + e - 1])
                hits.append(RuleHit(code_id, "pattern", pattern_id, text[start:end], start, end,
                                    self._negation(parsed, i, j, i + s, i + e)))
        return hits

    @staticmethod
    def _negation(parsed: ParsedDocument, i: int, j: int, s: int, e: int) -> str | None:
        """The first negation cue in the clause around tokens ``[s, e)``, if any."""
        lower = parsed.lower
        left = s
        while left > i and lower[left - 1] not in _CLAUSE_BREAKS:
            left -= 1
        right = e
        while right < j and lower[right] not in _CLAUSE_BREAKS:
            right += 1
        words = [lower[k] for k in range(left, right) if not s <= k < e]
        has_ne = any(w in _NE for w in words)
        for position, word in enumerate(words):
            following = words[position + 1] if position + 1 < len(words) else ""
            if word == "sans" and following == "doute":  # "sans doute" means "probably"
                continue
            if word in NEGATION_CUES or (has_ne and word in _WEAK_CUES):
                return word
        return None


def combine_hits(*found: list[dict[tuple[str, str], RuleHit]]) -> list[list[RuleHit]]:
    """Per segment, the hits of several :meth:`RuleMatcher.keyword_hits` / ``pattern_hits``
    results, the first of a key kept, in the order of their position (then code, rule, kind)."""
    result = []
    for parts in zip(*found, strict=True):
        merged: dict[tuple[str, str], RuleHit] = {}
        for part in parts:
            for key, hit in part.items():
                merged.setdefault(key, hit)
        result.append(sorted(merged.values(), key=lambda h: (h.start, h.code_id, h.rule, h.kind)))
    return result


def _literal(token: dict) -> tuple[str, object] | None:
    """The first literal test of a pattern token (attribute, value), in _LITERAL_ATTRS order."""
    for attr in _LITERAL_ATTRS:
        value = token.get(attr)
        if isinstance(value, str):
            return attr, value
        if isinstance(value, dict) and isinstance(value.get("IN"), list):
            return attr, value
    return None


def _anchors(pattern) -> list[set[str]]:
    """For each required token of a pattern with literal words, the lower-cased words it accepts.

    A segment lacking every accepted word of one required token cannot match, so the
    (slow) Matcher need not run on it.  Optional tokens and non-literal tests add nothing.
    """
    return [{value.lower()} if isinstance(value, str) else {str(v).lower() for v in value["IN"]}
            for _token, _attr, value in _anchored_tokens(pattern)]


def _anchored_tokens(pattern):
    """The pattern's tokens that must occur and test a literal word: (token, attribute, value)."""
    for token in pattern:
        if token.get("OP") in ("?", "*", "!"):
            continue
        literal = _literal(token)
        if literal is not None:
            yield token, *literal


def pattern_anchors_exact(pattern) -> bool:
    """Whether every anchor of ``pattern`` is sure to be among the words of each of its matches.

    True when each anchored token must occur (no operator, ``1`` or ``+``, however the key
    is spelt) and tests LEMMA, or LOWER with words free of ’ (the parse keeps surface forms
    with ’ turned into ', the lemmas as they are).  Otherwise the pattern is run wherever
    any pattern's anchors occur, as the Matcher always was, so hits never depend on this.
    """
    for token, attr, value in _anchored_tokens(pattern):
        operators = [v for k, v in token.items() if isinstance(k, str) and k.upper() == "OP"]
        words = [value] if isinstance(value, str) else value["IN"]
        if any(op not in _REQUIRED_OPS for op in operators) or len(operators) > 1 \
                or attr not in ("LEMMA", "LOWER") or not all(isinstance(w, str) for w in words) \
                or (attr == "LOWER" and any("’" in w for w in words)):
            return False
    return True
