"""The participants table: who speaks in which transcript, and their attributes.

``participants.csv`` (or ``.xlsx``) beside the transcripts has a
``participant_id`` column, at least one of ``speaker`` (the label used in the
transcript) and ``file`` (a transcript's file name or document id), and any
attribute columns (``role``, ``establishment``, …).  A row with a file and no
speaker applies to every speaker of that file; a row with a speaker and no file
applies to that label in every file.  Speakers whose role is ``interviewer`` are
kept as context and not coded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ParticipantsError
from .readers.base import label_key

__all__ = [
    "DEFAULT_INTERVIEWER_LABELS",
    "PARTICIPANT_FILENAMES",
    "Participant",
    "ParticipantTable",
    "find_participants_file",
    "is_interviewer_label",
    "read_participants",
]

PARTICIPANT_FILENAMES = ("participants.csv", "participants.xlsx")

DEFAULT_INTERVIEWER_LABELS = (
    "Intervieweur", "Intervieweuse", "Interviewer", "Interviewer·euse", "Enquêteur", "Enquêtrice",
    "Enquêteuse", "Chercheur", "Chercheuse", "Animateur", "Animatrice", "Q", "Question",
    "Moderator", "Researcher", "Entrevistador", "Entrevistadora",
)

_RESERVED = {"participant_id", "speaker", "file"}


@dataclass(frozen=True)
class Participant:
    """One row of the participants table."""

    participant_id: str
    speaker: str | None
    file: str | None
    attributes: dict = field(default_factory=dict)
    line: int = 0

    @property
    def role(self) -> str | None:
        value = self.attributes.get("role")
        return str(value) if value is not None else None

    @property
    def is_interviewer(self) -> bool:
        return (self.role or "").strip().casefold() == "interviewer"


def is_interviewer_label(label: str | None, labels: Iterable[str]) -> bool:
    """True when ``label`` (digits and case aside) is one of the interviewer labels."""
    if not label:
        return False
    key = label_key(label).rstrip("0123456789 ")
    return key in {label_key(x) for x in labels}


def _doc_keys(name: str) -> set[str]:
    path = Path(name)
    return {label_key(name), label_key(path.stem)}


@dataclass
class ParticipantTable:
    """Lookup of participant rows by (file, speaker); tracks which rows were used."""

    path: str | None
    rows: list[Participant]
    attribute_names: list[str]
    used: set[int] = field(default_factory=set)

    def lookup(self, document_id: str, filename: str, speaker: str | None) -> Participant | None:
        """The most specific row for a speaker in a document (file+speaker, then file, then speaker)."""
        doc = _doc_keys(filename) | {label_key(document_id)}
        spk = label_key(speaker) if speaker else None
        best, best_rank = None, 0
        for i, row in enumerate(self.rows):
            file_ok = row.file is not None and bool(_doc_keys(row.file) & doc)
            speaker_ok = row.speaker is not None and spk is not None and label_key(row.speaker) == spk
            rank = (3 if file_ok and speaker_ok else
                    2 if file_ok and row.speaker is None else
                    1 if speaker_ok and row.file is None else 0)
            if rank > best_rank:
                best, best_rank = (i, row), rank
        if best is None:
            return None
        self.used.add(best[0])
        return best[1]

    def check_all_used(self, folder_files: Iterable[str], read_files: Iterable[str]) -> None:
        """Rows that match nothing are errors, except rows about files not read this time."""
        folder = set().union(*(_doc_keys(f) for f in folder_files)) if folder_files else set()
        read = set().union(*(_doc_keys(f) for f in read_files)) if read_files else set()
        for i, row in enumerate(self.rows):
            if i in self.used:
                continue
            if row.file is not None:
                keys = _doc_keys(row.file)
                if not keys & folder:
                    raise ParticipantsError(f"file {row.file!r} is not among the transcripts",
                                            path=self.path, line=row.line)
                if not keys & read:
                    continue
                raise ParticipantsError(
                    f"speaker {row.speaker!r} does not occur in {row.file}", path=self.path,
                    line=row.line)
            raise ParticipantsError(f"speaker {row.speaker!r} does not occur in any transcript",
                                    path=self.path, line=row.line)


def find_participants_file(folder: str | Path) -> Path | None:
    """The participants table in ``folder``, if there is one."""
    for name in PARTICIPANT_FILENAMES:
        candidate = Path(folder) / name
        if candidate.is_file():
            return candidate
    return None


def _read_frame(path: Path):
    import pandas as pd

    def read_csv(encoding: str):
        # Blank lines are kept (as empty rows) so that row numbers stay file line numbers.
        return pd.read_csv(path, dtype=str, sep=None, engine="python", encoding=encoding,
                           skip_blank_lines=False)

    first_data_line = 2
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, dtype=str)
        else:
            try:
                frame = read_csv("utf-8-sig")
            except UnicodeDecodeError:
                frame = read_csv("cp1252")
    except Exception as exc:  # pandas raises many parser error types
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParticipantsError(f"cannot read participants table: {message}", path=path) from None
    return frame, first_data_line


def read_participants(path: str | Path) -> ParticipantTable:
    """Read and validate a participants table (CSV with any delimiter, or XLSX)."""
    path = Path(path)
    if not path.is_file():
        raise ParticipantsError("no such file", path=path)
    if path.stat().st_size == 0:
        raise ParticipantsError("participants file is empty", path=path)
    frame, first_line = _read_frame(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    if "participant_id" not in frame.columns:
        raise ParticipantsError("missing column 'participant_id'", path=path, line=1)
    if "speaker" not in frame.columns and "file" not in frame.columns:
        raise ParticipantsError("needs a 'speaker' or a 'file' column (or both)", path=path, line=1)
    attributes = [c for c in frame.columns if c not in _RESERVED and not c.startswith("Unnamed")]
    rows = []
    seen: dict[tuple, int] = {}
    for number, record in enumerate(frame.to_dict("records"), start=first_line):
        values = {k: (str(v).strip() if isinstance(v, str) and v.strip() else None)
                  for k, v in record.items()}
        if all(v is None for v in values.values()):
            continue
        pid = values.get("participant_id")
        if pid is None:
            raise ParticipantsError("empty participant_id", path=path, line=number)
        speaker, file = values.get("speaker"), values.get("file")
        if speaker is None and file is None:
            raise ParticipantsError("row names neither a speaker nor a file", path=path, line=number)
        key = (label_key(file) if file else None, label_key(speaker) if speaker else None)
        if key in seen:
            raise ParticipantsError(f"duplicate row for speaker {speaker!r} (first on line "
                                    f"{seen[key]})", path=path, line=number)
        seen[key] = number
        attrs = {a: values.get(a) for a in attributes}
        rows.append(Participant(pid, speaker, file, attrs, number))
    return ParticipantTable(str(path), rows, attributes)
