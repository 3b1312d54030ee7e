"""Rule evidence: codebook keywords and token patterns found in a segment, with negation.

Keywords are parsed with the same pipeline as the transcripts and matched on
lemmas (accent-insensitive when the codebook asks) and on lower-cased surface
forms, so "former les équipes" also finds "on a formé l'équipe".  Token
patterns are spaCy ``Matcher`` patterns.  A negation cue in the same clause
(``ne … pas``, ``aucun``, ``sans``, ``jamais``, ``not``, ``no``…) does not drop
the hit: it is recorded and weakens the evidence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .codebook import Codebook
from .parsing import ParsedDocument, fold

__all__ = ["NEGATION_CUES", "RuleHit", "RuleMatcher"]

_LITERAL_ATTRS = ("LEMMA", "LOWER", "ORTH", "TEXT", "NORM")

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
    nlp : spaCy Language
        The pipeline that parsed the transcripts (needed to lemmatise keywords).
    """

    def __init__(self, codebook: Codebook, nlp) -> None:
        self.codebook = codebook
        self.nlp = nlp
        self.accents = not codebook.settings.accent_insensitive
        self.lemma_index_: dict[tuple[str, ...], list[tuple[str, str]]] = defaultdict(list)
        self.lower_index_: dict[tuple[str, ...], list[tuple[str, str]]] = defaultdict(list)
        self.lengths_: list[int] = []
        self.matcher_ = None
        self._compile()

    def _compile(self) -> None:
        entries = [(code.id, kw) for code in self.codebook.codes for kw in code.keywords]
        docs = self.nlp.pipe([kw for _, kw in entries], batch_size=256)
        for (code_id, keyword), doc in zip(entries, docs, strict=True):
            tokens = [t for t in doc if not t.is_space]
            lemmas = tuple(self._fold(t.lemma_ or t.lower_) for t in tokens)
            lowers = tuple(self._fold(t.lower_) for t in tokens)
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
        patterns = [(code.id, p) for code in self.codebook.codes for p in code.patterns]
        if patterns:
            from spacy.matcher import Matcher

            self.matcher_ = Matcher(self.nlp.vocab, validate=True)
            self.pattern_codes_ = {}
            self.pattern_anchors_ = []
            for code_id, pattern in patterns:
                key = f"{code_id}::{pattern.id}"
                self.matcher_.add(key, [list(pattern.pattern)])
                self.pattern_codes_[key] = (code_id, pattern.id)
                self.pattern_anchors_.append(_anchors(pattern.pattern))

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
        n_tokens = len(parsed.lemma)
        unit_of = np.full(n_tokens + 1, -1, dtype=np.int64)
        for u, (i, j) in enumerate(ranges):
            unit_of[i:j] = u
        # The parse stores lemmas without accents and surface forms with them; fold as asked.
        if self.accents:
            lemmas, lowers = [fold(x, True) for x in parsed.lemma_raw], parsed.lower
        else:
            lemmas, lowers = parsed.lemma, [fold(x) for x in parsed.lower]
        found: list[dict[tuple[str, str], RuleHit]] = [{} for _ in ranges]
        starts = self.starts_
        for which, words, index in ((0, lemmas, self.lemma_index_), (1, lowers, self.lower_index_)):
            for k, word in enumerate(words):
                lengths = starts.get((which, word))
                if not lengths or unit_of[k] < 0:
                    continue
                u = int(unit_of[k])
                for n in lengths:
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
        if self.matcher_ is not None:
            for u, (i, j) in enumerate(ranges):
                if self._patterns_possible(parsed, i, j):
                    for hit in self._pattern_hits(parsed, text, i, j):
                        found[u].setdefault((hit.code_id, "pattern:" + hit.rule), hit)
        return [sorted(f.values(), key=lambda h: (h.start, h.code_id, h.rule)) for f in found]

    def _patterns_possible(self, parsed: ParsedDocument, i: int, j: int) -> bool:
        """Whether some pattern's required words all occur in the segment (else skip the Matcher)."""
        present = {w.lower() for w in parsed.lemma_raw[i:j]} | set(parsed.lower[i:j])
        return any(all(options & present for options in anchors)
                   for anchors in self.pattern_anchors_)

    def _pattern_hits(self, parsed: ParsedDocument, text: str, i: int, j: int) -> list[RuleHit]:
        from spacy.tokens import Doc

        if j <= i:
            return []
        doc = Doc(self.nlp.vocab, words=parsed.orth[i:j], lemmas=parsed.lemma_raw[i:j],
                  pos=[p or "X" for p in parsed.pos[i:j]])
        hits = []
        for match_id, s, e in self.matcher_(doc):
            code_id, pattern_id = self.pattern_codes_[self.nlp.vocab.strings[match_id]]
            start, end = int(parsed.start[i + s]), int(parsed.end[i + e - 1])
            hits.append(RuleHit(code_id, "pattern", pattern_id, text[start:end], start, end,
                                self._negation(parsed, i, j, i + s, i + e)))
        return hits

    @staticmethod
    def _negation(parsed: ParsedDocument, i: int, j: int, s: int, e: int) -> str | None:
        """The first negation cue in the clause around tokens ``[s, e)``, if any."""
        left = s
        while left > i and parsed.lower[left - 1] not in _CLAUSE_BREAKS:
            left -= 1
        right = e
        while right < j and parsed.lower[right] not in _CLAUSE_BREAKS:
            right += 1
        words = [parsed.lower[k] for k in range(left, right) if not s <= k < e]
        has_ne = any(w in _NE for w in words)
        for position, word in enumerate(words):
            following = words[position + 1] if position + 1 < len(words) else ""
            if word == "sans" and following == "doute":  # "sans doute" means "probably"
                continue
            if word in NEGATION_CUES or (has_ne and word in _WEAK_CUES):
                return word
        return None


def _anchors(pattern) -> list[set[str]]:
    """For each required token of a pattern with literal words, the lower-cased words it accepts.

    A segment lacking every accepted word of one required token cannot match, so the
    (slow) Matcher need not run on it.  Optional tokens and non-literal tests add nothing.
    """
    anchors = []
    for token in pattern:
        if token.get("OP") in ("?", "*", "!"):
            continue
        for attr in _LITERAL_ATTRS:
            value = token.get(attr)
            if isinstance(value, str):
                anchors.append({value.lower()})
                break
            if isinstance(value, dict) and isinstance(value.get("IN"), list):
                anchors.append({str(v).lower() for v in value["IN"]})
                break
    return anchors
