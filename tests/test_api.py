"""The public Python API: cheap import, a sorted ``__all__``, no CLI dependencies in the library."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import qualcode
from qualcode.errors import QualcodeError, QualcodeWarning

PACKAGE = Path(qualcode.__file__).resolve().parent
CLI_ONLY = {"cli", "__main__.py", "tui.py"}  # presentation: the cli package and these modules
LIBRARY_FILES = sorted(p for p in PACKAGE.rglob("*.py")
                       if p.relative_to(PACKAGE).parts[0] not in CLI_ONLY)
HEAVY = ("spacy", "pandas", "sklearn")


def test_import_does_not_load_heavy_dependencies():
    code = (
        "import json, sys\n"
        "import qualcode\n"
        "qualcode.QualcodeError, qualcode.CodebookError, qualcode.__version__\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "                        if m.split('.')[0] in heavy + ('typer', 'rich'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=PACKAGE.parent)
    assert json.loads(result.stdout) == []


def test_all_is_sorted_and_resolves():
    names = qualcode.__all__
    assert names == sorted(names)
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(qualcode, name) is not None, name
    assert dir(qualcode) == names
    with pytest.raises(AttributeError):
        qualcode.no_such_name  # noqa: B018


def test_exports_are_the_library_objects():
    from qualcode import codebook, corpus, errors, participants

    assert qualcode.load_codebook is codebook.load_codebook
    assert qualcode.Codebook is codebook.Codebook
    assert qualcode.load_corpus is corpus.load_corpus
    assert qualcode.read_participants is participants.read_participants
    assert qualcode.QualcodeError is errors.QualcodeError


def _imported_modules(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_library_file_list_is_complete():
    names = {str(p.relative_to(PACKAGE)) for p in LIBRARY_FILES}
    assert {"codebook.py", "corpus.py", "errors.py", "readers/base.py"} <= names
    assert not {p.relative_to(PACKAGE).parts[0] for p in LIBRARY_FILES} & CLI_ONLY


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_library_never_imports_typer_or_rich(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    assert not _imported_modules(tree) & {"typer", "rich", "click"}


def _library_modules():
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="qualcode."):
        if info.name.split(".")[1] not in ("cli", "__main__"):
            yield importlib.import_module(info.name)


def test_every_public_error_derives_from_qualcode_error():
    errors, warnings = [], []
    for module in [qualcode, *_library_modules()]:
        for name, value in vars(module).items():
            if name.startswith("_") or not inspect.isclass(value):
                continue
            if not value.__module__.startswith("qualcode"):
                continue
            if issubclass(value, Warning):
                warnings.append(value)
            elif issubclass(value, BaseException):
                errors.append(value)
    assert {e.__name__ for e in errors} >= {
        "QualcodeError", "TranscriptError", "ParticipantsError", "CodebookError", "ModelError",
        "CorpusError", "GoldError", "CacheError", "ResultsError", "ExportError"}
    for error in errors:
        assert issubclass(error, QualcodeError), error
    for warning in warnings:
        assert issubclass(warning, QualcodeWarning), warning
    exported = [n for n in qualcode.__all__ if n.endswith("Error")]
    assert all(issubclass(getattr(qualcode, n), QualcodeError) for n in exported)
