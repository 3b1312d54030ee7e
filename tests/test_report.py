"""The Word report, read back with python-docx: structure, numbers, quotes, method section, atomicity.

The bundled interviews are coded once per module (French codebook); the tiny
English results folder of ``conftest.py`` checks the English labels.  Numbers in
tables are compared with :mod:`qualcode.matrices` results computed here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import docx
import pytest
from docx.table import Table
from docx.text.paragraph import Paragraph

from qualcode.errors import ExportError, OptionError
from qualcode.matrices import code_matrix, select_codings
from qualcode.report import build_report, write_report
from qualcode.results import load_results

SOFT_HYPHEN = "\u00ad"


@pytest.fixture(scope="module")
def bundled(bundled_run, tmp_path_factory):
    results = load_results(bundled_run.folder)
    path = write_report(results, tmp_path_factory.mktemp("report") / "rapport.docx")
    return results, docx.Document(path)


# --- reading helpers ----------------------------------------------------------------------------


def blocks(document) -> list[Paragraph | Table]:
    return list(document.iter_inner_content())


def headings(document, level: int) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == f"Heading {level}"]


def captions(document) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == "Caption"]


def captioned_table(document, start: str) -> Table:
    """The table right after the caption starting with ``start``."""
    content = blocks(document)
    for i, block in enumerate(content):
        if isinstance(block, Paragraph) and block.style.name == "Caption" and block.text.startswith(start):
            assert isinstance(content[i + 1], Table), f"no table after {block.text!r}"
            return content[i + 1]
    raise AssertionError(f"no caption {start!r} in {captions(document)}")


def cells(table: Table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def number(text: str) -> float:
    return float(text.replace("\u00a0", "").replace(",", "."))


def section_text(document, title: str) -> list[str]:
    """Paragraph texts between the Heading 1 ``title`` and the next Heading 1."""
    texts, inside = [], False
    for p in document.paragraphs:
        if p.style.name == "Heading 1":
            inside = p.text == title
        elif inside:
            texts.append(p.text)
    return texts


def quotes(document) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == "Quote"]


def unquote(text: str, marks: tuple[str, str]) -> str:
    assert text.startswith(marks[0]) and text.endswith(marks[1]), text
    return text[len(marks[0]):-len(marks[1])]


FRENCH_MARKS = ("«\u00a0", "\u00a0»")


# --- the bundled interviews (French) ------------------------------------------------------------


@pytest.mark.slow
def test_title_and_headings_in_order(bundled):
    results, document = bundled
    assert document.paragraphs[0].style.name == "Title"
    assert document.paragraphs[0].text == results.codebook.title
    assert headings(document, 1) == ["Méthode", "Livre de codes", "Fréquences", "Matrices de codage",
                                     "Hypothèses", "Citations exemplaires"]
    level2 = headings(document, 2)
    assert level2[:4] == ["Thèmes", "Codes", "Codes par participant", "Codes par rôle"]
    assert [h.split(" — ")[0] for h in level2[4:6]] == ["H1", "H2"]
    assert level2[6:] == [t.label for t in results.codebook.themes]
    level3 = headings(document, 3)
    assert level3[-16:] == [c.label for c in results.codebook.codes]


@pytest.mark.slow
def test_captions_numbered_consecutively_and_each_table_captioned(bundled):
    _, document = bundled
    tables = [c for c in captions(document) if c.startswith("Tableau")]
    figures = [c for c in captions(document) if c.startswith("Figure")]
    assert [int(re.match(r"Tableau (\d+) – ", c).group(1)) for c in tables] == list(range(1, 7))
    assert [int(re.match(r"Figure (\d+) – ", c).group(1)) for c in figures] == [1]
    assert len(document.tables) == len(tables)
    content = blocks(document)
    for i, block in enumerate(content):
        if isinstance(block, Table):
            assert content[i - 1].style.name == "Caption" and content[i - 1].text.startswith("Tableau")


@pytest.mark.slow
def test_codebook_table_one_row_per_code(bundled):
    results, document = bundled
    table = captioned_table(document, "Tableau 1 – ")
    rows = cells(table)
    codes = results.codebook.codes
    assert len(rows) == 1 + len(codes) == 17
    assert [h.replace(SOFT_HYPHEN, "") for h in rows[0]] == ["Thème", "Code", "Définition", "Segments",
                                                             "Participants"]
    selected = select_codings(results)
    for row, code in zip(rows[1:], codes, strict=True):
        assert row[1] == f"{code.label}\n{code.id}"
        assert row[2] == " ".join(code.definition.split())
        mine = selected[selected.code_id == code.id]
        assert number(row[3]) == mine.segment_id.nunique()
        assert number(row[4]) == mine.participant_id.nunique()
    assert rows[1][0] == results.codebook.themes[0].label  # merged down the theme's codes


@pytest.mark.slow
@pytest.mark.parametrize(("caption", "by"), [("Tableau 4 – ", "participant"), ("Tableau 5 – ", "role")])
def test_matrix_tables_equal_code_matrix(bundled, caption, by):
    results, document = bundled
    rows = cells(captioned_table(document, caption))
    matrix = code_matrix(results, by=by)  # groups × codes; the report shows codes × groups
    assert rows[0][1:] == [*map(str, matrix.index), "Total"]
    labels = {c.label: c.id for c in results.codebook.codes}
    assert [labels[row[0]] for row in rows[1:]] == list(matrix.columns)
    for row in rows[1:]:
        code = labels[row[0]]
        assert [number(v) for v in row[1:-1]] == matrix[code].tolist()
        assert number(row[-1]) == matrix[code].sum()


@pytest.mark.slow
def test_frequency_tables(bundled):
    results, document = bundled
    selected = select_codings(results)
    themes = cells(captioned_table(document, "Tableau 2 – "))
    for row, theme in zip(themes[1:], results.codebook.themes, strict=True):
        mine = selected[selected.theme_id == theme.id]
        assert row[0] == theme.label
        assert number(row[2]) == mine.segment_id.nunique()
        assert number(row[3]) == round(mine.segment_id.nunique() / len(results.segments) * 100, 1)
        assert number(row[4]) == mine.participant_id.nunique()
    codes = cells(captioned_table(document, "Tableau 3 – "))
    for row, code in zip(codes[1:], results.codebook.codes, strict=True):
        mine = selected[selected.code_id == code.id]
        assert (row[0], number(row[1])) == (code.label, mine.segment_id.nunique())
        assert number(row[5]) == pytest.approx(mine.score.mean(), abs=0.0051)


@pytest.mark.slow
def test_heatmap_picture_present(bundled):
    _, document = bundled
    assert len(document.inline_shapes) >= 1
    images = [part for part in document.part.package.parts if part.content_type == "image/png"]
    assert images and images[0].blob.startswith(b"\x89PNG")
    content = blocks(document)
    picture = next(i for i, b in enumerate(content) if isinstance(b, Paragraph)
                   and b._p.xpath(".//pic:pic"))
    assert content[picture + 1].text.startswith("Figure 1 – ")


@pytest.mark.slow
def test_every_quote_is_a_verbatim_segment(bundled):
    results, document = bundled
    texts = set(results.segments.text)
    found = quotes(document)
    assert len(found) >= 16  # exemplars for every coded code, plus the hypotheses' quotes
    for quote in found:
        assert unquote(quote, FRENCH_MARKS) in texts


@pytest.mark.slow
def test_exemplar_quotes_are_the_best_scored(bundled):
    results, document = bundled
    selected = select_codings(results)
    content = document.paragraphs
    start = next(i for i, p in enumerate(content) if p.text == "Citations exemplaires")
    by_code: dict[str, list[str]] = {}
    current = None
    for p in content[start:]:
        if p.style.name == "Heading 3":
            current = p.text
        elif p.style.name == "Quote":
            by_code.setdefault(current, []).append(unquote(p.text, FRENCH_MARKS))
    for code in results.codebook.codes:
        mine = selected[selected.code_id == code.id]
        chosen = by_code.get(code.label, [])
        assert len(chosen) == min(3, len(mine))
        assert mine[mine.text == chosen[0]].score.max() == mine.score.max()


@pytest.mark.slow
def test_method_section_states_corpus_basis_and_status(bundled):
    results, document = bundled
    text = " ".join(section_text(document, "Méthode"))
    nb = "\u00a0"
    words = f"{results.segments.words.sum():,}".replace(",", nb)
    assert f"13 documents (entretiens), 15 participants, 2{nb}022 segments et {words} mots." in text
    version = results.codebook.version
    assert f"Livre de codes « ds-ia-sante », version {version} : 4 thèmes, 16 codes, 2 hypothèses." in text
    assert "Unité de codage : la phrase." in text
    assert "seuil (0,5" in text and "vecteurs de mots du modèle spaCy" in text and "0,75 → 0" in text
    started = datetime.fromisoformat(results.run["started_at"])
    assert f"Codage réalisé le {started:%d/%m/%Y %H:%M} UTC avec qualcode {results.run['tool']['version']}" \
        in text
    assert "Base des résultats : suggestions automatiques uniquement" in text
    assert "Codages retenus : tous sauf ceux rejetés par un humain" in text
    bold = [p for p in document.paragraphs if p.runs and p.runs[0].bold]
    assert any("aucun n'a été validé par un humain" in p.text for p in bold)


@pytest.mark.slow
def test_hypotheses_table_and_quotes(bundled):
    from qualcode.hypotheses import hypothesis_support

    results, document = bundled
    rows = cells(captioned_table(document, "Tableau 6 – "))
    support = hypothesis_support(results, status="all", quotes=3)
    assert [r[0] for r in rows[1:]] == ["H1", "H2"]
    for row, s in zip(rows[1:], support, strict=True):
        assert row[1:3] == [s.statement, s.verdict_label]
        assert [number(v) for v in row[3:]] == [s.counts["supporting_segments"],
                                                s.counts["supporting_participants"],
                                                s.counts["contradicting_segments"],
                                                s.counts["contradicting_participants"]]
    text = " ".join(section_text(document, "Hypothèses"))
    assert "soutenue : ps ≥ N et ss ≥ M et pc < r × ps" in text and "N = 3, M = 5, r = 0,5" in text
    assert support[0].rule in text


@pytest.mark.slow
def test_accepted_status_on_unreviewed_codings(bundled, tmp_path):
    results, _ = bundled
    document = docx.Document(write_report(results, tmp_path / "accepted.docx", status="accepted"))
    text = " ".join(section_text(document, "Méthode"))
    assert "Codages retenus : uniquement ceux acceptés par un humain." in text
    assert "Aucun codage ne correspond à ce filtre." in text
    rows = cells(captioned_table(document, "Tableau 4 – "))
    assert {number(v) for row in rows[1:] for v in row[1:]} == {0}
    assert quotes(document) == []


@pytest.mark.slow
def test_landscape_section_for_the_participant_matrix(bundled):
    from docx.enum.section import WD_ORIENT

    _, document = bundled
    orientations = [s.orientation for s in document.sections]
    assert orientations == [WD_ORIENT.PORTRAIT, WD_ORIENT.LANDSCAPE, WD_ORIENT.PORTRAIT]
    landscape = document.sections[1]
    assert landscape.page_width > landscape.page_height


# --- the tiny English results -------------------------------------------------------------------


def test_english_labels(tiny_results, tmp_path):
    results = tiny_results()
    document = docx.Document(write_report(results, tmp_path / "report.docx"))
    assert headings(document, 1) == ["Method", "Codebook", "Frequencies", "Coding matrices", "Hypotheses",
                                     "Exemplar quotes"]
    assert [c.split(" – ")[0] for c in captions(document)] == [
        "Table 1", "Table 2", "Table 3", "Table 4", "Table 5", "Figure 1", "Table 6"]
    text = " ".join(section_text(document, "Method"))
    assert f"Basis: {results.basis}." in text and results.basis == "2 human-validated codings and 8 others"
    assert "Codings counted: all but those rejected by a human (suggested or accepted)." in text
    assert "mix 2 human-validated codings and 7 machine suggestions" in text
    assert "Coded on 2025-03-04 10:20 UTC with qualcode 9.9.9." in text
    assert "H1 — partly supported" in headings(document, 2)
    texts = set(results.segments.text)
    assert quotes(document) and all(unquote(q, ("“", "”")) in texts for q in quotes(document))


def test_status_and_score_filters(tiny_results, tmp_path):
    results = tiny_results()
    document = docx.Document(write_report(results, tmp_path / "r.docx", status="accepted", min_score=0.5))
    text = " ".join(section_text(document, "Method"))
    assert "Codings counted: only those accepted by a human, score ≥ 0.5." in text
    assert "The codings reported have all been validated by a human." in text
    board, ward = "The board decided the AI roadmap for every ward.", "Our ward started the pilot on its own."
    assert [unquote(q, ("“", "”")) for q in quotes(document)] == [board, board, ward]  # H1, then exemplars


def test_quotes_per_code_and_language_override(tiny_results, tmp_path):
    results = tiny_results()
    document = docx.Document(write_report(results, tmp_path / "r.docx", quotes_per_code=1, language="fr"))
    assert headings(document, 1)[0] == "Méthode"
    exemplars = document.paragraphs[[p.text for p in document.paragraphs].index("Citations exemplaires"):]
    assert sum(p.style.name == "Quote" for p in exemplars) == 4  # one per code
    assert all(q.startswith("«\u00a0") for q in quotes(document))


def test_without_role_or_hypotheses(tiny_results, tmp_path):
    results = tiny_results(role=False, hypotheses=False)
    document = docx.Document(write_report(results, tmp_path / "r.docx"))
    assert "Hypotheses" not in headings(document, 1)
    assert "Codes by role" not in headings(document, 2)
    assert captions(document)[-1] == "Figure 1 – Heatmap of coded segments by code and participant"
    assert len(document.inline_shapes) == 1


def test_deterministic_content(tiny_results):
    results = tiny_results()

    def content(document):
        return [(b.text if isinstance(b, Paragraph) else cells(b)) for b in blocks(document)]

    assert content(build_report(results)) == content(build_report(results))


@pytest.mark.parametrize(("options", "message"), [
    ({"language": "de"}, "unknown language 'de'; choose from: fr, en"),
    ({"quotes_per_code": -1}, "quotes_per_code must be a whole number >= 0"),
    ({"status": "rejected"}, "unknown status 'rejected'"),
    ({"min_score": 2}, "min_score must be a number between 0 and 1"),
])
def test_bad_options(tiny_results, tmp_path, options, message):
    with pytest.raises(OptionError, match=re.escape(message)):
        write_report(tiny_results(), tmp_path / "r.docx", **options)
    assert not list(tmp_path.glob("r.docx*"))


# --- writing ------------------------------------------------------------------------------------


def test_failure_mid_write_leaves_no_file(tiny_results, tmp_path, monkeypatch):
    results = tiny_results()
    out = tmp_path / "out"

    def broken_save(self, path):
        Path(path).write_bytes(b"PK half a report")
        raise RuntimeError("disk unplugged")

    monkeypatch.setattr(docx.document.Document, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk unplugged"):
        write_report(results, out / "report.docx")
    assert list(out.iterdir()) == []


def test_failure_keeps_the_previous_report(tiny_results, tmp_path, monkeypatch):
    results = tiny_results()
    path = write_report(results, tmp_path / "report.docx")
    before = path.read_bytes()
    monkeypatch.setattr(docx.document.Document, "save", lambda self, p: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_report(results, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name != "tiny"] == ["report.docx"]


def test_unwritable_target_is_an_export_error(tiny_results, tmp_path):
    target = tmp_path / "report.docx"
    target.mkdir()
    with pytest.raises(ExportError, match="cannot write the report"):
        write_report(tiny_results(), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.docx", "tiny"]


def test_no_pyplot_and_no_global_state(tmp_path):
    """Importing the report loads no plotting; writing one leaves pyplot and the backend alone."""
    code = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from pathlib import Path\n"
        "import qualcode.report as report\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported by qualcode.report'\n"
        "from conftest import write_tiny_results\n"
        "from qualcode.results import load_results\n"
        "import matplotlib\n"
        "settings = {k: dict.__getitem__(matplotlib.rcParams, k) for k in matplotlib.rcParams}\n"
        "results = load_results(write_tiny_results(Path(sys.argv[2])))\n"
        "report.write_report(results, Path(sys.argv[2]) / 'r.docx')\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
        "assert settings == {k: dict.__getitem__(matplotlib.rcParams, k) for k in matplotlib.rcParams}\n"
    )
    subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(tmp_path / "t")],
                   check=True, capture_output=True, text=True)
