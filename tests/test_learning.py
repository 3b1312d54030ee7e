"""Learning from validated codings: CodeClassifier, decisions → labels, review order, held-out scores.

The fixture is 66 short patient comments written for these tests, in English and French,
coded with three codes: ``waiting`` (delays, waiting times), ``staff`` (how staff behaved)
and ``food`` (meals, drinks).  Six comments have two codes and eight have none.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import train_test_split

from qualcode import learning
from qualcode.errors import ResultsError
from qualcode.learning import (
    CodeClassifier,
    evaluate_split,
    labels_from_decisions,
    uncertainty_order,
)

W, S, F = "waiting", "staff", "food"
CORPUS: list[tuple[str, set[str]]] = [
    # waiting
    ("I waited four hours in A&E before anyone saw me.", {W}),
    ("The wait for my appointment was far too long.", {W}),
    ("We had to wait in the waiting room for most of the afternoon.", {W}),
    ("The ambulance took over two hours to arrive, a long wait.", {W}),
    ("Long delays, we waited hours to be seen.", {W}),
    ("Six weeks on the waiting list just for a scan.", {W}),
    ("My transport was late again and I waited an hour.", {W}),
    ("Nobody told us why the clinic was running two hours late.", {W}),
    ("Waiting times are still too long.", {W}),
    ("The long wait before surgery was stressful.", {W}),
    ("J'ai attendu trois heures aux urgences.", {W}),
    ("L'attente était beaucoup trop longue.", {W}),
    ("Le délai d'attente pour un rendez-vous est de six mois.", {W}),
    ("Nous avons attendu des heures dans la salle d'attente.", {W}),
    ("Trop d'attente avant d'être pris en charge.", {W}),
    ("L'ambulance est arrivée avec deux heures de retard, trop d'attente.", {W}),
    ("Des délais interminables, on attend les résultats depuis des semaines.", {W}),
    ("On attend des heures pour une consultation.", {W}),
    # staff
    ("The nurses were kind and caring throughout my stay.", {S}),
    ("Staff were friendly and made me feel at ease.", {S}),
    ("The doctor listened to me and was kind and patient.", {S}),
    ("A very rude receptionist, the staff spoke to me like a child.", {S}),
    ("The paramedics were friendly, professional and reassuring.", {S}),
    ("Lovely staff, always smiling and helpful.", {S}),
    ("The nurse was rude and did not listen.", {S}),
    ("Thank you to the staff, they were kind and respectful.", {S}),
    ("The nurses were patient and encouraging.", {S}),
    ("Le personnel était très gentil et attentionné.", {S}),
    ("Les infirmières sont souriantes et à l'écoute.", {S}),
    ("Le médecin était gentil et à l'écoute, très humain.", {S}),
    ("Une secrétaire désagréable, le personnel était impoli.", {S}),
    ("L'équipe soignante a été gentille et rassurante.", {S}),
    ("Les infirmières étaient aimables et respectueuses.", {S}),
    ("Le personnel était drôle et sympathique.", {S}),
    ("Accueil chaleureux du personnel soignant.", {S}),
    ("L'infirmier était méprisant et désagréable.", {S}),
    # food
    ("The food was cold and tasteless.", {F}),
    ("Lovely meals, the breakfast was hot and the food fresh.", {F}),
    ("There was no vegetarian meal at lunch.", {F}),
    ("The food was stale and the tea was weak.", {F}),
    ("I was not offered a drink or a meal for hours.", {F}),
    ("The hospital food has improved a lot, good meals.", {F}),
    ("The evening meal was cold and the soup was bland.", {F}),
    ("Please offer more fruit and healthier food.", {F}),
    ("Le repas était froid et sans goût.", {F}),
    ("Les repas sont copieux et la nourriture est bonne.", {F}),
    ("Pas de repas adapté pour mon régime sans sel.", {F}),
    ("Le petit-déjeuner était bon, avec du pain frais.", {F}),
    ("La nourriture est immangeable, la viande trop cuite.", {F}),
    ("On nous a servi un café tiède avec un repas froid.", {F}),
    ("Le repas du soir était bon, avec une soupe maison.", {F}),
    ("Il manque des fruits et des légumes frais dans la nourriture.", {F}),
    # two codes
    ("Kind nurses but I waited five hours to be seen.", {W, S}),
    ("The staff were lovely and the food was good.", {S, F}),
    ("Long wait for lunch, the meal came two hours late.", {W, F}),
    ("Personnel adorable mais trois heures d'attente aux urgences.", {W, S}),
    ("Les infirmières étaient gentilles et les repas très bons.", {S, F}),
    ("Le repas est arrivé avec une heure d'attente.", {W, F}),
    # none
    ("The car park is too small.", set()),
    ("My room had a view of the garden.", set()),
    ("The signs to the X-ray department were confusing.", set()),
    ("I would recommend this hospital to my family.", set()),
    ("Le parking est payant et cher.", set()),
    ("La chambre était propre et lumineuse.", set()),
    ("Le wifi ne fonctionnait pas dans le service.", set()),
    ("Rien à signaler.", set()),
]
TEXTS = [t for t, _ in CORPUS]
LABELS = [codes for _, codes in CORPUS]

UNSEEN = pd.Series({
    "new#1": "I had to wait three hours before the doctor came.",
    "new#2": "The nurses were so kind and gentle with my mother.",
    "new#3": "The lunch was cold and the vegetables overcooked.",
    "new#4": "L'attente aux urgences a duré quatre heures.",
    "new#5": "The garden is nice.",
})
EXPECTED_UNSEEN = {"new#1": W, "new#2": S, "new#3": F, "new#4": W}


@pytest.fixture(scope="module")
def model() -> CodeClassifier:
    return CodeClassifier(random_state=0).fit(TEXTS, LABELS)


def test_fixture_is_what_the_docstring_says():
    assert 40 <= len(CORPUS) <= 80
    assert sum(len(c) == 2 for c in LABELS) == 6
    assert sum(not c for c in LABELS) == 8
    assert {code: sum(code in c for c in LABELS) for code in (W, S, F)} == {W: 22, S: 22, F: 20}


def test_parameters_are_stored_as_given_and_clone():
    params = {"features": "tfidf", "min_examples": 3, "C": 1.5, "calibrate": False,
              "tune_thresholds": True, "validation_size": 0.3, "n_jobs": None, "random_state": 7}
    estimator = CodeClassifier(**params)
    assert estimator.get_params() == params
    assert clone(estimator).get_params() == params
    assert not hasattr(estimator, "codes_")


def test_learns_all_three_codes(model):
    assert model.codes_ == [F, S, W]
    assert model.skipped_ == {}
    assert model.thresholds_ == {F: 0.5, S: 0.5, W: 0.5}
    summary = model.summary_.set_index("code_id")
    # 20-22 positives: below MIN_CALIBRATION_EXAMPLES (30), so plain regressions
    assert summary.loc[W, ["positives", "negatives", "model"]].tolist() == [22, 44, "plain"]
    assert summary.loc[F, ["positives", "negatives", "model"]].tolist() == [20, 46, "plain"]


def test_held_out_f1_beats_the_majority_baseline():
    result = evaluate_split(TEXTS, LABELS, test_size=0.3, random_state=42)
    train, test = train_test_split(np.arange(len(TEXTS)), test_size=0.3, random_state=42)
    codes = [F, S, W]
    majority = max(codes, key=lambda c: (sum(c in LABELS[i] for i in train), c))
    truth = np.array([[c in LABELS[i] for c in codes] for i in test])
    baseline = np.array([[c == majority for c in codes] for _ in test])
    baseline_f1 = f1_score(truth, baseline, average="micro")
    assert result["n_test"] == len(test) == 20
    assert result["micro"]["f1"] > baseline_f1 + 0.2
    assert result["macro"]["f1"] > 0.6
    per_code = {r["code_id"]: r for r in result["per_code"]}
    assert {c: per_code[c]["support"] for c in codes} == {c: int(truth[:, k].sum())
                                                          for k, c in enumerate(codes)}


def test_probabilities_are_in_unit_interval_and_keep_the_index(model):
    proba = model.predict_proba(UNSEEN)
    assert list(proba.columns) == model.codes_
    assert list(proba.index) == list(UNSEEN.index)
    assert ((proba >= 0) & (proba <= 1)).all().all()
    assert list(model.predict_proba(list(UNSEEN)).index) == [0, 1, 2, 3, 4]


def test_unseen_comments_get_their_code(model):
    proba = model.predict_proba(UNSEEN)
    for segment, code in EXPECTED_UNSEEN.items():
        assert proba.loc[segment].idxmax() == code, segment
        others = [s for s in UNSEEN.index if EXPECTED_UNSEEN.get(s) != code]
        assert proba.at[segment, code] > proba.loc[others, code].max()
    assert proba.loc["new#5"].max() < 0.5


def test_predict_is_monotonic_in_the_probability(model):
    proba = model.predict_proba(UNSEEN)
    previous = None
    for threshold in (0.1, 0.3, 0.5, 0.7, 0.9):
        predicted = model.predict(UNSEEN, threshold=threshold)
        assert predicted == [{c for c in model.codes_ if proba.at[s, c] >= threshold}
                             for s in UNSEEN.index]
        if previous is not None:  # a higher threshold gives a subset of the codes
            assert all(now <= before for now, before in zip(predicted, previous, strict=True))
        previous = predicted
    assert model.predict(UNSEEN) == model.predict(UNSEEN, threshold=0.5)
    per_code = model.predict(UNSEEN, threshold={W: 0.99})
    assert all(W not in codes for codes in per_code)


def test_held_out_comments_with_a_code_get_higher_probabilities():
    train = [i for i in range(len(TEXTS)) if i % 2 == 0 or i % 4 == 1]  # 50 comments
    held_out = [i for i in range(len(TEXTS)) if i not in train]
    model = CodeClassifier().fit([TEXTS[i] for i in train], [LABELS[i] for i in train])
    proba = model.predict_proba([TEXTS[i] for i in held_out])
    for code in model.codes_:
        present = np.array([code in LABELS[i] for i in held_out])
        assert roc_auc_score(present, proba[code]) > 0.85, code
        assert proba[code][present].mean() > proba[code][~present].mean() + 0.2, code


def test_calibrated_probabilities_average_to_how_often_a_code_is_present(monkeypatch):
    plain = CodeClassifier().fit(TEXTS, LABELS)
    monkeypatch.setattr(learning, "MIN_CALIBRATION_EXAMPLES", 15)  # calibrate the fixture's codes
    calibrated = CodeClassifier().fit(TEXTS, LABELS)
    assert set(calibrated.summary_.model) == {"calibrated"}
    plain_proba, calibrated_proba = plain.predict_proba(TEXTS), calibrated.predict_proba(TEXTS)
    assert ((calibrated_proba >= 0) & (calibrated_proba <= 1)).all().all()
    for code in calibrated.codes_:
        rate = np.mean([code in labels for labels in LABELS])
        assert abs(calibrated_proba[code].mean() - rate) < 0.03, code
        # balanced class weights push the plain regression's probabilities towards 0.5
        assert plain_proba[code].mean() - rate > abs(calibrated_proba[code].mean() - rate), code
    assert calibrated.predict(UNSEEN) == [{W}, {S}, {F}, {W}, set()]


def test_two_fits_give_identical_models_whatever_n_jobs():
    first = CodeClassifier(random_state=3).fit(TEXTS, LABELS).predict_proba(UNSEEN)
    second = CodeClassifier(random_state=3).fit(TEXTS, LABELS).predict_proba(UNSEEN)
    parallel = CodeClassifier(random_state=3, n_jobs=2).fit(TEXTS, LABELS).predict_proba(UNSEEN)
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    pd.testing.assert_frame_equal(first, parallel, check_exact=True)


def test_skipped_reports_codes_with_too_few_examples():
    labels = [set(c) for c in LABELS]
    labels[0].add("parking")
    labels[58].add("parking")  # "The car park is too small."
    everywhere = [c | {"everything"} for c in labels]
    everywhere[1].discard("everything")
    model = CodeClassifier().fit(TEXTS, everywhere, codes=["pain", W])
    assert model.codes_ == [W, F, S]  # the given codes first, in their order
    assert model.skipped_ == {
        "pain": "0 positive and 66 negative examples; needs at least 5 of each",
        "everything": "65 positive and 1 negative examples; needs at least 5 of each",
        "parking": "2 positive and 64 negative examples; needs at least 5 of each",
    }
    assert list(model.predict_proba(UNSEEN).columns) == [W, F, S]
    summary = model.summary_.set_index("code_id")
    assert summary.at["parking", "model"] == "skipped"
    assert pd.isna(summary.at["parking", "threshold"])
    lenient = CodeClassifier(min_examples=2, calibrate=False).fit(TEXTS, labels)
    assert "parking" in lenient.codes_
    assert lenient.summary_.set_index("code_id").at["parking", "model"] == "plain"


def test_tuned_thresholds_are_used_by_predict():
    model = CodeClassifier(tune_thresholds=True, validation_size=0.3, random_state=1).fit(TEXTS, LABELS)
    again = CodeClassifier(tune_thresholds=True, validation_size=0.3, random_state=1).fit(TEXTS, LABELS)
    assert model.thresholds_ == again.thresholds_
    assert set(model.thresholds_) == set(model.codes_)
    assert all(0 < t <= 1 for t in model.thresholds_.values())
    assert any(t != 0.5 for t in model.thresholds_.values())
    proba = model.predict_proba(UNSEEN)
    assert model.predict(UNSEEN) == [{c for c in model.codes_ if proba.at[s, c] >= model.thresholds_[c]}
                                     for s in UNSEEN.index]
    summary = model.summary_.set_index("code_id")
    assert summary.threshold.to_dict() == model.thresholds_


def test_bad_input_and_parameters():
    with pytest.raises(ValueError, match="got 2 texts but 1 label sets"):
        CodeClassifier().fit(["a", "b"], [{"x"}])
    with pytest.raises(ValueError, match="min_examples must be a whole number >= 1"):
        CodeClassifier(min_examples=0).fit(TEXTS, LABELS)
    with pytest.raises(ValueError, match="features must be 'tfidf' or a scikit-learn transformer"):
        CodeClassifier(features="bert").fit(TEXTS, LABELS)
    with pytest.raises(AttributeError, match="not fitted yet"):
        CodeClassifier().predict_proba(["text"])
    single = CodeClassifier().fit(TEXTS, [next(iter(c)) if c else None for c in LABELS])
    assert single.codes_ == [F, S, W]  # a string label is one code, None is none


# -- decisions -------------------------------------------------------------------------------
SEGMENTS = pd.DataFrame({
    "segment_id": ["d#1.1", "d#1.2", "d#2.1", "d#2.2", "d#3.1", "d#3.2"],
    "text": ["Waited hours.", "Kind nurse.", "Cold soup.", "Rude porter, long wait.", "Nice view.",
             "Never reviewed."],
})
DECISIONS = pd.DataFrame([
    ("d#1.1", W, "accept", None),
    ("d#1.1", S, "reject", None),      # a wrong suggestion
    ("d#1.2", W, "recode", S),         # suggested waiting, the coder made it staff
    ("d#2.1", F, "add", None),         # the machine missed it
    ("d#2.2", S, "accept", None),
    ("d#2.2", W, "reject", None),
    ("d#2.2", W, "add", None),         # later decision wins: given after all
    ("d#3.1", F, "accept", None),
    ("d#3.1", F, "reject", None),      # later decision wins: not given
], columns=["segment_id", "code_id", "action", "new_code_id"])


def test_labels_from_decisions_follow_the_documented_rules():
    frame = labels_from_decisions(SEGMENTS, DECISIONS, codes=["pain"])
    assert list(frame.index) == ["d#1.1", "d#1.2", "d#2.1", "d#2.2", "d#3.1"]  # d#3.2 not reviewed
    assert frame.index.name == "segment_id"
    assert frame.text.tolist() == SEGMENTS.text[:5].tolist()
    universe = {W, S, F, "pain"}
    assert frame.positives.to_dict() == {
        "d#1.1": {W}, "d#1.2": {S}, "d#2.1": {F}, "d#2.2": {S, W}, "d#3.1": set()}
    assert frame.negatives.to_dict() == {s: universe - p for s, p in frame.positives.items()}
    assert frame.negatives["d#1.2"] == {W, F, "pain"}  # recoded away from waiting


def test_fit_decisions_trains_on_the_derived_labels():
    segments = pd.DataFrame({"segment_id": [f"c#{i}" for i in range(len(TEXTS))], "text": TEXTS})
    rows = []
    for i, codes in enumerate(LABELS):
        rows += [(f"c#{i}", c, "accept", None) for c in sorted(codes)]
        if not codes:
            rows.append((f"c#{i}", W, "reject", None))
    rows.append(("c#0", S, "recode", W))  # staff suggested on a waiting comment
    decisions = pd.DataFrame(rows, columns=["segment_id", "code_id", "action", "new_code_id"])
    from_decisions = CodeClassifier().fit_decisions(segments, decisions)
    direct = CodeClassifier().fit(TEXTS, LABELS)
    assert from_decisions.codes_ == direct.codes_
    pd.testing.assert_frame_equal(from_decisions.predict_proba(UNSEEN), direct.predict_proba(UNSEEN))


@pytest.mark.parametrize(("change", "message"), [
    ({"action": "approve"},
     "decisions row 1: unknown action 'approve'; use one of accept, reject, add, recode, memo"),
    ({"segment_id": "d#9.9"}, "decisions row 1: unknown segment 'd#9.9' (not in the segments)"),
    ({"action": "recode"}, "decisions row 1: recode needs a new_code_id"),
    ({"code_id": None}, "decisions row 1: no code_id"),
])
def test_bad_decisions_are_results_errors(change, message):
    decisions = DECISIONS.copy()
    for column, value in change.items():
        decisions.loc[0, column] = value
    with pytest.raises(ResultsError) as caught:
        labels_from_decisions(SEGMENTS, decisions)
    assert str(caught.value) == message


def test_decisions_without_a_required_column():
    with pytest.raises(ResultsError, match="decisions table lacks column"):
        labels_from_decisions(SEGMENTS, DECISIONS.drop(columns=["action"]))
    plain = labels_from_decisions(SEGMENTS, DECISIONS[DECISIONS.action != "recode"]
                                  .drop(columns=["new_code_id"]))
    assert "d#1.2" not in plain.index


def test_memos_undone_and_stale_decisions_are_left_out():
    # the columns ProjectStore.decisions() returns
    store_like = pd.DataFrame([
        (1, "d#1.1", W, "accept", None, None, "alice", 0, False),
        (2, "d#1.1", S, "add", None, None, "alice", 1, False),      # undone
        (3, "d#1.2", S, "accept", None, None, "alice", 0, True),    # text changed since: stale
        (4, "d#2.1", F, "memo", None, "check", "alice", 0, False),  # a note, not a decision
        (5, "d#2.2", W, "reject", None, None, "bob", 0, False),
    ], columns=["decision_id", "segment_id", "code_id", "action", "new_code_id", "memo", "coder",
                "undone", "stale"])
    frame = labels_from_decisions(SEGMENTS, store_like)
    assert frame.positives.to_dict() == {"d#1.1": {W}, "d#2.2": set()}
    assert frame.negatives.to_dict() == {"d#1.1": set(), "d#2.2": {W}}


# -- active learning -------------------------------------------------------------------------
def test_uncertainty_order_puts_the_least_confident_first():
    proba = pd.DataFrame({
        "a": [0.99, 0.50, 0.20, 0.70, 0.30, 0.0],
        "b": [0.02, 0.10, 0.60, 0.10, 0.05, 1.0],
    }, index=["s6", "s5", "s4", "s3", "s2", "s1"])
    # uncertainty: s6 .04, s5 1.0, s4 .8, s3 .6, s2 .6, s1 0 → s2 before s3 on the tie
    assert list(uncertainty_order(proba)) == ["s5", "s4", "s2", "s3", "s6", "s1"]
    assert list(uncertainty_order(proba.iloc[:0])) == []


# -- NHS benchmark ---------------------------------------------------------------------------
BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "nhs" / "run.py"
NHS_DATA = (Path(__file__).resolve().parents[2]
            / "shared/datasets/nhs-fft-patient-feedback/v6framework_230831.csv")


@pytest.mark.slow
@pytest.mark.skipif(not NHS_DATA.is_file(), reason="NHS FFT dataset not present beside the repository")
def test_nhs_benchmark_on_a_sample(tmp_path):
    out = tmp_path / "nhs.json"
    completed = subprocess.run([sys.executable, str(BENCHMARK), "--runs", "strict", "--sample", "1500",
                                "--json", str(out)], capture_output=True, text=True, check=True, timeout=600)
    assert "Published by pxtextmining" in completed.stdout
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert set(payload) == {"benchmark", "date", "command", "dataset", "environment", "peer", "runs"}
    (run,) = payload["runs"]
    assert {"run", "protocol", "rows_used", "n_train", "n_test", "codes", "trained", "skipped",
            "per_code", "micro", "macro", "macro_trained", "params", "seconds"} <= set(run)
    assert (run["rows_used"], run["n_train"], run["n_test"]) == (1500, 1200, 300)
    assert "Labelling not possible" not in run["codes"] and len(run["codes"]) == 43
    assert run["micro"]["f1"] > 0.3
    assert set(run["per_code"][0]) >= {"code_id", "precision", "recall", "f1", "kappa", "support"}
    assert payload["peer"]["v6_44_labels"]["TF-IDF + one-vs-rest SVC"] == {"micro_f1": 0.70,
                                                                         "macro_f1": 0.58}
