"""Codebooks: the shipped ones, validation of invalid ones, sub-codes, hashing, round trips."""

from __future__ import annotations

import hashlib
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode.codebook import Codebook, load_codebook, parse_codebook
from qualcode.errors import CodebookError, Problem, QualcodeError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "codebooks" / "ds-ia-sante.yaml"
LABFORSIMS2 = ROOT / "benchmarks" / "labforsims2" / "codebook.yaml"
INVALID_DIR = Path(__file__).parent / "data" / "codebooks"
INVALID = sorted(INVALID_DIR.glob("invalid_*.yaml"))

THEMES = {
    "approches_organisationnelles": ["top_down", "bottom_up", "combinaison"],
    "leviers_freins": ["acculturation_formation", "recherche", "paradigme_prevention",
                       "qvt_temps_soignant", "financement_couts", "levier", "frein"],
    "ethique_garantie_humaine": ["ethique_donnees_consentement", "ia_act_garantie_humaine"],
    "role_ds": ["ds_accompagnement_changement", "ds_formation_habilitation",
                "ds_evaluation_supervision", "ds_communication_go_between"],
}
HYPOTHESES = {
    "H1": "Le directeur des soins assure la pertinence de l'intégration de l'IA dans les "
          "organisations de soin.",
    "H2": "Le directeur des soins reste garant du respect des garanties éthiques liées à "
          "l'utilisation de l'IA dans la production de soins, et de la formation des équipes "
          "soignantes.",
}


@pytest.fixture(scope="module")
def shipped() -> Codebook:
    return load_codebook(SHIPPED)


# --- the shipped codebook ---------------------------------------------------------------------


def test_shipped_codebook_has_the_study_themes_and_codes(shipped):
    assert [t.id for t in shipped.themes] == list(THEMES)
    assert {t.id: [c.id for c in t.codes] for t in shipped.themes} == THEMES
    assert [c.id for c in shipped.codes] == [c for codes in THEMES.values() for c in codes]
    for theme_id, code_ids in THEMES.items():
        for code_id in code_ids:
            code = shipped.code(code_id)
            assert code.theme_id == theme_id
            assert code.parent_id is None
            assert code.codes == ()


def test_shipped_codebook_has_the_study_hypotheses(shipped):
    assert {h.id: h.statement for h in shipped.hypotheses} == HYPOTHESES
    assert [h.id for h in shipped.hypotheses] == ["H1", "H2"]
    code_ids = {c.id for c in shipped.codes}
    for hypothesis in shipped.hypotheses:
        assert hypothesis.supported_by, hypothesis.id
        for item in hypothesis.supported_by + hypothesis.contradicted_by:
            assert set(item) <= code_ids


def test_shipped_codebook_codes_are_documented(shipped):
    weak = []
    for code in shipped.codes:
        if not code.label or not code.definition:
            weak.append(f"{code.id}: no label or definition")
        if len(code.keywords) < 10:
            weak.append(f"{code.id}: {len(code.keywords)} keywords")
        if len(code.examples) < 4:
            weak.append(f"{code.id}: {len(code.examples)} examples")
    assert weak == []
    assert all(t.label and t.definition for t in shipped.themes)


def test_shipped_codebook_metadata(shipped):
    assert shipped.name == "ds-ia-sante"
    assert shipped.language == "fr"
    assert shipped.settings.unit == "sentence"
    assert shipped.path == str(SHIPPED)
    assert shipped.sha256 == hashlib.sha256(SHIPPED.read_text(encoding="utf-8").encode()).hexdigest()


def test_labforsims2_codebook_loads():
    codebook = load_codebook(LABFORSIMS2)
    assert codebook.language == "fr"
    assert codebook.settings.unit == "turn"
    assert [c.id for c in codebook.codes] == [
        "sujet_consultation", "identite", "mode_de_vie", "traitement", "antecedents",
        "symptomes", "autre"]


# --- invalid codebooks: one file per case, expectations in its leading comments ----------------


def expectations(path: Path) -> list[tuple[int, str | None, str]]:
    """``# expect: <line>: <key>: <message fragment>`` lines at the top of a file (key ``-``: none)."""
    result = []
    for text in path.read_text(encoding="utf-8").splitlines():
        if not text.startswith("# expect:"):
            break
        line, key, fragment = (part.strip() for part in
                               text.removeprefix("# expect:").split(":", 2))
        result.append((int(line), None if key == "-" else key, fragment))
    return result


def matches(problem: Problem, expected: tuple[int, str | None, str]) -> bool:
    line, key, fragment = expected
    return problem.line == line and problem.key == key and fragment in problem.message


def test_every_invalid_case_is_present():
    stems = {p.stem.removeprefix("invalid_") for p in INVALID}
    assert stems >= {
        "yaml_syntax", "unknown_key", "duplicate_id", "duplicate_yaml_key", "hypothesis_reference",
        "hypothesis_all_of", "token_pattern", "threshold", "unit", "language", "missing_keys",
        "empty_themes", "sentence_transformers", "several_problems"}


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_codebook(path: Path):
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' line"
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    problems = list(info.value.problems)
    report = info.value.details()
    assert len(problems) == len(expected), report
    for item in expected:
        found = [p for p in problems if matches(p, item)]
        assert found, f"expected {item} among:\n{report}"
        problems.remove(found[0])
    for problem in info.value.problems:
        assert problem.path == str(path)
        assert str(problem).startswith(f"{path}:{problem.line}: ")
    if len(expected) == 1:
        line, key, fragment = expected[0]
        where = f"{path}:{line}: " + (f"{key}: " if key else "")
        assert str(info.value).startswith(where)
        assert fragment in str(info.value)


def test_several_problems_are_all_reported_at_once():
    path = INVALID_DIR / "invalid_several_problems.yaml"
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    error = info.value
    assert len(error.problems) == 5
    assert [p.line for p in error.problems] == [8, 10, 17, 18, 23]
    assert str(error) == f"{path}: 5 problems in codebook"
    assert error.details().splitlines() == [str(p) for p in error.problems]
    assert isinstance(error, QualcodeError)


def test_unreadable_and_empty_codebooks(tmp_path):
    with pytest.raises(CodebookError, match="cannot read codebook"):
        load_codebook(tmp_path / "missing.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(CodebookError, match="codebook is empty"):
        load_codebook(empty)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: thème\n".encode("latin-1"))
    with pytest.raises(CodebookError, match="not UTF-8"):
        load_codebook(latin)


# --- sub-codes and hashing --------------------------------------------------------------------

NESTED = """\
name: imbrique
version: "1"
language: fr
themes:
  - id: pilotage
    label: Pilotage
    codes:
      - id: central
        label: Central
        keywords: [direction]
        codes:
          - id: institut
            label: Institut
            codes:
              - id: cellule
                label: Cellule IA
          - id: ght
            label: GHT
      - id: terrain
        label: Terrain
  - id: ethique
    label: Éthique
    codes:
      - id: consentement
        label: Consentement
        codes:
          - id: information
            label: Information du patient
hypotheses:
  - id: H1
    statement: Hypothèse
    supported_by: [cellule, {all_of: [ght, information]}]
"""


def test_sub_codes_are_depth_first_with_parent_and_theme():
    codebook = parse_codebook(NESTED)
    assert [c.id for c in codebook.codes] == [
        "central", "institut", "cellule", "ght", "terrain", "consentement", "information"]
    parents = {c.id: c.parent_id for c in codebook.codes}
    assert parents == {"central": None, "institut": "central", "cellule": "institut",
                       "ght": "central", "terrain": None, "consentement": None,
                       "information": "consentement"}
    themes = {c.id: c.theme_id for c in codebook.codes}
    assert themes == {"central": "pilotage", "institut": "pilotage", "cellule": "pilotage",
                      "ght": "pilotage", "terrain": "pilotage", "consentement": "ethique",
                      "information": "ethique"}
    assert [c.id for c in codebook.theme("pilotage").codes] == ["central", "terrain"]
    assert [c.id for c in codebook.code("central").codes] == ["institut", "ght"]
    assert codebook.hypotheses[0].supported_by == (("cellule",), ("ght", "information"))


def test_sub_code_ids_must_be_unique_too():
    text = NESTED.replace("- id: ght", "- id: terrain")
    with pytest.raises(CodebookError) as info:
        parse_codebook(text)
    messages = [p.message for p in info.value.problems]
    assert "duplicate id 'terrain' (already used by a code)" in messages


def test_sha256_follows_the_text():
    first = parse_codebook(NESTED)
    assert first.sha256 == hashlib.sha256(NESTED.encode("utf-8")).hexdigest()
    assert parse_codebook(NESTED).sha256 == first.sha256
    relabelled = parse_codebook(NESTED.replace("label: GHT", "label: Groupement"))
    commented = parse_codebook("# a comment\n" + NESTED)
    assert len({first.sha256, relabelled.sha256, commented.sha256}) == 3
    assert commented.codes == first.codes


# --- property-based ---------------------------------------------------------------------------

IDS = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
# Control characters and Unicode line/paragraph separators are left out: PyYAML's emitter
# writes NEL, LS and PS raw with allow_unicode=True and its reader then folds them into spaces.
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
               max_size=30).filter(lambda s: s.strip() == s and s != "")


@st.composite
def codebooks(draw) -> dict:
    ids = draw(st.lists(IDS, min_size=2, max_size=12, unique=True))
    n_themes = draw(st.integers(1, max(1, len(ids) // 2)))
    theme_ids, code_ids = ids[:n_themes], ids[n_themes:]
    themes = [{"id": t, "label": draw(TEXT), "codes": []} for t in theme_ids]
    for code_id in code_ids:
        theme = draw(st.sampled_from(themes))
        theme["codes"].append({"id": code_id, "label": draw(TEXT),
                               "keywords": draw(st.lists(TEXT, max_size=5))})
    for theme in themes:
        if not theme["codes"]:  # every theme needs a code: give it one named after itself
            theme["codes"].append({"id": f"{theme['id']}_code", "label": draw(TEXT),
                                   "keywords": draw(st.lists(TEXT, max_size=5))})
    data = {"name": draw(TEXT), "version": draw(st.sampled_from(["1", "1.0", "2024-1"])),
            "language": draw(st.sampled_from(["fr", "en", "de"])), "themes": themes}
    all_codes = [c["id"] for t in themes for c in t["codes"]]
    if draw(st.booleans()):
        data["hypotheses"] = [{"id": "H1", "statement": draw(TEXT),
                               "supported_by": draw(st.lists(st.sampled_from(all_codes), min_size=1,
                                                             max_size=3))}]
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(codebooks())
def test_random_codebooks_round_trip(data):
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    codebook = parse_codebook(text)
    assert [t.id for t in codebook.themes] == [t["id"] for t in data["themes"]]
    assert [c.id for c in codebook.codes] == [c["id"] for t in data["themes"] for c in t["codes"]]
    assert [c.keywords for c in codebook.codes] == [
        tuple(c["keywords"]) for t in data["themes"] for c in t["codes"]]
    assert [c.label for c in codebook.codes] == [c["label"] for t in data["themes"] for c in t["codes"]]
    if "hypotheses" in data:
        assert codebook.hypotheses[0].supported_by == tuple(
            (c,) for c in data["hypotheses"][0]["supported_by"])


# Fragments that make random text look like a codebook.  Anchors/aliases, explicit tags and
# timestamps are left out: they are covered by test_yaml_values_that_crash_the_loader below
# and should join this list once that bug is fixed.
FRAGMENTS = ["name:", "version:", "language: fr", "themes:", "codes:", "id:", "label:",
             "keywords:", "hypotheses:", "supported_by:", "all_of:", "settings:", "unit:",
             "threshold:", "patterns:", "pattern:", "LEMMA:", "- ", "  ", "\n", "[", "]", "{",
             "}", ",", ":", "'", '"', "#", "0.5", "2", "-1", "null", "true", "~", "x", "é",
             "top_down", "H1", "\t", "|", ">", "---", "..."]


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=200),
                 st.lists(st.sampled_from(FRAGMENTS) | st.text(string.printable, max_size=3),
                          max_size=60).map("".join)))
def test_garbage_only_raises_codebook_error(text):
    try:
        parse_codebook(text)
    except CodebookError as exc:
        assert exc.problems
        assert all(isinstance(p, Problem) for p in exc.problems)


CRASHERS = {
    "invalid_timestamp": "name: x\nversion: 2024-13-45\n",
    "invalid_int_tag": "name: !!int abc\n",
    "invalid_float_tag": "name: !!float abc\n",
    "recursive_alias": "name: &a [*a]\n",
    "recursive_sub_codes": ("name: x\nversion: '1'\nlanguage: fr\nthemes:\n- id: t\n  label: T\n"
                            "  codes: &c\n  - id: c\n    label: C\n    codes: *c\n"),
    "deep_nesting": "name: " + "[" * 3000 + "]" * 3000 + "\n",
}


@pytest.mark.parametrize("text", list(CRASHERS.values()), ids=list(CRASHERS))
def test_hostile_yaml_values_give_a_codebook_error(text):
    with pytest.raises(CodebookError):
        parse_codebook(text)
