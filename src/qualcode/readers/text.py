"""Plain-text and Markdown transcripts.

A turn starts at a line beginning with a speaker label and a colon (``CGS 1 : …``,
``Interviewer: …``, ``**DG 2** : …``), optionally after a timestamp
(``[00:12:31]``, ``(12:31)``); unlabelled lines continue the current turn.  An
optional YAML front matter block (``---`` … ``---``) gives document metadata and
is not part of the document text.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from ..decoding import read_text
from ..errors import TranscriptError
from .base import LabelledLine, RawTranscript, build_turns, lines_of, split_label

__all__ = ["parse_text", "read_text_transcript"]


def _front_matter(text: str, path: str | Path) -> tuple[dict, str, int]:
    """Split YAML front matter off ``text``; return ``(metadata, body, body_first_line)``."""
    if not text.startswith("---\n"):
        return {}, text, 1
    end = text.find("\n---", 3)
    while end != -1 and text[end + 4:end + 5] not in ("\n", ""):
        end = text.find("\n---", end + 4)
    if end == -1:
        raise TranscriptError("front matter opened with '---' is never closed", path=path, line=1)
    block = text[4:end + 1]
    try:
        metadata = yaml.safe_load(block) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise TranscriptError(f"front matter: {problem}", path=path, line=line) from None
    if not isinstance(metadata, dict):
        raise TranscriptError("front matter must be a mapping of keys to values", path=path, line=2)
    body_start = end + 4 + (1 if text[end + 4:end + 5] == "\n" else 0)
    first_line = text.count("\n", 0, body_start) + 1
    return {str(k): v for k, v in metadata.items()}, text[body_start:], first_line


def parse_text(
    text: str, path: str | Path = "<text>", known_labels: Iterable[str] = ()
) -> RawTranscript:
    """Parse already-decoded transcript text (see module docstring for the format)."""
    metadata, body, first_line = _front_matter(text, path)
    lines = []
    for offset, line in lines_of(body):
        label, content_offset, time = split_label(line)
        lines.append(LabelledLine(offset, line, label, content_offset, time))
    turns = build_turns(body, lines, known_labels)
    return RawTranscript(body, tuple(turns), metadata, first_line=first_line)


def read_text_transcript(
    path: str | Path, known_labels: Iterable[str] = (), encoding: str | None = None
) -> RawTranscript:
    """Read a ``.txt`` or ``.md`` transcript."""
    text, used = read_text(path, encoding)
    raw = parse_text(text, path, known_labels)
    if not raw.text.strip():
        raise TranscriptError("file has front matter but no transcript text", path=path)
    return RawTranscript(raw.text, raw.turns, raw.metadata, used, raw.first_line)
