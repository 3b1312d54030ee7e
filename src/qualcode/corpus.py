"""The corpus: documents → speaker turns → segments, read from a folder of transcripts.

Offsets everywhere are Python string indices (Unicode code points) into a
document's normalised text (NFC, ``\\n`` newlines, front matter removed), so
``document.text[segment.start:segment.end] == segment.text`` always holds.

Examples
--------
>>> corpus = load_corpus(["transcripts/"])            # doctest: +SKIP
>>> corpus.segments_frame().groupby("role").size()     # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorpusError, SpeakerWarning
from .participants import (
    DEFAULT_INTERVIEWER_LABELS,
    ParticipantTable,
    find_participants_file,
    is_interviewer_label,
    read_participants,
)
from .readers import TRANSCRIPT_SUFFIXES, read_transcript
from .segmentation import UNITS, SentenceSplitter, segment_turn

__all__ = [
    "UNLABELLED_SPEAKER",
    "Corpus",
    "Document",
    "Segment",
    "Turn",
    "collect_transcripts",
    "load_corpus",
]

UNLABELLED_SPEAKER = "(unlabelled)"
_WORD = re.compile(r"\w+(?:['’]\w+)*")


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


@dataclass(frozen=True)
class Turn:
    """A speaker turn; ``[start, end)`` spans the speech, not the label."""

    document_id: str
    index: int
    speaker: str
    participant_id: str | None
    is_interviewer: bool
    start: int
    end: int
    time_start: float | None = None
    time_end: float | None = None


@dataclass(frozen=True)
class Segment:
    """A unit of coding: a sentence, paragraph or turn of a participant."""

    document_id: str
    segment_id: str
    turn_index: int
    speaker: str
    participant_id: str | None
    start: int
    end: int
    text: str
    question: str | None = None  # the interviewer turn that preceded this one
    attributes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Document:
    """One transcript: its normalised text, metadata and turns."""

    document_id: str
    path: str
    format: str
    text: str
    sha256: str
    encoding: str
    metadata: dict
    turns: tuple[Turn, ...]

    @property
    def words(self) -> int:
        return sum(count_words(self.text[t.start:t.end]) for t in self.turns)


@dataclass(frozen=True)
class Corpus:
    """Documents, their participant segments, and the participant attributes."""

    documents: tuple[Document, ...]
    segments: tuple[Segment, ...]
    unit: str
    attribute_names: tuple[str, ...] = ()
    participants_path: str | None = None

    def document(self, document_id: str) -> Document:
        for doc in self.documents:
            if doc.document_id == document_id:
                return doc
        raise KeyError(document_id)

    def segments_frame(self):
        """One row per participant segment, with participant attributes as columns."""
        import pandas as pd

        columns = ["document_id", "segment_id", "turn_index", "speaker", "participant_id",
                   "start", "end", "text", "question", *self.attribute_names]
        rows = [
            {**{name: s.attributes.get(name) for name in self.attribute_names},
             "document_id": s.document_id, "segment_id": s.segment_id,
             "turn_index": s.turn_index, "speaker": s.speaker,
             "participant_id": s.participant_id, "start": s.start, "end": s.end,
             "text": s.text, "question": s.question}
            for s in self.segments
        ]
        return pd.DataFrame(rows, columns=columns)

    def turns_frame(self):
        """One row per turn, interviewer turns included."""
        import pandas as pd

        rows = [
            {"document_id": t.document_id, "turn_index": t.index, "speaker": t.speaker,
             "participant_id": t.participant_id, "is_interviewer": t.is_interviewer,
             "start": t.start, "end": t.end, "time_start": t.time_start, "time_end": t.time_end,
             "words": count_words(d.text[t.start:t.end])}
            for d in self.documents for t in d.turns
        ]
        return pd.DataFrame(rows)

    def documents_frame(self):
        """One row per document with counts of participants, turns, segments and words."""
        import pandas as pd

        seg_counts: dict[str, int] = {}
        for s in self.segments:
            seg_counts[s.document_id] = seg_counts.get(s.document_id, 0) + 1
        rows = []
        for d in self.documents:
            participants = sorted({t.participant_id for t in d.turns
                                   if not t.is_interviewer and t.participant_id})
            roles = sorted({str(s.attributes.get("role")) for s in self.segments
                            if s.document_id == d.document_id and s.attributes.get("role")})
            rows.append({
                "document_id": d.document_id, "file": Path(d.path).name, "format": d.format,
                "participants": ", ".join(participants), "roles": ", ".join(roles),
                "turns": len(d.turns), "segments": seg_counts.get(d.document_id, 0),
                "words": d.words, "encoding": d.encoding, "sha256": d.sha256,
            })
        return pd.DataFrame(rows)


def collect_transcripts(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders into their transcript files (sorted, not recursive); keep files as given.

    A file named twice (directly and through its folder) is read once.
    """
    if isinstance(paths, str | Path):  # one file or folder given on its own
        paths = [paths]
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix.lower() in TRANSCRIPT_SUFFIXES
                           and not p.name.startswith((".", "~$")))
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise CorpusError("no such file or folder", path=path)
    if not files:
        shown = ", ".join(str(p) for p in paths)
        suffixes = ", ".join(sorted(TRANSCRIPT_SUFFIXES))
        raise CorpusError(f"no transcripts found (looked for {suffixes})", path=shown)
    unique: dict[Path, Path] = {}
    for path in files:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _document_id(path: Path) -> str:
    return re.sub(r"[^\w.-]+", "_", path.stem.strip()).strip("_").lower() or "document"


def _participant_table(files: Sequence[Path], participants) -> ParticipantTable | None:
    if isinstance(participants, ParticipantTable):
        return participants
    if participants is not None:
        return read_participants(participants)
    folders = sorted({f.parent for f in files})
    found = [p for p in (find_participants_file(f) for f in folders) if p is not None]
    if len(found) > 1:
        raise CorpusError("transcripts come from several folders with their own participants "
                          "table; pass one with --participants", path=found[1])
    return read_participants(found[0]) if found else None


def load_corpus(
    paths: Iterable[str | Path],
    *,
    participants: str | Path | ParticipantTable | None = None,
    interviewer_labels: Iterable[str] = DEFAULT_INTERVIEWER_LABELS,
    unit: str = "sentence",
    sentence_splitter: SentenceSplitter | None = None,
    encoding: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Corpus:
    """Read transcripts (files and/or folders) into a :class:`Corpus`.

    A ``participants.csv``/``.xlsx`` beside the transcripts is used unless
    ``participants`` names another.  ``unit`` is ``sentence`` (default; needs
    ``sentence_splitter`` or the spaCy pipeline), ``paragraph`` or ``turn``.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, not {unit!r}")
    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    files = collect_transcripts(paths)
    table = _participant_table(files, participants)
    if table is not None:
        table.used.clear()  # a table object may be reused across loads
    interviewer_labels = tuple(interviewer_labels)
    known = [r.speaker for r in table.rows if r.speaker] if table else []
    known += list(interviewer_labels)
    if unit == "sentence" and sentence_splitter is None:
        from .nlp import spacy_sentence_splitter

        sentence_splitter = spacy_sentence_splitter()

    documents, segments, seen_ids = [], [], {}
    for path in files:
        doc_id = _document_id(path)
        if doc_id in seen_ids:
            raise CorpusError(f"two transcripts have the document id {doc_id!r} "
                              f"({seen_ids[doc_id]} and {path.name}); rename one", path=path)
        seen_ids[doc_id] = path.name
        document = _read_document(path, doc_id, table, interviewer_labels, known, encoding)
        documents.append(document)
        segments.extend(_segments(document, table, unit, sentence_splitter))
        if progress is not None:
            progress(doc_id)
    if table is not None:
        # Transcripts beside the table (which may hold none, when the table is passed
        # from elsewhere) and the ones read this time.
        folder = Path(table.path).parent if table.path else None
        folder_files = [f.name for f in files]
        if folder is not None and folder.is_dir():
            folder_files += [p.name for p in folder.iterdir()
                             if p.is_file() and p.suffix.lower() in TRANSCRIPT_SUFFIXES]
        table.check_all_used(folder_files, [f.name for f in files])
    attributes = tuple(a for a in (table.attribute_names if table else ()) if a)
    return Corpus(tuple(documents), tuple(segments), unit, attributes,
                  table.path if table else None)


def _read_document(path, doc_id, table, interviewer_labels, known, encoding) -> Document:
    raw, fmt = read_transcript(path, known, encoding)
    if raw.turns and all(t.speaker is None for t in raw.turns):
        warnings.warn(f"{path}: no speaker labels found; the whole transcript is treated as "
                      "one speaker", SpeakerWarning, stacklevel=3)
    turns = []
    for index, rt in enumerate(raw.turns):
        speaker = rt.speaker or UNLABELLED_SPEAKER
        row = table.lookup(doc_id, path.name, rt.speaker) if table else None
        interviewer = (row.is_interviewer if row is not None and row.role
                       else is_interviewer_label(rt.speaker, interviewer_labels))
        if interviewer:
            pid = row.participant_id if row is not None else None
        else:
            pid = row.participant_id if row is not None else f"{doc_id}:{speaker}"
        turns.append(Turn(doc_id, index, speaker, pid, interviewer, rt.start, rt.end,
                          rt.time_start, rt.time_end))
    digest = hashlib.sha256(raw.text.encode("utf-8")).hexdigest()
    return Document(doc_id, str(path), fmt, raw.text, digest, raw.encoding, raw.metadata,
                    tuple(turns))


def _segments(document: Document, table, unit: str, splitter) -> list[Segment]:
    result: list[Segment] = []
    question = None
    for turn in document.turns:
        if turn.is_interviewer:
            question = document.text[turn.start:turn.end]
            continue
        row = table.lookup(document.document_id, Path(document.path).name,
                           None if turn.speaker == UNLABELLED_SPEAKER else turn.speaker) \
            if table else None
        attributes = dict(row.attributes) if row is not None else {}
        for k, (start, end) in enumerate(segment_turn(document.text, turn.start, turn.end, unit,
                                                      splitter), start=1):
            result.append(Segment(
                document.document_id, f"{document.document_id}#{turn.index}.{k}", turn.index,
                turn.speaker, turn.participant_id, start, end, document.text[start:end],
                question, attributes))
    return result
