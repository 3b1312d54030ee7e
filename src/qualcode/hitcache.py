"""Rule hits remembered per document, so that re-coding after a codebook edit matches only what changed.

The hits of one keyword or token pattern in a document depend on the document's
parse, its coding units (token ranges), the rule itself and how matching works;
nothing else in the codebook.  Each document's hits are kept in the parse cache
folder, next to its parse, under the parse's cache key and a digest of the units,
as one list per rule **signature** (:func:`rule_signatures`).  A re-run with an
edited codebook reads the hits of unchanged rules back and runs the matchers only
for new or edited ones; the result is the same as matching everything again.

Entries are checksummed msgpack files like parse entries; a damaged one is
reported, ignored and rewritten.  :data:`HITS_FORMAT` is part of every signature:
it changes whenever matching or negation detection does, so old hits are never
reused by a different matcher.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np

from . import __version__
from .codebook import Codebook
from .errors import QualcodeWarning
from .parsing import read_entry, write_entry
from .rules import RuleHit, pattern_anchors_exact

__all__ = ["HITS_FORMAT", "HitCache", "record_hits", "restore_hits", "rule_signatures"]

HITS_FORMAT = 1
_SUFFIX = ".qchits"

RuleKey = tuple[str, str]  # (code_id, keyword) or (code_id, "pattern:" + pattern id)
Found = list[dict[RuleKey, RuleHit]]  # per coding unit, as RuleMatcher.keyword_hits returns


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def rule_signatures(codebook: Codebook) -> dict[RuleKey, str]:
    """A digest of everything each rule's hits depend on, by rule key.

    A keyword: its code, its text (the parse cache key already covers the pipeline
    that lemmatises it) and whether matching ignores accents.  A pattern: its code,
    id and token list; a pattern whose anchors do not pin down where it can match
    runs wherever any pattern can, so its signature covers every pattern's tokens.
    """
    base = ("qualcode hits", HITS_FORMAT, __version__)
    accents = codebook.settings.accent_insensitive
    signatures: dict[RuleKey, str] = {}
    for code in codebook.codes:
        for keyword in code.keywords:
            signatures[code.id, keyword] = _digest([*base, "keyword", code.id, keyword, accents])
    every = [[code.id, p.id, list(p.pattern)] for code in codebook.codes for p in code.patterns]
    for code in codebook.codes:
        for pattern in code.patterns:
            scope = None if pattern_anchors_exact(pattern.pattern) else every
            signatures[code.id, "pattern:" + pattern.id] = _digest(
                [*base, "pattern", code.id, pattern.id, list(pattern.pattern), scope])
    return signatures


class HitCache:
    """Read and write the rule hits of documents in a cache folder (``None``: remember nothing)."""

    def __init__(self, cache_dir: str | Path | None) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None

    def _path(self, document_key: str, ranges) -> tuple[Path, str] | None:
        if self.cache_dir is None:
            return None
        units = hashlib.sha256(np.asarray(ranges, dtype=np.int64).tobytes()).hexdigest()[:16]
        key = f"{document_key}-{units}"
        return self.cache_dir / f"{key}{_SUFFIX}", key

    def load(self, document_key: str, ranges) -> dict[str, list]:
        """Signature → hits (``[unit, matched, start, end, negation]``) of a document; ``{}`` if none."""
        where = self._path(document_key, ranges)
        if where is None or not where[0].exists():
            return {}
        try:
            entry = read_entry(*where)
            if not isinstance(entry, dict) or not all(isinstance(v, list) for v in entry.values()):
                raise ValueError("not a hits entry")
            return entry
        except Exception:  # any damage to the file: match again
            warnings.warn(f"{where[0]}: corrupt rule-hit cache entry; matching again", QualcodeWarning,
                          stacklevel=2)
            return {}

    def store(self, document_key: str, ranges, entry: dict[str, list]) -> None:
        where = self._path(document_key, ranges)
        if where is not None:
            write_entry(*where, HITS_FORMAT, entry, "rule-hit cache")


def restore_hits(entry: dict[str, list], keys: dict[RuleKey, str], units: int) -> tuple[Found, Found]:
    """The keyword and pattern hits of ``keys`` (rule key → signature) found in ``entry``."""
    keywords: Found = [{} for _ in range(units)]
    patterns: Found = [{} for _ in range(units)]
    for (code_id, rule), signature in keys.items():
        is_pattern = rule.startswith("pattern:")
        target = patterns if is_pattern else keywords
        kind, name = ("pattern", rule[len("pattern:"):]) if is_pattern else ("keyword", rule)
        for unit, matched, start, end, negation in entry[signature]:
            target[unit][code_id, rule] = RuleHit(code_id, kind, name, matched, start, end, negation)
    return keywords, patterns


def record_hits(entry: dict[str, list], keys: dict[RuleKey, str], *found: Found) -> None:
    """Put the hits of ``keys`` (rule key → signature) from ``found`` into ``entry``."""
    for signature in keys.values():
        entry[signature] = []
    for part in found:
        for unit, hits in enumerate(part):
            for key, hit in hits.items():
                if key in keys:
                    entry[keys[key]].append([unit, hit.matched, hit.start, hit.end, hit.negation])
