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


# --- a tiny results folder, for the report and workbook exports ---------------------------------

TINY_CODEBOOK = """\
name: tiny-en
title: "AI in hospitals: a tiny study"
version: "0.1"
language: {language}
settings: {{threshold: 0.4, similarity: tfidf}}
themes:
  - id: organisation
    label: Organisation
    codes:
      - {{id: central, label: Central steering, definition: "Projects decided by management."}}
      - {{id: local, label: Local initiative, definition: "Projects started by care teams."}}
  - id: ethics
    label: Ethics
    codes:
      - {{id: oversight, label: Human oversight, definition: "A human keeps the decision."}}
      - {{id: barrier, label: Barrier, definition: "Something that slows adoption down."}}
"""
TINY_HYPOTHESES = """\
hypotheses:
  - id: H1
    statement: "Management steers AI projects."
    supported_by: [central]
    contradicted_by: [{all_of: [central, barrier]}]
"""
TINY_PARTICIPANTS = {"P1": ("Director 1", "Director"), "P2": ("Nurse 1", "Nurse"),
                     "P3": ("Nurse 2", "Nurse")}
TINY_SEGMENTS = [  # segment_id, participant, text
    ("d1#1.1", "P1", "The board decided the AI roadmap for every ward."),
    ("d1#1.2", "P1", "A nurse always validates the alert before acting."),
    ("d1#3.1", "P1", "Management chose the tool, but the budget slowed everything down."),
    ("d2#1.1", "P2", "Our ward started the pilot on its own."),
    ("d2#1.2", "P2", "= this line starts like a spreadsheet formula"),
    ("d2#3.1", "P2", "The steering committee picks which projects go ahead."),
    ("d3#1.1", "P3", "We tested the tool with the night team first."),
    ("d3#1.2", "P3", "Thank you."),
]
TINY_CODINGS = [  # segment_id, code_id, score, status
    ("d1#1.1", "central", 0.9, "accepted"), ("d1#1.2", "oversight", 0.8, "suggested"),
    ("d1#3.1", "central", 0.7, "suggested"), ("d1#3.1", "barrier", 0.75, "suggested"),
    ("d2#1.1", "local", 0.85, "accepted"), ("d2#1.2", "barrier", 0.45, "suggested"),
    ("d2#3.1", "central", 0.6, "suggested"), ("d3#1.1", "local", 0.65, "suggested"),
    ("d3#1.1", "central", 0.5, "rejected"), ("d3#1.2", "oversight", 0.42, "suggested"),
]


def write_tiny_results(folder: Path, *, language: str = "en", role: bool = True,
                       hypotheses: bool = True) -> Path:
    """A results folder written by hand: 3 documents, 3 participants, 8 segments, 10 codings."""
    import json

    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    rows, start = [], 0
    for segment_id, participant, text in TINY_SEGMENTS:
        speaker, job = TINY_PARTICIPANTS[participant]
        row = {"document_id": segment_id.split("#")[0], "segment_id": segment_id,
               "turn_index": int(segment_id.split("#")[1].split(".")[0]), "speaker": speaker,
               "participant_id": participant, "start": start, "end": start + len(text),
               "words": len(text.split()), "text": text, "question": "And AI?"}
        rows.append({**row, "role": job} if role else row)
        start += len(text) + 1
    pd.DataFrame(rows).to_csv(folder / "segments.csv", index=False)
    theme = {"central": "organisation", "local": "organisation", "oversight": "ethics", "barrier": "ethics"}
    pd.DataFrame([{"document_id": s.split("#")[0], "segment_id": s, "code_id": c, "theme_id": theme[c],
                   "score": score, "method": "hybrid" if score > 0.7 else "rule", "evidence": f"keyword {c}",
                   "status": status} for s, c, score, status in TINY_CODINGS]
                 ).to_csv(folder / "codings.csv", index=False)
    run = {"tool": {"name": "qualcode", "version": "9.9.9"}, "started_at": "2025-03-04T10:20:30+00:00",
           "codebook": {"name": "tiny-en", "version": "0.1"},
           "parameters": {"unit": "sentence", "similarity": "tfidf", "threshold": 0.4, "context_window": 1,
                          "accent_insensitive": True, "calibration": [0.05, 0.45]}}
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    book = TINY_CODEBOOK.format(language=language) + (TINY_HYPOTHESES if hypotheses else "")
    (folder / "codebook.yaml").write_text(book, encoding="utf-8")
    return folder


@pytest.fixture
def tiny_results(tmp_path):
    """Build and load a tiny results folder: ``tiny_results(language="fr", role=False)``."""
    from qualcode.results import load_results

    def make(**options):
        return load_results(write_tiny_results(tmp_path / "tiny", **options))

    return make


# --- a real coding run on a few bundled interviews ------------------------------------------------

def code_bundled(folder: Path, files: tuple[str, ...]) -> Path:
    """Copy some bundled transcripts (and their participants rows) into ``folder`` and code them.

    Returns the results folder; the spaCy pipeline is loaded once per test process.
    """
    import shutil

    import pandas as pd

    import qualcode

    root = Path(__file__).resolve().parents[1]
    transcripts = folder / "transcripts"
    transcripts.mkdir(parents=True)
    for name in files:
        shutil.copy(root / "transcripts" / name, transcripts / name)
    table = pd.read_csv(root / "transcripts" / "participants.csv")
    table[table.file.isin(files)].to_csv(transcripts / "participants.csv", index=False)
    qualcode.code_transcripts(transcripts, root / "codebooks" / "ds-ia-sante.yaml", out=folder / "out")
    return folder / "out"


@pytest.fixture
def wide_console():
    """CLI panels and tables never fold at the terminal's width, whatever runs pytest."""
    from qualcode import cli

    saved = [(console, console._width) for console in (cli.out, cli.err)]
    for console, _ in saved:
        console._width = 200
    yield
    for console, width in saved:
        console._width = width


@pytest.fixture(scope="session")
def bundled_run(tmp_path_factory):
    """The 13 bundled interviews coded once for the whole session, as ``code_transcripts`` returns
    them; its ``folder`` is shared, so tests only read it (copy it before changing anything)."""
    import qualcode

    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("bundled-run") / "results"
    return qualcode.code_transcripts([root / "transcripts"], root / "codebooks" / "ds-ia-sante.yaml", out=out)
