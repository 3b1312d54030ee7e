"""qualcode: thematic coding of interview transcripts.

The machine suggests, a human decides.  Three lines in a notebook::

    import qualcode
    corpus = qualcode.load_corpus(["transcripts/"])
    corpus.segments_frame().head()

Importing qualcode is cheap: spaCy, pandas and scikit-learn load on first use.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qualcode")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

_EXPORTS = {
    "Code": "codebook",
    "CodingResult": "coding",
    "Evaluation": "evaluation",
    "Codebook": "codebook",
    "Corpus": "corpus",
    "Document": "corpus",
    "Hypothesis": "codebook",
    "Segment": "corpus",
    "Theme": "codebook",
    "Turn": "corpus",
    "code_transcripts": "coding",
    "evaluate": "evaluation",
    "code_matrix": "matrices",
    "cooccurrence": "matrices",
    "crosstab": "matrices",
    "segment_code_matrix": "matrices",
    "select_codings": "matrices",
    "hypothesis_support": "hypotheses",
    "kwic": "exploration",
    "lemma_frequencies": "exploration",
    "write_report": "report",
    "write_workbook": "workbook",
    "CodeClassifier": "learning",
    "add_model_suggestions": "assisted",
    "import_codings": "review",
    "export_qdc": "refi",
    "export_qdpx": "refi",
    "read_refi": "refi",
    "import_refi": "refi",
    "load_codebook": "codebook",
    "load_results": "results",
    "Results": "results",
    "load_corpus": "corpus",
    "read_participants": "participants",
}
_ERRORS = (
    "CacheError", "CodebookError", "CorpusError", "ExportError", "GoldError", "ModelError",
    "OptionError", "ParticipantsError", "QualcodeError", "QualcodeWarning", "RefiError", "ResultsError",
    "StoreError", "TranscriptError",
)

__all__ = sorted([*_EXPORTS, *_ERRORS, "__version__"])

from .errors import (  # noqa: E402  (errors are tiny and always needed)
    CacheError,
    CodebookError,
    CorpusError,
    ExportError,
    GoldError,
    ModelError,
    OptionError,
    ParticipantsError,
    QualcodeError,
    QualcodeWarning,
    RefiError,
    ResultsError,
    StoreError,
    TranscriptError,
)


def __getattr__(name: str):
    """Load the public API lazily so ``import qualcode`` stays fast."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qualcode' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
