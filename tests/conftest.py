"""Shared fixtures: small Word transcripts generated with python-docx.

Word files are built at test time rather than committed, so that their content
is readable here.  Each builder writes into the folder it is given and returns
the path.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def _document(title: str | None = None):
    import docx

    document = docx.Document()
    if title is not None:
        document.core_properties.title = title
        document.core_properties.author = "Équipe de recherche"
    return document


def _labelled(document, runs: list[tuple[str, bool]]) -> None:
    paragraph = document.add_paragraph()
    for text, bold in runs:
        paragraph.add_run(text).bold = bold or None


def write_bold_docx(folder: Path, name: str = "bold_labels.docx") -> Path:
    """Labels as leading bold runs, with and without the colon inside the bold run."""
    document = _document("Entretien CGS, CHU 1")
    document.add_heading("Entretien avec la coordinatrice", level=1)
    _labelled(document, [("Enquêtrice :", True), (" Bonjour Madame, pouvez-vous vous présenter ?",
                                                   False)])
    _labelled(document, [("CGS 1", True), (" : Bonjour. Je suis coordonnatrice générale des soins.",
                                           False)])
    document.add_paragraph("Avant, j'étais cadre de santé en réanimation.")
    _labelled(document, [("Enquêtrice :", True), (" Et l'intelligence artificielle ?", False)])
    _labelled(document, [("CGS ", True), ("1 :", True), (" On teste la dictée vocale.", False)])
    path = folder / name
    document.save(path)
    return path


def write_prefix_docx(folder: Path, name: str = "label_prefix.docx") -> Path:
    """Labels typed as ``Label :`` at the start of plain paragraphs."""
    document = _document()
    document.add_paragraph("Intervieweur : Bonjour, et merci d'avoir accepté cet entretien.")
    document.add_paragraph("CGS 3 : Bonjour. Je suis coordonnatrice générale des soins ici.")
    document.add_paragraph("Par exemple : les transmissions, on les fait encore sur papier.")
    document.add_paragraph("Intervieweur : Et au niveau du GHT ?")
    document.add_paragraph("CGS 3 : Il y a une ligne dans le projet médico-soignant.")
    path = folder / name
    document.save(path)
    return path


TABLE_ROWS = [
    ("Intervieweur", "Bonjour, pouvez-vous vous présenter ?"),
    ("CGS 3", "Je suis coordonnatrice générale des soins depuis quatre ans."),
    ("Intervieweur", "Et l'IA dans votre établissement ?"),
    ("CGS 3", "On n'est pas du tout à la pointe, je vais être honnête."),
]


def write_table_docx(folder: Path, name: str = "table.docx") -> Path:
    """A two-column speaker | speech table after an introductory paragraph."""
    document = _document()
    document.add_paragraph("Transcription de l'entretien")
    table = document.add_table(rows=0, cols=2)
    for speaker, speech in TABLE_ROWS:
        cells = table.add_row().cells
        cells[0].text = speaker
        cells[1].text = speech
    path = folder / name
    document.save(path)
    return path


@pytest.fixture
def bold_docx(tmp_path: Path) -> Path:
    return write_bold_docx(tmp_path)


@pytest.fixture
def prefix_docx(tmp_path: Path) -> Path:
    return write_prefix_docx(tmp_path)


@pytest.fixture
def table_docx(tmp_path: Path) -> Path:
    return write_table_docx(tmp_path)


@pytest.fixture
def docx_writers():
    """The builders, for tests that put Word files in a folder of their own."""
    return {"bold": write_bold_docx, "prefix": write_prefix_docx, "table": write_table_docx}
