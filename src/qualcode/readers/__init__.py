"""One reader per transcript format, all producing a :class:`RawTranscript`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import TranscriptError
from .base import RawTranscript, RawTurn
from .docx import read_docx_transcript
from .subtitles import read_subtitle_transcript
from .text import read_text_transcript

__all__ = ["TRANSCRIPT_SUFFIXES", "RawTranscript", "RawTurn", "read_transcript"]

TRANSCRIPT_SUFFIXES = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".docx": "docx",
    ".vtt": "webvtt",
    ".srt": "srt",
}


def read_transcript(
    path: str | Path, known_labels: Iterable[str] = (), encoding: str | None = None
) -> tuple[RawTranscript, str]:
    """Read any supported transcript; return the raw transcript and its format name."""
    path = Path(path)
    fmt = TRANSCRIPT_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(TRANSCRIPT_SUFFIXES))
        raise TranscriptError(f"unknown transcript extension {path.suffix!r}; expected one of {known}",
                              path=path)
    if not path.is_file():
        raise TranscriptError("no such file", path=path)
    if fmt == "docx":
        return read_docx_transcript(path, known_labels), fmt
    if fmt in ("webvtt", "srt"):
        return read_subtitle_transcript(path, known_labels, encoding), fmt
    return read_text_transcript(path, known_labels, encoding), fmt
