"""A results folder of ``qualcode code`` as tidy DataFrames, the input of every analysis.

Examples
--------
>>> results = load_results("results/")                           # doctest: +SKIP
>>> results.codings.merge(results.segments, on="segment_id")    # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .codebook import Codebook, load_codebook, parse_codebook
from .errors import ResultsError

__all__ = ["STATUSES", "Results", "load_results", "segments_covering"]

#: ``suggested`` by the machine; ``accepted``/``rejected`` by a human; ``all`` = not rejected.
STATUSES = ("suggested", "accepted", "all")

_REQUIRED = ("segments.csv", "codings.csv", "run.json")


@dataclass
class Results:
    """Segments, codings, documents and codebook of one coding run.

    ``codings`` has one row per coding with its provenance and ``status``;
    ``segments`` carries participant attributes; ``documents`` one row per
    document with its counts; ``codebook`` is the codebook the run used.
    """

    folder: Path
    segments: object  # DataFrame
    codings: object  # DataFrame
    documents: object  # DataFrame
    codebook: Codebook
    run: dict

    @property
    def attributes(self) -> list[str]:
        """Participant attribute columns of ``segments`` (role, establishment, …)."""
        fixed = {"document_id", "segment_id", "turn_index", "speaker", "participant_id", "start",
                 "end", "text", "question", "words"}
        return [c for c in self.segments.columns if c not in fixed]

    @property
    def basis(self) -> str:
        """Which codings a report rests on, in words; every report prints it."""
        statuses = set(self.codings.status) if len(self.codings) else set()
        if statuses <= {"suggested"}:
            return "machine suggestions only (no human decision yet)"
        accepted = int((self.codings.status == "accepted").sum())
        return f"{accepted} human-validated codings and {len(self.codings) - accepted} others"

    def coded_segments(self):
        """Codings joined with their segments (text, speaker, participant attributes)."""
        return self.codings.merge(self.segments.drop(columns=["document_id"]), on="segment_id",
                                  how="left", validate="many_to_one")


def _read_csv(path: Path):
    import pandas as pd

    try:
        text_columns = ("segment_id", "document_id", "participant_id", "text", "question",
                        "evidence", "matched", "nearest_exemplar", "speaker", "code_id", "theme_id",
                        "method", "status")
        return pd.read_csv(path, dtype=dict.fromkeys(text_columns, str),
                           keep_default_na=False, na_values=[""])
    except (ValueError, OSError) as exc:
        raise ResultsError(f"unreadable table: {str(exc).splitlines()[0]}", path=path) from None


def load_results(folder: str | Path) -> Results:
    """Load a ``qualcode code`` output folder; raise ResultsError when it is incomplete."""
    import pandas as pd

    folder = Path(folder)
    if not folder.is_dir():
        raise ResultsError("results folder does not exist; run `qualcode code … --out` first",
                           path=folder)
    missing = [n for n in _REQUIRED if not (folder / n).is_file()]
    if missing:
        raise ResultsError(f"not a qualcode results folder: missing {', '.join(missing)}",
                           path=folder)
    try:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise ResultsError(f"unreadable run.json: {exc}", path=folder / "run.json") from None
    segments = _read_csv(folder / "segments.csv")
    codings = _read_csv(folder / "codings.csv")
    for column in ("text", "question", "evidence", "matched", "nearest_exemplar"):
        for frame in (segments, codings):
            if column in frame.columns:
                frame[column] = frame[column].fillna("")
    codebook = _codebook(folder, run)
    counts = segments.groupby("document_id").agg(segments=("segment_id", "size"),
                                                 words=("words", "sum"),
                                                 participants=("participant_id", "nunique"))
    documents = pd.DataFrame(run.get("corpus", {}).get("documents", []))
    if documents.empty:
        documents = counts.reset_index()
    else:
        documents = documents.merge(counts.reset_index(), on="document_id", how="left")
    return Results(folder, segments, codings, documents, codebook, run)


def _codebook(folder: Path, run: dict) -> Codebook:
    copy = folder / "codebook.yaml"
    if copy.is_file():
        return parse_codebook(copy.read_text(encoding="utf-8"), path=str(copy))
    original = run.get("codebook", {}).get("path")
    if original and Path(original).is_file():
        return load_codebook(original)
    raise ResultsError("the codebook of this run is missing: re-run `qualcode code`",
                       path=folder / "codebook.yaml")


def segments_covering(segments, start: int, end: int) -> list[str]:
    """Ids of the segments a character span covers.

    A segment counts when the span overlaps at least half of it, or when at least
    half of the span lies in it (so a phrase coded inside a long sentence still
    lands on that sentence).  Gold spans and imported REFI-QDA selections both use
    this rule.
    """
    overlap = (segments["end"].clip(upper=end) - segments["start"].clip(lower=start)).clip(lower=0)
    length = (segments["end"] - segments["start"]).clip(lower=1)
    hits = segments[(overlap > 0) & ((overlap >= 0.5 * length) | (overlap >= 0.5 * max(1, end - start)))]
    return list(hits["segment_id"])
