"""Cut a speaker turn into units of coding: the whole turn, paragraphs, or sentences.

Sentences never cross a paragraph boundary; spans are trimmed of surrounding
whitespace, and spans without a letter or digit (``…``, ``--``) are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["UNITS", "SentenceSplitter", "paragraph_spans", "segment_turn"]

UNITS = ("sentence", "paragraph", "turn")

#: Takes paragraph texts, returns for each the ``(start, end)`` of its sentences.
SentenceSplitter = Callable[[Sequence[str]], list[list[tuple[int, int]]]]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _has_content(text: str) -> bool:
    return any(c.isalnum() for c in text)


def paragraph_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Non-empty lines of ``text[start:end]`` as trimmed absolute spans."""
    spans = []
    position = start
    while position < end:
        newline = text.find("\n", position, end)
        stop = end if newline == -1 else newline
        s, e = _trim(text, position, stop)
        if e > s and _has_content(text[s:e]):
            spans.append((s, e))
        position = stop + 1
    return spans


def segment_turn(
    text: str, start: int, end: int, unit: str, splitter: SentenceSplitter | None = None
) -> list[tuple[int, int]]:
    """Spans of the units of ``text[start:end]`` (absolute offsets into ``text``)."""
    if unit == "turn":
        s, e = _trim(text, start, end)
        return [(s, e)] if e > s and _has_content(text[s:e]) else []
    paragraphs = paragraph_spans(text, start, end)
    if unit == "paragraph":
        return paragraphs
    if unit != "sentence":
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, not {unit!r}")
    if splitter is None:
        raise ValueError("sentence segmentation needs a sentence splitter")
    spans = []
    for (p_start, p_end), sentences in zip(
        paragraphs, splitter([text[s:e] for s, e in paragraphs]), strict=True
    ):
        for s, e in sentences:
            s, e = _trim(text, p_start + s, min(p_start + e, p_end))
            if e > s and _has_content(text[s:e]):
                spans.append((s, e))
    return spans
