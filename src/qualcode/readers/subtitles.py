"""WebVTT (``.vtt``) and SubRip (``.srt``) transcripts, as exported by Teams, Zoom or Whisper.

The speaker of a cue comes from a WebVTT voice tag (``<v Jane Doe>…``) or a
``Name: …`` prefix; as in text transcripts, a prefix names a speaker only when it
opens at least two cues, is a voice-tag name or is a known label, so that
``Par exemple : …`` in a cue without speakers does not become one.  Consecutive
cues of the same speaker are merged into one turn that keeps the first cue's
start time and the last cue's end time.  The document text is rebuilt as one
``Speaker : speech`` line per turn, so it reads like any other transcript; turn
offsets point at the speech.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..decoding import read_text
from ..errors import TranscriptError
from .base import RawTranscript, RawTurn, label_key, parse_timestamp, split_label

__all__ = ["parse_srt", "parse_vtt", "read_subtitle_transcript"]

_TIMING = re.compile(
    r"^\s*(?P<start>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*"
    r"(?P<end>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})"
)
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+(?P<name>[^>]+)>")
_TAG = re.compile(r"</?[^>]*>")


@dataclass
class _Cue:
    speaker: str | None
    text: str
    start: float
    end: float
    prefix: tuple[str, str] | None = None  # a ``Name: text`` candidate: (name, text)


def _clean(payload: str) -> tuple[str | None, str]:
    """Speaker (voice tag) and plain text of a cue payload."""
    voice = _VOICE.search(payload)
    speaker = " ".join(voice.group("name").split()) if voice else None
    text = html.unescape(_TAG.sub("", payload))
    return speaker, " ".join(text.split())


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks with the (1-based) line number of their first line."""
    blocks, current, first = [], [], 0
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            if not current:
                first = number
            current.append(line)
        elif current:
            blocks.append((first, current))
            current = []
    if current:
        blocks.append((first, current))
    return blocks


def _cues(text: str, path: str | Path, webvtt: bool, known: Iterable[str] = ()) -> list[_Cue]:
    cues = []
    blocks = _blocks(text)
    if webvtt:
        if not blocks or not blocks[0][1][0].lstrip("\ufeff").startswith("WEBVTT"):
            raise TranscriptError("not a WebVTT file: first line must be 'WEBVTT'", path=path, line=1)
        blocks = blocks[1:]
    for first_line, lines in blocks:
        if webvtt and lines[0].split(" ")[0] in {"NOTE", "STYLE", "REGION"}:
            continue
        timing_at = next((i for i, ln in enumerate(lines[:2]) if "-->" in ln), None)
        if timing_at is None:
            raise TranscriptError("cue without a 'start --> end' timing line", path=path,
                                  line=first_line)
        timing = _TIMING.match(lines[timing_at])
        if not timing:
            raise TranscriptError(f"malformed cue timing {lines[timing_at].strip()!r}", path=path,
                                  line=first_line + timing_at)
        speaker, spoken = _clean(" ".join(lines[timing_at + 1:]))
        prefix = None
        if speaker is None:
            label, content_offset, _ = split_label(spoken)
            if label:
                prefix = (label, spoken[content_offset:])
        if spoken:
            cues.append(_Cue(speaker, spoken, parse_timestamp(timing.group("start")),
                             parse_timestamp(timing.group("end")), prefix))
    accepted = {label_key(k) for k in known} | {label_key(c.speaker) for c in cues if c.speaker}
    counts = Counter(label_key(c.prefix[0]) for c in cues if c.prefix)
    accepted |= {key for key, n in counts.items() if n >= 2}
    for cue in cues:
        if cue.prefix and label_key(cue.prefix[0]) in accepted:
            cue.speaker, cue.text = cue.prefix
    cues = [cue for cue in cues if cue.text]
    if not cues:
        raise TranscriptError("no cues with text", path=path)
    return cues


def _merge(cues: list[_Cue]) -> RawTranscript:
    merged: list[_Cue] = []
    for cue in cues:
        if merged and merged[-1].speaker == cue.speaker:
            merged[-1].text += " " + cue.text
            merged[-1].end = cue.end
        else:
            merged.append(_Cue(cue.speaker, cue.text, cue.start, cue.end))
    parts, turns, offset = [], [], 0
    for cue in merged:
        prefix = f"{cue.speaker} : " if cue.speaker else ""
        line = prefix + cue.text
        turns.append(RawTurn(cue.speaker, offset + len(prefix), offset + len(line), cue.start,
                             cue.end))
        parts.append(line)
        offset += len(line) + 1
    return RawTranscript("\n".join(parts), tuple(turns))


def parse_vtt(
    text: str, path: str | Path = "<vtt>", known_labels: Iterable[str] = ()
) -> RawTranscript:
    """Parse decoded WebVTT text."""
    return _merge(_cues(text, path, webvtt=True, known=known_labels))


def parse_srt(
    text: str, path: str | Path = "<srt>", known_labels: Iterable[str] = ()
) -> RawTranscript:
    """Parse decoded SubRip text."""
    return _merge(_cues(text, path, webvtt=False, known=known_labels))


def read_subtitle_transcript(
    path: str | Path, known_labels: Iterable[str] = (), encoding: str | None = None
) -> RawTranscript:
    """Read a ``.vtt`` or ``.srt`` file."""
    text, used = read_text(path, encoding)
    parse = parse_vtt if Path(path).suffix.lower() == ".vtt" else parse_srt
    raw = parse(text, path, known_labels)
    return RawTranscript(raw.text, raw.turns, raw.metadata, used)
