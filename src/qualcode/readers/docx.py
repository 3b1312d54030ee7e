"""Word (``.docx``) transcripts, read with python-docx.

Each paragraph becomes one line of the document text.  A turn starts at a
paragraph whose leading bold run is a speaker label (``**CGS 1** Bonjour``), or
that begins with ``Label :`` as in plain text.  Two-column tables (speaker |
speech), a common transcription layout, are read row by row.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..decoding import normalise_text
from ..errors import TranscriptError
from .base import LabelledLine, RawTranscript, build_turns, split_label

__all__ = ["read_docx_transcript"]

_MAX_LABEL_WORDS = 5
# Header cells of a speaker | speech table, not speakers.
_TABLE_HEADERS = {"locuteur", "locutrice", "intervenant", "speaker", "orateur", "personne", "nom",
                  "name", "qui"}


def _is_bold(run) -> bool:
    if run.bold is not None:
        return bool(run.bold)
    style = run.style
    return bool(style is not None and style.font.bold)


def _bold_label(paragraph) -> tuple[str, int] | None:
    """A label given as the paragraph's leading bold runs: ``(label, content_offset)``."""
    bold_text = ""
    for run in paragraph.runs:
        if not run.text:
            continue
        if not _is_bold(run):
            break
        bold_text += run.text
    label = bold_text.strip().rstrip(":：").strip()
    if not label or not label[0].isalpha() or len(label) > 40:
        return None
    if len(label.split()) > _MAX_LABEL_WORDS:
        return None
    text = normalise_text(paragraph.text)
    offset = len(normalise_text(bold_text))
    rest = text[offset:]
    stripped = rest.lstrip(" \t:：")
    return " ".join(label.split()), offset + (len(rest) - len(stripped))


def _lines(document) -> Iterator[tuple[str, tuple[str, int] | None]]:
    """Yield ``(line_text, bold_label)`` for paragraphs and table rows, in document order."""
    for block in document.iter_inner_content():
        if hasattr(block, "runs"):
            yield normalise_text(block.text), _bold_label(block)
            continue
        for row in block.rows:
            cells = [normalise_text(c.text).strip() for c in row.cells]
            cells = [c for i, c in enumerate(cells) if c and c not in cells[:i]]
            if len(cells) == 2 and cells[0].rstrip(":： ").casefold() in _TABLE_HEADERS:
                continue
            if len(cells) == 2 and split_label(cells[0] + " :")[0]:
                label = " ".join(cells[0].rstrip(":：").split())
                content = " ".join(cells[1].split())
                yield f"{label} : {content}", (label, len(label) + 3)
            elif cells:
                yield " | ".join(" ".join(c.split()) for c in cells), None


def read_docx_transcript(path: str | Path, known_labels: Iterable[str] = ()) -> RawTranscript:
    """Read a ``.docx`` transcript; a corrupt or non-Word file raises TranscriptError."""
    import docx  # python-docx; imported here to keep ``import qualcode`` fast
    from docx.opc.exceptions import PackageNotFoundError

    path = Path(path)
    if path.stat().st_size == 0:
        raise TranscriptError("file is empty", path=path)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise TranscriptError(f"not a readable .docx file ({exc})", path=path) from None
    except Exception as exc:  # lxml and zip errors of many kinds: the file is corrupt
        raise TranscriptError(f"corrupt .docx file ({type(exc).__name__})", path=path) from None

    lines: list[LabelledLine] = []
    parts: list[str] = []
    offset = 0
    for text, bold in _lines(document):
        if bold is not None:
            label, content_offset = bold
            lines.append(LabelledLine(offset, text, label, content_offset, strong=True))
        else:
            label, content_offset, time = split_label(text)
            lines.append(LabelledLine(offset, text, label, content_offset, time))
        parts.append(text)
        offset += len(text) + 1
    body = "\n".join(parts)
    if not body.strip():
        raise TranscriptError("document contains no text", path=path)
    metadata = {}
    core = document.core_properties
    for key in ("title", "author", "subject"):
        value = getattr(core, key, None)
        if value:
            metadata[key] = value
    if core.created is not None:
        metadata["created"] = core.created.isoformat()
    turns = build_turns(body, lines, known_labels)
    return RawTranscript(body, tuple(turns), metadata, "docx")
