"""Loading a corpus: documents → turns → segments, with participants and interviewer context."""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import warnings
from pathlib import Path

import pytest

from qualcode.corpus import UNLABELLED_SPEAKER, collect_transcripts, load_corpus
from qualcode.errors import (
    CorpusError,
    EncodingFallbackWarning,
    ParticipantsError,
    SpeakerWarning,
    TranscriptError,
)
from qualcode.participants import DEFAULT_INTERVIEWER_LABELS, read_participants

DATA = Path(__file__).parent / "data" / "transcripts"
BUNDLED = Path(__file__).resolve().parents[1] / "transcripts"


def participants_rows() -> list[dict]:
    with open(BUNDLED / "participants.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def bundled():
    return load_corpus([BUNDLED], unit="paragraph")


def write_transcript(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


SMALL = "Intervieweur : Bonjour.\nCGS 1 : Oui.\nIntervieweur : Et alors ?\nCGS 1 : Voilà.\n"


# --- the bundled interviews -------------------------------------------------------------------


def test_all_thirteen_bundled_transcripts_load(bundled):
    assert len(bundled.documents) == 13
    assert [d.document_id for d in bundled.documents] == sorted(
        p.stem for p in BUNDLED.iterdir() if p.suffix != ".csv")
    assert {d.format for d in bundled.documents} == {"text", "markdown", "docx", "webvtt"}
    assert bundled.unit == "paragraph"
    assert bundled.participants_path == str(BUNDLED / "participants.csv")
    assert bundled.attribute_names == ("role", "function", "establishment", "establishment_type",
                                       "establishment_staff", "interview_mode")


def test_bundled_documents_have_their_participants(bundled):
    expected: dict[str, set[tuple[str, str]]] = {}
    for row in participants_rows():
        expected.setdefault(Path(row["file"]).stem, set()).add(
            (row["speaker"], row["participant_id"]))
    for document in bundled.documents:
        participants = {(t.speaker, t.participant_id) for t in document.turns
                        if not t.is_interviewer}
        assert participants == expected[document.document_id], document.document_id


def test_bundled_interviewer_turns_are_flagged_and_not_coded(bundled):
    for document in bundled.documents:
        interviewers = {t.speaker for t in document.turns if t.is_interviewer}
        assert len(interviewers) == 1, document.document_id
        assert interviewers <= set(DEFAULT_INTERVIEWER_LABELS)
        assert document.turns[0].is_interviewer
        assert all(t.participant_id is None for t in document.turns if t.is_interviewer)
    coded = {s.speaker for s in bundled.segments}
    assert not coded & set(DEFAULT_INTERVIEWER_LABELS)


def test_every_participant_segment_has_the_preceding_question(bundled):
    by_turn = {(s.document_id, s.turn_index): [] for s in bundled.segments}
    for segment in bundled.segments:
        by_turn[(segment.document_id, segment.turn_index)].append(segment)
    checked = 0
    for document in bundled.documents:
        question = None
        for turn in document.turns:
            if turn.is_interviewer:
                question = document.text[turn.start:turn.end]
                continue
            for segment in by_turn.get((document.document_id, turn.index), []):
                assert segment.question == question
                assert segment.question  # every interview opens with a question
                checked += 1
    assert checked == len(bundled.segments)
    first = bundled.segments[0]
    assert first.question.startswith("Bonjour, merci beaucoup d'avoir accepté")


def test_roles_and_attributes_come_from_the_participants_file(bundled):
    rows = {r["participant_id"]: r for r in participants_rows()}
    for segment in bundled.segments:
        row = rows[segment.participant_id]
        assert segment.attributes == {name: row[name] for name in bundled.attribute_names}
    roles = {s.participant_id: s.attributes["role"] for s in bundled.segments}
    assert roles["ING3A"] == "Ingénieur" and roles["DIA1"] == "Directeur IA"
    assert set(roles.values()) == {"DG", "CGS", "DH", "Directeur IA", "Ingénieur", "Médecin"}


def test_bundled_offsets(bundled):
    for document in bundled.documents:
        turns = {t.index: t for t in document.turns}
        assert [t.index for t in document.turns] == list(range(len(document.turns)))
        for turn in document.turns:
            # The span is the speech: the label and its colon come just before it.
            line_start = document.text.rfind("\n", 0, turn.start) + 1
            before = document.text[line_start:turn.start]
            assert re.search(re.escape(turn.speaker) + r"\W*\s*[:：]\**\s*$", before), before
        for segment in bundled.segments:
            if segment.document_id != document.document_id:
                continue
            assert document.text[segment.start:segment.end] == segment.text
            turn = turns[segment.turn_index]
            assert turn.start <= segment.start < segment.end <= turn.end
            assert segment.speaker == turn.speaker
            assert segment.participant_id == turn.participant_id


def test_segment_ids_are_unique_and_readable(bundled):
    ids = [s.segment_id for s in bundled.segments]
    assert len(set(ids)) == len(ids)
    for segment in bundled.segments:
        assert re.fullmatch(rf"{re.escape(segment.document_id)}#{segment.turn_index}\.\d+",
                            segment.segment_id)
    assert ids[0] == "entretien_01_dg_chu1#1.1"


def test_docx_and_vtt_turns_look_like_text_turns(bundled):
    """Word and subtitle interviews give the same kind of turns as the text ones."""
    for document in bundled.documents:
        participant_turns = [t for t in document.turns if not t.is_interviewer]
        interviewer_turns = [t for t in document.turns if t.is_interviewer]
        assert 12 <= len(interviewer_turns) <= 30, document.document_id
        assert len(participant_turns) >= len(interviewer_turns) - 1
        mean_words = sum(len(document.text[t.start:t.end].split())
                         for t in participant_turns) / len(participant_turns)
        assert 40 <= mean_words <= 200, (document.document_id, mean_words)
    vtt = bundled.document("entretien_04_dg_chu2")
    assert all(t.time_start is not None and t.time_end >= t.time_start for t in vtt.turns)


def test_turn_unit_gives_one_segment_per_participant_turn():
    corpus = load_corpus([BUNDLED / "entretien_06_equipe_tech_ch3.txt",
                          BUNDLED / "entretien_04_dg_chu2.vtt"], unit="turn")
    participant_turns = [(d, t) for d in corpus.documents for t in d.turns
                         if not t.is_interviewer]
    assert len(corpus.segments) == len(participant_turns)
    for segment, (document, turn) in zip(corpus.segments, participant_turns, strict=True):
        assert segment.text == document.text[turn.start:turn.end]
        assert segment.segment_id.endswith(".1")


def test_paragraphs_split_multi_paragraph_turns(bundled):
    document = bundled.document("entretien_01_dg_chu1")
    turn = document.turns[1]
    segments = [s for s in bundled.segments
                if s.document_id == document.document_id and s.turn_index == 1]
    assert len(segments) == document.text[turn.start:turn.end].count("\n\n") + 1 >= 2
    assert all("\n" not in s.text for s in segments)


def test_document_fields(bundled):
    document = bundled.document("entretien_08_dh_recherche_chu4")
    assert document.format == "markdown"
    assert document.path == str(BUNDLED / "entretien_08_dh_recherche_chu4.md")
    assert document.encoding == "utf-8"
    assert document.sha256 == hashlib.sha256(document.text.encode("utf-8")).hexdigest()
    assert document.metadata["mode"] == "visioconférence"
    assert document.words > 1500
    assert bundled.document("entretien_02_cgs_chu1").encoding == "docx"
    with pytest.raises(KeyError):
        bundled.document("absent")


def test_frames(bundled):
    segments = bundled.segments_frame()
    assert len(segments) == len(bundled.segments)
    assert list(segments.columns[:9]) == ["document_id", "segment_id", "turn_index", "speaker",
                                          "participant_id", "start", "end", "text", "question"]
    assert set(bundled.attribute_names) <= set(segments.columns)
    assert segments.groupby("role").size()["CGS"] > 0
    turns = bundled.turns_frame()
    assert len(turns) == sum(len(d.turns) for d in bundled.documents)
    assert turns["is_interviewer"].sum() == sum(
        t.is_interviewer for d in bundled.documents for t in d.turns)
    documents = bundled.documents_frame().set_index("document_id")
    assert documents.loc["entretien_06_equipe_tech_ch3", "participants"] == "DH3, ING3A, ING3B"
    assert documents.loc["entretien_06_equipe_tech_ch3", "roles"] == "DH, Ingénieur"
    assert documents.loc["entretien_04_dg_chu2", "format"] == "webvtt"
    assert documents["segments"].sum() == len(bundled.segments)


def test_progress_is_reported_per_document():
    seen = []
    load_corpus([BUNDLED], unit="turn", progress=seen.append)
    assert len(seen) == 13 and seen[0] == "entretien_01_dg_chu1"


def test_one_bundled_file_uses_the_table_beside_it():
    corpus = load_corpus([BUNDLED / "entretien_13_med_urg_ch6.txt"], unit="turn")
    assert corpus.participants_path == str(BUNDLED / "participants.csv")
    assert {s.participant_id for s in corpus.segments} == {"MED6"}
    assert {s.attributes["role"] for s in corpus.segments} == {"Médecin"}


def test_bundled_sentence_unit_with_a_splitter():
    def splitter(paragraphs):
        result = []
        for paragraph in paragraphs:
            ends = [m.end() for m in re.finditer(r"[.?!…](?=\s|$)", paragraph)]
            starts = [0, *ends]
            result.append([(s, e) for s, e in zip(starts, [*ends, len(paragraph)],
                                                   strict=True) if e > s])
        return result

    corpus = load_corpus([BUNDLED / "entretien_09_cgs_chu4.txt"], unit="sentence",
                         sentence_splitter=splitter)
    paragraphs = load_corpus([BUNDLED / "entretien_09_cgs_chu4.txt"], unit="paragraph")
    assert len(corpus.segments) > 3 * len(paragraphs.segments)
    document = corpus.documents[0]
    for segment in corpus.segments:
        assert document.text[segment.start:segment.end] == segment.text
        assert segment.text == segment.text.strip()


# --- the small data files ---------------------------------------------------------------------


@pytest.fixture
def data_folder(tmp_path, docx_writers):
    folder = tmp_path / "corpus"
    shutil.copytree(DATA, folder)
    for write in docx_writers.values():
        write(folder)
    return folder


def test_data_folder_loads(data_folder):
    with pytest.warns(EncodingFallbackWarning, match="cp1252_fr.txt"):
        corpus = load_corpus([data_folder], unit="turn")
    ids = [d.document_id for d in corpus.documents]
    assert len(ids) == 17
    assert ".gitattributes" not in ids
    assert corpus.participants_path is None and corpus.attribute_names == ()
    for document in corpus.documents:
        assert any(t.is_interviewer for t in document.turns), document.document_id
        assert any(not t.is_interviewer for t in document.turns), document.document_id
    for segment in corpus.segments:
        document = corpus.document(segment.document_id)
        assert document.text[segment.start:segment.end] == segment.text
        # Without a participants table, a participant is its label within the document.
        assert segment.participant_id == f"{segment.document_id}:{segment.speaker}"
        assert segment.attributes == {}
    english = corpus.document("interview_en")
    assert [(t.speaker, t.is_interviewer) for t in english.turns] == [
        ("Interviewer", True), ("Participant", False), ("Interviewer", True),
        ("Participant", False)]
    assert corpus.document("cp1252_fr").encoding == "cp1252"
    assert corpus.document("bold_labels").format == "docx"
    srt = [s for s in corpus.segments if s.document_id == "subtitles"]
    assert [(s.speaker, s.question) for s in srt] == [("CGS 1", "Bonjour Madame.")]


def test_timestamps_reach_the_turns(data_folder):
    corpus = load_corpus([data_folder / "timestamps_brackets.txt",
                          data_folder / "voice_tags.vtt"], unit="turn")
    text_doc, vtt_doc = corpus.documents
    assert [t.time_start for t in text_doc.turns] == [5.0, 12.0, 751.0, 3723.0]
    assert [(t.time_start, t.time_end) for t in vtt_doc.turns][:2] == [(3.0, 13.2), (14.5, 27.0)]
    assert corpus.turns_frame()["time_start"].tolist()[:4] == [5.0, 12.0, 751.0, 3723.0]


def test_par_exemple_is_not_a_participant(data_folder):
    corpus = load_corpus([data_folder / "cgs_typo_fr.txt", data_folder / "label_prefix.docx"],
                         unit="paragraph")
    assert {s.speaker for s in corpus.segments} == {"CGS 1", "CGS 3"}
    assert any(s.text.startswith("Par exemple : ") for s in corpus.segments)


def test_interviewer_role_in_participants_overrides_the_label(tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    write_transcript(folder, "a.txt", "Modératrice : Bonjour.\nCGS 1 : Oui.\n"
                                      "Modératrice : Et alors ?\nQ : Voilà.\n")
    write_transcript(folder, "participants.csv",
                     "participant_id,speaker,file,role\n"
                     "MOD,Modératrice,a.txt,interviewer\n"
                     "CGS1,CGS 1,a.txt,CGS\n"
                     "QQ,Q,a.txt,Qualiticien\n")
    corpus = load_corpus([folder], unit="turn")
    turns = corpus.documents[0].turns
    assert [(t.speaker, t.participant_id, t.is_interviewer) for t in turns] == [
        ("Modératrice", "MOD", True), ("CGS 1", "CGS1", False),
        ("Modératrice", "MOD", True), ("Q", "QQ", False)]
    assert [(s.speaker, s.question, s.attributes["role"]) for s in corpus.segments] == [
        ("CGS 1", "Bonjour.", "CGS"), ("Q", "Et alors ?", "Qualiticien")]


def test_custom_interviewer_labels(tmp_path):
    write_transcript(tmp_path, "a.txt", "Moi : Bonjour.\nDG 1 : Oui.\nMoi : Et ?\nDG 1 : Voilà.\n")
    corpus = load_corpus([tmp_path], unit="turn", interviewer_labels=["Moi"])
    assert [s.question for s in corpus.segments] == ["Bonjour.", "Et ?"]
    corpus = load_corpus([tmp_path], unit="turn")
    assert {s.speaker for s in corpus.segments} == {"Moi", "DG 1"}


def test_row_for_a_whole_file_applies_to_an_unlabelled_transcript(tmp_path):
    write_transcript(tmp_path, "notes.txt", "Des notes prises pendant l'entretien.\n\nFin.\n")
    write_transcript(tmp_path, "participants.csv", "participant_id,file,role\nP1,notes.txt,DG\n")
    with pytest.warns(SpeakerWarning):
        corpus = load_corpus([tmp_path], unit="paragraph")
    assert [(s.participant_id, s.attributes) for s in corpus.segments] == [
        ("P1", {"role": "DG"}), ("P1", {"role": "DG"})]


def test_participants_table_from_another_folder(tmp_path):
    transcripts = tmp_path / "transcripts"
    tables = tmp_path / "tables"
    transcripts.mkdir()
    tables.mkdir()
    write_transcript(transcripts, "a.txt", SMALL)
    table = write_transcript(tables, "participants.csv",
                             "participant_id,speaker,file,role\nCGS1,CGS 1,a.txt,CGS\n")
    corpus = load_corpus([transcripts], participants=table, unit="turn")
    assert corpus.participants_path == str(table)
    assert [s.participant_id for s in corpus.segments] == ["CGS1", "CGS1"]
    # The same table, already read, passed as an object.
    corpus = load_corpus([transcripts], participants=read_participants(table), unit="turn")
    assert {s.attributes["role"] for s in corpus.segments} == {"CGS"}
    # A row naming a speaker absent from a transcript that was read is still an error.
    write_transcript(tables, "participants.csv",
                     "participant_id,speaker,file,role\nCGS1,CGS 1,a.txt,CGS\nX,DG 9,a.txt,DG\n")
    with pytest.raises(ParticipantsError, match=re.escape("'DG 9' does not occur in a.txt")) as info:
        load_corpus([transcripts], participants=table, unit="turn")
    assert info.value.line == 3


def test_rows_about_transcripts_not_loaded_this_time(tmp_path):
    write_transcript(tmp_path, "a.txt", SMALL)
    write_transcript(tmp_path, "b.txt", SMALL.replace("CGS 1", "DG 2"))
    write_transcript(tmp_path, "participants.csv",
                     "participant_id,speaker,file\nCGS1,CGS 1,a.txt\nDG2,DG 2,b.txt\n")
    corpus = load_corpus([tmp_path / "a.txt"], unit="turn")
    assert {s.participant_id for s in corpus.segments} == {"CGS1"}


# --- errors -----------------------------------------------------------------------------------


def test_empty_folder(tmp_path):
    with pytest.raises(CorpusError, match="no transcripts found") as info:
        load_corpus([tmp_path], unit="turn")
    assert str(tmp_path) in str(info.value)


def test_folder_without_transcripts(tmp_path):
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    (tmp_path / ".cache.txt").write_text(SMALL, encoding="utf-8")
    (tmp_path / "~$brouillon.docx").write_bytes(b"lock")
    with pytest.raises(CorpusError, match="no transcripts found"):
        collect_transcripts([tmp_path])


def test_missing_path(tmp_path):
    path = tmp_path / "absent"
    with pytest.raises(CorpusError, match="no such file or folder") as info:
        load_corpus([path], unit="turn")
    assert str(path) in str(info.value)


def test_collect_is_sorted_not_recursive_and_skips_hidden_and_lock_files(tmp_path):
    for name in ("b.txt", "a.md", "c.vtt", ".hidden.txt", "~$a.docx", "notes.pdf"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.txt").write_text("x", encoding="utf-8")
    assert [p.name for p in collect_transcripts([tmp_path])] == ["a.md", "b.txt", "c.vtt"]
    # A file given by name is kept as given, whatever its extension.
    assert collect_transcripts([tmp_path / "notes.pdf"]) == [tmp_path / "notes.pdf"]


def test_duplicate_document_ids(tmp_path):
    write_transcript(tmp_path, "Entretien 1.txt", SMALL)
    write_transcript(tmp_path, "entretien_1.md", SMALL)
    with pytest.raises(CorpusError, match="document id 'entretien_1'") as info:
        load_corpus([tmp_path], unit="turn")
    message = str(info.value)
    assert "Entretien 1.txt" in message and "entretien_1.md" in message
    assert message.startswith(str(tmp_path / "entretien_1.md"))


def test_transcript_without_speaker_labels(tmp_path):
    path = write_transcript(tmp_path, "notes.txt",
                            "Compte rendu de l'entretien.\nPar exemple : la dictée vocale.\n\n"
                            "Fin du compte rendu.\n")
    with pytest.warns(SpeakerWarning, match=re.escape(str(path))):
        corpus = load_corpus([tmp_path], unit="paragraph")
    (turn,) = corpus.documents[0].turns
    assert (turn.speaker, turn.participant_id, turn.is_interviewer) == (
        UNLABELLED_SPEAKER, f"notes:{UNLABELLED_SPEAKER}", False)
    assert [s.text for s in corpus.segments] == [
        "Compte rendu de l'entretien.", "Par exemple : la dictée vocale.",
        "Fin du compte rendu."]
    assert all(s.question is None for s in corpus.segments)


def test_labelled_transcript_gives_no_speaker_warning(tmp_path):
    write_transcript(tmp_path, "a.txt", SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_corpus([tmp_path], unit="turn")


def test_participants_naming_an_unknown_speaker(tmp_path):
    write_transcript(tmp_path, "a.txt", SMALL)
    table = write_transcript(tmp_path, "participants.csv",
                             "participant_id,speaker,file,role\n"
                             "CGS1,CGS 1,a.txt,CGS\n"
                             "DG1,DG 1,a.txt,DG\n")
    with pytest.raises(ParticipantsError, match=re.escape("'DG 1' does not occur in a.txt")) as info:
        load_corpus([tmp_path], unit="turn")
    assert info.value.line == 3
    assert str(info.value).startswith(f"{table}:3: ")


def test_participants_naming_an_unknown_speaker_in_any_file(tmp_path):
    write_transcript(tmp_path, "a.txt", SMALL)
    table = write_transcript(tmp_path, "participants.csv",
                             "participant_id,speaker\nCGS1,CGS 1\nING1,ING 1\n")
    with pytest.raises(ParticipantsError, match="'ING 1' does not occur in any transcript") \
            as info:
        load_corpus([tmp_path], unit="turn")
    assert str(info.value).startswith(f"{table}:3: ")


def test_participants_naming_an_unknown_file(tmp_path):
    write_transcript(tmp_path, "a.txt", SMALL)
    table = write_transcript(tmp_path, "participants.csv",
                             "participant_id,speaker,file\nCGS1,CGS 1,a.txt\nX,CGS 1,zz.txt\n")
    with pytest.raises(ParticipantsError, match=re.escape("'zz.txt' is not among")) as info:
        load_corpus([tmp_path], unit="turn")
    assert str(info.value).startswith(f"{table}:3: ")


def test_participants_without_participant_id_column(tmp_path):
    write_transcript(tmp_path, "a.txt", SMALL)
    table = write_transcript(tmp_path, "participants.csv", "speaker,role\nCGS 1,CGS\n")
    with pytest.raises(ParticipantsError, match="participant_id") as info:
        load_corpus([tmp_path], unit="turn")
    assert str(info.value).startswith(f"{table}:1: ")


def test_several_participants_tables(tmp_path):
    for name in ("x", "y"):
        folder = tmp_path / name
        folder.mkdir()
        write_transcript(folder, f"{name}.txt", SMALL)
        write_transcript(folder, "participants.csv", "participant_id,speaker\nC,CGS 1\n")
    with pytest.raises(CorpusError, match="several folders"):
        load_corpus([tmp_path / "x", tmp_path / "y"], unit="turn")


def test_bad_transcript_in_folder_names_the_file(tmp_path):
    write_transcript(tmp_path, "a.txt", SMALL)
    bad = tmp_path / "b.txt"
    bad.write_bytes(b"\x00\x01\x02binaire")
    with pytest.raises(TranscriptError) as info:
        load_corpus([tmp_path], unit="turn")
    assert str(info.value).startswith(f"{bad}:1: ")


def test_unknown_unit(tmp_path):
    write_transcript(tmp_path, "a.txt", SMALL)
    with pytest.raises(ValueError, match="unit must be one of"):
        load_corpus([tmp_path], unit="word")


# --- with spaCy -------------------------------------------------------------------------------


@pytest.mark.slow
def test_default_sentence_unit_on_bundled_interviews():
    files = [BUNDLED / "entretien_04_dg_chu2.vtt", BUNDLED / "entretien_07_cgs_ch3.docx",
             BUNDLED / "entretien_11_cgs_chu5.txt"]
    corpus = load_corpus(files)
    paragraphs = load_corpus(files, unit="paragraph")
    assert corpus.unit == "sentence"
    assert len(corpus.segments) > 2 * len(paragraphs.segments)
    documents = {d.document_id: d for d in corpus.documents}
    for segment in corpus.segments:
        document = documents[segment.document_id]
        assert document.text[segment.start:segment.end] == segment.text
        turn = document.turns[segment.turn_index]
        assert turn.start <= segment.start < segment.end <= turn.end
        assert not turn.is_interviewer
        assert segment.text == segment.text.strip() and "\n" not in segment.text
    # Sentences end where they should, mostly.
    endings = sum(s.text[-1] in ".?!…" for s in corpus.segments)
    assert endings / len(corpus.segments) > 0.8
