"""The analysis and export commands print or write what the library computes, and fail cleanly."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import qualcode
from conftest import code_bundled
from qualcode.cli import app

ROOT = Path(__file__).resolve().parents[1]
FILES = ("entretien_01_dg_chu1.txt", "entretien_13_med_urg_ch6.txt")


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    return code_bundled(tmp_path_factory.mktemp("analysis"), FILES)


def invoke(*args: str):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_matrix_csv_is_the_library_matrix(results_dir):
    result = invoke("matrix", results_dir, "--by", "role", "--measure", "participants", "--format", "csv")
    assert result.exit_code == 0, result.output
    printed = pd.read_csv(io.StringIO(result.stdout), index_col=0)
    expected = qualcode.code_matrix(qualcode.load_results(results_dir), by="role", measure="participants")
    assert printed.index.tolist() == ["DG", "Médecin"]
    assert printed.to_numpy().tolist() == expected.to_numpy().tolist()


def test_matrix_with_an_unknown_grouping_is_a_one_line_error(results_dir):
    result = invoke("matrix", results_dir, "--by", "site")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown grouping 'site'; choose from: document, participant")


def test_hypotheses_json_gives_the_library_verdicts(results_dir):
    result = invoke("hypotheses", results_dir, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    support = qualcode.hypothesis_support(qualcode.load_results(results_dir))
    assert [h["hypothesis_id"] for h in data["hypotheses"]] == ["H1", "H2"]
    assert [h["verdict"] for h in data["hypotheses"]] == [s.verdict for s in support]
    assert "machine suggestions only" in data["basis"]


def test_kwic_finds_every_occurrence(results_dir):
    expected = qualcode.kwic(qualcode.load_results(results_dir), "urgences")
    assert len(expected) > 0
    result = invoke("kwic", results_dir, "urgences", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(io.StringIO(result.stdout))) == len(expected)


def test_freq_by_role_lists_both_roles(results_dir):
    result = invoke("freq", results_dir, "--by", "role", "--top", "3", "--format", "csv")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert sorted(set(frame.group)) == ["DG", "Médecin"]
    assert (frame.groupby("group").size() <= 3).all()


def test_export_docx_and_xlsx_write_readable_files(results_dir, tmp_path):
    import docx

    report = tmp_path / "report.docx"
    result = invoke("export", results_dir, "--format", "docx", "--out", report)
    assert result.exit_code == 0, result.output
    headings = [p.text for p in docx.Document(str(report)).paragraphs if p.style.name.startswith("Heading")]
    assert any("Méthode" in h for h in headings)
    workbook = tmp_path / "tables.xlsx"
    assert invoke("export", results_dir, "--format", "xlsx", "--out", workbook).exit_code == 0
    assert "codings" in pd.read_excel(workbook, sheet_name=None)


def test_export_qdpx_needs_the_transcripts(results_dir, tmp_path):
    result = invoke("export", results_dir, "--format", "qdpx", "--out", tmp_path / "p.qdpx")
    assert result.exit_code == 2
    assert "--transcripts" in result.output
    assert not (tmp_path / "p.qdpx").exists()


def test_agreement_with_an_unknown_coder_lists_the_known_ones(results_dir):
    result = invoke("agreement", results_dir, "--coders", "alice", "--coders", "machine")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown coder 'alice'; coders with decisions: none yet")
