"""Familiarisation (Braun & Clarke's phase 1): keyword in context and frequent lemmas by group.

Both read the participant segments of a results folder; nothing is written to disk.

Examples
--------
>>> from qualcode.results import load_results                     # doctest: +SKIP
>>> results = load_results("results/")                            # doctest: +SKIP
>>> kwic(results, "garantie humaine", width=40).head()            # doctest: +SKIP
>>> lemma_frequencies(results, by="role", top=10)                 # doctest: +SKIP
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

from .errors import OptionError
from .results import Results

__all__ = ["kwic", "lemma_frequencies"]

#: Hesitations of spoken French dropped from frequencies along with stop words.
FILLERS = frozenset({"euh", "heu", "hum", "hmm", "bah", "ben", "hein", "mh", "mmh"})
_FIXED_GROUPS = ("document_id", "participant_id", "speaker")
_ANNOTATION = re.compile(r"\[[^\]\n]*\]")  # transcriber's notes such as [rires], [inaudible]


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """Lower-case, strip diacritics, straighten the apostrophe (may give 0, 1 or more chars)."""
    decomposed = unicodedata.normalize("NFKD", char.replace("’", "'").lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` (``L’Éthique`` → ``l'ethique``)."""
    return "".join(_fold_char(c) for c in text)


def _folded_with_offsets(text: str) -> tuple[str, list[int]]:
    """``_fold(text)`` and, for each folded character, the index of the character it came from."""
    pieces, origin = [], []
    for i, char in enumerate(text):
        folded = _fold_char(char)
        pieces.append(folded)
        origin.extend([i] * len(folded))
    return "".join(pieces), origin


def _segments(results: Results, by: str | None):
    segments = results.segments[results.segments.participant_id.notna()]
    if by is not None:
        allowed = [*_FIXED_GROUPS, *results.attributes]
        if by not in allowed:
            raise OptionError(f"cannot group by {by!r}; use one of: {', '.join(allowed)}")
        segments = segments.assign(**{by: segments[by].fillna("(none)").astype(str)})
    return segments


def kwic(results: Results, term: str, *, lemma: bool = False, width: int = 60,
         by: str | None = None):
    """Keyword-in-context concordance of ``term`` over the participant segments.

    Parameters
    ----------
    results : Results
        A loaded results folder.
    term : str
        A word or a phrase; matched as whole words, ignoring case and accents
        (``ethique`` finds ``Éthique``; the words of a phrase may be separated by
        any white space).
    lemma : bool
        Match lemmas instead of word forms (``former`` finds ``formé``), with the
        codebook's spaCy pipeline; a word form identical to the term also matches.
    width : int
        Characters of context kept on each side, cut from the segment text verbatim.
    by : str, optional
        A column (``role``, ``establishment``, …) added after ``role`` and sorted on
        first, to read the concordance group by group.

    Returns
    -------
    DataFrame
        One row per occurrence, in document order: document_id, segment_id, speaker,
        participant_id, role (when known), [by], left, match, right, where
        ``left + match + right`` is a window of the segment text.

    Examples
    --------
    >>> kwic(results, "ethique", width=20)[["left", "match", "right"]].iloc[0]  # doctest: +SKIP
    left     CSIRMT, le comité d'
    match                 éthique
    right    , le comité IA, le d
    """
    import pandas as pd

    if not _fold(term).split():
        raise OptionError("the KWIC term is empty")
    if width < 0:
        raise OptionError(f"width must be 0 or more, got {width}")
    segments = _segments(results, by)
    texts = segments.text.tolist()
    if lemma:
        spans = _lemma_spans(results, texts, term)
    else:
        pattern = _phrase_pattern(term)
        spans = [_word_spans(text, pattern) for text in texts]
    keep = [c for c in ("document_id", "segment_id", "speaker", "participant_id", "role", by)
            if c is not None and c in segments.columns]
    keep = list(dict.fromkeys(keep))
    rows = []
    for record, text, found in zip(segments[keep].to_dict("records"), texts, spans, strict=True):
        for start, end in found:
            rows.append({**record, "left": text[max(0, start - width):start],
                         "match": text[start:end], "right": text[end:end + width]})
    frame = pd.DataFrame(rows, columns=[*keep, "left", "match", "right"])
    if by is not None:
        frame = frame.sort_values(by, kind="stable").reset_index(drop=True)
    return frame


def _phrase_pattern(term: str) -> re.Pattern:
    words = _fold(term).split()
    body = r"\s+".join(re.escape(w) for w in words)
    before = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
    after = r"(?!\w)" if re.search(r"\w$", words[-1]) else ""
    return re.compile(before + body + after)


def _word_spans(text: str, pattern: re.Pattern) -> list[tuple[int, int]]:
    """Character spans of ``pattern`` in ``text``, matched on the folded text and mapped back."""
    folded, origin = _folded_with_offsets(text)
    spans = []
    for match in pattern.finditer(folded):
        start, end = origin[match.start()], origin[match.end() - 1] + 1
        while end < len(text) and unicodedata.combining(text[end]):  # keep a decomposed accent
            end += 1
        spans.append((start, end))
    return spans


def _lemma_spans(results: Results, texts: list[str], term: str) -> list[list[tuple[int, int]]]:
    """Spans of consecutive tokens whose folded lemma (or word) equals the term's, token by token."""
    from .nlp import load_pipeline

    nlp = load_pipeline(results.codebook.pipeline, "coding")
    wanted = [(_fold(t.lemma_ or t.text), _fold(t.text)) for t in nlp(term) if not t.is_space]
    spans = []
    for doc in nlp.pipe(texts, batch_size=64):
        tokens = [t for t in doc if not t.is_space]
        found = []
        for i in range(len(tokens) - len(wanted) + 1):
            window = tokens[i:i + len(wanted)]
            if all(_fold(t.lemma_ or t.text) == lem or _fold(t.text) == word
                   for t, (lem, word) in zip(window, wanted, strict=True)):
                found.append((window[0].idx, window[-1].idx + len(window[-1].text)))
        spans.append(found)
    return spans


def lemma_frequencies(results: Results, *, by: str | None = "role", top: int = 20,
                      min_count: int = 2):
    """The most frequent content lemmas of participant speech, per group.

    Stop words, punctuation, numbers, tokens without letters, :data:`FILLERS` and
    transcriber's notes in square brackets (``[rires]``) are left out; lemmas are
    lower-cased (accents kept).  Ties in count are broken by the lemma without
    accents, then the lemma itself.

    Parameters
    ----------
    results : Results
        A loaded results folder.
    by : str or None
        Grouping column (``role``, ``establishment``, ``participant_id``, …);
        ``None`` counts the whole corpus as one group named ``all``.
    top : int
        Lemmas kept per group.
    min_count : int
        Lemmas seen fewer times in a group are dropped.

    Returns
    -------
    DataFrame
        Long format: group, lemma, count, per_1000_words (over the group's
        participant words), sorted by group, then count (descending), then lemma.

    Examples
    --------
    >>> lemma_frequencies(results, by=None, top=3)  # doctest: +SKIP
      group      lemma  count  per_1000_words
    0   all      outil    200            6.97
    1   all       soin    155            5.40
    2   all  infirmier    144            5.02
    """
    import pandas as pd

    from .nlp import load_pipeline

    segments = _segments(results, by)
    groups = segments[by].tolist() if by else ["all"] * len(segments)
    words = Counter()
    for group, count in zip(groups, segments.words, strict=True):
        words[group] += int(count)
    nlp = load_pipeline(results.codebook.pipeline, "coding")
    stop = nlp.Defaults.stop_words
    counts: Counter = Counter()
    texts = [_ANNOTATION.sub(lambda m: " " * len(m.group()), t) for t in segments.text]
    for group, doc in zip(groups, nlp.pipe(texts, batch_size=64), strict=True):
        for token in doc:
            lemma = (token.lemma_ or token.text).lower()
            if _is_content(token, lemma, stop):
                counts[(group, lemma)] += 1
    rows = sorted(((g, lem, n) for (g, lem), n in counts.items() if n >= min_count),
                  key=lambda row: (row[0], -row[2], _fold(row[1]), row[1]))
    frame = pd.DataFrame(rows, columns=["group", "lemma", "count"])
    frame = frame.groupby("group", sort=False).head(top).reset_index(drop=True)
    frame["per_1000_words"] = [round(1000 * n / words[g], 2) if words[g] else 0.0
                               for g, n in zip(frame.group, frame["count"], strict=True)]
    return frame


def _is_content(token, lemma: str, stop) -> bool:
    return not (token.is_stop or token.is_punct or token.is_space or token.like_num
                or lemma in stop or lemma in FILLERS or not any(c.isalpha() for c in lemma))
