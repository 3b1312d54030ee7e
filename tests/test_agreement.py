"""Inter-coder agreement, checked against the ``krippendorff`` package and scikit-learn.

Every expected value is computed here from the codings themselves: the test builds
its own coders × units reliability matrix (NaN = unit not coded by that coder) and
hands it to ``krippendorff.alpha`` and ``cohen_kappa_score``, never to qualcode.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from qualcode.agreement import Agreement, agreement, cohen_kappa, krippendorff_alpha
from qualcode.errors import OptionError

ROOT = Path(__file__).resolve().parents[1]
NAN = math.nan


def frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["coder", "segment_id", "code_id"])


def reliability(codings: pd.DataFrame, coders, unit_ids, code, coded=None) -> list[list[float]]:
    """coders × units: 1 if the coder applied ``code``, 0 if they coded the unit without it, NaN if not."""
    applied = set(zip(codings.coder, codings.segment_id, codings.code_id, strict=True))
    coded = coded or dict.fromkeys(coders, frozenset(unit_ids))
    return [[(1.0 if (c, u, code) in applied else 0.0) if u in coded[c] else NAN for u in unit_ids]
            for c in coders]


def package_alpha(data) -> float:
    """``krippendorff.alpha``, NaN where it refuses (no variation, nothing pairable) or divides 0 by 0."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    except ValueError:
        return NAN


def sklearn_kappa(first, second) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(cohen_kappa_score(first, second))


def same(actual: float, expected: float) -> bool:
    return (math.isnan(actual) and math.isnan(expected)) or actual == pytest.approx(expected, abs=1e-9)


# --------------------------------------------------------------------------- two coders, by hand

# Five segments, two codes.     cost: ana 1 1 0 1 0    ethics: ana 0 0 1 1 0
#                                     ben 1 0 1 0 0            ben 0 0 1 1 1
TWO = frame([("ana", "d#1.1", "cost"), ("ana", "d#1.2", "cost"), ("ana", "d#1.3", "ethics"),
             ("ana", "d#1.4", "cost"), ("ana", "d#1.4", "ethics"),
             ("ben", "d#1.1", "cost"), ("ben", "d#1.3", "cost"), ("ben", "d#1.3", "ethics"),
             ("ben", "d#1.4", "ethics"), ("ben", "d#1.5", "ethics")])
UNITS5 = ["d#1.1", "d#1.2", "d#1.3", "d#1.4", "d#1.5"]


def test_two_coders_percent_agreement_by_hand():
    result = agreement(TWO, coders=["ana", "ben"])
    per_code = result.per_code.set_index("code_id")
    # cost: agree on d#1.1 (1/1) and d#1.5 (0/0), differ on 1.2, 1.3, 1.4 -> 2 / 5 = 40 %
    # ethics: agree on 1.1, 1.2 (0/0), 1.3, 1.4 (1/1), differ on 1.5  -> 4 / 5 = 80 %
    assert per_code.loc["cost", "percent_agreement"] == pytest.approx(40.0)
    assert per_code.loc["ethics", "percent_agreement"] == pytest.approx(80.0)
    assert result.overall["mean_percent_agreement"] == pytest.approx((40 + 80) / 2)
    assert per_code.units.tolist() == [5, 5]
    assert per_code.present_ana.tolist() == [3, 2]
    assert per_code.present_ben.tolist() == [2, 3]
    assert result.overall["units"] == 5 and result.overall["codes"] == 2


def test_two_coders_match_the_packages():
    result = agreement(TWO, coders=["ana", "ben"])
    pooled: list[list[float]] = [[], []]
    for row in result.per_code.itertuples():
        data = reliability(TWO, ["ana", "ben"], UNITS5, row.code_id)
        assert row.krippendorff_alpha == pytest.approx(package_alpha(data), abs=1e-9)
        assert row.cohen_kappa == pytest.approx(sklearn_kappa(*data), abs=1e-9)
        pooled[0] += data[0]
        pooled[1] += data[1]
    assert result.overall["krippendorff_alpha"] == pytest.approx(package_alpha(pooled), abs=1e-9)
    assert result.overall["cohen_kappa"] == pytest.approx(sklearn_kappa(*pooled), abs=1e-9)


def test_disagreements_are_listed_in_transcript_order_for_discussion():
    result = agreement(TWO, coders=["ana", "ben"])
    expected = pd.DataFrame({"segment_id": ["d#1.2", "d#1.3", "d#1.4", "d#1.5"],
                             "code_id": ["cost", "cost", "cost", "ethics"],
                             "ana": pd.array([1, 0, 1, 0], dtype="Int64"),
                             "ben": pd.array([0, 1, 0, 1], dtype="Int64")})
    pd.testing.assert_frame_equal(result.disagreements, expected)


def test_units_sort_numerically_not_as_text():
    codings = frame([("ana", "d#10.1", "x"), ("ana", "d#2.1", "x"), ("ben", "d#9.1", "x")])
    result = agreement(codings, coders=["ana", "ben"])
    assert result.disagreements.segment_id.tolist() == ["d#2.1", "d#9.1", "d#10.1"]


# --------------------------------------------------------------------------- three coders, missing data

# Four segments; cat coded only 1.1-1.3, ben only 1.2-1.4.   x: ana 1 1 0 0   ben . 1 0 1   cat 1 0 0 .
THREE = frame([("ana", "d#1.1", "x"), ("ana", "d#1.2", "x"), ("ana", "d#1.4", "y"),
               ("ben", "d#1.2", "x"), ("ben", "d#1.4", "x"), ("ben", "d#1.4", "y"),
               ("cat", "d#1.1", "x")])
UNITS4 = ["d#1.1", "d#1.2", "d#1.3", "d#1.4"]
CODED3 = {"ana": set(UNITS4), "ben": {"d#1.2", "d#1.3", "d#1.4"}, "cat": {"d#1.1", "d#1.2", "d#1.3"}}


def test_three_coders_with_missing_data_match_the_package():
    result = agreement(THREE, coders=["ana", "ben", "cat"], units=CODED3)
    per_code = result.per_code.set_index("code_id")
    pooled: list[list[float]] = [[], [], []]
    for code in ("x", "y"):
        data = reliability(THREE, ["ana", "ben", "cat"], UNITS4, code, CODED3)
        assert per_code.loc[code, "krippendorff_alpha"] == pytest.approx(package_alpha(data), abs=1e-9)
        pooled = [p + d for p, d in zip(pooled, data, strict=True)]
    assert result.overall["krippendorff_alpha"] == pytest.approx(package_alpha(pooled), abs=1e-9)
    assert per_code.cohen_kappa.isna().all() and math.isnan(result.overall["cohen_kappa"])
    # x: 1.1 ana 1 cat 1 agree; 1.2 ana 1 ben 1 cat 0 differ; 1.3 all 0 agree; 1.4 ana 0 ben 1 differ -> 50 %
    assert per_code.loc["x", "percent_agreement"] == pytest.approx(50.0)
    assert per_code.loc["x", "units"] == 4


def test_missing_decisions_show_as_na_in_disagreements():
    result = agreement(THREE, coders=["ana", "ben", "cat"], units=CODED3)
    row = result.disagreements.query("segment_id == 'd#1.4' and code_id == 'x'").iloc[0]
    assert (row["ana"], row["ben"]) == (0, 1) and row["cat"] is pd.NA


def test_units_coded_by_one_coder_only_are_not_compared():
    codings = frame([("ana", "d#1.1", "x"), ("ana", "d#1.2", "x"), ("ana", "d#1.3", "x"),
                     ("ben", "d#1.1", "x")])
    units = pd.DataFrame({"coder": ["ana", "ana", "ana", "ben", "ben"],
                          "segment_id": ["d#1.1", "d#1.2", "d#1.3", "d#1.1", "d#1.2"]})
    result = agreement(codings, coders=["ana", "ben"], units=units)
    row = result.per_code.iloc[0]
    assert row.units == 2 and row.percent_agreement == pytest.approx(50.0)  # 1.1 agree, 1.2 differ
    assert row.cohen_kappa == pytest.approx(sklearn_kappa([1, 1], [1, 0]), abs=1e-9)
    data = [[1, 1, 1], [1, 0, NAN]]
    assert row.krippendorff_alpha == pytest.approx(package_alpha(data), abs=1e-9)


# --------------------------------------------------------------------------- degenerate cases

def test_a_code_nobody_used_is_undefined_not_perfect():
    result = agreement(TWO, coders=["ana", "ben"], codes=["cost", "ethics", "unused"])
    row = result.per_code.set_index("code_id").loc["unused"]
    data = reliability(TWO, ["ana", "ben"], UNITS5, "unused")
    with pytest.raises(ValueError, match="more than one value"):
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert math.isnan(sklearn_kappa(*data))
    assert math.isnan(row.krippendorff_alpha) and math.isnan(row.cohen_kappa)
    assert row.percent_agreement == 100.0 and row.present_ana == 0 and row.present_ben == 0
    assert result.overall["mean_percent_agreement"] == pytest.approx((40 + 80 + 100) / 3)


def test_perfect_agreement():
    codings = frame([(c, u, "x") for c in ("ana", "ben") for u in ("d#1.1", "d#1.3")]
                    + [(c, "d#1.2", "y") for c in ("ana", "ben")])
    result = agreement(codings, coders=["ana", "ben"])
    for row in result.per_code.itertuples():
        data = reliability(codings, ["ana", "ben"], ["d#1.1", "d#1.2", "d#1.3"], row.code_id)
        assert row.krippendorff_alpha == 1.0 == package_alpha(data)
        assert row.cohen_kappa == 1.0 == sklearn_kappa(*data)
        assert row.percent_agreement == 100.0
    assert result.overall["krippendorff_alpha"] == 1.0 and result.overall["cohen_kappa"] == 1.0
    assert result.disagreements.empty
    assert result.disagreements.columns.tolist() == ["segment_id", "code_id", "ana", "ben"]


def test_total_disagreement():
    codings = frame([("ana", "d#1.1", "x"), ("ana", "d#1.2", "x"), ("ben", "d#1.3", "x"),
                     ("ben", "d#1.4", "x")])
    result = agreement(codings, coders=["ana", "ben"])
    row = result.per_code.iloc[0]
    data = reliability(codings, ["ana", "ben"], ["d#1.1", "d#1.2", "d#1.3", "d#1.4"], "x")
    assert row.percent_agreement == 0.0
    assert row.cohen_kappa == pytest.approx(sklearn_kappa(*data), abs=1e-9) == -1.0
    assert row.krippendorff_alpha == pytest.approx(package_alpha(data), abs=1e-9)
    assert row.krippendorff_alpha < 0
    assert len(result.disagreements) == 4


def test_no_unit_coded_by_two_coders_gives_nan():
    codings = frame([("ana", "d#1.1", "x"), ("ben", "d#1.2", "x")])
    result = agreement(codings, coders=["ana", "ben"], units={"ana": ["d#1.1"], "ben": ["d#1.2"]})
    row = result.per_code.iloc[0]
    assert row.units == 0
    assert math.isnan(row.percent_agreement) and math.isnan(row.krippendorff_alpha)
    assert math.isnan(package_alpha([[1, NAN], [NAN, 1]]))
    assert result.disagreements.empty


def test_no_variation_among_compared_units_is_nan_like_the_package():
    # the only 1 falls on a unit the other coder did not code: the compared decisions are all 0
    data = [[0, 1, 0], [0, NAN, NAN]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert math.isnan(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    assert math.isnan(krippendorff_alpha(data))


# --------------------------------------------------------------------------- options and input

def test_documents_as_units_count_a_code_present_when_any_segment_has_it():
    codings = pd.DataFrame({"coder": ["ana", "ana", "ben", "ben"],
                            "document_id": ["d1", "d1", "d1", "d2"],
                            "segment_id": ["d1#1.1", "d1#2.1", "d1#3.1", "d2#1.1"],
                            "code_id": ["x", "x", "x", "y"]})
    result = agreement(codings, coders=["ana", "ben"], unit="document")
    per_code = result.per_code.set_index("code_id")
    assert per_code.loc["x", "percent_agreement"] == 100.0  # d1: both; d2: neither
    assert per_code.loc["y", "percent_agreement"] == 50.0  # d1: neither; d2: ben only
    assert result.disagreements.to_dict("list") == {"document_id": ["d2"], "code_id": ["y"],
                                                    "ana": [0], "ben": [1]}
    assert result.overall["unit"] == "document" and result.overall["units"] == 2


def test_rejected_suggestions_do_not_count():
    codings = frame([("ana", "d#1.1", "x"), ("bot", "d#1.1", "x"), ("bot", "d#1.2", "x")])
    codings["status"] = ["accepted", "suggested", "rejected"]
    result = agreement(codings, coders=["ana", "bot"])
    assert result.per_code.percent_agreement.tolist() == [100.0]
    assert result.overall["units"] == 1


def test_a_row_without_code_marks_a_unit_coded_with_nothing():
    codings = frame([("ana", "d#1.1", "x"), ("ben", "d#1.1", "x")])
    codings.loc[2] = ["ben", "d#1.2", None]
    result = agreement(codings, coders=["ana", "ben"])
    assert result.per_code.code_id.tolist() == ["x"]
    assert result.per_code.units.tolist() == [2]  # d#1.2 counts, as coded by both with nothing
    assert result.per_code.percent_agreement.tolist() == [100.0]


def test_agreement_is_a_frozen_record():
    result = agreement(TWO, coders=["ana", "ben"])
    assert isinstance(result, Agreement)
    with pytest.raises(AttributeError):
        result.overall = {}  # type: ignore[misc]
    assert result.per_code.columns.tolist() == ["code_id", "units", "percent_agreement", "cohen_kappa",
                                                "krippendorff_alpha", "present_ana", "present_ben"]


@pytest.mark.parametrize(("options", "message"), [
    ({"coders": ["ana"]}, "at least two different coder ids"),
    ({"coders": "ana"}, "at least two different coder ids"),
    ({"coders": ["ana", "ana"]}, "at least two different coder ids"),
    ({"coders": ["ana", "bob"]}, "no codings by coder(s) 'bob'; known coders: ana, ben"),
    ({"coders": ["ana", "ben"], "unit": "turn"}, "unknown unit 'turn'; choose from: segment, document"),
    ({"coders": ["ana", "ben"], "unit": "document"}, "codings lack column(s) document_id"),
    ({"coders": ["ana", "ben"], "units": {"ana": UNITS5}}, "which units 'ben' coded; it names: ana"),
    ({"coders": ["ana", "ben"], "units": {"ana": UNITS5, "ben": ["d#1.1"]}},
     "coder 'ben' coded 3 unit(s) that units does not list for them, e.g. d#1.3, d#1.4, d#1.5"),
    ({"coders": ["ana", "ben"], "codes": []}, "no codes to compare"),
])
def test_bad_options_raise_option_error(options, message):
    with pytest.raises(OptionError) as caught:
        agreement(TWO, **options)
    assert message in str(caught.value)


def test_coder_with_no_codings_is_fine_when_units_say_what_they_coded():
    codings = frame([("ana", "d#1.1", "x")])
    result = agreement(codings, coders=["ana", "bot"], units={"ana": ["d#1.1", "d#1.2"],
                                                             "bot": ["d#1.1", "d#1.2"]})
    assert result.per_code.percent_agreement.tolist() == [50.0]


# --------------------------------------------------------------------------- the alpha itself

def test_alpha_matches_the_package_on_multi_valued_nominal_data():
    data = [[NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
            [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
            [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4]]
    assert krippendorff_alpha(data) == pytest.approx(package_alpha(data), abs=1e-12)
    assert round(krippendorff_alpha(data), 6) == 0.691358


def test_kappa_matches_sklearn():
    first, second = [1, 0, 1, 1, 0, 0, 1], [1, 1, 1, 0, 0, 0, 1]
    assert cohen_kappa(first, second) == pytest.approx(sklearn_kappa(first, second), abs=1e-12)
    assert math.isnan(cohen_kappa([0, 0], [0, 0])) and math.isnan(cohen_kappa([], []))


@st.composite
def coded_data(draw):
    """coders × units × codes presence, and which units each coder coded."""
    coders = [f"c{j}" for j in range(draw(st.integers(2, 4)))]
    units = [f"d#{i}.1" for i in range(1, draw(st.integers(1, 9)) + 1)]
    codes = [f"k{k}" for k in range(draw(st.integers(1, 3)))]
    coded = {c: {u for u in units if draw(st.booleans()) or draw(st.booleans())} for c in coders}
    rows = [(c, u, k) for c in coders for u in sorted(coded[c]) for k in codes
            if draw(st.integers(0, 3)) == 0]
    return coders, units, codes, coded, frame(rows)


@settings(max_examples=200, deadline=None)
@given(coded_data())
def test_alpha_and_kappa_match_the_packages_on_random_codings(case):
    coders, units, codes, coded, codings = case
    result = agreement(codings, coders=coders, units=coded, codes=codes)
    pooled: list[list[float]] = [[] for _ in coders]
    for row in result.per_code.itertuples():
        data = reliability(codings, coders, units, row.code_id, coded)
        pooled = [p + d for p, d in zip(pooled, data, strict=True)]
        expected = package_alpha(data)
        if math.isfinite(expected):
            assert row.krippendorff_alpha == pytest.approx(expected, abs=1e-9)
        else:
            assert math.isnan(row.krippendorff_alpha)
        columns = [[v for v in unit if not math.isnan(v)] for unit in zip(*data, strict=True)]
        compared = [col for col in columns if len(col) >= 2]
        assert row.units == len(compared)
        if compared:
            assert row.percent_agreement == pytest.approx(
                100 * sum(len(set(col)) == 1 for col in compared) / len(compared))
        if len(coders) == 2:
            both = [(a, b) for a, b in zip(*data, strict=True) if not (math.isnan(a) or math.isnan(b))]
            if both:
                assert same(row.cohen_kappa, sklearn_kappa(*zip(*both, strict=True)))
    assert same(result.overall["krippendorff_alpha"], package_alpha(pooled))


# --------------------------------------------------------------------------- human vs machine on the gold

GOLD = ROOT / "gold" / "ds-ia-sante-test.csv"


@pytest.fixture(scope="module")
def gold_vs_machine(bundled_run):
    run, out = bundled_run, bundled_run.folder
    gold = pd.read_csv(GOLD, dtype=str)
    documents = set(gold.document_id)
    segments = run.segments[run.segments.document_id.isin(documents)].segment_id.tolist()
    machine = run.codings[run.codings.document_id.isin(documents)].assign(coder="machine")
    codings = pd.concat([gold[["coder", "segment_id", "code_id"]],
                         machine[["coder", "segment_id", "code_id"]]], ignore_index=True)
    codes = [c.id for c in run.codebook.codes]
    result = agreement(codings, coders=["coder_a", "machine"], codes=codes,
                       units={"coder_a": segments, "machine": segments})
    return result, codings, segments, codes, out


@pytest.mark.slow
def test_gold_human_vs_machine_matches_the_packages(gold_vs_machine):
    result, codings, segments, codes, _ = gold_vs_machine
    assert result.overall["units"] == len(segments) == 515
    pooled: list[list[float]] = [[], []]
    for row in result.per_code.itertuples():
        data = reliability(codings, ["coder_a", "machine"], segments, row.code_id)
        pooled = [p + d for p, d in zip(pooled, data, strict=True)]
        assert same(row.krippendorff_alpha, package_alpha(data)), row.code_id
        assert same(row.cohen_kappa, sklearn_kappa(*data)), row.code_id
        assert row.percent_agreement == pytest.approx(100 * np.mean(np.equal(*data)))
    assert result.per_code.code_id.tolist() == codes
    assert result.overall["krippendorff_alpha"] == pytest.approx(package_alpha(pooled), abs=1e-9)
    assert result.overall["cohen_kappa"] == pytest.approx(sklearn_kappa(*pooled), abs=1e-9)


@pytest.mark.slow
def test_gold_kappa_agrees_with_evaluate(gold_vs_machine):
    from qualcode.evaluation import evaluate

    result, _, _, _, out = gold_vs_machine
    evaluation = evaluate(GOLD, out).per_code.set_index("code_id")
    for row in result.per_code.itertuples():
        assert row.cohen_kappa == pytest.approx(evaluation.loc[row.code_id, "kappa"], abs=1e-4)
