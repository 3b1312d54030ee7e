"""Similarity evidence: how close a segment is to each code's exemplar sentences.

Each code's exemplars are its ``examples`` plus its label and definition; its
``counter_examples`` are kept apart.  A segment's similarity to a code is its
cosine to the nearest exemplar, mapped to [0, 1] by a per-backend calibration
(``floor`` → 0, ``ceiling`` → 1); being closer to a counter-example than to any
exemplar halves it.  The nearest exemplar is reported as provenance.

Backends
--------
``vectors``
    Average of the pipeline's word vectors over content words only (stop words
    and punctuation dilute paraphrase similarity), from the parse cache.
``tfidf``
    TF-IDF on content lemmas (1–2-grams) fitted on corpus + codebook, reduced
    by LSA when the corpus is large enough.
``sentence-transformers``
    A local sentence-transformers model folder (``settings.model_path``);
    optional extra, never downloaded.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .codebook import Codebook
from .errors import ModelError
from .parsing import LanguageData, ParsedDocument

__all__ = ["CALIBRATION", "CodeExemplars", "SimilarityModel"]

#: Cosine values mapped to similarity 0 and 1; vectors tuned on the development gold
#: (gold/ds-ia-sante-dev.csv, never on the test gold), the others set by inspection.
CALIBRATION = {
    "vectors": (0.75, 1.00),
    "tfidf": (0.05, 0.45),
    "sentence-transformers": (0.25, 0.75),
}


@dataclass(frozen=True)
class CodeExemplars:
    """The texts a code is compared with, in a fixed order."""

    code_ids: tuple[str, ...]
    texts: tuple[str, ...]
    owner: np.ndarray  # index into code_ids for each text
    counter: np.ndarray  # bool: the text is a counter-example

    @classmethod
    def from_codebook(cls, codebook: Codebook) -> CodeExemplars:
        code_ids, texts, owner, counter = [], [], [], []
        for index, code in enumerate(codebook.codes):
            code_ids.append(code.id)
            own = [*code.examples, f"{code.label}. {code.definition}".strip()]
            for text in own:
                texts.append(text)
                owner.append(index)
                counter.append(False)
            for text in code.counter_examples:
                texts.append(text)
                owner.append(index)
                counter.append(True)
        return cls(tuple(code_ids), tuple(texts), np.array(owner, dtype=np.int32),
                   np.array(counter, dtype=np.bool_))


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


class SimilarityModel:
    """Embeds segments and exemplars with one backend and scores code similarity."""

    def __init__(self, codebook: Codebook, nlp, backend: str | None = None) -> None:
        self.backend = backend or codebook.settings.similarity
        self.codebook = codebook
        self.data = LanguageData.of(nlp)  # a spaCy pipeline, or what a Parser serves of it
        self.exemplars = CodeExemplars.from_codebook(codebook)
        self.floor, self.ceiling = CALIBRATION.get(self.backend, (0.0, 1.0))
        self.exemplar_matrix_: np.ndarray | None = None
        self.tfidf_ = None
        self.encoder_ = None
        self._table_ = None
        self._groups_ = None
        if self.backend == "vectors" and not self._table().size:
            raise ModelError(f"pipeline {codebook.pipeline!r} has no word vectors; use "
                             "settings.similarity: tfidf, or a pipeline with vectors (…_md, …_lg)")

    # ------------------------------------------------------------ embedding

    def _vector_mean(self, rows: np.ndarray, content: np.ndarray) -> np.ndarray:
        table = self._table()
        use = rows[(rows >= 0) & content]
        if use.size == 0:
            use = rows[rows >= 0]
        if use.size == 0:
            return np.zeros(table.shape[1], dtype=np.float32)
        return table[use].mean(axis=0)

    def _range_means(self, parsed: ParsedDocument, ranges: Sequence[tuple[int, int]]) -> np.ndarray:
        """Content-word vector means of many token ranges at once (one sparse product).

        Same values as :meth:`_vector_mean` per range: content words with a vector, or
        every word with a vector when a range has no content word.
        """
        from scipy import sparse

        table = self._table()
        rows = parsed.vector_row
        has_vector = rows >= 0
        content = has_vector & parsed.content
        result = np.zeros((len(ranges), table.shape[1]), dtype=np.float32)
        bounds = np.array(ranges, dtype=np.int64).reshape(-1, 2)
        lengths = np.maximum(bounds[:, 1] - bounds[:, 0], 0)
        if not lengths.sum():
            return result
        # Every (range, token) pair, ranges in order and tokens ascending within each.
        unit = np.repeat(np.arange(len(ranges)), lengths)
        token = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths) \
            + np.repeat(bounds[:, 0], lengths)
        in_content = np.bincount(unit, weights=content[token], minlength=len(ranges)) > 0
        chosen = np.where(in_content[unit], content[token], has_vector[token])
        unit, token = unit[chosen], token[chosen]
        if not unit.size:
            return result
        counts = np.bincount(unit, minlength=len(ranges))
        weights = (1.0 / counts[unit]).astype(np.float32)
        used, local = np.unique(token, return_inverse=True)
        weight = sparse.csr_matrix((weights, (unit, local)), shape=(len(ranges), used.size))
        return np.asarray(weight @ table[rows[used]], dtype=np.float32)

    def _table(self) -> np.ndarray:
        if self._table_ is None:
            self._table_ = self.data.vectors()
        return self._table_

    def _parse_texts(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, list]]:
        return [(parsed.vector_row, parsed.content, _content_lemmas(parsed, 0, len(parsed)))
                for parsed in self.data.parse_texts(texts)]

    def texts(self) -> tuple[str, ...]:
        """The texts :meth:`fit` parses: the exemplars, for the backends built on the parse."""
        return self.texts_for(self.codebook, self.backend)

    @staticmethod
    def texts_for(codebook: Codebook, backend: str) -> tuple[str, ...]:
        """What a model of ``backend`` for ``codebook`` parses, known before it is built."""
        return CodeExemplars.from_codebook(codebook).texts if backend in ("vectors", "tfidf") else ()

    def fit(self, segment_lemmas: Sequence[Sequence[str]] = ()) -> SimilarityModel:
        """Embed the exemplars (and, for TF-IDF, fit on corpus + codebook lemmas)."""
        texts = self.exemplars.texts
        if self.backend == "vectors":
            feats = self._parse_texts(texts)
            self.exemplar_matrix_ = _normalise(np.vstack(
                [self._vector_mean(rows, content) for rows, content, _ in feats]))
        elif self.backend == "tfidf":
            from sklearn.feature_extraction.text import TfidfVectorizer

            ex_lemmas = [lemmas for _, _, lemmas in self._parse_texts(texts)]
            self.tfidf_ = TfidfVectorizer(analyzer=_content_ngrams, sublinear_tf=True, min_df=1)
            self.tfidf_.fit([*segment_lemmas, *ex_lemmas])
            self.exemplar_matrix_ = self.tfidf_.transform(ex_lemmas)
        elif self.backend == "sentence-transformers":
            self.encoder_ = _load_sentence_transformer(self.codebook.settings.model_path)
            self.exemplar_matrix_ = _normalise(np.asarray(
                self.encoder_.encode(list(texts), batch_size=32, show_progress_bar=False)))
        return self

    def embed_segments(self, parsed: ParsedDocument, ranges: Sequence[tuple[int, int]],
                       texts: Sequence[str]):
        """Embeddings of segments given as token ranges of one parsed document."""
        if self.backend == "none":
            return np.zeros((len(ranges), 0), dtype=np.float32)
        if self.backend == "vectors":
            return _normalise(self._range_means(parsed, ranges))
        if self.backend == "tfidf":
            return self.tfidf_.transform([_content_lemmas(parsed, i, j) for i, j in ranges])
        return _normalise(np.asarray(self.encoder_.encode(list(texts), batch_size=32,
                                                          show_progress_bar=False)))

    # ------------------------------------------------------------ scoring

    def score(self, embeddings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For segments × codes: similarity in [0, 1], raw cosine, and nearest exemplar index."""
        n_codes = len(self.exemplars.code_ids)
        if self.backend == "none" or self.exemplar_matrix_ is None:
            shape = (embeddings.shape[0] if embeddings is not None else 0, n_codes)
            return np.zeros(shape), np.zeros(shape), np.full(shape, -1)
        cos = embeddings @ self.exemplar_matrix_.T
        cos = cos.toarray() if hasattr(cos, "toarray") else np.asarray(cos)
        n = cos.shape[0]
        best = np.full((n, n_codes), -np.inf)
        nearest = np.full((n, n_codes), -1, dtype=np.int64)
        best_counter = np.full((n, n_codes), -np.inf)
        if self._groups_ is None:
            self._groups_ = self._groups()
        for code, own, counter in self._groups_:
            if own.size:
                pick = np.argmax(cos[:, own], axis=1)  # the first of equal maxima, as a scan keeps
                best[:, code] = cos[np.arange(n), own[pick]]
                nearest[:, code] = own[pick]
            if counter.size:
                best_counter[:, code] = cos[:, counter].max(axis=1)
        similarity = np.clip((best - self.floor) / (self.ceiling - self.floor), 0.0, 1.0)
        similarity = np.where(best_counter > best, similarity * 0.5, similarity)
        return similarity, best, nearest

    def _groups(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """For each code: its index, its exemplar columns and its counter-example columns."""
        owner, counter = self.exemplars.owner, self.exemplars.counter
        return [(code, np.flatnonzero((owner == code) & ~counter), np.flatnonzero((owner == code) & counter))
                for code in np.unique(owner).tolist()]


def _content_lemmas(parsed: ParsedDocument, i: int, j: int) -> list[str]:
    lemma, content = parsed.lemma, parsed.content
    return [lemma[k] for k in range(i, j) if content[k]]


def _content_ngrams(lemmas: Sequence[str]) -> list[str]:
    return [*lemmas, *(f"{a} {b}" for a, b in itertools.pairwise(lemmas))]


def _load_sentence_transformer(model_path: str | None):
    if not model_path:
        raise ModelError("the sentence-transformers backend needs settings.model_path")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ModelError("the sentence-transformers backend needs the optional extra: "
                         "pip install 'qualcode[embeddings]'") from None
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach out to a model hub
    try:
        return SentenceTransformer(model_path, local_files_only=True)
    except Exception as exc:
        raise ModelError(f"cannot load sentence-transformers model: {exc}", path=model_path) \
            from None
