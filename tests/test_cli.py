"""The ``qualcode`` command line, driven with Typer's CliRunner."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import typer
import typer.main
from typer.testing import CliRunner

import qualcode
from qualcode.cli import app
from qualcode.corpus import load_corpus

ROOT = Path(__file__).resolve().parents[1]
TRANSCRIPTS = ROOT / "transcripts"
SHIPPED = ROOT / "codebooks" / "ds-ia-sante.yaml"
CODEBOOKS = Path(__file__).parent / "data" / "codebooks"

DOCUMENTS = [
    "entretien_01_dg_chu1", "entretien_02_cgs_chu1", "entretien_03_dir_ia_chu1",
    "entretien_04_dg_chu2", "entretien_05_cgs_chu2", "entretien_06_equipe_tech_ch3",
    "entretien_07_cgs_ch3", "entretien_08_dh_recherche_chu4", "entretien_09_cgs_chu4",
    "entretien_10_dg_chu5", "entretien_11_cgs_chu5", "entretien_12_dh_achats_chu5",
    "entretien_13_med_urg_ch6",
]
ROLES = ["DG", "CGS", "Directeur IA", "DH", "Ingénieur", "Médecin"]
INTERVIEW = ("Intervieweur : Bonjour, pouvez-vous vous présenter ?\n"
             "CGS 1 : Je suis coordonnatrice générale des soins.\n"
             "Intervieweur : Et l'intelligence artificielle ?\n"
             "CGS 1 : On teste la dictée vocale dans deux services.\n")

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("wide_console")  # fixture in conftest.py


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_user_error(result, first_line: str) -> None:
    """Exit 2, one ``error:`` line first on stderr, nothing on stdout, no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == first_line


# --- version and help -------------------------------------------------------------------------


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"qualcode {qualcode.__version__}"


def _command_paths(typer_app: typer.Typer, prefix: tuple[str, ...] = ()):
    for info in typer_app.registered_commands:
        yield (*prefix, info.name or typer.main.get_command_name(info.callback.__name__))
    for group in typer_app.registered_groups:
        sub = group.typer_instance
        yield from _command_paths(sub, (*prefix, group.name or sub.info.name))


COMMANDS = list(_command_paths(app))


def test_command_walk_finds_the_known_commands():
    assert set(COMMANDS) >= {("ingest",), ("code",), ("evaluate",), ("codebook", "check"),
                             ("codebook", "show")}


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(path):
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert re.search(r"Example:\s+qualcode\s+" + r"\s+".join(map(re.escape, path)) + r"\b",
                     result.stdout), result.stdout


def test_top_level_help_has_an_example():
    result = invoke("--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout


# --- ingest -----------------------------------------------------------------------------------


def test_ingest_lists_documents_and_roles():
    result = invoke("ingest", TRANSCRIPTS, "--unit", "paragraph")
    assert result.exit_code == 0, result.output
    assert "Corpus: 13 documents (paragraph segments)" in result.stdout
    for document_id in DOCUMENTS:
        assert document_id in result.stdout
    for role in ROLES:
        assert role in result.stdout
    assert "warning:" not in result.stderr


@pytest.mark.slow
def test_ingest_default_unit_is_sentence():
    result = invoke("ingest", TRANSCRIPTS)
    assert result.exit_code == 0, result.output
    assert "Corpus: 13 documents (sentence segments)" in result.stdout
    for document_id in DOCUMENTS:
        assert document_id in result.stdout


def test_ingest_writes_segments_csv(tmp_path):
    out = tmp_path / "results"
    result = invoke("ingest", TRANSCRIPTS, "--unit", "paragraph", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["documents.csv", "segments.csv", "turns.csv"]
    frame = pd.read_csv(out / "segments.csv", dtype=str, keep_default_na=False)
    assert {"document_id", "segment_id", "speaker", "participant_id", "start", "end", "text",
            "role", "establishment"} <= set(frame.columns)
    corpus = load_corpus([TRANSCRIPTS], unit="paragraph")
    assert len(frame) == len(corpus.segments)
    assert set(frame.document_id) == set(DOCUMENTS)
    assert set(frame.role) == set(ROLES)
    texts = {d.document_id: d.text for d in corpus.documents}
    mismatched = [row.segment_id for row in frame.itertuples()
                  if texts[row.document_id][int(row.start):int(row.end)] != row.text]
    assert mismatched == []
    documents = pd.read_csv(out / "documents.csv", dtype=str)
    assert list(documents.document_id) == DOCUMENTS


def test_transcript_without_speaker_labels_warns(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Ceci est un texte sans locuteur.\nUne deuxième ligne de texte.\n",
                    encoding="utf-8")
    result = invoke("ingest", path, "--unit", "paragraph")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        f"warning: {path}: no speaker labels found; the whole transcript is treated as one speaker")
    assert "Corpus: 1 documents" in result.stdout


# --- user errors: exit 2, one line, no traceback ----------------------------------------------


def _corrupt_docx(folder: Path) -> Path:
    import docx

    good = folder / "good.docx"
    document = docx.Document()
    document.add_paragraph("Intervieweur : Bonjour")
    document.save(good)
    path = folder / "corrupt.docx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, b"<w:document><broken" if item.filename == "word/document.xml"
                            else data)
    good.unlink()
    return path


def test_empty_transcript(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    assert_user_error(invoke("ingest", path, "--unit", "paragraph"), f"error: {path}: file is empty")


def test_binary_txt(tmp_path):
    path = tmp_path / "binary.txt"
    path.write_bytes(b"Intervieweur : bonjour\n\x00\x01\x02\x03PK")
    assert_user_error(invoke("ingest", path, "--unit", "paragraph"),
                      f"error: {path}:2: looks like a binary file (control byte 0x00), "
                      "not a text transcript")


def test_corrupt_docx(tmp_path):
    path = _corrupt_docx(tmp_path)
    assert_user_error(invoke("ingest", path, "--unit", "paragraph"),
                      f"error: {path}: corrupt .docx file (XMLSyntaxError)")


def test_docx_that_is_not_a_zip(tmp_path):
    path = tmp_path / "fake.docx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert_user_error(invoke("ingest", path, "--unit", "paragraph"),
                      f"error: {path}: not a readable .docx file (Package not found at '{path}')")


def test_unknown_extension(tmp_path):
    path = tmp_path / "notes.pdf"
    path.write_text("Intervieweur : Bonjour\n", encoding="utf-8")
    assert_user_error(invoke("ingest", path, "--unit", "paragraph"),
                      f"error: {path}: unknown transcript extension '.pdf'; expected one of "
                      ".docx, .markdown, .md, .srt, .txt, .vtt")


def test_missing_path(tmp_path):
    path = tmp_path / "nowhere" / "entretien.txt"
    assert_user_error(invoke("ingest", path, "--unit", "paragraph"),
                      f"error: {path}: no such file or folder")


def test_participants_naming_an_unknown_speaker(tmp_path):
    (tmp_path / "entretien.txt").write_text(INTERVIEW, encoding="utf-8")
    table = tmp_path / "participants.csv"
    table.write_text("file,speaker,participant_id,role\n"
                     "entretien.txt,CGS 1,CGS1,CGS\n"
                     "entretien.txt,DG 9,DG9,DG\n", encoding="utf-8")
    assert_user_error(invoke("ingest", tmp_path, "--unit", "paragraph"),
                      f"error: {table}:3: speaker 'DG 9' does not occur in entretien.txt")
    assert_user_error(invoke("ingest", tmp_path / "entretien.txt", "--participants", table,
                             "--unit", "paragraph"),
                      f"error: {table}:3: speaker 'DG 9' does not occur in entretien.txt")


def test_codebook_yaml_syntax_error():
    path = CODEBOOKS / "invalid_yaml_syntax.yaml"
    for command in ("check", "show"):
        assert_user_error(invoke("codebook", command, path),
                          f"error: {path}:10: YAML syntax error: mapping values are not allowed here")


def test_codebook_with_several_schema_errors():
    path = CODEBOOKS / "invalid_several_problems.yaml"
    result = invoke("codebook", "check", path)
    assert_user_error(result, f"error: {path}: 5 problems in codebook")
    assert result.stderr.splitlines()[1:] == [
        f"  {path}:8: language: 'French' is not an ISO 639 language code such as 'fr' or 'en'",
        f"  {path}:10: settings.threshold: 2 is outside [0, 1]",
        f"  {path}:17: themes[0].codes[0].defintion: unknown key 'defintion' "
        "(did you mean 'definition'?)",
        f"  {path}:18: themes[0].codes[1].id: duplicate id 'top_down' (already used by a code)",
        f"  {path}:23: hypotheses[0].supported_by[0]: unknown code 'ds_role'",
    ]


def test_failed_ingest_writes_nothing(tmp_path):
    folder = tmp_path / "transcripts"
    folder.mkdir()
    (folder / "a_good.txt").write_text(INTERVIEW, encoding="utf-8")
    (folder / "b_empty.txt").write_bytes(b"")
    out = tmp_path / "results"
    result = invoke("ingest", folder, "--unit", "paragraph", "--out", out)
    assert_user_error(result, f"error: {folder / 'b_empty.txt'}: file is empty")
    assert not out.exists()

    out.mkdir()
    (out / "segments.csv").write_text("previous results\n", encoding="utf-8")
    result = invoke("ingest", folder, "--unit", "paragraph", "--out", out)
    assert result.exit_code == 2
    assert [p.name for p in out.iterdir()] == ["segments.csv"]
    assert (out / "segments.csv").read_text(encoding="utf-8") == "previous results\n"


# --- codebook check / show --------------------------------------------------------------------


def test_codebook_check_shipped():
    result = invoke("codebook", "check", SHIPPED)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"{SHIPPED}: ok — 4 themes, 16 codes, 2 hypotheses"
    assert result.stderr == ""


def test_codebook_show_shipped():
    result = invoke("codebook", "show", SHIPPED, "--definitions")
    assert result.exit_code == 0, result.output
    for label in ("Approches organisationnelles", "Leviers et freins", "Éthique et garantie humaine",
                  "Rôle du directeur des soins"):
        assert label in result.stdout
    flat = " ".join(result.stdout.split())
    assert ("H1 Le directeur des soins assure la pertinence de l'intégration de l'IA dans les "
            "organisations de soin.") in flat
    assert ("H2 Le directeur des soins reste garant du respect des garanties éthiques liées à "
            "l'utilisation de l'IA dans la production de soins, et de la formation des équipes "
            "soignantes.") in flat
    assert "supported by: ds_accompagnement_changement" in flat
    assert "ds_evaluation_supervision + frein" in flat
