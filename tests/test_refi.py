"""REFI-QDA export and import: schema validity, exact offsets, determinism, hostile files, other readers.

A small results folder is written by hand (two transcripts with accents and characters beyond
U+FFFF, four participants' turns, codings of every status, two coders, a memo); a module-scoped
run on the bundled interviews checks the same properties on real output (slow).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from qualcode import refi
from qualcode.corpus import load_corpus
from qualcode.errors import ExportError, OptionError, QualcodeError
from qualcode.refi import RefiError, export_qdc, export_qdpx, read_refi, validate
from qualcode.results import load_results

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "refi-qda"  # beside the repository, in CI as here
SCHEMAS = Path(refi.__file__).parents[1] / "schemas"

CODEBOOK_YAML = """\
name: refi-test
title: "Étude test REFI"
version: "1"
language: fr
themes:
  - id: organisation
    label: Organisation
    definition: Comment le déploiement est organisé.
    codes:
      - id: pilotage
        label: Pilotage central
        definition: Décidé par la direction.
        include: ["Feuille de route de la direction."]
        exclude: ["Idée venue du terrain : terrain."]
        codes:
          - {id: pilotage_ght, label: Pilotage GHT, definition: Décidé au niveau du GHT.}
      - {id: terrain, label: Initiatives de terrain}
  - id: enjeux
    label: Enjeux « humains »
    codes:
      - {id: formation, label: Formation, definition: Former les équipes.}
"""
TRANSCRIPTS = {
    "entretien_a.txt": "Enquêtrice : Bonjour, pouvez-vous vous présenter ?\n\n"
                       "CGS 1 : Je suis coordonnatrice générale des soins. L'IA, ça m'inquiète 😀 "
                       "mais on avance.\n\nEnquêtrice : Et la formation ?\n\n"
                       "CGS 1 : Nous formons les équipes à l'outil 𝔘 de dictée, « pas à pas ».\n",
    "entretien_b.txt": "Intervieweur : Qui pilote le projet ?\n\n"
                       "DG 2 : C'est la direction générale qui a fixé la feuille de route, évidemment.\n\n"
                       "ING 1 : Moi je pense que l'idée vient du terrain — des équipes 🏥.\n",
}
PARTICIPANTS = """\
file,speaker,participant_id,role,establishment,establishment_staff,budget_share,volunteer
entretien_a.txt,CGS 1,CGS1,CGS,E1,7500,0.00001,True
entretien_b.txt,DG 2,DG2,DG,E2,11500,2.5,False
entretien_b.txt,ING 1,ING2,Ingénieur,E2,11500,12.25,True
"""
# (segment index, code, status, coder, memo)
CODINGS = [
    (0, "pilotage", "suggested", "", ""),
    (0, "formation", "accepted", "alice", "Inquiétude exprimée 😀 mais adhésion."),
    (1, "formation", "suggested", "", ""),
    (1, "formation", "accepted", "alice", ""),
    (2, "pilotage_ght", "suggested", "", ""),
    (2, "terrain", "rejected", "bob", ""),
    (3, "terrain", "accepted", "", ""),
    (3, "organisation", "accepted", "bob", ""),
]
CODERS = {"alice": "Alice Martin", "bob": "Bob"}


def write_results(folder: Path, transcripts: Path, corpus) -> Path:
    """A results folder as `qualcode code` writes it, for the corpus read from ``transcripts``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "codebook.yaml").write_text(CODEBOOK_YAML, encoding="utf-8")
    segments = corpus.segments_frame()
    segments.insert(7, "words", segments["text"].str.split().str.len())
    segments.to_csv(folder / "segments.csv", index=False)
    themes = {"pilotage": "organisation", "pilotage_ght": "organisation", "terrain": "organisation",
              "formation": "enjeux", "organisation": "organisation"}
    rows = [{"document_id": segments.document_id[i], "segment_id": segments.segment_id[i],
             "code_id": code, "theme_id": themes[code], "score": 0.7, "method": "hybrid",
             "status": status, "coder": coder, "memo": memo}
            for i, code, status, coder, memo in CODINGS]
    pd.DataFrame(rows).to_csv(folder / "codings.csv", index=False)
    run = {"started_at": "2026-03-01T10:00:00+01:00", "codebook": {"name": "refi-test"},
           "corpus": {"documents": [{"document_id": d.document_id, "file": Path(d.path).name,
                                     "sha256": d.sha256, "format": d.format}
                                    for d in corpus.documents]}}
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return folder


@pytest.fixture
def study(tmp_path):
    """(results, corpus, transcripts folder) of the small hand-made study."""
    transcripts = tmp_path / "transcripts"
    transcripts.mkdir()
    for name, text in TRANSCRIPTS.items():
        (transcripts / name).write_text(text, encoding="utf-8")
    (transcripts / "participants.csv").write_text(PARTICIPANTS, encoding="utf-8")
    corpus = load_corpus([transcripts], unit="turn")
    return load_results(write_results(tmp_path / "results", transcripts, corpus)), corpus, transcripts


def schema_errors(qde: bytes, name: str = "Project-mrt2019.xsd") -> list[str]:
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / name)))
    document = etree.fromstring(qde)
    return [] if schema.validate(document) else [str(e) for e in schema.error_log]


def project_xml(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read("project.qde")


def check_round_trip(results, corpus, project) -> None:
    """Codes, texts and every coding's span survive the export exactly."""
    codebook = results.codebook
    labels = {t.id: t.label for t in codebook.themes} | {c.id: c.label for c in codebook.codes}
    parents = {c.id: c.parent_id or c.theme_id for c in codebook.codes}
    codes = project.codes.set_index("guid")
    names = codes["name"].to_dict()
    assert sorted(names.values()) == sorted(labels.values())
    read_parents = {names[g]: names.get(p) for g, p in codes["parent_guid"].items()}
    assert read_parents == {labels[i]: labels.get(parents.get(i)) for i in labels}
    descriptions = dict(zip(codes["name"], codes["description"].fillna(""), strict=True))
    for code in codebook.codes:
        assert descriptions[code.label] == refi.export._description(code)
        for line in (code.definition, *code.include, *code.exclude):
            assert line in descriptions[code.label]
    texts = {d.document_id: d.text for d in corpus.documents}
    by_name = {Path(d.path).name: d.document_id for d in corpus.documents}
    sources = project.sources.assign(document_id=project.sources["name"].map(by_name))
    assert dict(zip(sources.document_id, sources.text, strict=True)) == texts
    codings = project.codings.merge(sources[["guid", "document_id"]], left_on="source_guid",
                                    right_on="guid")
    segments = results.segments.set_index(["document_id", "start", "end"])["text"]
    for row in codings.itertuples():
        assert texts[row.document_id][row.start:row.end] == row.text
        assert segments[(row.document_id, row.start, row.end)] == row.text
    kept = results.codings[results.codings.status != "rejected"]
    decisions = [c for c in ("segment_id", "code_id", "status", "coder") if c in kept.columns]
    assert len(codings) == len(kept.drop_duplicates(decisions))


# --- export of the small study --------------------------------------------------------------------


def test_project_validates_against_the_official_schema(study, tmp_path):
    results, corpus, _ = study
    path = export_qdpx(results, tmp_path / "study.qdpx", corpus=corpus, coders=CODERS)
    assert schema_errors(project_xml(path)) == []
    assert validate(path) == []
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert names[0] == "project.qde" and len(names) == 3
    # REFI-QDA 1.5 §8.1: "a sources folder named 'sources'" (its appendix lists vendors' Sources/)
    assert all(n.startswith("sources/") and n.endswith(".txt") for n in names[1:])


def test_the_vendors_capitalised_sources_folder_is_read_too(study, tmp_path):
    results, corpus, _ = study
    path = export_qdpx(results, tmp_path / "study.qdpx", corpus=corpus, coders=CODERS)
    with zipfile.ZipFile(path) as archive:
        members = {i.filename.replace("sources/", "Sources/"): archive.read(i) for i in archive.infolist()}
    capitalised = read_refi(write_zip(tmp_path / "vendor.qdpx", members))
    assert capitalised.warnings == ()
    pd.testing.assert_frame_equal(capitalised.sources, read_refi(path).sources)


def test_round_trip_keeps_codes_texts_and_offsets_exactly(study, tmp_path):
    results, corpus, _ = study
    project = read_refi(export_qdpx(results, tmp_path / "study.qdpx", corpus=corpus, coders=CODERS))
    assert project.kind == "project" and project.name == "Étude test REFI"
    assert project.warnings == ()
    check_round_trip(results, corpus, project)
    beyond_bmp = project.codings[project.codings.text.str.contains("😀|𝔘|🏥")]
    assert len(beyond_bmp) >= 4
    # the turn after the emoji starts where Python says, not where UTF-16 would
    document = corpus.documents[0]
    start = document.text.index("Nous formons")
    assert start in set(project.codings.start)
    assert len(document.text[:start].encode("utf-16-le")) // 2 == start + 1


def test_coded_spans_are_the_segments_in_the_xml(study, tmp_path):
    results, corpus, _ = study
    root = etree.fromstring(project_xml(export_qdpx(results, tmp_path / "s.qdpx", corpus=corpus)))
    ns = {"q": refi.PROJECT_NS}
    selections = root.findall(".//q:PlainTextSelection", ns)
    assert len(selections) == 4  # four coded segments, each once, with several codings
    assert [len(s.findall("q:Coding", ns)) for s in selections] == [2, 2, 1, 2]
    text = corpus.documents[0].text
    first = selections[0]
    start, end = int(first.get("startPosition")), int(first.get("endPosition"))
    assert text[start:end] == results.segments.text[0] and first.get("name") == text[start:end]
    assert first.get("creationDateTime") == "2026-03-01T09:00:00Z"


def test_codings_are_attributed_to_the_machine_or_their_coder(study, tmp_path):
    results, corpus, _ = study
    project = read_refi(export_qdpx(results, tmp_path / "s.qdpx", corpus=corpus, coders=CODERS))
    assert list(project.users.name) == ["qualcode (suggestions)", "Alice Martin", "Bob",
                                        "reviewer (not recorded)"]
    assert list(project.users.id.fillna("")) == ["", "alice", "bob", ""]
    made = project.codings.groupby("user_name").code_name.apply(sorted).to_dict()
    assert made == {"qualcode (suggestions)": ["Formation", "Pilotage GHT", "Pilotage central"],
                    "Alice Martin": ["Formation", "Formation"], "Bob": ["Organisation"],
                    "reviewer (not recorded)": ["Initiatives de terrain"]}
    assert set(project.codings.created) == {"2026-03-01T09:00:00Z"}


def test_a_single_coder_given_takes_the_unattributed_decisions(study, tmp_path):
    results, corpus, _ = study
    results.codings = results.codings.drop(columns=["coder"])
    project = read_refi(export_qdpx(results, tmp_path / "s.qdpx", corpus=corpus, coders=["Alice"]))
    assert list(project.users.name) == ["qualcode (suggestions)", "Alice"]
    assert (project.codings.user_name == "Alice").sum() == 4


def test_status_chooses_the_codings_and_rejected_ones_never_leave(study, tmp_path):
    results, corpus, _ = study
    rejected_guid = refi.export._code_guids(results.codebook)["terrain"]
    everything = read_refi(export_qdpx(results, tmp_path / "a.qdpx", corpus=corpus, status="all"))
    assert len(everything.codings) == 7
    assert (everything.codings.code_guid == rejected_guid).sum() == 1  # the accepted one only
    accepted = read_refi(export_qdpx(results, tmp_path / "b.qdpx", corpus=corpus, status="accepted"))
    assert len(accepted.codings) == 4
    assert set(accepted.codings.user_name) == {"alice", "bob", "reviewer (not recorded)"}
    for wrong in ("rejected", ["accepted", "rejected"], ["all", "rejected"], "nope", []):
        with pytest.raises(OptionError, match="rejected codings are never exported"):
            export_qdpx(results, tmp_path / "c.qdpx", corpus=corpus, status=wrong)
    assert not (tmp_path / "c.qdpx").exists()


def test_themes_are_codable_only_when_used(study, tmp_path):
    results, corpus, _ = study
    project = read_refi(export_qdpx(results, tmp_path / "s.qdpx", corpus=corpus))
    codable = dict(zip(project.codes.name, project.codes.is_codable, strict=True))
    assert codable["Organisation"] is True  # bob coded a segment with the theme itself
    assert codable["Enjeux « humains »"] is False
    assert all(codable[c.label] for c in results.codebook.codes)


def test_participants_become_cases_with_typed_variables(study, tmp_path):
    results, corpus, _ = study
    project = read_refi(export_qdpx(results, tmp_path / "s.qdpx", corpus=corpus))
    assert list(project.variables.name) == ["role", "establishment", "establishment_staff",
                                            "budget_share", "volunteer"]
    assert list(project.variables.type) == ["Text", "Text", "Integer", "Float", "Boolean"]
    cases = project.cases.set_index("name")
    assert list(cases.index) == ["CGS1", "DG2", "ING2"]
    assert cases.loc["ING2", "role"] == "Ingénieur" and cases.loc["DG2", "establishment_staff"] == "11500"
    assert cases.loc["CGS1", "description"] == "Participant CGS1 (speaker label: CGS 1)"
    assert list(cases.budget_share) == ["0.00001", "2.5", "12.25"]  # xsd:decimal, no exponent
    assert list(cases.volunteer) == ["true", "false", "true"]
    members = project.case_members.merge(project.cases[["guid", "name"]], left_on="case_guid",
                                         right_on="guid")
    sources = dict(zip(project.sources.guid, project.sources.name, strict=True))
    by_kind = members.groupby(["name", "kind"]).target_guid.apply(list)
    assert [sources[g] for g in by_kind["DG2", "source"]] == ["entretien_b.txt"]
    selections = set(project.codings.selection_guid)
    assert len(by_kind["CGS1", "selection"]) == 2 and set(by_kind["CGS1", "selection"]) <= selections


def test_memos_become_notes_attached_to_their_coding(study, tmp_path):
    results, corpus, _ = study
    path = export_qdpx(results, tmp_path / "s.qdpx", corpus=corpus, coders=CODERS)
    project = read_refi(path)
    assert len(project.notes) == 1
    note = project.notes.iloc[0]
    assert note.text == "Inquiétude exprimée 😀 mais adhésion."
    assert note.user_guid == project.users.set_index("name").guid["Alice Martin"]
    root = etree.fromstring(project_xml(path))
    target = root.find(f".//{{{refi.PROJECT_NS}}}NoteRef").getparent()
    assert target.tag.endswith("Coding") and target.get("guid") == note.target_guid


def test_characters_xml_cannot_hold_are_dropped_from_the_xml_only(study, tmp_path):
    results, corpus, _ = study
    results.codings.loc[1, "memo"] = "Voir\x0b page\x00 2"
    path = export_qdpx(results, tmp_path / "s.qdpx", corpus=corpus)
    assert validate(path) == []
    assert read_refi(path).notes.text.tolist() == ["Voir page 2"]


def test_export_is_deterministic_and_the_folder_gives_the_same_file(study, tmp_path):
    results, corpus, transcripts = study
    first = export_qdpx(results, tmp_path / "1.qdpx", corpus=corpus, coders=CODERS).read_bytes()
    second = export_qdpx(results, tmp_path / "2.qdpx", corpus=corpus, coders=CODERS).read_bytes()
    third = export_qdpx(results, tmp_path / "3.qdpx", corpus=transcripts, coders=CODERS).read_bytes()
    fourth = export_qdpx(results.folder, tmp_path / "4.qdpx", corpus=transcripts, coders=CODERS)
    assert first == second == third == fourth.read_bytes()
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {i.date_time for i in archive.infolist()} == {(2026, 3, 1, 9, 0, 0)}


def test_code_guids_are_shared_by_the_codebook_and_the_project(study, tmp_path):
    results, corpus, _ = study
    project = read_refi(export_qdpx(results, tmp_path / "s.qdpx", corpus=corpus))
    codebook = read_refi(export_qdc(results.codebook, tmp_path / "c.qdc"))
    assert list(project.codes.guid) == list(codebook.codes.guid)


def test_export_refuses_a_transcript_changed_since_the_run(study, tmp_path):
    results, _, transcripts = study
    path = transcripts / "entretien_b.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("évidemment", "bien sûr"),
                    encoding="utf-8")
    with pytest.raises(ExportError, match="changed since the coding run") as caught:
        export_qdpx(results, tmp_path / "s.qdpx", corpus=transcripts)
    assert caught.value.path.endswith("entretien_b.txt")
    with pytest.raises(ExportError, match="Corpus of the run or its transcripts folder"):
        export_qdpx(results, tmp_path / "s.qdpx", corpus=tmp_path / "nowhere")
    assert not (tmp_path / "s.qdpx").exists()


def test_an_unwritable_destination_is_an_export_error(study, tmp_path):
    results, corpus, _ = study
    (tmp_path / "file").write_text("", encoding="utf-8")
    with pytest.raises(ExportError, match="cannot write"):
        export_qdpx(results, tmp_path / "file" / "s.qdpx", corpus=corpus)
    with pytest.raises(ExportError, match="cannot write"):
        export_qdc(results.codebook, tmp_path / "file" / "c.qdc")


def test_export_names_a_code_missing_from_the_codebook(study, tmp_path):
    results, corpus, _ = study
    results.codings.loc[0, "code_id"] = "ghost"
    with pytest.raises(ExportError, match="code 'ghost'"):
        export_qdpx(results, tmp_path / "s.qdpx", corpus=corpus)


# --- the codebook alone ---------------------------------------------------------------------------


def test_qdc_validates_and_round_trips(study, tmp_path):
    results, _, _ = study
    path = export_qdc(results.codebook, tmp_path / "codebook.qdc")
    assert schema_errors(path.read_bytes(), "Codebook-mrt2019.xsd") == []
    assert validate(path) == []
    codebook = read_refi(path)
    assert codebook.kind == "codebook" and codebook.codings.empty and codebook.warnings == ()
    names = dict(zip(codebook.codes.guid, codebook.codes.name, strict=True))
    tree = {name: names.get(parent) for name, parent in zip(codebook.codes.name,
                                                            codebook.codes.parent_guid, strict=True)}
    assert tree == {"Organisation": None, "Pilotage central": "Organisation",
                    "Pilotage GHT": "Pilotage central", "Initiatives de terrain": "Organisation",
                    "Enjeux « humains »": None, "Formation": "Enjeux « humains »"}
    assert not codebook.codes.set_index("name").is_codable["Organisation"]
    description = codebook.codes.set_index("name").description["Pilotage central"]
    assert description == ("Décidé par la direction.\n\nInclude:\n- Feuille de route de la direction."
                           "\n\nExclude:\n- Idée venue du terrain : terrain.")
    assert export_qdc(results.codebook, tmp_path / "again.qdc").read_bytes() == path.read_bytes()


def test_validate_reports_schema_problems_with_their_line(tmp_path):
    path = tmp_path / "bad.qdc"
    path.write_text('<?xml version="1.0"?>\n<CodeBook xmlns="urn:QDA-XML:codebook:1.0">\n<Codes>\n'
                    '<Code guid="not-a-guid" name="x"/>\n</Codes>\n</CodeBook>\n', encoding="utf-8")
    problems = validate(path)
    assert problems and all(p.startswith("bad.qdc:4: ") for p in problems)
    assert any("isCodable" in p for p in problems) and any("guid" in p for p in problems)
    (tmp_path / "broken.qde").write_text("<Project", encoding="utf-8")
    assert "not well-formed XML" in validate(tmp_path / "broken.qde")[0]


def test_packaged_schemas_are_the_official_ones():
    if not SHARED.is_dir():
        pytest.skip("shared/refi-qda is not beside the repository")
    for name in ("Project-mrt2019.xsd", "Codebook-mrt2019.xsd"):
        assert (SCHEMAS / name).read_bytes() == (SHARED / name).read_bytes()


# --- files from other software --------------------------------------------------------------------


@pytest.fixture
def examples():
    folder = SHARED / "examples"
    if not folder.is_dir():
        pytest.skip("shared/refi-qda/examples is not beside the repository")
    return folder


def test_atlas_ti_standard_project_imports_cleanly(examples):
    project = read_refi(examples / "atlasti-8.4_standard-project.qde")
    assert project.origin.startswith("ATLAS.ti 8.4") and len(project.codes) == 14
    assert project.codes.set_index("name").description["Coke::diet Coke"] == "non sucré"
    assert list(project.users.name) == ["ATLAS.ti", "Friedrich Markgraf", "Sebastian Petrausch"]
    kinds = project.sources.kind.value_counts().to_dict()
    assert kinds == {"TextSource": 6, "PDFSource": 2, "VideoSource": 2, "PictureSource": 1,
                     "AudioSource": 1}
    assert project.sources.text.isna().all()  # the .qde comes without its source files
    missing = [w for w in project.warnings if "is missing from the file" in w]
    assert len(missing) == 8 and unicodedata.normalize("NFD", "Mabêl 2ième.txt") in "".join(missing)
    assert any(w.startswith("PictureSource 'cornflakes-n-milk.jpg'") and "2 codings" in w
               for w in project.warnings)
    assert "Sets: 16 not read (not supported)" in project.warnings
    diet = project.codings[project.codings.code_name == "Coke::diet Coke"].iloc[0]
    assert (diet.start, diet.end, diet.user_name) == (139, 195, "Friedrich Markgraf")
    assert len(project.codings) == 9 and project.codings.text.isna().all()
    assert list(project.notes.name) == ["Research Plan", "My favorite Coke ad"]


def test_atlas_ti_qdpx_codebook_hierarchy_is_read(examples):
    path = examples / "atlasti-23.2_target-atlas-project.qdpx"
    project = read_refi(path)
    assert validate(path) == []
    names = dict(zip(project.codes.guid, project.codes.name, strict=True))
    parents = {n: names.get(p) for n, p in zip(project.codes.name, project.codes.parent_guid,
                                                strict=True)}
    assert parents == {"Commits": None, "2022-05-10T02:05:59Z 19e4dce": "Commits",
                       "2022-02-11T10:39:25Z cdbfd92": "Commits"}
    assert project.sources.empty and project.warnings == ()


def test_inclusive_end_offsets_are_recognised_by_their_quote(tmp_path):
    text = "Le café était froid. Bonne journée."
    qde = (f'<Project xmlns="{refi.PROJECT_NS}" name="p"><CodeBook><Codes>'
           '<Code guid="11111111-1111-1111-1111-111111111111" name="c" isCodable="true"/></Codes>'
           '</CodeBook><Sources><TextSource guid="22222222-2222-2222-2222-222222222222" name="t">'
           f'<PlainTextContent>{text}</PlainTextContent>'
           '<PlainTextSelection guid="33333333-3333-3333-3333-333333333333" name="café" '
           'startPosition="3" endPosition="6"><Coding guid="44444444-4444-4444-4444-444444444444">'
           '<CodeRef targetGUID="11111111-1111-1111-1111-111111111111"/></Coding>'
           '</PlainTextSelection></TextSource></Sources></Project>')
    (tmp_path / "p.qde").write_text(qde, encoding="utf-8")
    coding = read_refi(tmp_path / "p.qde").codings.iloc[0]
    assert (coding.start, coding.end, coding.text, coding.code_name) == (3, 7, "café", "c")


# --- hostile and broken files ---------------------------------------------------------------------


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


MINIMAL = b'<Project xmlns="urn:QDA-XML:project:1.0" name="p"/>'


def test_external_entities_are_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE Project [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
           '<Project xmlns="urn:QDA-XML:project:1.0" name="p"><Description>&xxe;</Description>'
           '</Project>').encode()
    (tmp_path / "xxe.qde").write_bytes(xxe)
    for path in ((tmp_path / "xxe.qde"), write_zip(tmp_path / "xxe.qdpx", {"project.qde": xxe})):
        with pytest.raises(RefiError, match="DOCTYPE declarations are refused") as caught:
            read_refi(path)
        assert "TOP-SECRET" not in str(caught.value) and path.name in str(caught.value)
        assert "TOP-SECRET" not in "".join(validate(path))


def test_billion_laughs_is_refused_quickly(tmp_path):
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    path = tmp_path / "lol.qde"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE Project [{entities}]><Project name="&lol9;"/>',
                    encoding="utf-8")
    with pytest.raises(RefiError) as caught:
        read_refi(path)
    assert "lol.qde" in str(caught.value)


@pytest.mark.parametrize("member", ["../evil.txt", "Sources/../../evil.txt", "/etc/evil.txt",
                                    "C:/evil.txt", "..\\evil.txt"])
def test_archives_with_escaping_member_names_are_refused(tmp_path, member):
    path = write_zip(tmp_path / "evil.qdpx", {"project.qde": MINIMAL, member: b"x"})
    with pytest.raises(RefiError, match="unsafe archive member") as caught:
        read_refi(path)
    assert "evil.qdpx" in str(caught.value)
    with pytest.raises(RefiError):
        validate(path)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_members_over_the_size_cap_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(refi.reading, "MAX_MEMBER_BYTES", 10_000)
    padding = b"<!--" + b" " * 50_000 + b"-->"
    path = write_zip(tmp_path / "bomb.qdpx", {"project.qde": MINIMAL + padding})
    assert path.stat().st_size < 1_000
    with pytest.raises(RefiError, match="too large"):
        read_refi(path)


def test_source_paths_cannot_leave_the_archive(tmp_path):
    (tmp_path / "outside.txt").write_text("outside", encoding="utf-8")
    qde = ('<Project xmlns="urn:QDA-XML:project:1.0" name="p"><Sources>'
           '<TextSource guid="22222222-2222-2222-2222-222222222222" name="a" '
           'plainTextPath="internal://../outside.txt"/>'
           '<TextSource guid="33333333-3333-3333-3333-333333333333" name="b" '
           f'plainTextPath="absolute://{tmp_path}/outside.txt"/></Sources></Project>')
    project = read_refi(write_zip(tmp_path / "p.qdpx", {"project.qde": qde.encode()}))
    assert project.sources.text.isna().all()
    assert len([w for w in project.warnings if "is not inside the file; not read" in w]) == 2


@pytest.mark.parametrize(("name", "content", "message"), [
    ("notxml.qde", b"\x00\x01 binary", "not well-formed XML"),
    ("other.qde", b"<html/>", "neither <Project> nor <CodeBook>"),
    ("empty.qdpx", None, "no project.qde"),
])
def test_malformed_files_raise_refi_errors_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:
        write_zip(path, {"Sources/a.txt": b"text"})
    else:
        path.write_bytes(content)
    with pytest.raises(RefiError, match=message) as caught:
        read_refi(path)
    assert isinstance(caught.value, QualcodeError) and name in str(caught.value)


# --- independent readers --------------------------------------------------------------------------


def import_pyqdpx():
    try:
        import pyqdpx
    except ImportError:
        pytest.skip("pyqdpx is not installed")
    except SyntaxError:  # pyqdpx ≥ 0.1.7 uses Python 3.12 f-strings despite requiring >= 3.8
        pytest.skip("this pyqdpx release needs Python 3.12; use pyqdpx==0.1.5 here")
    return pyqdpx


def check_with_pyqdpx(path: Path, results, capsys) -> None:
    pyqdpx = import_pyqdpx()
    project = pyqdpx.QDPX(str(path)).get_project()
    codes, sources = project.codes, project.sources
    assert capsys.readouterr().out == ""  # pyqdpx prints every problem it meets
    labels = {t.label for t in results.codebook.themes} | {c.label for c in results.codebook.codes}
    assert {c.name for c in codes.values()} == labels
    parents = {c.name: c.parent.name if c.parent else None for c in codes.values()}
    assert all(parents[c.label] is not None for c in results.codebook.codes)
    assert {s.name for s in sources.values()} == set(results.documents["file"])
    segments = set(results.segments.text)
    selections = [sel for s in sources.values() for sel in s.coded_selections.values()]
    coded = results.codings[results.codings.status != "rejected"].segment_id.nunique()
    assert len(selections) == coded  # pyqdpx keeps the first Coding of each selection
    assert all(sel.text in segments for sel in selections)


def test_pyqdpx_reads_our_project(study, tmp_path, capsys):
    results, corpus, _ = study
    path = export_qdpx(results, tmp_path / "s.qdpx", corpus=corpus)
    pyqdpx = import_pyqdpx()
    project = pyqdpx.QDPX(str(path)).get_project()
    assert {c.name for c in project.codes.values()} >= {"Organisation", "Pilotage GHT"}
    assert {s.name for s in project.sources.values()} == set(TRANSCRIPTS)
    assert capsys.readouterr().out == ""
    # pyqdpx counts UTF-16 units as NVivo does: spans agree up to the first character past U+FFFF
    texts = {Path(d.path).name: d.text for d in corpus.documents}
    spans = [(texts[s.name], sel) for s in project.sources.values()
             for sel in s.coded_selections.values()]
    before = [(text, sel) for text, sel in spans if max(text[:sel.end]) <= "\uffff"]
    assert before and all(sel.text == text[sel.start:sel.end] for text, sel in before)


def qc_command() -> Path:
    pytest.importorskip("qualitative_coding")
    qc = shutil.which("qc", path=str(Path(sys.executable).parent))
    if qc is None:
        pytest.skip("the qc command of qualitative-coding is not installed")
    return Path(qc)


def test_qualitative_coding_validates_our_project(study, tmp_path):
    qc_command()
    from qualitative_coding.exceptions import QCError
    from qualitative_coding.refi_qda.reader import REFIQDAReader

    results, corpus, _ = study
    path = export_qdpx(results, tmp_path / "s.qdpx", corpus=corpus)
    REFIQDAReader(str(path))  # raises QCError unless project.qde passes xmlschema validation
    broken = project_xml(path).replace(b'isCodable="true"', b'isCodable="yes"', 1)
    with pytest.raises(QCError, match="did not validate"):
        REFIQDAReader(str(write_zip(tmp_path / "broken.qdpx", {"project.qde": broken})))


def run_qc_import(path: Path, folder: Path):
    folder.mkdir()
    env = {**os.environ, "PYTHONBREAKPOINT": "0"}  # qc 1.7.8 left a breakpoint() in its importer
    done = subprocess.run([str(qc_command()), "init", "--import", str(path)], cwd=folder, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    return done


def qc_tables(folder: Path) -> dict[str, list]:
    import sqlite3

    with sqlite3.connect(folder / "qualitative_coding.sqlite3") as db:
        return {"coders": [r[0] for r in db.execute("select name from coder")],
                "documents": sorted(r[0] for r in db.execute("select file_path from document")),
                "codes": sorted({r[0] for r in db.execute("select code_id from coded_line")}),
                "coded": {r for r in db.execute("select coder_id, code_id from coded_line")}}


@pytest.mark.slow
def test_qualitative_coding_imports_our_project(study, tmp_path):
    import yaml

    results, corpus, transcripts = study
    path = export_qdpx(results, tmp_path / "study.qdpx", corpus=corpus, coders=CODERS)
    done = run_qc_import(path, tmp_path / "qc")  # qc reads sources/ (the spec's spelling) only
    assert done.returncode == 0, done.stderr[-2000:]
    for name in TRANSCRIPTS:  # the texts arrive byte for byte
        assert (tmp_path / "qc" / "corpus" / name).read_bytes() == (transcripts / name).read_bytes()
    codebook = yaml.safe_load((tmp_path / "qc" / "codebook.yaml").read_text(encoding="utf-8"))
    assert codebook == [{"Enjeux « humains »": ["Formation"]},  # qc sorts names
                        {"Organisation": ["Initiatives de terrain",
                                          {"Pilotage central": ["Pilotage GHT"]}]}]
    tables = qc_tables(tmp_path / "qc")
    assert set(tables["coders"]) == {"qualcode (suggestions)", "Alice Martin", "Bob",
                                     "reviewer (not recorded)"}
    assert tables["documents"] == ["entretien_a.txt", "entretien_b.txt"]
    assert tables["codes"] == ["Formation", "Initiatives de terrain", "Organisation",
                               "Pilotage GHT", "Pilotage central"]
    # who coded what comes through; where does not: qc 1.7.8 puts every selection on line 0
    # (its get_line_for_position returns the first line), so alice's two Formation codings merge
    project = read_refi(path)
    assert tables["coded"] == set(zip(project.codings.user_name, project.codings.code_name, strict=True))


# --- the bundled interviews -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled(bundled_run):
    return load_results(bundled_run.folder), bundled_run.corpus


@pytest.mark.slow
def test_bundled_study_exports_a_valid_project_that_round_trips(bundled, tmp_path):
    results, corpus = bundled
    path = export_qdpx(results, tmp_path / "study.qdpx", corpus=ROOT / "transcripts")
    assert schema_errors(project_xml(path)) == [] and validate(path) == []
    again = export_qdpx(results, tmp_path / "again.qdpx", corpus=corpus)
    assert again.read_bytes() == path.read_bytes()
    project = read_refi(path)
    assert project.warnings == ()
    check_round_trip(results, corpus, project)
    assert len(project.cases) == results.segments.participant_id.nunique()
    assert set(project.variables.name) == set(results.attributes)
    assert schema_errors((export_qdc(results.codebook, tmp_path / "c.qdc")).read_bytes(),
                         "Codebook-mrt2019.xsd") == []


@pytest.mark.slow
def test_pyqdpx_reads_the_bundled_study(bundled, tmp_path, capsys):
    results, corpus = bundled
    import_pyqdpx()
    assert all(max(d.text) <= "\uffff" for d in corpus.documents)  # offsets agree in the BMP
    path = export_qdpx(results, tmp_path / "study.qdpx", corpus=corpus)
    check_with_pyqdpx(path, results, capsys)
