"""The participants table: reading, validation, lookup and interviewer labels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qualcode.errors import ParticipantsError
from qualcode.participants import (
    DEFAULT_INTERVIEWER_LABELS,
    PARTICIPANT_FILENAMES,
    Participant,
    find_participants_file,
    is_interviewer_label,
    read_participants,
)

BUNDLED = Path(__file__).resolve().parents[1] / "transcripts"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- reading ----------------------------------------------------------------------------------


def test_bundled_participants_table():
    table = read_participants(BUNDLED / "participants.csv")
    assert table.path == str(BUNDLED / "participants.csv")
    assert len(table.rows) == 15
    assert table.attribute_names == ["role", "function", "establishment", "establishment_type",
                                     "establishment_staff", "interview_mode"]
    first = table.rows[0]
    assert first == Participant(
        "DG1", "DG 1", "entretien_01_dg_chu1.txt",
        {"role": "DG", "function": "Directeur général", "establishment": "E1",
         "establishment_type": "CHU", "establishment_staff": "7500",
         "interview_mode": "visioconférence"},
        line=2,
    )
    assert first.role == "DG" and not first.is_interviewer
    # A quoted field with a comma stays one value.
    dh3 = next(r for r in table.rows if r.participant_id == "DH3")
    assert dh3.attributes["function"] == (
        "Directeur des technologies de santé, de l'innovation et de l'ingénierie clinique")
    assert [r.line for r in table.rows] == list(range(2, 17))


def test_semicolon_bom_and_blank_lines(tmp_path):
    path = write(tmp_path / "participants.csv",
                 "\ufeffparticipant_id;speaker;file;role\n"
                 "DG1;DG 1;a.txt;DG\n"
                 "\n"
                 "CGS1;CGS 1;;CGS\n"
                 "  ;  ;  ;  \n")
    table = read_participants(path)
    assert [(r.participant_id, r.speaker, r.file, r.role, r.line) for r in table.rows] == [
        ("DG1", "DG 1", "a.txt", "DG", 2), ("CGS1", "CGS 1", None, "CGS", 4)]


def test_windows_1252_table_keeps_line_numbers(tmp_path):
    path = write(tmp_path / "participants.csv",
                 "participant_id,speaker,fonction\n"
                 "DG1,DG 1,Directeur général\n"
                 "\n"
                 "CGS1,CGS 1,Coordonnatrice générale\n"
                 "CGS2,cgs 1,Coordonnatrice générale\n", encoding="cp1252")
    with pytest.raises(ParticipantsError, match=r"duplicate row.*first on line 4") as info:
        read_participants(path)
    assert info.value.line == 5
    assert str(info.value).startswith(f"{path}:5: ")


def test_windows_1252_table_is_read(tmp_path):
    path = write(tmp_path / "participants.csv",
                 "participant_id,speaker,fonction\nDG1,DG 1,Directeur général\n",
                 encoding="cp1252")
    table = read_participants(path)
    assert table.rows[0].attributes == {"fonction": "Directeur général"}


def test_xlsx_table(tmp_path):
    import pandas as pd

    path = tmp_path / "participants.xlsx"
    pd.DataFrame({
        "participant_id": ["DG1", "CGS1"],
        "speaker": ["DG 1", "CGS 1"],
        "file": ["a.txt", None],
        "role": ["DG", "CGS"],
        "effectif": [7500, 3200],
    }).to_excel(path, index=False)
    table = read_participants(path)
    assert [(r.participant_id, r.speaker, r.file, r.line) for r in table.rows] == [
        ("DG1", "DG 1", "a.txt", 2), ("CGS1", "CGS 1", None, 3)]
    assert table.rows[0].attributes == {"role": "DG", "effectif": "7500"}


def test_unnamed_columns_are_not_attributes(tmp_path):
    path = write(tmp_path / "participants.csv",
                 "participant_id,speaker,,role\nDG1,DG 1,,DG\n")
    table = read_participants(path)
    assert table.attribute_names == ["role"]


def test_file_only_and_speaker_only_tables(tmp_path):
    table = read_participants(write(tmp_path / "f.csv", "participant_id,file\nP1,a.txt\n"))
    assert (table.rows[0].file, table.rows[0].speaker) == ("a.txt", None)
    table = read_participants(write(tmp_path / "s.csv", "participant_id,speaker\nP1,DG 1\n"))
    assert (table.rows[0].file, table.rows[0].speaker) == (None, "DG 1")


# --- errors -----------------------------------------------------------------------------------


def test_missing_participant_id_column(tmp_path):
    path = write(tmp_path / "participants.csv", "id,speaker,role\nDG1,DG 1,DG\n")
    with pytest.raises(ParticipantsError, match="missing column 'participant_id'") as info:
        read_participants(path)
    assert info.value.line == 1
    assert str(info.value).startswith(f"{path}:1: ")


def test_neither_speaker_nor_file_column(tmp_path):
    path = write(tmp_path / "participants.csv", "participant_id,role\nDG1,DG\n")
    with pytest.raises(ParticipantsError, match="'speaker' or a 'file' column") as info:
        read_participants(path)
    assert info.value.line == 1 and str(path) in str(info.value)


def test_empty_participant_id(tmp_path):
    path = write(tmp_path / "participants.csv",
                 "participant_id,speaker,role\nDG1,DG 1,DG\n,CGS 1,CGS\n")
    with pytest.raises(ParticipantsError, match="empty participant_id") as info:
        read_participants(path)
    assert info.value.line == 3
    assert str(info.value).startswith(f"{path}:3: ")


def test_row_with_neither_speaker_nor_file(tmp_path):
    path = write(tmp_path / "participants.csv",
                 "participant_id,speaker,file,role\nDG1,DG 1,,DG\nX,,,DG\n")
    with pytest.raises(ParticipantsError, match="neither a speaker nor a file") as info:
        read_participants(path)
    assert info.value.line == 3


def test_duplicate_rows_ignore_case_and_accents(tmp_path):
    path = write(tmp_path / "participants.csv",
                 "participant_id,speaker,file\nM1,Médecin urgentiste,a.txt\n"
                 "M2,medecin  URGENTISTE,A.txt\n")
    with pytest.raises(ParticipantsError, match="duplicate row") as info:
        read_participants(path)
    assert info.value.line == 3


def test_same_speaker_in_two_files_is_not_a_duplicate(tmp_path):
    path = write(tmp_path / "participants.csv",
                 "participant_id,speaker,file\nP1,CGS 1,a.txt\nP2,CGS 1,b.txt\n")
    assert len(read_participants(path).rows) == 2


def test_empty_participants_file(tmp_path):
    path = write(tmp_path / "participants.csv", "")
    with pytest.raises(ParticipantsError, match="empty") as info:
        read_participants(path)
    assert str(path) in str(info.value)


def test_missing_participants_file(tmp_path):
    path = tmp_path / "absent.csv"
    with pytest.raises(ParticipantsError, match="no such file") as info:
        read_participants(path)
    assert str(path) in str(info.value)


def test_unparsable_table(tmp_path):
    path = write(tmp_path / "participants.csv", 'participant_id,speaker\n"DG1,DG 1\n')
    with pytest.raises(ParticipantsError, match="cannot read participants table") as info:
        read_participants(path)
    assert str(path) in str(info.value)


def test_unparsable_windows_1252_table(tmp_path):
    path = write(tmp_path / "participants.csv", 'participant_id,speaker\n"DG1,Médecin\n',
                 encoding="cp1252")
    with pytest.raises(ParticipantsError, match="cannot read participants table"):
        read_participants(path)


def test_corrupt_xlsx(tmp_path):
    path = tmp_path / "participants.xlsx"
    path.write_bytes(b"not a spreadsheet at all")
    with pytest.raises(ParticipantsError, match="cannot read participants table") as info:
        read_participants(path)
    assert str(path) in str(info.value)


# --- lookup -----------------------------------------------------------------------------------


@pytest.fixture
def table(tmp_path):
    path = write(tmp_path / "participants.csv",
                 "participant_id,speaker,file,role\n"
                 "CGS1,CGS 1,entretien_02.docx,CGS\n"        # line 2: file + speaker
                 "E3,,entretien_06.txt,Équipe\n"             # line 3: whole file
                 "ENQ,Enquêtrice,,interviewer\n"             # line 4: speaker anywhere
                 "MED,Médecin urgentiste,,Médecin\n")        # line 5
    return read_participants(path)


def test_lookup_prefers_file_and_speaker(table):
    row = table.lookup("entretien_02", "entretien_02.docx", "CGS 1")
    assert row.participant_id == "CGS1"


def test_lookup_by_document_id_or_file_stem(table):
    assert table.lookup("entretien_02", "renamed.docx", "cgs 1").participant_id == "CGS1"
    assert table.lookup("x", "entretien_02.txt", "CGS 1").participant_id == "CGS1"


def test_lookup_row_for_a_whole_file(table):
    assert table.lookup("entretien_06", "entretien_06.txt", "ING 2").participant_id == "E3"
    assert table.lookup("entretien_06", "entretien_06.txt", None).participant_id == "E3"


def test_lookup_speaker_in_any_file_ignoring_case_and_accents(table):
    row = table.lookup("autre", "autre.txt", "medecin URGENTISTE")
    assert row.participant_id == "MED"
    assert table.lookup("autre", "autre.txt", "Enquetrice").is_interviewer


def test_lookup_miss(table):
    assert table.lookup("autre", "autre.txt", "DG 9") is None
    assert table.lookup("autre", "autre.txt", None) is None


def test_check_all_used(table):
    table.lookup("entretien_02", "entretien_02.docx", "CGS 1")
    table.lookup("entretien_06", "entretien_06.txt", "ING 2")
    table.lookup("autre", "autre.txt", "Enquêtrice")
    with pytest.raises(ParticipantsError, match="'Médecin urgentiste' does not occur in any "
                                                "transcript") as info:
        table.check_all_used(["entretien_02.docx", "entretien_06.txt", "autre.txt"],
                             ["entretien_02.docx", "entretien_06.txt", "autre.txt"])
    assert info.value.line == 5
    table.lookup("autre", "autre.txt", "Médecin urgentiste")
    table.check_all_used(["entretien_02.docx", "entretien_06.txt", "autre.txt"],
                         ["entretien_02.docx", "entretien_06.txt", "autre.txt"])


def test_check_all_used_rows_about_files_not_read(table):
    table.lookup("autre", "autre.txt", "Enquêtrice")
    table.lookup("autre", "autre.txt", "Médecin urgentiste")
    # The files exist beside the table but were not read this time: fine.
    table.check_all_used(["entretien_02.docx", "entretien_06.txt", "autre.txt"], ["autre.txt"])
    # A row about a file that is not among the transcripts at all: an error.
    with pytest.raises(ParticipantsError, match=re.escape("'entretien_02.docx' is not among")) as info:
        table.check_all_used(["entretien_06.txt", "autre.txt"], ["autre.txt"])
    assert info.value.line == 2


def test_check_all_used_speaker_missing_from_its_file(table):
    table.lookup("entretien_06", "entretien_06.txt", "DH 3")
    table.lookup("autre", "autre.txt", "Enquêtrice")
    table.lookup("autre", "autre.txt", "Médecin urgentiste")
    message = re.escape("'CGS 1' does not occur in entretien_02.docx")
    with pytest.raises(ParticipantsError, match=message) as info:
        table.check_all_used(["entretien_02.docx", "entretien_06.txt"],
                             ["entretien_02.docx", "entretien_06.txt"])
    assert info.value.line == 2


# --- interviewer labels and finding the file --------------------------------------------------


@pytest.mark.parametrize(
    "label", ["Intervieweur", "intervieweuse", "Intervieweur 2", "ENQUETRICE", "Q", "Q2",
              "Enquêteur", "Interviewer", "Chercheuse 1"],
)
def test_interviewer_labels(label):
    assert is_interviewer_label(label, DEFAULT_INTERVIEWER_LABELS)


@pytest.mark.parametrize("label", ["CGS 1", "DG 2", "Qualité", "Questionnaire", "", None])
def test_not_interviewer_labels(label):
    assert not is_interviewer_label(label, DEFAULT_INTERVIEWER_LABELS)


def test_interviewer_role():
    assert Participant("I", "X", None, {"role": " Interviewer "}).is_interviewer
    assert not Participant("I", "X", None, {"role": "CGS"}).is_interviewer
    assert not Participant("I", "X", None, {}).is_interviewer
    assert Participant("I", "X", None, {}).role is None


def test_find_participants_file(tmp_path):
    assert PARTICIPANT_FILENAMES == ("participants.csv", "participants.xlsx")
    assert find_participants_file(tmp_path) is None
    (tmp_path / "participants.xlsx").write_bytes(b"")
    assert find_participants_file(tmp_path) == tmp_path / "participants.xlsx"
    (tmp_path / "participants.csv").write_text("participant_id,speaker\n", encoding="utf-8")
    assert find_participants_file(tmp_path) == tmp_path / "participants.csv"
    assert find_participants_file(BUNDLED) == BUNDLED / "participants.csv"
