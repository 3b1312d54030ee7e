"""The Excel workbook and CSV tables, read back with openpyxl and pandas.

Every sheet must equal its DataFrame once both are seen as Excel sees them (an empty
text and a missing value are both an empty cell); matrices are also checked against
:mod:`qualcode.matrices` results computed here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from qualcode.errors import ExportError, OptionError
from qualcode.hypotheses import hypotheses_frame, hypothesis_support
from qualcode.matrices import code_matrix, cooccurrence, crosstab, select_codings
from qualcode.results import load_results
from qualcode.workbook import code_frequencies, export_csv, export_tables, write_workbook

SHEETS = ["codings", "segments", "documents", "codebook", "themes", "code_x_document", "role_x_code",
          "participant_x_code", "cooccurrence", "jaccard", "hypotheses", "hypothesis_evidence"]
MATRICES = {"code_x_document", "role_x_code", "participant_x_code", "cooccurrence", "jaccard"}


@pytest.fixture(scope="module")
def bundled(bundled_run, tmp_path_factory):
    results = load_results(bundled_run.folder)
    path = write_workbook(results, tmp_path_factory.mktemp("export") / "coding.xlsx")
    return results, path


def as_excel(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame as a sheet holds it: no index, plain column names, empty text and None → NaN."""
    frame = frame.reset_index(drop=True).astype(object)
    frame.columns = [str(c) for c in frame.columns]
    return frame.where(frame.notna() & frame.ne(""), np.nan)


def assert_sheet_equal(sheet: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert_frame_equal(as_excel(sheet), as_excel(expected), check_dtype=False)


# --- the bundled interviews ---------------------------------------------------------------------


@pytest.mark.slow
def test_sheet_names(bundled):
    _, path = bundled
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == SHEETS
    assert all(len(name) <= 31 for name in book.sheetnames)


@pytest.mark.slow
def test_every_sheet_equals_its_table(bundled):
    results, path = bundled
    sheets = pd.read_excel(path, sheet_name=None)
    tables = export_tables(results)
    assert list(sheets) == list(tables)
    for name, table in tables.items():
        assert_sheet_equal(sheets[name], table)


@pytest.mark.slow
def test_sheets_equal_independent_computations(bundled):
    results, path = bundled
    sheets = pd.read_excel(path, sheet_name=None)
    assert_sheet_equal(sheets["codings"], select_codings(results))
    assert_sheet_equal(sheets["segments"], results.segments)
    assert_sheet_equal(sheets["documents"], results.documents)
    for name, by in (("code_x_document", "document"), ("participant_x_code", "participant")):
        expected = code_matrix(results, by=by)
        assert_sheet_equal(sheets[name], expected.rename_axis(columns=None).reset_index())
    counts, jaccard = cooccurrence(results)
    assert_sheet_equal(sheets["cooccurrence"], counts.rename_axis(columns=None).reset_index())
    assert_sheet_equal(sheets["jaccard"], jaccard.rename_axis(columns=None).reset_index())
    table = crosstab(results, "role")
    roles = sheets["role_x_code"].set_index("role")
    assert roles.loc["CGS", "segments:top_down"] == table.loc["CGS", ("segments", "top_down")]
    assert roles.loc["Total", "participants:Total"] == table.loc["Total", ("participants", "Total")]
    assert roles.shape == table.shape
    summary = hypotheses_frame(hypothesis_support(results, status="all"))
    assert_sheet_equal(sheets["hypotheses"][summary.columns], summary)


@pytest.mark.slow
def test_codebook_sheet(bundled):
    results, path = bundled
    sheet = pd.read_excel(path, sheet_name="codebook")
    assert list(sheet.code_id) == [c.id for c in results.codebook.codes]
    assert list(sheet.definition) == [c.definition for c in results.codebook.codes]
    selected = select_codings(results)
    assert list(sheet.segments) == [selected[selected.code_id == c.id].segment_id.nunique()
                                    for c in results.codebook.codes]


@pytest.mark.slow
def test_hypothesis_evidence_sheet(bundled):
    results, path = bundled
    sheet = pd.read_excel(path, sheet_name="hypothesis_evidence")
    support = hypothesis_support(results, status="all", quotes=5)
    for s in support:
        mine = sheet[sheet.hypothesis_id == s.hypothesis_id]
        assert (mine.side == "supporting").sum() == s.counts["supporting_segments"]
        quoted = mine[mine.quote_rank.notna()].sort_values(["side", "quote_rank"], ascending=[False, True])
        assert list(quoted.text) == [*s.quotes_for.quote, *s.quotes_against.quote]
    assert set(sheet.text) <= set(results.segments.text)


@pytest.mark.slow
def test_header_style_freeze_panes_filter_and_widths(bundled):
    _, path = bundled
    book = openpyxl.load_workbook(path)
    for name in book.sheetnames:
        sheet = book[name]
        header = sheet[1]
        assert all(cell.font.bold for cell in header), name
        assert all(cell.fill.fgColor.rgb.endswith("D9E2F3") for cell in header), name
        assert sheet.freeze_panes == ("B2" if name in MATRICES else "A2"), name
        assert sheet.auto_filter.ref == sheet.dimensions, name
        widths = [sheet.column_dimensions[c.column_letter].width for c in header]
        assert all(8 <= w <= 60 for w in widths), (name, widths)
    codings = book["codings"]
    text = next(c for c in codings[1] if c.value == "text")
    assert codings.column_dimensions[text.column_letter].width == 60
    assert codings.cell(row=2, column=text.column).alignment.wrap_text


@pytest.mark.slow
def test_export_csv_writes_the_same_tables(bundled, tmp_path):
    results, _ = bundled
    paths = export_csv(results, tmp_path / "tables")
    assert [p.name for p in paths] == [f"{name}.csv" for name in SHEETS]
    tables = export_tables(results)
    for path in paths:
        back = pd.read_csv(path, keep_default_na=False, na_values=[""])
        assert_sheet_equal(back, tables[path.stem])


@pytest.mark.slow
def test_export_csv_refuses_the_results_folder(bundled):
    results, _ = bundled
    before = (results.folder / "codings.csv").read_bytes()
    with pytest.raises(ExportError, match="choose another folder"):
        export_csv(results, results.folder)
    assert (results.folder / "codings.csv").read_bytes() == before


# --- the tiny results ---------------------------------------------------------------------------


def test_status_and_score_filter_every_sheet(tiny_results, tmp_path):
    results = tiny_results()
    path = write_workbook(results, tmp_path / "accepted.xlsx", status="accepted", min_score=0.5)
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets["codings"].segment_id) == ["d1#1.1", "d2#1.1"]
    assert set(sheets["codings"].status) == {"accepted"}
    assert list(sheets["codebook"].segments) == [1, 1, 0, 0]
    assert sheets["participant_x_code"].set_index("participant_id").to_dict("index") == {
        "P1": {"central": 1, "local": 0, "oversight": 0, "barrier": 0},
        "P2": {"central": 0, "local": 1, "oversight": 0, "barrier": 0},
        "P3": {"central": 0, "local": 0, "oversight": 0, "barrier": 0}}
    assert len(sheets["segments"]) == 8  # segments are not filtered


def test_text_starting_with_equals_stays_text(tiny_results, tmp_path):
    path = write_workbook(tiny_results(), tmp_path / "w.xlsx")
    sheet = openpyxl.load_workbook(path)["segments"]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row if c.value == "= this line starts like "
             "a spreadsheet formula"]
    assert len(cells) == 1 and cells[0].data_type == "s"


def test_without_role_or_hypotheses(tiny_results, tmp_path):
    results = tiny_results(role=False, hypotheses=False)
    book = openpyxl.load_workbook(write_workbook(results, tmp_path / "w.xlsx"))
    assert book.sheetnames == [s for s in SHEETS if s not in ("role_x_code", "hypotheses",
                                                              "hypothesis_evidence")]


def test_code_frequencies(tiny_results):
    frame = code_frequencies(tiny_results())
    assert list(frame.code_id) == ["central", "local", "oversight", "barrier"]
    # central: d1#1.1, d1#3.1, d2#3.1 (d3#1.1 rejected) → 3 segments of 8, 2 participants
    assert frame.iloc[0][["segments", "percent_segments", "participants", "documents"]].tolist() == [
        3, 37.5, 2, 2]
    assert frame.iloc[0].mean_score == pytest.approx((0.9 + 0.7 + 0.6) / 3)


def test_bad_options(tiny_results, tmp_path):
    with pytest.raises(OptionError, match="unknown status 'validated'"):
        write_workbook(tiny_results(), tmp_path / "w.xlsx", status="validated")
    assert not (tmp_path / "w.xlsx").exists()


def test_failure_mid_write_leaves_no_file(tiny_results, tmp_path, monkeypatch):
    results = tiny_results()
    out = tmp_path / "out"

    def broken_save(self, filename):
        Path(filename).write_bytes(b"PK half a workbook")
        raise RuntimeError("disk unplugged")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk unplugged"):
        write_workbook(results, out / "coding.xlsx")
    assert list(out.iterdir()) == []


def test_unwritable_target_is_an_export_error(tiny_results, tmp_path):
    (tmp_path / "coding.xlsx").mkdir()
    with pytest.raises(ExportError, match="cannot write the workbook"):
        write_workbook(tiny_results(), tmp_path / "coding.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coding.xlsx", "tiny"]
