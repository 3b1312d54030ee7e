"""REFI-QDA import: codings made in another tool come back as decisions of mapped coders.

Two bundled interviews are coded twice (module scope, one parse cache): ``coded``, where alice
and bob decide and the result is exported as a ``.qdpx``, and ``fresh``, a second coding of the
same transcripts into which each test imports (a private copy).  Other tools are stood in for
by edited copies of that file, a hand-written project with CRLF text, and the ATLAS.ti sample.
"""

from __future__ import annotations

import csv
import shutil
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree
from typer.testing import CliRunner

from qualcode import code_transcripts
from qualcode.cli import app
from qualcode.errors import OptionError
from qualcode.refi import PROJECT_NS, SUGGESTIONS_USER, export_qdc, export_qdpx, import_refi, read_refi
from qualcode.results import load_results
from qualcode.review import apply_decisions, coder_codings
from qualcode.store import ProjectStore

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ATLAS = SHARED / "refi-qda" / "examples" / "atlasti-23.2_target-atlas-project.qdpx"
CODEBOOK = ROOT / "codebooks" / "ds-ia-sante.yaml"
FILES = ["entretien_01_dg_chu1.txt", "entretien_13_med_urg_ch6.txt"]
MEMO = "à relire : ironie ?"
NS = {"q": PROJECT_NS}


@dataclass
class Study:
    transcripts: Path
    coded: Path  # alice's and bob's decisions
    fresh: Path  # a second coding of the same transcripts, no decision
    qdpx: Path  # `coded` exported
    alice: set[tuple[str, str]]  # alice's accepted and added (segment, code)
    memo: tuple[str, str]  # the (segment, code) alice wrote MEMO on
    rejected: tuple[str, str]
    recoded: tuple[str, str]


def write_participants(folder: Path) -> None:
    with open(ROOT / "transcripts" / "participants.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    with open(folder / "participants.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([rows[0], *(r for r in rows[1:] if r[0] in FILES)])


def strongest(codings: pd.DataFrame, n: int) -> list[tuple[str, str]]:
    """The ``n`` strongest suggestions, on distinct segments."""
    best = codings.sort_values(["score", "segment_id"], ascending=[False, True]).drop_duplicates("segment_id")
    return list(zip(best.segment_id, best.code_id, strict=True))[:n]


def unsuggested(codings: pd.DataFrame, segment_id: str, codes: list[str]) -> str:
    return next(c for c in codes if c not in set(codings[codings.segment_id == segment_id].code_id))


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Study:
    base = tmp_path_factory.mktemp("refi-import")
    transcripts = base / "transcripts"
    transcripts.mkdir()
    for name in FILES:
        shutil.copy(ROOT / "transcripts" / name, transcripts / name)
    write_participants(transcripts)
    run = code_transcripts([transcripts], CODEBOOK, out=base / "coded", cache_dir=base / "cache")
    code_transcripts([transcripts], CODEBOOK, out=base / "fresh", cache_dir=base / "cache")
    codings, codes = run.codings, [c.id for c in run.codebook.codes]
    accepted, memoed, rejected, added, recoded, bobs = strongest(codings, 6)
    add_code, new_code = unsuggested(codings, added[0], codes), unsuggested(codings, recoded[0], codes)
    with ProjectStore(base / "coded") as store:
        store.decide_many([(*accepted, "accept", "alice", None, None),
                           (*memoed, "accept", "alice", None, None),
                           (*memoed, "memo", "alice", None, MEMO),
                           (*rejected, "reject", "alice", None, None),
                           (added[0], add_code, "add", "alice", None, None),
                           (*recoded, "recode", "alice", new_code, None),
                           (*bobs, "accept", "bob", None, None)])
    apply_decisions(base / "coded")
    qdpx = export_qdpx(base / "coded", base / "coded.qdpx", corpus=transcripts)
    alice = {accepted, memoed, (added[0], add_code), (recoded[0], new_code)}
    return Study(transcripts, base / "coded", base / "fresh", qdpx, alice, memoed, rejected, recoded)


@pytest.fixture
def fresh(study, tmp_path) -> Path:
    return Path(shutil.copytree(study.fresh, tmp_path / "fresh"))


def pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame.segment_id, frame.code_id, strict=True))


def decisions(folder: Path, coder: str | None = None) -> pd.DataFrame:
    with ProjectStore(folder) as store:
        return store.decisions(coder)


def unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def edit_qdpx(path: Path, target: Path, *, qde=None, sources=None) -> Path:
    """A copy of ``path`` with project.qde passed through ``qde(root)`` and texts through ``sources``."""
    with zipfile.ZipFile(path) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    if qde is not None:
        root = etree.fromstring(members["project.qde"])
        qde(root)
        members["project.qde"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    for name in list(members):
        if sources is not None and name.startswith("sources/"):
            members[name] = sources(name, members[name].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


# --- the round trip -------------------------------------------------------------------------------


def test_alices_codings_come_back_as_the_mapped_coder_on_a_fresh_coding(study, fresh):
    before = pd.read_csv(fresh / "codings.csv")
    report = import_refi(study.qdpx, fresh, coders={"alice": "alice-imported"})

    assert report.kind == "project"
    assert report.coders == (("alice", "alice-imported"), ("bob", "bob"))  # bob: the same name
    assert report.counts == {"alice-imported": {"add": 4, "memo": 1, "unchanged": 0},
                             "bob": {"add": 1, "memo": 0, "unchanged": 0}}
    assert report.recorded == 6
    assert sorted(report.sources) == [(f, f.removesuffix(".txt")) for f in FILES]
    assert report.unmatched_sources == report.unmatched_codes == report.uncovered == ()
    assert report.missing_codes == ()  # our own export carries the whole codebook
    suggested = (pd.read_csv(study.coded / "codings.csv").status == "suggested").sum()
    assert report.warnings == (f"{suggested} codings by {SUGGESTIONS_USER!r} (machine suggestions) not "
                               "imported; map that user in coders to import them",)

    original, _ = coder_codings(study.coded, ["alice"])
    imported, _ = coder_codings(fresh, ["alice-imported"])
    assert pairs(original) == pairs(imported) == study.alice  # same segments, same codes
    assert set(decisions(fresh).coder) == {"alice-imported", "bob"}  # no machine "decision"
    table = pd.read_csv(fresh / "codings.csv", keep_default_na=False)
    accepted = table[table.coder == "alice-imported"]
    assert pairs(accepted) == study.alice and set(accepted.status) == {"accepted"}
    # REFI-QDA has no rejections: what alice rejected or re-coded away stays a suggestion here
    for pair in (study.rejected, study.recoded):
        assert table.set_index(["segment_id", "code_id"]).loc[pair, "status"] == "suggested"
    assert len(table) == len(before) + 2  # the added code and the re-code's target


def test_memos_come_through_as_memo_decisions_of_their_author(study, fresh):
    import_refi(study.qdpx, fresh, coders={"alice": "alice-imported"})
    memos = decisions(fresh, "alice-imported").query("action == 'memo'")
    assert list(zip(memos.segment_id, memos.code_id, memos.memo, strict=True)) == [(*study.memo, MEMO)]
    table = pd.read_csv(fresh / "codings.csv", keep_default_na=False).set_index(["segment_id", "code_id"])
    assert table.loc[study.memo, "memo"] == MEMO


def test_a_second_import_adds_nothing(study, fresh):
    first = import_refi(study.qdpx, fresh, coders={"alice": "alice-imported"})
    recorded = decisions(fresh)
    codings = (fresh / "codings.csv").read_bytes()
    second = import_refi(study.qdpx, fresh, coders={"alice": "alice-imported"})
    assert second.recorded == 0
    assert second.counts == {"alice-imported": {"add": 0, "memo": 0, "unchanged": 5},
                             "bob": {"add": 0, "memo": 0, "unchanged": 1}}
    assert first.recorded == 6
    pd.testing.assert_frame_equal(decisions(fresh), recorded)
    assert (fresh / "codings.csv").read_bytes() == codings


def test_importing_into_the_project_it_came_from_adds_nothing(study, tmp_path):
    folder = Path(shutil.copytree(study.coded, tmp_path / "coded"))
    report = import_refi(study.qdpx, folder)  # an accept, an add and a re-code all accept a code
    assert report.recorded == 0
    assert report.counts == {"alice": {"add": 0, "memo": 0, "unchanged": 5},
                             "bob": {"add": 0, "memo": 0, "unchanged": 1}}
    assert len(decisions(folder)) == 7


# --- what does not match --------------------------------------------------------------------------


def test_an_unknown_code_is_reported_and_never_invented(study, fresh, tmp_path):
    codebook = load_results(fresh).codebook
    add_segment, add_code = next(p for p in sorted(study.alice)  # a code alice used once
                                 if [c for _, c in study.alice].count(p[1]) == 1)
    renamed = {codebook.code(add_code).label: "Code inventé ailleurs"}
    shouted = {c.label: unaccented(c.label).upper() for c in codebook.codes if c.id != add_code}

    def rename(root):
        for code in root.iterfind(".//q:Code", NS):
            name = code.get("name")
            code.set("name", renamed.get(name) or shouted.get(name, name))

    path = edit_qdpx(study.qdpx, tmp_path / "renamed.qdpx", qde=rename)
    report = import_refi(path, fresh, coders={"alice": "alice-imported"})
    assert report.unmatched_codes == ("Code inventé ailleurs",)
    assert dict(report.codes)["Code inventé ailleurs"] is None
    assert report.missing_codes == (add_code,)
    assert "codes of the file not in the codebook (1): Code inventé ailleurs" in report.problems()
    imported, _ = coder_codings(fresh, ["alice-imported"])
    assert pairs(imported) == study.alice - {(add_segment, add_code)}  # upper case, no accents: found
    assert [c.id for c in load_results(fresh).codebook.codes] == [c.id for c in codebook.codes]

    again = import_refi(path, fresh, coders={"alice": "alice-imported"},
                        code_map={"Code inventé ailleurs": add_code})
    assert again.unmatched_codes == () and again.counts["alice-imported"]["add"] == 1
    assert pairs(coder_codings(fresh, ["alice-imported"])[0]) == study.alice
    with pytest.raises(OptionError, match=r"unknown code.*nope"):
        import_refi(path, fresh, code_map={"Code inventé ailleurs": "nope"})


def test_a_source_whose_text_differs_is_reported_unmatched(study, fresh, tmp_path):
    project = read_refi(study.qdpx)
    changed = project.sources.set_index("name").path[FILES[0]].removeprefix("internal://")

    def edit(name, text):
        return text.replace("Bonjour", "Bonsoir", 1) if name == f"sources/{changed}" else text

    report = import_refi(edit_qdpx(study.qdpx, tmp_path / "edited.qdpx", sources=edit), fresh,
                         coders={"alice": "alice-imported"})
    assert report.unmatched_sources == (f"{FILES[0]}: its text differs from {FILES[0]} of the run "
                                        "(offsets would not line up)",)
    assert report.sources == ((FILES[1], FILES[1].removesuffix(".txt")),)
    imported, _ = coder_codings(fresh, ["alice-imported"])
    other = FILES[1].removesuffix(".txt")
    assert pairs(imported) == {p for p in study.alice if p[0].startswith(other + "#")}


# --- other tools ----------------------------------------------------------------------------------


def test_a_project_from_another_tool_is_matched_by_text_with_crlf_and_names_its_coder(study, fresh,
                                                                                     tmp_path):
    """CRLF text with a BOM, a user, a code named by id, one by an accent-less label, a theme, a
    note on the selection, a selection on the interviewer and a whole-source coding."""
    from qualcode.corpus import load_corpus

    results = load_results(fresh)
    document = results.run["corpus"]["documents"][0]
    source_text = load_corpus([study.transcripts / document["file"]], unit="turn").documents[0].text
    crlf = source_text.replace("\n", "\r\n")
    segments = results.segments[results.segments.document_id == document["document_id"]]
    first, second = segments.iloc[2], segments.iloc[3]

    def at(offset: int) -> int:
        return offset + source_text[:offset].count("\n")

    ids = {k: str(uuid.uuid4()) for k in ("user", "c1", "c2", "theme", "src", "s1", "s2", "note")}
    question = int(segments.start.min()) // 2
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="{PROJECT_NS}" name="autre outil" origin="NVivo-like">
 <Users><User guid="{ids['user']}" name="Zoé"/></Users>
 <CodeBook><Codes>
  <Code guid="{ids['theme']}" name="Leviers et freins" isCodable="true">
   <Code guid="{ids['c1']}" name="top_down" isCodable="true"/>
   <Code guid="{ids['c2']}" name="ACCULTURATION ET FORMATION" isCodable="true"/>
  </Code>
 </Codes></CodeBook>
 <Sources><TextSource guid="{ids['src']}" name="Entretien DG (NVivo)" plainTextPath="internal://{ids['src']}.txt">
  <PlainTextSelection guid="{ids['s1']}" startPosition="{at(first.start)}" endPosition="{at(second.end)}">
   <Coding guid="{uuid.uuid4()}" creatingUser="{ids['user']}"><CodeRef targetGUID="{ids['c1']}"/></Coding>
   <Coding guid="{uuid.uuid4()}" creatingUser="{ids['user']}"><CodeRef targetGUID="{ids['c2']}"/></Coding>
   <Coding guid="{uuid.uuid4()}" creatingUser="{ids['user']}"><CodeRef targetGUID="{ids['theme']}"/></Coding>
   <NoteRef targetGUID="{ids['note']}"/>
  </PlainTextSelection>
  <PlainTextSelection guid="{ids['s2']}" startPosition="0" endPosition="{at(question)}">
   <Coding guid="{uuid.uuid4()}" creatingUser="{ids['user']}"><CodeRef targetGUID="{ids['c1']}"/></Coding>
  </PlainTextSelection>
  <Coding guid="{uuid.uuid4()}" creatingUser="{ids['user']}"><CodeRef targetGUID="{ids['c2']}"/></Coding>
 </TextSource></Sources>
 <Notes><Note guid="{ids['note']}" creatingUser="{ids['user']}">
  <PlainTextContent>Vu en équipe.</PlainTextContent></Note></Notes>
</Project>"""
    path = tmp_path / "other.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", qde.encode("utf-8"))
        archive.writestr(f"sources/{ids['src']}.txt", ("\ufeff" + crlf).encode("utf-8"))
    report = import_refi(path, fresh)

    assert report.sources == (("Entretien DG (NVivo)", document["document_id"]),)
    assert report.coders == (("Zoé", "Zoé"),)
    assert dict(report.codes) == {"Leviers et freins": "leviers_freins", "top_down": "top_down",
                                  "ACCULTURATION ET FORMATION": "acculturation_formation"}
    assert report.counts == {"Zoé": {"add": 4, "memo": 4, "unchanged": 0}}  # the note: on each coding
    assert report.uncovered == (f"Entretien DG (NVivo) [0:{question}] «{source_text[:39]}…»",)
    assert "1 codings of whole sources not imported (qualcode codes segments)" in report.warnings
    assert "1 codings of themes not imported (decisions are on codes)" in report.warnings
    zoe = decisions(fresh, "Zoé")
    covered = {first.segment_id, second.segment_id}
    assert pairs(zoe[zoe.action == "add"]) == {(s, c) for s in covered
                                               for c in ("top_down", "acculturation_formation")}
    assert set(zoe[zoe.action == "memo"].memo) == {"Vu en équipe."}


def test_our_own_codebook_maps_code_for_code_and_changes_nothing(fresh, tmp_path):
    results = load_results(fresh)
    codings = (fresh / "codings.csv").read_bytes()
    report = import_refi(export_qdc(results.codebook, tmp_path / "codebook.qdc"), fresh)
    assert report.kind == "codebook" and report.recorded == 0
    labels = {**{t.label: t.id for t in results.codebook.themes},
              **{c.label: c.id for c in results.codebook.codes}}
    assert dict(report.codes) == labels
    assert report.unmatched_codes == report.missing_codes == () and report.problems() == []
    assert (fresh / "codings.csv").read_bytes() == codings and decisions(fresh).empty


def test_the_atlas_ti_sample_is_a_codebook_check_with_a_clear_report_and_no_change(fresh):
    if not ATLAS.is_file():
        pytest.skip("shared/refi-qda/examples is not beside the repository")
    codings = (fresh / "codings.csv").read_bytes()
    report = import_refi(ATLAS, fresh)
    names = ("Commits", "2022-05-10T02:05:59Z 19e4dce", "2022-02-11T10:39:25Z cdbfd92")
    assert report.kind == "codebook" and report.recorded == 0
    assert report.codes == tuple((n, None) for n in names)
    assert report.unmatched_codes == names
    assert report.missing_codes == tuple(c.id for c in load_results(fresh).codebook.codes)
    assert report.warnings == ("the project has no text codings: only its codebook was checked",)
    assert report.problems() == [
        "codes of the file not in the codebook (3): " + "; ".join(names),
        "codebook codes not in the file (16): top_down; bottom_up; combinaison; …",
        "warnings (1): the project has no text codings: only its codebook was checked"]
    assert (fresh / "codings.csv").read_bytes() == codings and decisions(fresh).empty


# --- the command line -----------------------------------------------------------------------------


def test_cli_imports_with_a_coder_mapping(study, fresh):
    result = CliRunner().invoke(app, ["import", str(study.qdpx), "--into", str(fresh),
                                      "--coder", "alice=alice-cli", "--coder", "bob = robert"])
    assert result.exit_code == 0, result.output
    assert "coded.qdpx: 6 decisions recorded" in result.stdout
    assert "alice-cli" in result.stdout and "robert" in result.stdout
    assert set(decisions(fresh).coder) == {"alice-cli", "robert"}
    assert pairs(coder_codings(fresh, ["alice-cli"])[0]) == study.alice


def test_cli_names_a_missing_results_folder_in_one_line(study, tmp_path):
    result = CliRunner().invoke(app, ["import", str(study.qdpx), "--into", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'nowhere'}: results folder does not exist; run `qualcode code … --out` first"]


def test_offsets_follow_the_text_into_lf_and_nfc():
    from qualcode.refi.importing import _normalised

    text = "Cafe\u0301 froid\r\nRe\u0301union : oui\r\n"  # decomposed accents, CRLF
    normal, offset = _normalised(text)
    assert normal == "Café froid\nRéunion : oui\n"
    start, end = text.index("Re\u0301union"), text.index(" : oui")
    assert normal[offset(start):offset(end)] == "Réunion"
    assert offset(len(text)) == len(normal)
