"""Bytes → normalised text: UTF-8 (with or without BOM), Windows-1252 fallback, NFC, ``\\n``."""

from __future__ import annotations

import unicodedata
import warnings
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from qualcode.decoding import decode_bytes, normalise_text, read_text
from qualcode.errors import EncodingFallbackWarning, QualcodeError, TranscriptError

DATA = Path(__file__).parent / "data" / "transcripts"


# --- normalise_text ---------------------------------------------------------------------------


def test_normalise_text_newlines_bom_and_nfc():
    nfd = unicodedata.normalize("NFD", "Médecin : déjà\r\nsuite\rfin")
    assert normalise_text("\ufeff" + nfd) == "Médecin : déjà\nsuite\nfin"


def test_normalise_text_keeps_interior_zero_width_no_break_space():
    assert normalise_text("a\ufeffb") == "a\ufeffb"


# --- decode_bytes on fixed inputs -------------------------------------------------------------


def test_utf8_is_decoded_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text, used = decode_bytes("Coordonnatrice générale : ça va.\n".encode(), "a.txt")
    assert (text, used) == ("Coordonnatrice générale : ça va.\n", "utf-8")


def test_utf8_bom_is_dropped():
    text, used = decode_bytes(b"\xef\xbb\xbfCGS 2 : Bonjour.", "a.txt")
    assert text == "CGS 2 : Bonjour."
    assert used == "utf-8"


def test_crlf_becomes_lf():
    text, _ = decode_bytes(b"Q : un\r\nCGS 4 : deux\r\n\r\n", "a.txt")
    assert text == "Q : un\nCGS 4 : deux\n\n"


def test_nfd_comes_out_nfc():
    nfd = unicodedata.normalize("NFD", "Enquêtrice : Les équipes n’étaient pas préparées.")
    text, _ = decode_bytes(nfd.encode("utf-8"), "a.txt")
    assert text == "Enquêtrice : Les équipes n’étaient pas préparées."
    assert unicodedata.is_normalized("NFC", text)


def test_cp1252_fallback_warns_naming_the_file_and_line():
    data = "Intervieweur : Bonjour.\nCGS 3 : ça me tient à cœur… l’équipe.\n".encode("cp1252")
    with pytest.warns(EncodingFallbackWarning, match=r"entretien\.txt.*line 2.*Windows-1252"):
        text, used = decode_bytes(data, "entretien.txt")
    assert used == "cp1252"
    assert text == "Intervieweur : Bonjour.\nCGS 3 : ça me tient à cœur… l’équipe.\n"


def test_explicit_encoding_is_used_without_warning():
    data = "DG 1 : déjà".encode("latin-1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert decode_bytes(data, "a.txt", encoding="latin-1") == ("DG 1 : déjà", "latin-1")


def test_explicit_encoding_that_fails_reports_line():
    data = b"ligne un\nligne deux \xe9\n"
    with pytest.raises(TranscriptError) as info:
        decode_bytes(data, "a.txt", encoding="utf-8")
    assert info.value.line == 2
    assert str(info.value).startswith("a.txt:2: cannot decode as utf-8")


def test_unknown_explicit_encoding():
    with pytest.raises(TranscriptError, match="cannot decode as no-such-codec") as info:
        decode_bytes(b"DG 1 : oui", "a.txt", encoding="no-such-codec")
    assert info.value.line is None


@pytest.mark.parametrize("data", [b"", b"   \n\n\t", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_empty_input(data):
    with pytest.raises(TranscriptError, match="file is empty") as info:
        decode_bytes(data, "vide.txt")
    assert info.value.path == "vide.txt"
    assert "vide.txt" in str(info.value)


def test_binary_input_reports_control_byte_and_line():
    data = b"PK\x03\x04" + bytes(range(256))
    with pytest.raises(TranscriptError, match=r"binary file \(control byte 0x03\)") as info:
        decode_bytes(data, "image.txt")
    assert info.value.line == 1
    assert str(info.value).startswith("image.txt:1: ")


def test_binary_byte_on_a_later_line():
    with pytest.raises(TranscriptError) as info:
        decode_bytes(b"DG 1 : oui\nnon\n\x00\x00", "a.txt")
    assert info.value.line == 3


def test_undecodable_bytes_report_the_line_of_the_bad_byte():
    # 0x81 and 0x8d are invalid in UTF-8 and undefined in Windows-1252; line 1 has a valid
    # cp1252 byte (é) so that UTF-8 fails earlier than Windows-1252 does.
    data = b"caf\xe9\nDG 1 : suite\nmal \x81\x8d\n"
    with pytest.raises(TranscriptError, match=r"undecodable bytes.*0x81.*UTF-8") as info:
        decode_bytes(data, "mal.txt")
    assert info.value.line == 3
    assert str(info.value).startswith("mal.txt:3: ")


def test_transcript_error_is_a_qualcode_error():
    with pytest.raises(QualcodeError):
        decode_bytes(b"", "a.txt")


# --- read_text on the data files --------------------------------------------------------------


def test_read_text_cp1252_file():
    path = DATA / "cp1252_fr.txt"
    with pytest.warns(EncodingFallbackWarning) as record:
        text, used = read_text(path)
    assert str(path) in str(record[0].message)
    assert used == "cp1252"
    assert "télésurveillance des patients âgés, ça me tient à cœur." in text
    assert "L’équipe a été formée… enfin" in text


def test_read_text_bom_crlf_nfd_files():
    text, used = read_text(DATA / "utf8_bom.txt")
    assert used == "utf-8" and text.startswith("CGS 2 : Bonjour.")
    text, _ = read_text(DATA / "crlf.txt")
    assert "\r" not in text and "DH 3 : Je commence.\nJe dirige le biomédical.\n" in text
    text, _ = read_text(DATA / "nfd.txt")
    assert unicodedata.is_normalized("NFC", text)
    assert "Médecin urgentiste : Le déploiement a été arrêté en février." in text


def test_read_text_missing_file(tmp_path):
    path = tmp_path / "absent.txt"
    with pytest.raises(TranscriptError, match="cannot read file") as info:
        read_text(path)
    assert str(path) in str(info.value)


# --- properties -------------------------------------------------------------------------------

_CONTROLS = {chr(c) for c in range(32) if chr(c) not in "\t\n\r\f\v"} | {"\x7f"}


def _expected(text: str) -> str:
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


_unicode_text = st.text(
    st.characters(exclude_characters=_CONTROLS | {"\ufeff"}, exclude_categories=("Cs",)),
    min_size=1,
)


@given(_unicode_text, st.sampled_from(["utf-8", "utf-8-sig"]))
def test_utf8_round_trips_to_nfc_with_lf(text, encoding):
    assume(text.strip())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decoded, used = decode_bytes(text.encode(encoding), "t.txt")
    assert used == "utf-8"
    assert decoded == _expected(text)
    assert "\r" not in decoded


# Characters Windows-1252 can encode, control bytes aside.
_CP1252 = sorted(
    {
        ch
        for b in range(256)
        for ch in [bytes([b]).decode("cp1252", errors="ignore")]
        if ch and ch not in _CONTROLS
    }
)


@given(st.text(st.sampled_from(_CP1252), min_size=1))
def test_cp1252_round_trips_to_nfc_with_lf(text):
    assume(text.strip())
    data = text.encode("cp1252")
    try:
        data.decode("utf-8")
        valid_utf8 = True
    except UnicodeDecodeError:
        valid_utf8 = False
    # Bytes that are also valid UTF-8 are read as UTF-8; only pure ASCII agrees with cp1252.
    assume(not valid_utf8 or text.isascii())
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        decoded, used = decode_bytes(data, "fr.txt")
    assert decoded == _expected(text)
    fallbacks = [w for w in record if issubclass(w.category, EncodingFallbackWarning)]
    if valid_utf8:
        assert used == "utf-8" and not fallbacks
    else:
        assert used == "cp1252"
        assert len(fallbacks) == 1 and "fr.txt" in str(fallbacks[0].message)
