"""The example notebook runs top to bottom on the bundled study, from the repository root or notebooks/.

The kernel is started with the interpreter running the tests (``sys.executable -m
ipykernel_launcher``), never with a ``python3`` kernel spec found in the user's or the
system's Jupyter folders, so a clean virtual environment runs the notebook with its own
Python and its own qualcode.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NamedTuple

import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager
from traitlets import default

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "explore-ds-ia-sante.ipynb"


class ThisInterpreterSpecs(KernelSpecManager):
    """Every kernel name resolves to ipykernel on the interpreter running the tests."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(name=kernel_name, display_name=f"Python ({sys.executable})", language="python",
                          argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"])


class ThisInterpreterKernelManager(KernelManager):
    @default("kernel_spec_manager")
    def _this_interpreter(self) -> KernelSpecManager:
        return ThisInterpreterSpecs(data_dir=self.data_dir)


def _run(cwd: Path, tmp: Path):
    """Execute the notebook in ``cwd``; its temporary folders go under ``tmp``."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     kernel_manager_class=ThisInterpreterKernelManager,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute(env={**os.environ, "TMPDIR": str(tmp)})
    return nb


def _cell(nb, start: str):
    """The one code cell whose source starts with ``start``."""
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(start)]
    assert len(cells) == 1, f"{len(cells)} code cells start with {start!r}"
    return cells[0]


def _text(cell) -> str:
    """Everything a cell showed as text: printed output and the plain-text form of displayed values."""
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif "data" in output:
            parts.append(output.data.get("text/plain", ""))
    return "\n".join(parts)


def _kinds(cell) -> set[str]:
    return {kind for output in cell.outputs for kind in output.get("data", {})}


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(not c.outputs and c.execution_count is None for c in code)


class Executed(NamedTuple):
    nb: object  # the executed notebook
    tmp: Path  # the kernel's TMPDIR


@pytest.fixture(scope="module", params=["root", "notebooks"])
def executed(request, tmp_path_factory) -> Executed:
    """The notebook executed once from the repository root and once from notebooks/."""
    tmp = tmp_path_factory.mktemp(f"notebook-from-{request.param}")
    return Executed(_run(ROOT if request.param == "root" else ROOT / "notebooks", tmp), tmp)


@pytest.mark.slow
def test_notebook_runs_without_error(executed):
    code = [c for c in executed.nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert all(c.execution_count for c in code)


@pytest.mark.slow
def test_notebook_cells_show_what_they_describe(executed):
    nb = executed.nb
    assert repr(ROOT) in _text(_cell(nb, "root = Path.cwd()"))
    counts = _text(_cell(nb, 'print(results.run["counts"])'))
    assert "'documents': 13" in counts and "machine suggestions only" in counts

    selected = _text(_cell(nb, "ethics_cgs = qualcode.select_codings("))
    assert "CGS" in selected and "ethique_donnees_consentement" in selected
    provenance = _text(_cell(nb, "ethics_cgs.iloc[0]"))
    for field in ("question", "evidence", "nearest_exemplar", "matched"):
        assert field in provenance

    assert "entretien_13_med_urg_ch6" in _text(_cell(nb, 'qualcode.code_matrix(results, by="document"'))
    assert "Total" in _text(_cell(nb, 'by_role["participants"]'))
    assert "role_ds" in _text(_cell(nb, 'qualcode.code_matrix(results, by="role", measure="coverage"'))

    assert "image/png" in _kinds(_cell(nb, "role_code = qualcode.code_matrix("))

    for start in ("def top_pairs(", "turn_counts, turn_jaccard = "):
        assert "jaccard" in _text(_cell(nb, start))

    verdicts = _text(_cell(nb, 'for h in support:\n    print(f"{h.hypothesis_id}'))
    assert "H1 — " in verdicts and "H2 — " in verdicts and "min_participants" in verdicts
    quotes = _cell(nb, 'for h in support:\n    print(h.hypothesis_id, "— supporting')
    assert "text/html" in _kinds(quotes) and "H2 — supporting quotes" in _text(quotes)

    assert "garantie humaine" in _text(_cell(nb, 'kwic(results, "garantie humaine"'))
    assert "formé" in _text(_cell(nb, "former = kwic("))
    assert "CGS" in _text(_cell(nb, "frequencies = lemma_frequencies("))


@pytest.mark.slow
def test_notebook_exports_word_and_excel_into_a_temporary_folder(executed):
    written = _text(_cell(executed.nb, "report = write_report(")).splitlines()
    assert [Path(p).name for p in written] == ["report.docx", "tables.xlsx"]
    assert all(Path(p).is_relative_to(executed.tmp) and Path(p).stat().st_size > 0 for p in written)
    sheets = _text(_cell(executed.nb, "pd.ExcelFile(workbook).sheet_names"))
    assert "role_x_code" in sheets and "hypotheses" in sheets


@pytest.mark.slow
def test_notebook_measures_the_suggestions_and_learning_improves_them(executed):
    import re

    nb = executed.nb
    assert "f1" in _text(_cell(nb, 'held_out = root / "gold"'))
    shown = _text(_cell(nb, "learned = qualcode.add_model_suggestions("))
    found = re.search(r"(\d+) model suggestions; micro-F1 ([\d.]+) → ([\d.]+)", shown)
    assert found, shown
    added, before, after = int(found[1]), float(found[2]), float(found[3])
    assert added > 0 and after > before  # ten hand-coded interviews teach the held-out three
    assert "+ classifier" in shown and "ds_formation_habilitation" in shown
    assert "image/png" in _kinds(_cell(nb, "ax = f1.iloc[::-1].plot.barh("))
