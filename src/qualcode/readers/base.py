"""What every transcript reader produces, and the speaker-label logic they share.

A reader turns one file into a :class:`RawTranscript`: the document's normalised
text and its speaker turns as ``[start, end)`` offsets (Python string indices)
into that text.  The label itself is not part of a turn's span.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = [
    "LabelledLine",
    "RawTranscript",
    "RawTurn",
    "build_turns",
    "parse_timestamp",
    "split_label",
]


@dataclass(frozen=True)
class RawTurn:
    """A speaker turn as found in the file; ``speaker`` is ``None`` when unlabelled."""

    speaker: str | None
    start: int
    end: int
    time_start: float | None = None
    time_end: float | None = None


@dataclass(frozen=True)
class RawTranscript:
    """A reader's output: text, turns and document metadata (e.g. YAML front matter)."""

    text: str
    turns: tuple[RawTurn, ...]
    metadata: dict = field(default_factory=dict)
    encoding: str = "utf-8"
    first_line: int = 1  # file line number of the first line of ``text`` (after front matter)


@dataclass(frozen=True)
class LabelledLine:
    """One line of a document; ``label`` set when the line opens a turn."""

    start: int  # offset of the line in the document text
    text: str
    label: str | None = None
    content_offset: int = 0  # where the content starts within the line
    time: float | None = None
    strong: bool = False  # the label's form (bold run, voice tag) leaves no doubt


_TIME = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_TIMESTAMP_PREFIX = re.compile(
    rf"^\s*(?:\[(?P<t1>{_TIME})\]|\((?P<t2>{_TIME})\)|(?P<t3>{_TIME}))\s*[-–—]?\s*"
)
# A label: up to 40 characters starting with a letter, optionally in **bold** or __bold__,
# followed by a colon (French typography puts a space before it).
_LABEL = re.compile(
    r"\s*(?P<open>\*\*|__)?(?P<label>[^\W\d_][\w'’.\-/ ]{0,39}?)\s*"
    r"(?:(?P=open)\s*[:：]|[:：]\s*(?P=open)|[:：])(?!//)\s*"
)
_BOLD_ONLY = re.compile(r"^\*\*|\*\*$|^__|__$")


def parse_timestamp(value: str) -> float:
    """``'01:02:03.5'``, ``'12:31'`` → seconds."""
    parts = value.replace(",", ".").split(":")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def split_label(line: str) -> tuple[str | None, int, float | None]:
    """Find a speaker label at the start of ``line``.

    Returns ``(label, content_offset, timestamp_seconds)``; ``label`` is ``None``
    when the line does not start with ``Label :`` (after an optional timestamp).
    """
    pos = 0
    time = None
    stamp = _TIMESTAMP_PREFIX.match(line)
    if stamp:
        raw = stamp.group("t1") or stamp.group("t2") or stamp.group("t3")
        time = parse_timestamp(raw)
        pos = stamp.end()
    match = _LABEL.match(line, pos)
    if not match:
        return None, 0, time
    label = " ".join(match.group("label").split())
    if len(label.split()) > 5 or label.lower().startswith(("http", "https")):
        return None, 0, time
    return label, match.end(), time


@lru_cache(maxsize=4096)
def label_key(label: str) -> str:
    """Case-, accent- and space-insensitive form of a label, for matching."""
    folded = unicodedata.normalize("NFKD", label.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(folded.replace("’", "'").split())


def accepted_labels(lines: Sequence[LabelledLine], known: Iterable[str] = ()) -> set[str]:
    """Labels that really name speakers.

    A candidate label counts when it is known (participants table, interviewer
    labels), follows a timestamp, is set apart (a bold run), or opens at least
    two lines; this keeps
    ``Par exemple : …`` inside a turn from being read as a speaker.
    """
    known_keys = {label_key(k) for k in known}
    counts = Counter(label_key(line.label) for line in lines if line.label)
    stamped = {
        label_key(line.label)
        for line in lines
        if line.label and (line.time is not None or line.strong)
    }
    return {
        key for key, n in counts.items() if n >= 2 or key in known_keys or key in stamped
    }


def build_turns(
    text: str, lines: Sequence[LabelledLine], known: Iterable[str] = ()
) -> list[RawTurn]:
    """Group lines into turns: a labelled line opens one, unlabelled lines continue it.

    Lines before the first label (a title, a header) belong to no turn.  When no
    line has a label the whole text is one unlabelled turn.
    """
    accepted = accepted_labels(lines, known)
    turns: list[RawTurn] = []
    current: dict | None = None

    def close() -> None:
        if current is not None and current["end"] > current["start"]:
            turns.append(RawTurn(current["speaker"], current["start"], current["end"],
                                 current["time"]))

    for line in lines:
        if line.label and label_key(line.label) in accepted:
            close()
            content_start = line.start + line.content_offset
            current = {"speaker": line.label, "start": content_start, "time": line.time,
                       "end": content_start}
            _extend(current, line, content_start)
        elif current is not None:
            _extend(current, line, line.start)
    close()
    if not turns and not accepted:
        spans = [(ln.start, ln.start + len(ln.text)) for ln in lines if ln.text.strip()]
        if spans:
            turns.append(RawTurn(None, spans[0][0], spans[-1][1]))
    return _strip_turns(turns, text)


def _extend(current: dict, line: LabelledLine, from_offset: int) -> None:
    end = line.start + len(line.text.rstrip())
    if end > from_offset and line.text[from_offset - line.start:].strip():
        current["end"] = end


def _strip_turns(turns: list[RawTurn], text: str) -> list[RawTurn]:
    result = []
    for turn in turns:
        start, end = turn.start, turn.end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            result.append(RawTurn(turn.speaker, start, end, turn.time_start, turn.time_end))
    return result


def lines_of(text: str) -> list[tuple[int, str]]:
    """``(offset, line)`` pairs for ``text`` split on ``\\n``."""
    result = []
    offset = 0
    for line in text.split("\n"):
        result.append((offset, line))
        offset += len(line) + 1
    return result


def strip_markdown_bold(label: str) -> str:
    return _BOLD_ONLY.sub("", label).strip()
