"""Transcript readers: plain text, Markdown, WebVTT, SubRip and Word."""

from __future__ import annotations

import csv
import datetime
import itertools
import re
import unicodedata
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.errors import EncodingFallbackWarning, TranscriptError
from qualcode.participants import DEFAULT_INTERVIEWER_LABELS
from qualcode.readers import TRANSCRIPT_SUFFIXES, RawTranscript, read_transcript
from qualcode.readers.base import label_key, parse_timestamp, split_label
from qualcode.readers.subtitles import parse_srt, parse_vtt
from qualcode.readers.text import parse_text

DATA = Path(__file__).parent / "data" / "transcripts"
BUNDLED = Path(__file__).resolve().parents[1] / "transcripts"


def turns_of(raw: RawTranscript) -> list[tuple[str | None, str]]:
    return [(t.speaker, raw.text[t.start:t.end]) for t in raw.turns]


def assert_well_formed(raw: RawTranscript) -> None:
    """Spans inside the text, ordered, non-overlapping, trimmed and non-empty."""
    previous_end = 0
    for turn in raw.turns:
        assert previous_end <= turn.start < turn.end <= len(raw.text)
        piece = raw.text[turn.start:turn.end]
        assert piece == piece.strip()
        previous_end = turn.end


def assert_labels_excluded(raw: RawTranscript) -> None:
    """The text just before each labelled turn is its label and a colon, on the same line."""
    for turn in raw.turns:
        if turn.speaker is None:
            continue
        line_start = raw.text.rfind("\n", 0, turn.start) + 1
        before = raw.text[line_start:turn.start]
        if before.strip():
            assert re.search(r"[:：]\**\s*$", before), before
            assert label_key(turn.speaker) in label_key(before)
        assert not raw.text[turn.start:turn.end].startswith(turn.speaker + " :")


# --- label and timestamp parsing --------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "label", "content"),
    [
        ("CGS 1 : Bonjour.", "CGS 1", "Bonjour."),
        ("Interviewer: Good morning.", "Interviewer", "Good morning."),
        ("**DG 2** : Bonjour.", "DG 2", "Bonjour."),
        ("**DG 2 :** Bonjour.", "DG 2", "Bonjour."),
        ("__DG 2__: Bonjour.", "DG 2", "Bonjour."),
        ("Médecin urgentiste : Oui.", "Médecin urgentiste", "Oui."),
        ("CGS 1 :", "CGS 1", ""),
        ("  CGS   1  : espacé", "CGS 1", "espacé"),
        ("Q：pleine chasse", "Q", "pleine chasse"),
        ("Jean-Pierre D. : oui : non", "Jean-Pierre D.", "oui : non"),
    ],
)
def test_split_label(line, label, content):
    found, offset, time = split_label(line)
    assert found == label
    assert line[offset:] == content
    assert time is None


@pytest.mark.parametrize(
    ("line", "label", "seconds"),
    [
        ("[00:12:31] CGS 1 : Oui.", "CGS 1", 751.0),
        ("(12:31) CGS 1 : Oui.", "CGS 1", 751.0),
        ("01:02:03 - DG 5 : Oui.", "DG 5", 3723.0),
        ("[00:00:05.5] Q : Oui.", "Q", 5.5),
        ("[12:31] sans étiquette", None, 751.0),
    ],
)
def test_split_label_after_timestamp(line, label, seconds):
    found, offset, time = split_label(line)
    assert found == label
    assert time == seconds
    if label:
        assert line[offset:] == "Oui."


@pytest.mark.parametrize(
    "line",
    [
        "Une phrase ordinaire sans deux-points.",
        "Voir https://exemple.fr/page pour le détail",
        "http: pas un locuteur",
        "Un deux trois quatre cinq six : trop de mots pour une étiquette",
        "12 heures : commence par un chiffre",
        "",
    ],
)
def test_split_label_rejects(line):
    assert split_label(line)[0] is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("12:31", 751.0), ("00:12:31", 751.0), ("01:02:03.5", 3723.5), ("00:00:04,250", 4.25)],
)
def test_parse_timestamp(value, seconds):
    assert parse_timestamp(value) == pytest.approx(seconds)


def test_label_key_ignores_case_accents_spaces_and_apostrophes():
    assert label_key("  Médecin   Urgentiste ") == label_key("medecin urgentiste")
    assert label_key("Chargé d’études") == label_key("charge d'etudes")
    assert label_key("CGS 1") != label_key("CGS 2")


# --- plain text and Markdown data files -------------------------------------------------------


def test_french_typography_with_title_and_continuations():
    raw, fmt = read_transcript(DATA / "cgs_typo_fr.txt")
    assert fmt == "text"
    assert raw.encoding == "utf-8"
    assert turns_of(raw) == [
        ("Intervieweuse", "Bonjour, pouvez-vous vous présenter ?"),
        ("CGS 1", "Bonjour. Je suis coordonnatrice générale des soins depuis trois ans.\n"
                  "Avant, j'étais cadre supérieure de santé en réanimation.\n"
                  "Par exemple : les transmissions ciblées, je les ai mises en place."),
        ("Intervieweuse", "Et l'intelligence artificielle ?"),
        ("CGS 1", "On teste la dictée vocale dans deux unités.\n\nÇa reste modeste."),
    ]
    # The title before the first label belongs to no turn.
    assert raw.turns[0].start > raw.text.index("Entretien avec la coordinatrice")
    assert_well_formed(raw)
    assert_labels_excluded(raw)


def test_par_exemple_is_not_a_speaker():
    raw, _ = read_transcript(DATA / "cgs_typo_fr.txt")
    assert {t.speaker for t in raw.turns} == {"Intervieweuse", "CGS 1"}


def test_english_transcript():
    raw, _ = read_transcript(DATA / "interview_en.txt")
    assert turns_of(raw) == [
        ("Interviewer", "Good morning, could you introduce yourself?"),
        ("Participant", "Sure. I lead the nursing directorate.\nWe have about three thousand nurses."),
        ("Interviewer", "What about AI?"),
        ("Participant", "We are piloting a voice dictation tool."),
    ]
    assert_labels_excluded(raw)


@pytest.mark.parametrize("name", ["dg_bold_outside.md", "dg_bold_inside.md"])
def test_markdown_bold_labels(name):
    raw, fmt = read_transcript(DATA / name)
    assert fmt == "markdown"
    speakers = [t.speaker for t in raw.turns]
    assert speakers == ["Intervieweur", "DG 2", "Intervieweur", "DG 2"]
    texts = [raw.text[t.start:t.end] for t in raw.turns]
    assert texts[0] == "Bonjour, merci de nous recevoir."
    assert texts[1].startswith("Bonjour. Je suis directeur général depuis quatre ans.")
    assert texts[3] == "C'est un axe du projet d'établissement."
    assert not any("*" in text for text in texts)
    assert_labels_excluded(raw)


def test_markdown_heading_is_not_a_turn_and_blank_line_paragraphs_continue():
    raw, _ = read_transcript(DATA / "dg_bold_outside.md")
    assert raw.text.startswith("# Entretien DG 2")
    assert raw.turns[0].start > len("# Entretien DG 2")
    assert raw.text[raw.turns[1].start:raw.turns[1].end] == (
        "Bonjour. Je suis directeur général depuis quatre ans.\n\n"
        "Le CHU compte à peu près 11 500 personnels.")


def test_bracket_timestamps():
    raw, _ = read_transcript(DATA / "timestamps_brackets.txt")
    assert [(t.speaker, t.time_start) for t in raw.turns] == [
        ("Intervieweuse", 5.0), ("CGS 5", 12.0), ("Intervieweuse", 751.0), ("CGS 5", 3723.0)]
    assert raw.text[raw.turns[1].start:raw.turns[1].end] == (
        "Bonjour. Je suis infirmière de formation.\nJ'ai longtemps travaillé en réanimation.")
    assert all(t.time_end is None for t in raw.turns)
    assert_labels_excluded(raw)
    assert "[" not in "".join(raw.text[t.start:t.end] for t in raw.turns)


def test_parenthesised_timestamps_and_a_stamped_label_said_once():
    raw, _ = read_transcript(DATA / "timestamps_parens.txt")
    # "IOA" speaks once, but after a timestamp: it is a speaker.
    assert [(t.speaker, t.time_start) for t in raw.turns] == [
        ("Intervieweur", 5.0), ("Médecin urgentiste", 9.0), ("Intervieweur", 751.0),
        ("Médecin urgentiste", 760.0), ("IOA", 778.0)]
    assert raw.text[raw.turns[-1].start:raw.turns[-1].end] == "Et moi je l'utilise la nuit."


def test_front_matter_gives_metadata_and_is_not_text():
    raw, _ = read_transcript(DATA / "front_matter.md")
    assert raw.metadata == {
        "title": "Entretien avec le directeur de la recherche",
        "date": datetime.date(2024, 3, 14),
        "mode": "visioconférence",
        "duration_minutes": 48,
    }
    assert "---" not in raw.text and "title:" not in raw.text
    assert raw.first_line == 7
    assert [t.speaker for t in raw.turns] == ["Intervieweuse", "DH 4", "Intervieweuse", "DH 4"]
    assert raw.text[raw.turns[1].start:raw.turns[1].end] == (
        "Je dirige la recherche et l'innovation au CHU.")
    assert_labels_excluded(raw)


def test_cp1252_file_decodes_with_warning_naming_it():
    path = DATA / "cp1252_fr.txt"
    with pytest.warns(EncodingFallbackWarning, match=re.escape(str(path))):
        raw, _ = read_transcript(path)
    assert raw.encoding == "cp1252"
    assert turns_of(raw)[1] == (
        "CGS 3", "La télésurveillance des patients âgés, ça me tient à cœur.\n"
                 "L’équipe a été formée… enfin, en partie.")


def test_utf8_bom_file():
    raw, _ = read_transcript(DATA / "utf8_bom.txt")
    assert "\ufeff" not in raw.text
    assert raw.turns[0].speaker == "CGS 2"
    assert raw.turns[0].start == len("CGS 2 : ")
    assert raw.text[raw.turns[0].start:raw.turns[0].end] == (
        "Bonjour. Je suis coordinatrice générale des soins.")


def test_crlf_file():
    raw, _ = read_transcript(DATA / "crlf.txt")
    assert "\r" not in raw.text
    assert turns_of(raw) == [
        ("Intervieweur", "Bonjour à tous les trois."),
        ("DH 3", "Je commence.\nJe dirige le biomédical."),
        ("Intervieweur", "Merci."),
        ("DH 3", "Avec plaisir."),
    ]


def test_nfd_file_comes_out_nfc():
    raw, _ = read_transcript(DATA / "nfd.txt")
    assert unicodedata.is_normalized("NFC", raw.text)
    assert raw.turns[1].speaker == "Médecin urgentiste"
    assert unicodedata.is_normalized("NFC", raw.turns[1].speaker)
    assert raw.text[raw.turns[1].start:raw.turns[1].end] == (
        "Le déploiement a été arrêté en février.")


@pytest.mark.parametrize("path", sorted(p for p in DATA.iterdir() if not p.name.startswith(".")),
                         ids=lambda p: p.name)
def test_every_data_file_is_well_formed(path):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        raw, fmt = read_transcript(path)
    fallback = "cp1252" in path.name
    assert [w.category for w in record] == ([EncodingFallbackWarning] if fallback else [])
    assert fmt == TRANSCRIPT_SUFFIXES[path.suffix]
    assert len(raw.turns) >= 3
    assert all(t.speaker for t in raw.turns)
    assert unicodedata.is_normalized("NFC", raw.text)
    assert "\r" not in raw.text and "\ufeff" not in raw.text
    assert_well_formed(raw)
    assert_labels_excluded(raw)


# --- parse_text details -----------------------------------------------------------------------


def test_label_said_once_counts_when_known():
    text = "Intervieweur : Bonjour.\nING 2 : Moi je suis ingénieure.\nIntervieweur : Merci."
    raw = parse_text(text)
    assert turns_of(raw) == [("Intervieweur", "Bonjour.\nING 2 : Moi je suis ingénieure."),
                             ("Intervieweur", "Merci.")]
    raw = parse_text(text, known_labels=["ing 2"])
    assert turns_of(raw) == [("Intervieweur", "Bonjour."), ("ING 2", "Moi je suis ingénieure."),
                             ("Intervieweur", "Merci.")]


def test_label_on_its_own_line():
    raw = parse_text("CGS 1 :\nBonjour.\nSuite.\n\nQ :\nEt alors ?\nCGS 1 : Oui.\nQ : Bien.")
    assert turns_of(raw) == [("CGS 1", "Bonjour.\nSuite."), ("Q", "Et alors ?"),
                             ("CGS 1", "Oui."), ("Q", "Bien.")]


def test_no_labels_is_one_unlabelled_turn():
    text = "\nUn entretien sans étiquettes.\nPar exemple : une seule fois.\n\nFin.\n"
    raw = parse_text(text)
    assert turns_of(raw) == [(None, "Un entretien sans étiquettes.\nPar exemple : une seule fois."
                                    "\n\nFin.")]


def test_empty_labelled_turn_is_dropped():
    raw = parse_text("Q : Bonjour.\nCGS 1 :\nQ : Vous ne dites rien ?\nCGS 1 : Non.")
    assert turns_of(raw) == [("Q", "Bonjour."), ("Q", "Vous ne dites rien ?"), ("CGS 1", "Non.")]


def test_front_matter_offsets_refer_to_the_body():
    text = "---\ntitle: T\n---\nQ : Bonjour.\nCGS 1 : Oui.\nQ : Merci.\nCGS 1 : De rien."
    raw = parse_text(text)
    assert raw.text.startswith("Q : Bonjour.")
    assert raw.metadata == {"title": "T"}
    assert raw.first_line == 4
    assert raw.text[raw.turns[0].start:raw.turns[0].end] == "Bonjour."


def test_empty_front_matter():
    raw = parse_text("---\n---\nQ : a\nCGS 1 : b\nQ : c\nCGS 1 : d")
    assert raw.metadata == {}
    assert [t.speaker for t in raw.turns] == ["Q", "CGS 1", "Q", "CGS 1"]


def test_horizontal_rule_later_in_the_text_is_not_front_matter():
    raw = parse_text("Q : a\n---\nCGS 1 : b\nQ : c\nCGS 1 : d")
    assert raw.metadata == {}
    assert raw.text[raw.turns[0].start:raw.turns[0].end] == "a\n---"


# --- text errors ------------------------------------------------------------------------------


def test_unclosed_front_matter(tmp_path):
    path = tmp_path / "ouvert.md"
    path.write_text("---\ntitle: Entretien\n\n**Q** : Bonjour.\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="never closed") as info:
        read_transcript(path)
    assert info.value.line == 1
    assert str(info.value).startswith(f"{path}:1: ")


def test_invalid_yaml_front_matter_reports_its_line(tmp_path):
    path = tmp_path / "yaml.md"
    path.write_text("---\ntitle: Entretien\ndate: [2024\nmode: visio\n---\nQ : Bonjour.\n",
                    encoding="utf-8")
    with pytest.raises(TranscriptError, match="front matter") as info:
        read_transcript(path)
    assert str(path) in str(info.value)
    assert info.value.line is not None and 2 <= info.value.line <= 5


def test_front_matter_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "liste.md"
    path.write_text("---\n- a\n- b\n---\nQ : Bonjour.\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="mapping") as info:
        read_transcript(path)
    assert info.value.line == 2


def test_front_matter_without_text(tmp_path):
    path = tmp_path / "seul.md"
    path.write_text("---\ntitle: Entretien\n---\n\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="no transcript text") as info:
        read_transcript(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("suffix", [".txt", ".md", ".vtt", ".srt", ".docx"])
def test_empty_file(tmp_path, suffix):
    path = tmp_path / f"vide{suffix}"
    path.write_bytes(b"")
    with pytest.raises(TranscriptError, match="empty") as info:
        read_transcript(path)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)


def test_whitespace_only_file(tmp_path):
    path = tmp_path / "blanc.txt"
    path.write_bytes(b"\xef\xbb\xbf\r\n  \r\n")
    with pytest.raises(TranscriptError, match="file is empty") as info:
        read_transcript(path)
    assert str(path) in str(info.value)


def test_binary_file_with_txt_extension(tmp_path):
    path = tmp_path / "photo.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(TranscriptError, match="binary") as info:
        read_transcript(path)
    assert str(info.value).startswith(f"{path}:2: ")


def test_undecodable_bytes(tmp_path):
    path = tmp_path / "abime.txt"
    path.write_bytes("Q : Bonjour.\nCGS 1 : Réponse ".encode() + b"\x81\x8d\n")
    with pytest.raises(TranscriptError, match="undecodable") as info:
        read_transcript(path)
    assert info.value.line == 2
    assert str(info.value).startswith(f"{path}:2: ")


@pytest.mark.parametrize("name", ["notes.pdf", "entretien.doc", "sans_extension"])
def test_unknown_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text("Q : Bonjour.", encoding="utf-8")
    with pytest.raises(TranscriptError, match="unknown transcript extension") as info:
        read_transcript(path)
    assert str(path) in str(info.value)
    assert ".docx" in str(info.value) and ".vtt" in str(info.value)


def test_missing_file(tmp_path):
    path = tmp_path / "absent.txt"
    with pytest.raises(TranscriptError, match="no such file") as info:
        read_transcript(path)
    assert str(path) in str(info.value)


def test_uppercase_extension(tmp_path):
    path = tmp_path / "ENTRETIEN.TXT"
    path.write_text("Q : a\nCGS 1 : b\nQ : c\nCGS 1 : d\n", encoding="utf-8")
    raw, fmt = read_transcript(path)
    assert fmt == "text" and len(raw.turns) == 4


def test_explicit_encoding(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("Q : déjà\nCGS 1 : oui\nQ : où ?\nCGS 1 : là\n".encode("latin-1"))
    raw, _ = read_transcript(path, encoding="latin-1")
    assert raw.encoding == "latin-1"
    assert turns_of(raw)[0] == ("Q", "déjà")


# --- WebVTT and SubRip ------------------------------------------------------------------------


def test_vtt_voice_tags_merge_and_note_blocks():
    raw, fmt = read_transcript(DATA / "voice_tags.vtt")
    assert fmt == "webvtt"
    assert [(t.speaker, t.time_start, t.time_end) for t in raw.turns] == [
        ("Intervieweur", 3.0, 13.2),
        ("DG 2", 14.5, 27.0),
        ("Intervieweur", 60.462, 65.077),
        ("DG 2", 3666.377, 3671.762),
    ]
    assert turns_of(raw) == [
        ("Intervieweur", "Bonjour, et merci d'avoir accepté cet entretien. Pouvez-vous vous "
                         "présenter ?"),
        ("DG 2", "Oui, bonjour. Je suis directeur général du CHU. Il travaille avec la R&D."),
        ("Intervieweur", "Et l'intelligence artificielle ?"),
        ("DG 2", "C'est un axe majeur."),
    ]
    assert "Transcription automatique" not in raw.text and "note" not in raw.text
    assert "<" not in raw.text
    # The rebuilt text reads like a transcript, one "Speaker : speech" line per turn.
    assert raw.text.split("\n")[1] == (
        "DG 2 : Oui, bonjour. Je suis directeur général du CHU. Il travaille avec la R&D.")
    assert_well_formed(raw)
    assert_labels_excluded(raw)


def test_zoom_vtt_name_prefixes():
    raw, _ = read_transcript(DATA / "zoom.vtt")
    assert [(t.speaker, t.time_start, t.time_end) for t in raw.turns] == [
        ("Intervieweuse", 1.0, 4.0), ("DH 3", 4.5, 12.0), ("ING 1", 12.5, 15.0),
        ("Intervieweuse", 15.5, 18.0), ("ING 1", 18.2, 24.0)]
    assert turns_of(raw)[1] == (
        "DH 3", "Bonjour. Je dirige les technologies de santé. Et la cellule innovation.")
    assert turns_of(raw)[4] == ("ING 1", "Par exemple : la détection des fractures.")
    assert_labels_excluded(raw)


WHISPER = """WEBVTT

00:00:01.000 --> 00:00:04.000
Bonjour, merci de nous recevoir.

00:00:04.500 --> 00:00:09.000
Par exemple : la dictée vocale des transmissions.

00:00:09.500 --> 00:00:12.000
Voilà, c'est en test.
"""


def test_vtt_par_exemple_in_a_cue_without_speakers_is_not_a_speaker():
    raw = parse_vtt(WHISPER)
    assert [(t.speaker, t.time_start, t.time_end) for t in raw.turns] == [(None, 1.0, 12.0)]
    assert raw.text == ("Bonjour, merci de nous recevoir. Par exemple : la dictée vocale des "
                        "transmissions. Voilà, c'est en test.")


def test_subtitle_prefix_said_once_counts_when_known_or_voice_tagged(tmp_path):
    text = ("WEBVTT\n\n00:01.000 --> 00:02.000\n<v CGS 1>Oui.\n\n"
            "00:03.000 --> 00:04.000\nQ: Et alors ?\n\n"
            "00:05.000 --> 00:06.000\nCGS 1: Alors rien.\n")
    assert turns_of(parse_vtt(text)) == [("CGS 1", "Oui."), (None, "Q: Et alors ?"),
                                         ("CGS 1", "Alors rien.")]
    assert turns_of(parse_vtt(text, known_labels=["q"])) == [
        ("CGS 1", "Oui."), ("Q", "Et alors ?"), ("CGS 1", "Alors rien.")]
    path = tmp_path / "connu.vtt"
    path.write_text(text, encoding="utf-8")
    raw, _ = read_transcript(path, known_labels=["Q"])
    assert [t.speaker for t in raw.turns] == ["CGS 1", "Q", "CGS 1"]


def test_srt():
    raw, fmt = read_transcript(DATA / "subtitles.srt")
    assert fmt == "srt"
    assert [(t.speaker, t.time_start, t.time_end) for t in raw.turns] == [
        ("Enquêtrice", 1.0, 4.0), ("CGS 1", 4.5, 12.0), ("Enquêtrice", 12.5, 15.0)]
    assert turns_of(raw)[1] == (
        "CGS 1", "Bonjour. Je suis coordonnatrice générale des soins. Depuis trois ans.")


def test_vtt_without_speakers():
    raw = parse_vtt("WEBVTT\n\n00:01.000 --> 00:02.000\nBonjour.\n\n"
                    "00:02.500 --> 00:04.000\nSuite du propos.\n")
    assert [(t.speaker, t.time_start, t.time_end) for t in raw.turns] == [(None, 1.0, 4.0)]
    assert raw.text == "Bonjour. Suite du propos."


def test_vtt_hour_timestamps_without_hours_field():
    raw = parse_vtt("WEBVTT\n\n1\n12:31.250 --> 12:35.000\n<v Q>Oui ?\n")
    assert raw.turns[0].time_start == pytest.approx(751.25)


def test_vtt_without_header(tmp_path):
    path = tmp_path / "sans_entete.vtt"
    path.write_text("1\n00:00:01.000 --> 00:00:02.000\n<v Q>Bonjour.</v>\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="WEBVTT") as info:
        read_transcript(path)
    assert info.value.line == 1
    assert str(info.value).startswith(f"{path}:1: ")


def test_vtt_malformed_cue_timing(tmp_path):
    path = tmp_path / "minutage.vtt"
    path.write_text("WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\n<v Q>Bonjour.</v>\n\n"
                    "2\n00:00:03 --> 00:00:04\n<v CGS 1>Oui.</v>\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="malformed cue timing") as info:
        read_transcript(path)
    assert info.value.line == 8
    assert str(info.value).startswith(f"{path}:8: ")
    assert "00:00:03 --> 00:00:04" in str(info.value)


def test_srt_cue_without_timing(tmp_path):
    path = tmp_path / "sans_minutage.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nQ : Bonjour.\n\n2\nCGS 1 : Oui.\n",
                    encoding="utf-8")
    with pytest.raises(TranscriptError, match="without a 'start --> end'") as info:
        read_transcript(path)
    assert info.value.line == 5


def test_vtt_with_no_cue_text(tmp_path):
    path = tmp_path / "muet.vtt"
    path.write_text("WEBVTT\n\nNOTE rien\n\n00:00:01.000 --> 00:00:02.000\n<v Q></v>\n",
                    encoding="utf-8")
    with pytest.raises(TranscriptError, match="no cues with text") as info:
        read_transcript(path)
    assert str(path) in str(info.value)


def test_srt_that_is_really_plain_text(tmp_path):
    path = tmp_path / "faux.srt"
    path.write_text("Q : Bonjour.\nCGS 1 : Oui.\n", encoding="utf-8")
    with pytest.raises(TranscriptError) as info:
        read_transcript(path)
    assert info.value.line == 1 and str(path) in str(info.value)


def test_parse_srt_directly():
    raw = parse_srt("1\n00:00:01,000 --> 00:00:02,500\n<v DG 5>Oui.</v>\n")
    assert turns_of(raw) == [("DG 5", "Oui.")]
    assert raw.turns[0].time_end == 2.5


# --- Word -------------------------------------------------------------------------------------


def test_docx_bold_run_labels(bold_docx):
    raw, fmt = read_transcript(bold_docx)
    assert fmt == "docx"
    assert raw.encoding == "docx"
    assert turns_of(raw) == [
        ("Enquêtrice", "Bonjour Madame, pouvez-vous vous présenter ?"),
        ("CGS 1", "Bonjour. Je suis coordonnatrice générale des soins.\n"
                  "Avant, j'étais cadre de santé en réanimation."),
        ("Enquêtrice", "Et l'intelligence artificielle ?"),
        ("CGS 1", "On teste la dictée vocale."),
    ]
    # The heading is text, but no turn.
    assert raw.text.startswith("Entretien avec la coordinatrice\n")
    assert raw.metadata["title"] == "Entretien CGS, CHU 1"
    assert raw.metadata["author"] == "Équipe de recherche"
    assert "created" in raw.metadata
    assert_well_formed(raw)
    assert_labels_excluded(raw)


def test_docx_bold_label_said_once_is_a_speaker(tmp_path):
    import docx

    document = docx.Document()
    paragraph = document.add_paragraph()
    paragraph.add_run("ING 2").bold = True
    paragraph.add_run(" Moi je suis ingénieure biomédicale.")
    document.add_paragraph("Arrivée il y a deux ans.")
    path = tmp_path / "une_fois.docx"
    document.save(path)
    raw, _ = read_transcript(path)
    assert turns_of(raw) == [("ING 2", "Moi je suis ingénieure biomédicale.\n"
                                       "Arrivée il y a deux ans.")]


def test_docx_label_prefixes(prefix_docx):
    raw, _ = read_transcript(prefix_docx)
    assert turns_of(raw) == [
        ("Intervieweur", "Bonjour, et merci d'avoir accepté cet entretien."),
        ("CGS 3", "Bonjour. Je suis coordonnatrice générale des soins ici.\n"
                  "Par exemple : les transmissions, on les fait encore sur papier."),
        ("Intervieweur", "Et au niveau du GHT ?"),
        ("CGS 3", "Il y a une ligne dans le projet médico-soignant."),
    ]
    assert_labels_excluded(raw)


def test_docx_two_column_table(table_docx):
    raw, _ = read_transcript(table_docx)
    assert turns_of(raw) == [
        ("Intervieweur", "Bonjour, pouvez-vous vous présenter ?"),
        ("CGS 3", "Je suis coordonnatrice générale des soins depuis quatre ans."),
        ("Intervieweur", "Et l'IA dans votre établissement ?"),
        ("CGS 3", "On n'est pas du tout à la pointe, je vais être honnête."),
    ]
    assert raw.text.startswith("Transcription de l'entretien\nIntervieweur : Bonjour")
    assert_well_formed(raw)
    assert_labels_excluded(raw)


def test_docx_random_bytes(tmp_path):
    path = tmp_path / "aleatoire.docx"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(TranscriptError, match=r"\.docx") as info:
        read_transcript(path)
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}: ")


def test_docx_zip_that_is_not_word(tmp_path):
    path = tmp_path / "archive.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "Q : Bonjour.")
    with pytest.raises(TranscriptError, match=re.escape("not a readable .docx")) as info:
        read_transcript(path)
    assert str(path) in str(info.value)


def test_docx_truncated(tmp_path, bold_docx):
    path = tmp_path / "tronque.docx"
    path.write_bytes(bold_docx.read_bytes()[:2000])
    with pytest.raises(TranscriptError) as info:
        read_transcript(path)
    assert str(path) in str(info.value)


def test_docx_without_text(tmp_path):
    import docx

    path = tmp_path / "blanc.docx"
    docx.Document().save(path)
    with pytest.raises(TranscriptError, match="no text") as info:
        read_transcript(path)
    assert str(path) in str(info.value)


# --- the bundled interviews -------------------------------------------------------------------


def _expected_speakers() -> dict[str, set[str]]:
    with open(BUNDLED / "participants.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    expected: dict[str, set[str]] = {}
    for row in rows:
        expected.setdefault(row["file"], set()).add(row["speaker"])
    return expected


BUNDLED_FILES = sorted(p for p in BUNDLED.iterdir() if p.suffix in TRANSCRIPT_SUFFIXES)


def test_thirteen_bundled_transcripts_of_all_formats():
    assert len(BUNDLED_FILES) == 13
    assert {p.suffix for p in BUNDLED_FILES} == {".txt", ".md", ".docx", ".vtt"}
    assert set(_expected_speakers()) == {p.name for p in BUNDLED_FILES}


@pytest.mark.parametrize("path", BUNDLED_FILES, ids=lambda p: p.name)
def test_bundled_transcript_speaker_structure(path):
    """Every format parses into the same structure: an interviewer opening, then exchanges."""
    raw, _ = read_transcript(path)
    participants = _expected_speakers()[path.name]
    speakers = [t.speaker for t in raw.turns]
    interviewers = set(speakers) - participants
    assert len(interviewers) == 1
    interviewer = interviewers.pop()
    assert interviewer in DEFAULT_INTERVIEWER_LABELS
    assert set(speakers) == participants | {interviewer}
    assert speakers[0] == interviewer
    assert 30 <= len(raw.turns) <= 60
    # No speaker speaks twice in a row (subtitle cues are merged, labels all found).
    assert all(a != b for a, b in itertools.pairwise(speakers))
    # Interviewer and participant turns alternate unless several participants take turns.
    if len(participants) == 1:
        assert speakers[::2] == [interviewer] * len(speakers[::2])
    # No label was missed inside a turn.
    pattern = re.compile(r"^\W*(?:" + "|".join(re.escape(s) for s in set(speakers))
                         + r")\W*\s*[:：]", re.MULTILINE)
    for turn in raw.turns:
        assert not pattern.search(raw.text[turn.start:turn.end])
    assert_well_formed(raw)
    assert_labels_excluded(raw)


def test_bundled_timestamps_increase():
    for name in ("entretien_03_dir_ia_chu1.md", "entretien_04_dg_chu2.vtt",
                 "entretien_05_cgs_chu2.txt", "entretien_11_cgs_chu5.txt"):
        raw, _ = read_transcript(BUNDLED / name)
        times = [t.time_start for t in raw.turns]
        assert None not in times, name
        assert times == sorted(times) and len(set(times)) == len(times), name
    raw, _ = read_transcript(BUNDLED / "entretien_04_dg_chu2.vtt")
    assert all(t.time_end > t.time_start for t in raw.turns)
    assert raw.turns[0].time_start == 3.0


def test_bundled_docx_and_markdown_metadata():
    raw, _ = read_transcript(BUNDLED / "entretien_02_cgs_chu1.docx")
    assert raw.metadata["title"] == "Entretien CGS, CHU 1"
    raw, _ = read_transcript(BUNDLED / "entretien_08_dh_recherche_chu4.md")
    assert raw.metadata["duration_minutes"] == 48
    assert raw.text.lstrip().startswith("**Intervieweuse**")


# --- properties: parse_text -------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéèêàâçôîÉÈÀÇœ"
_word = st.builds(lambda first, rest: first + rest, st.sampled_from(_LETTERS),
                  st.text(st.sampled_from(_LETTERS + "-'’"), max_size=7))
_label = st.builds(
    lambda words, number: " ".join(words) + ("" if number is None else f" {number}"),
    st.lists(_word, min_size=1, max_size=3),
    st.none() | st.integers(1, 12),
).filter(lambda s: not s.lower().startswith("http") and label_key(s) != "par exemple")
# Speech: words without colons (a colon could make a continuation line look labelled).
_speech_word = st.text(st.sampled_from(_LETTERS + "0123456789.,;!?'’-…«»()%&"),
                       min_size=1, max_size=10)
_speech = st.lists(_speech_word, min_size=1, max_size=8).map(" ".join)
_continuation = st.one_of(_speech, _speech, st.just(""), st.just("   "),
                          _speech.map(lambda s: s + "  "))
_separator = st.sampled_from(["{l} : ", "{l}: ", "{l} :", "{l}：", "**{l}** : ", "**{l} :** ",
                              "__{l}__ : ", "  {l} : "])


def _stamp(seconds: int, form: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if form == 1 and h * 60 + m >= 100:  # (mm:ss) has at most two digits of minutes
        form = 0
    if form == 0:
        return f"[{h:02d}:{m:02d}:{s:02d}] "
    if form == 1:
        return f"({h * 60 + m:02d}:{s:02d}) "
    return f"{h:02d}:{m:02d}:{s:02d} - "


@st.composite
def _turn(draw, labels):
    return {
        "label": draw(st.sampled_from(labels)),
        "separator": draw(_separator),
        # Speech on the label's line may hold colons: only the first one ends the label.
        "first": draw(st.one_of(_speech, _speech, st.just(""),
                                st.builds("{} : {}".format, _speech, _speech))),
        "more": draw(st.lists(_continuation, max_size=3)),
        "stamp": draw(st.none() | st.tuples(st.integers(0, 3 * 3600), st.integers(0, 2))),
        "gap": draw(st.sampled_from(["", "\n", "\n\n"])),
    }


@st.composite
def _transcripts(draw):
    labels = draw(st.lists(_label, min_size=1, max_size=4, unique_by=label_key))
    turns = draw(st.lists(_turn(labels), min_size=1, max_size=8))
    title = draw(st.none() | _speech)
    example_at = draw(st.none() | st.integers(0, len(turns) - 1))
    return title, turns, example_at


def _build(title, turns, example_at):
    """Write the transcript; return its text and, per turn, the offsets needed to check it."""
    lines = []
    offset = 0

    def add(line):
        nonlocal offset
        lines.append(line)
        offset += len(line) + 1

    if title is not None:
        add(title)
        add("")
    written = []
    for i, turn in enumerate(turns):
        prefix = _stamp(*turn["stamp"]) if turn["stamp"] else ""
        prefix += turn["separator"].format(l=turn["label"])
        line_start = offset
        add(prefix + turn["first"])
        content = [turn["first"], *turn["more"]]
        for line in turn["more"]:
            add(line)
        if i == example_at:
            add("Par exemple : une ligne qui continue le tour.")
            content.append("Par exemple : une ligne qui continue le tour.")
        written.append({
            "label": turn["label"],
            "line_start": line_start,
            "content_start": line_start + len(prefix),
            "region_end": offset - 1,
            "content": "\n".join(content).strip(),
            "time": turn["stamp"][0] if turn["stamp"] else None,
        })
        for _ in range(turn["gap"].count("\n")):
            add("")
    return "\n".join(lines), written


def _trim(text, start, end):
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _expected_turns(text, written, accepted):
    """What the turns must be: each accepted label opens one, running to the next."""
    if not accepted:
        start, end = _trim(text, 0, len(text))
        return [(None, start, end, None)] if end > start else []
    opened = [w for w in written if label_key(w["label"]) in accepted]
    expected = []
    for k, w in enumerate(opened):
        stop = opened[k + 1]["line_start"] - 1 if k + 1 < len(opened) else len(text)
        start, end = _trim(text, w["content_start"], stop)
        if end > start:
            expected.append((w["label"], start, end, w["time"]))
    return expected


def _check_invariants(raw, written, accepted):
    assert_well_formed(raw)
    for turn in raw.turns:
        for w in written:
            if label_key(w["label"]) in accepted:
                # A turn never overlaps the timestamp-and-label part of a line.
                assert turn.end <= w["line_start"] or turn.start >= w["content_start"]


@settings(max_examples=300)
@given(_transcripts())
def test_parse_text_with_known_labels(case):
    title, turns, example_at = case
    text, written = _build(title, turns, example_at)
    raw = parse_text(text, known_labels=[t["label"] for t in turns])
    assert raw.text == text
    accepted = {label_key(w["label"]) for w in written}
    _check_invariants(raw, written, accepted)
    expected = [w for w in written if w["content"]]
    assert [(t.speaker, raw.text[t.start:t.end], t.time_start) for t in raw.turns] == [
        (w["label"], w["content"], w["time"]) for w in expected]
    assert [(t.speaker, t.start, t.end, t.time_start) for t in raw.turns] == _expected_turns(
        text, written, accepted)


@settings(max_examples=300)
@given(_transcripts())
def test_parse_text_without_known_labels(case):
    """Labels count when said twice or after a timestamp; others continue the turn."""
    title, turns, example_at = case
    text, written = _build(title, turns, example_at)
    raw = parse_text(text)
    counts: dict[str, int] = {}
    for w in written:
        counts[label_key(w["label"])] = counts.get(label_key(w["label"]), 0) + 1
    accepted = {key for key, n in counts.items() if n >= 2} | {
        label_key(w["label"]) for w in written if w["time"] is not None}
    _check_invariants(raw, written, accepted)
    assert [(t.speaker, t.start, t.end, t.time_start) for t in raw.turns] == _expected_turns(
        text, written, accepted)
    assert "Par exemple" not in {t.speaker for t in raw.turns}


# --- properties: parse_vtt --------------------------------------------------------------------

_SPEAKERS = ["Intervieweuse", "DG 2", "CGS 1", None]
_cue_line = st.lists(st.text(st.sampled_from(_LETTERS + "0123456789.,;!?'’-…«»()"),
                             min_size=1, max_size=10), min_size=1, max_size=6).map(" ".join)


@st.composite
def _cues(draw):
    cues = []
    time = draw(st.integers(0, 10_000))
    for _ in range(draw(st.integers(1, 12))):
        speaker = draw(st.sampled_from(_SPEAKERS))
        start = time + draw(st.integers(0, 3000))
        end = start + draw(st.integers(1, 8000))
        time = end
        cues.append({
            "speaker": speaker,
            "lines": draw(st.lists(_cue_line, min_size=1, max_size=2)),
            "form": draw(st.sampled_from(["voice", "voice_closed", "voice_class", "prefix"])),
            "identifier": draw(st.sampled_from([None, "number", "name"])),
            "note": draw(st.booleans()),
            "start": start,
            "end": end,
        })
    return cues


def _vtt_time(ms: int) -> str:
    s, ms = divmod(ms, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _write_vtt(cues) -> str:
    blocks = ["WEBVTT"]
    for number, cue in enumerate(cues, start=1):
        if cue["note"]:
            blocks.append("NOTE relu\npar l'équipe")
        lines = []
        if cue["identifier"] == "number":
            lines.append(str(number))
        elif cue["identifier"] == "name":
            lines.append(f"cue-{number}")
        lines.append(f"{_vtt_time(cue['start'])} --> {_vtt_time(cue['end'])}")
        payload = "\n".join(cue["lines"])
        speaker = cue["speaker"]
        if speaker is not None:
            payload = {
                "voice": f"<v {speaker}>{payload}",
                "voice_closed": f"<v {speaker}>{payload}</v>",
                "voice_class": f"<v.first.loud {speaker}>{payload}</v>",
                "prefix": f"{speaker}: {payload}",
            }[cue["form"]]
        lines.append(payload)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


@settings(max_examples=300)
@given(_cues(), st.booleans())
def test_parse_vtt_merges_same_speaker_runs(cues, known):
    raw = parse_vtt(_write_vtt(cues), known_labels=_SPEAKERS[:-1] if known else ())
    # A "Name: text" prefix names a speaker when known, said twice, or used in a voice tag.
    prefixed = [c["speaker"] for c in cues if c["speaker"] and c["form"] == "prefix"]
    voiced = {c["speaker"] for c in cues if c["speaker"] and c["form"] != "prefix"}
    runs: list[dict] = []
    for cue in cues:
        words = " ".join(cue["lines"]).split()
        speaker = cue["speaker"]
        if (speaker and cue["form"] == "prefix" and not known and speaker not in voiced
                and prefixed.count(speaker) < 2):
            speaker = None
            words = f"{cue['speaker']}:".split() + words
        if runs and runs[-1]["speaker"] == speaker:
            runs[-1]["words"] += words
            runs[-1]["end"] = cue["end"]
        else:
            runs.append({"speaker": speaker, "words": words, "start": cue["start"],
                         "end": cue["end"]})
    assert len(raw.turns) == len(runs)
    assert all(a.speaker != b.speaker for a, b in itertools.pairwise(raw.turns))
    for turn, run in zip(raw.turns, runs, strict=True):
        assert turn.speaker == run["speaker"]
        assert raw.text[turn.start:turn.end] == " ".join(run["words"])
        assert turn.time_start == pytest.approx(run["start"] / 1000)
        assert turn.time_end == pytest.approx(run["end"] / 1000)
    lines = raw.text.split("\n")
    assert len(lines) == len(runs)
    for line, run in zip(lines, runs, strict=True):
        prefix = f"{run['speaker']} : " if run["speaker"] else ""
        assert line == prefix + " ".join(run["words"])
    assert_well_formed(raw)
