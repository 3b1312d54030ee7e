"""What the three sides of the REFI-QDA exchange share: the format's namespaces and a few helpers.

The machine's user name ties export to import: suggestions exported under it are not imported
back as a coder's decisions unless that user is mapped.
"""

from __future__ import annotations

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
SUGGESTIONS_USER = "qualcode (suggestions)"


def _present(value) -> bool:
    return value is not None and value == value and str(value).strip() != ""  # NaN != NaN


def _truncate(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
