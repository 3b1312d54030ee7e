"""Learning from validated codings: one classifier per code, trained on human decisions.

Once researchers have accepted, rejected, added and recoded enough suggestions, a
:class:`CodeClassifier` learns each code from those decisions and becomes a third
way to suggest codings (``method="model"``), beside rules and exemplar similarity.
It reports probabilities, can be evaluated on a held-out part of the validated
segments (:func:`evaluate_split`), and orders unreviewed segments for review so
that the ones it is least sure about come first (:func:`uncertainty_order`).

From decisions to training examples (:func:`labels_from_decisions`)
-------------------------------------------------------------------
A decisions table has one row per human decision: ``segment_id, code_id, action``
and, for ``recode``, ``new_code_id`` — such as ``ProjectStore.decisions()`` returns.
Rows are applied in table order; when two rows speak about the same (segment,
code), **the later one wins** (give one coder's decisions to learn from one coder).
Rows flagged ``undone`` or ``stale`` (the segment's text changed since) and
``memo`` rows are left out.

=========  =====================================================
action     effect
=========  =====================================================
accept     ``code_id`` is given to the segment (positive)
add        ``code_id`` is given to the segment (positive)
reject     ``code_id`` is not given to the segment (negative)
recode     ``code_id`` is not given (negative); ``new_code_id`` is given (positive)
=========  =====================================================

A segment named by at least one decision is **reviewed**, and its review is taken
as complete: for every code, a reviewed segment is a positive example when the
code was finally given to it and a negative example otherwise — whether the
suggestion was rejected, recoded away, or never made.  (So leave no suggestion
of a reviewed segment undecided: it counts as not given.)  Segments that no
decision names are not training examples at all, except those of documents a coder
coded whole (``covered``: an import records them), which are reviewed with no code
unless a decision gives one.  The codes learned about are
every code the decisions that count name (``code_id``, ``new_code_id``) plus any passed
as ``codes`` (e.g. the codebook's), so a code never given is reported as skipped.

Model
-----
Features: TF-IDF of word 1–2-grams and of character 3–5-grams within word
boundaries (``char_wb``), both with sublinear tf, lower-cased and accent-stripped,
side by side in a ``FeatureUnion`` fitted on the training texts.  For each code
with at least ``min_examples`` positive **and** ``min_examples`` negative
examples, a ``LogisticRegression(C=C, class_weight="balanced")`` (liblinear);
other codes are listed in ``skipped_`` with the reason.  With ``calibrate=True``
and at least :data:`MIN_CALIBRATION_EXAMPLES` positives and negatives, the
regression is wrapped in ``CalibratedClassifierCV(method="sigmoid", cv=3)``: the
probability is a Platt sigmoid fitted on held-out folds, averaged over the three
folds, and tracks how often the code is really present.  Below that, the plain
regression's probability is used; because of the balanced class weights it is
pushed towards 0.5 for rare codes (more recall, less precision at 0.5).

Thresholds
----------
``predict`` gives a code when its probability reaches the code's threshold,
``thresholds_[code]`` — 0.5 unless ``tune_thresholds=True``.  Then ``fit`` first
holds out ``validation_size`` of the texts (``train_test_split`` with
``random_state``, not stratified), trains on the rest, and for every code with
at least :data:`MIN_TUNING_POSITIVES` positives in the held-out part takes the
probability that maximises F1 there (``precision_recall_curve``); finally it
trains again on all texts and keeps those thresholds.  Other codes keep 0.5.

Examples
--------
>>> model = CodeClassifier(random_state=0).fit(texts, labels)        # doctest: +SKIP
>>> model.predict_proba(["The wait was far too long"]).round(2)    # doctest: +SKIP
>>> model = CodeClassifier().fit_decisions(segments, decisions)     # doctest: +SKIP
>>> order = uncertainty_order(model.predict_proba(unreviewed.set_index("segment_id").text))  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator

from .errors import ResultsError

__all__ = [
    "ACTIONS",
    "CONTEXT_PARTS",
    "DEFAULT_CONTEXT",
    "IGNORED_ACTIONS",
    "MIN_CALIBRATION_EXAMPLES",
    "MIN_TUNING_POSITIVES",
    "CodeClassifier",
    "context_texts",
    "evaluate_split",
    "labels_from_codings",
    "labels_from_decisions",
    "uncertainty_order",
]

#: Decisions that give or withhold a code (:func:`labels_from_decisions`); ``memo`` is ignored.
ACTIONS = ("accept", "reject", "add", "recode")
IGNORED_ACTIONS = ("memo",)
#: Positives and negatives a code needs for sigmoid calibration (10 per fold of 3).
MIN_CALIBRATION_EXAMPLES = 30
CALIBRATION_FOLDS = 3
#: Held-out positives a code needs before its threshold is tuned.
MIN_TUNING_POSITIVES = 3
DEFAULT_THRESHOLD = 0.5
#: What :func:`context_texts` can add to a segment's own words.
CONTEXT_PARTS = ("previous", "next", "question")
#: The context a project's classifier reads by default (chosen by cross-validation on the
#: development interviews of the bundled study: ``benchmarks/learning_cv.py``).
DEFAULT_CONTEXT = ("previous", "question")


class CodeClassifier(BaseEstimator):
    """One calibrated logistic regression per code, learned from validated codings.

    Parameters
    ----------
    features : "tfidf" or a scikit-learn transformer, default "tfidf"
        ``"tfidf"``: word 1–2-grams and char_wb 3–5-grams (see the module docstring).
        A transformer is cloned and fitted on the training texts instead.
    min_examples : int, default 5
        Positive and negative examples a code needs to be learned.
    C : float, default 4.0
        Inverse regularisation strength of each logistic regression.
    calibrate : bool, default True
        Sigmoid calibration (cv=3) for codes with enough examples.
    tune_thresholds : bool, default False
        Tune each code's threshold for F1 on a held-out validation part.
    validation_size : float, default 0.2
        Share of the texts held out when ``tune_thresholds`` is true.
    n_jobs : int or None, default None
        Codes trained in parallel (joblib); results do not depend on it.
    random_state : int, default 0
        Seeds liblinear and the validation split: two fits give the same model.

    Attributes
    ----------
    codes_ : list of str
        Codes that have a model, in the order of ``predict_proba``'s columns.
    skipped_ : dict
        Code → why it has no model (too few positive or negative examples).
    thresholds_ : dict
        Code → decision threshold used by :meth:`predict`.
    summary_ : DataFrame
        One row per code seen: ``code_id, positives, negatives, model
        (calibrated | plain | skipped), threshold, reason``.
    features_ : transformer
        The fitted feature extractor.
    models_ : dict
        Code → fitted classifier.

    Examples
    --------
    >>> texts = ["Waited four hours", "Lovely nurses", "Long wait again", ...]  # doctest: +SKIP
    >>> labels = [{"waiting"}, {"staff"}, {"waiting"}, ...]                     # doctest: +SKIP
    >>> model = CodeClassifier().fit(texts, labels)                              # doctest: +SKIP
    >>> model.predict(["The nurses were lovely"])                                # doctest: +SKIP
    [{'staff'}]
    """

    def __init__(self, *, features="tfidf", min_examples=5, C=4.0, calibrate=True,
                 tune_thresholds=False, validation_size=0.2, n_jobs=None, random_state=0):
        self.features = features
        self.min_examples = min_examples
        self.C = C
        self.calibrate = calibrate
        self.tune_thresholds = tune_thresholds
        self.validation_size = validation_size
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, texts, labels, *, codes: Iterable[str] | None = None) -> CodeClassifier:
        """Learn every code from ``texts`` and their ``labels`` (one set of code ids per text).

        A label given as a string is one code; ``None`` is no code.  ``codes`` adds codes
        to learn about (e.g. the codebook's) that may have no positive example.
        """
        self._check_params()
        texts, _ = _as_texts(texts)
        label_sets = _as_label_sets(labels, len(texts))
        if not texts:
            raise ValueError("fit needs at least one text")
        universe = _universe(label_sets, codes)
        thresholds: dict[str, float] = {}
        if self.tune_thresholds:
            thresholds = self._tuned_thresholds(texts, label_sets, universe)
        self.features_, self.models_, counts = self._fit_models(texts, label_sets, universe)
        self.codes_ = [c for c in universe if c in self.models_]
        self.skipped_ = {c: counts[c]["reason"] for c in universe if c not in self.models_}
        self.thresholds_ = {c: thresholds.get(c, DEFAULT_THRESHOLD) for c in self.codes_}
        self.summary_ = _summary(universe, counts, self.thresholds_)
        return self

    def fit_decisions(self, segments, decisions, *, codes: Iterable[str] | None = None) -> CodeClassifier:
        """Learn from a table of human decisions on ``segments`` (``segment_id, text``).

        Positives and negatives are derived by :func:`labels_from_decisions`.
        """
        frame = labels_from_decisions(segments, decisions, codes=codes)
        universe = _universe([*frame.positives, *frame.negatives], codes)
        return self.fit(frame.text, list(frame.positives), codes=universe)

    def _check_params(self) -> None:
        if not (isinstance(self.min_examples, int | np.integer) and self.min_examples >= 1):
            raise ValueError(f"min_examples must be a whole number >= 1, not {self.min_examples!r}")
        if not (isinstance(self.C, int | float) and self.C > 0):
            raise ValueError(f"C must be a number > 0, not {self.C!r}")
        if self.tune_thresholds and not 0 < self.validation_size < 1:
            raise ValueError(f"validation_size must be between 0 and 1, not {self.validation_size!r}")
        if not (self.features == "tfidf" or hasattr(self.features, "fit_transform")):
            raise ValueError(f"features must be 'tfidf' or a scikit-learn transformer, "
                             f"not {self.features!r}")

    def _make_features(self):
        from sklearn.base import clone

        if isinstance(self.features, str):
            return _tfidf_features()
        return clone(self.features)

    def _fit_models(self, texts: list[str], label_sets: list[frozenset], universe: list[str]):
        from joblib import Parallel, delayed

        features = self._make_features()
        matrix = features.fit_transform(texts)
        if hasattr(matrix, "tocsr"):  # canonical CSR: joblib workers get it read-only
            matrix = matrix.tocsr()
            matrix.sum_duplicates()
            matrix.sort_indices()
        counts, todo = {}, []
        for code in universe:
            y = np.fromiter((code in s for s in label_sets), dtype=bool, count=len(label_sets))
            positives, negatives = int(y.sum()), int((~y).sum())
            counts[code] = {"positives": positives, "negatives": negatives, "model": "skipped",
                            "reason": ""}
            if min(positives, negatives) < self.min_examples:
                counts[code]["reason"] = (f"{positives} positive and {negatives} negative examples; "
                                          f"needs at least {self.min_examples} of each")
                continue
            calibrated = self.calibrate and min(positives, negatives) >= MIN_CALIBRATION_EXAMPLES
            counts[code]["model"] = "calibrated" if calibrated else "plain"
            todo.append((code, y, calibrated))
        fitted = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_code)(matrix, y, calibrated, self.C, self.random_state)
            for _, y, calibrated in todo)
        models = {code: model for (code, _, _), model in zip(todo, fitted, strict=True)}
        return features, models, counts

    def _tuned_thresholds(self, texts, label_sets, universe) -> dict[str, float]:
        from sklearn.model_selection import train_test_split

        train, valid = train_test_split(np.arange(len(texts)), test_size=self.validation_size,
                                        random_state=self.random_state)
        features, models, _ = self._fit_models([texts[i] for i in train],
                                               [label_sets[i] for i in train], universe)
        matrix = features.transform([texts[i] for i in valid])
        thresholds = {}
        for code, model in models.items():
            y = np.array([code in label_sets[i] for i in valid])
            if y.sum() >= MIN_TUNING_POSITIVES:
                thresholds[code] = _best_threshold(y, model.predict_proba(matrix)[:, 1])
        return thresholds

    # -- prediction ------------------------------------------------------------------------
    def predict_proba(self, texts):
        """Probability of each learned code for each text, as a DataFrame.

        Columns are ``codes_``; the index is ``texts``' index when it is a Series
        (segment ids, say), else 0…n-1.  Values are in [0, 1].
        """
        import pandas as pd

        self._check_fitted()
        texts, index = _as_texts(texts)
        if not self.codes_ or not texts:
            return pd.DataFrame(np.zeros((len(texts), len(self.codes_))), index=index,
                                columns=list(self.codes_))
        matrix = self.features_.transform(texts)
        values = np.column_stack([self.models_[c].predict_proba(matrix)[:, 1] for c in self.codes_])
        return pd.DataFrame(np.clip(values, 0.0, 1.0), index=index, columns=list(self.codes_))

    def predict(self, texts, threshold: float | Mapping[str, float] | None = None) -> list[set[str]]:
        """The set of codes of each text: those whose probability reaches the threshold.

        ``threshold``: ``None`` uses ``thresholds_`` (0.5 unless tuned); a number applies
        to every code; a mapping gives some codes their own (others use ``thresholds_``).
        """
        proba = self.predict_proba(texts)
        if threshold is None or isinstance(threshold, Mapping):
            limits = {**self.thresholds_, **(threshold or {})}
        else:
            limits = dict.fromkeys(self.codes_, float(threshold))
        given = proba.to_numpy() >= np.array([limits[c] for c in self.codes_])
        return [{self.codes_[k] for k in np.flatnonzero(row)} for row in given]

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise AttributeError("this CodeClassifier is not fitted yet: call fit or fit_decisions first")


def _fit_code(matrix, y, calibrated: bool, C: float, random_state):
    """One code's classifier (module-level so joblib can send it to a worker)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression

    # liblinear's dual solver is much faster when there are more features than texts
    regression = LogisticRegression(C=C, class_weight="balanced", solver="liblinear",
                                    dual=matrix.shape[1] > matrix.shape[0], max_iter=5000,
                                    random_state=random_state)
    model = CalibratedClassifierCV(regression, method="sigmoid", cv=CALIBRATION_FOLDS) \
        if calibrated else regression
    return model.fit(matrix, y)


def _tfidf_features():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                  strip_accents="unicode")),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True,
                                  strip_accents="unicode")),
    ])


def _best_threshold(y: np.ndarray, proba: np.ndarray) -> float:
    """The probability cut that maximises F1 on (y, proba); the lowest such cut on ties."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, cuts = precision_recall_curve(y, proba)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros_like(denominator),
                   where=denominator > 0)
    return float(cuts[int(np.argmax(f1))])


def _summary(universe, counts, thresholds):
    import pandas as pd

    return pd.DataFrame([{"code_id": c, **{k: counts[c][k] for k in ("positives", "negatives", "model")},
                          "threshold": thresholds.get(c), "reason": counts[c]["reason"]}
                         for c in universe],
                        columns=["code_id", "positives", "negatives", "model", "threshold", "reason"])


# -- inputs ------------------------------------------------------------------------------------
def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_true(value) -> bool:
    return not _is_missing(value) and bool(value)


def _as_texts(texts) -> tuple[list[str], object]:
    """Texts as a list of strings (missing → ""), and the index to label results with."""
    import pandas as pd

    if isinstance(texts, str):
        raise TypeError("texts must be a list or Series of strings, not one string")
    if isinstance(texts, pd.Series):
        index = texts.index
        values = texts.tolist()
    else:
        values = list(texts)
        index = pd.RangeIndex(len(values))
    return ["" if _is_missing(t) else str(t) for t in values], index


def _as_label_sets(labels, n: int) -> list[frozenset]:
    labels = list(labels)
    if len(labels) != n:
        raise ValueError(f"got {n} texts but {len(labels)} label sets; give one set per text")
    result = []
    for label in labels:
        if _is_missing(label):
            result.append(frozenset())
        elif isinstance(label, str):
            result.append(frozenset([label]))
        else:
            result.append(frozenset(str(c) for c in label))
    return result


def _universe(label_sets: Sequence[frozenset], codes: Iterable[str] | None) -> list[str]:
    """The given codes in their order, then every other labelled code, sorted."""
    given = list(dict.fromkeys(codes or ()))
    return given + sorted(set().union(*label_sets) - set(given))


# -- decisions ---------------------------------------------------------------------------------
def labels_from_decisions(segments, decisions, *, codes: Iterable[str] | None = None,
                          covered: Iterable[str] = ()):
    """Training examples from human decisions, following the rules in the module docstring.

    Parameters
    ----------
    segments : DataFrame
        With ``segment_id`` and ``text`` (``segments.csv`` of a results folder).
    decisions : DataFrame
        ``segment_id, code_id, action`` (accept | reject | add | recode | memo) and,
        for recode, ``new_code_id``; in the order the decisions were taken.  Rows
        with a true ``undone`` or ``stale`` column, and memos, are left out.
    codes : iterable of str, optional
        More codes to learn about (every reviewed segment is a negative for them
        unless a decision gives them).
    covered : iterable of str, optional
        Segments reviewed even where no decision names them: those of documents a coder
        coded whole (:meth:`qualcode.store.ProjectStore.coverage`), coded with nothing
        unless a decision says otherwise.

    Returns
    -------
    DataFrame
        Indexed by ``segment_id`` (reviewed segments, in ``segments`` order), with
        ``text``, ``positives`` (frozenset of codes given) and ``negatives``
        (frozenset of the other codes).

    Raises
    ------
    ResultsError
        A column is missing, an action is unknown, a segment is not in ``segments``,
        or a row lacks its code (or its new code for recode).
    """
    import pandas as pd

    for frame, name, needed in ((segments, "segments", ("segment_id", "text")),
                                (decisions, "decisions", ("segment_id", "code_id", "action"))):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ResultsError(f"{name} table lacks column(s) {', '.join(missing)}; "
                               f"it needs {', '.join(needed)}")
    known = set(segments.segment_id)
    given: dict[str, dict[str, bool]] = {}  # segment → code → given?
    universe = list(dict.fromkeys(codes or ()))
    nothing = [None] * len(decisions)
    new_codes = decisions["new_code_id"] if "new_code_id" in decisions.columns else nothing
    left_out = [any(_is_true(decisions[flag].iloc[k]) for flag in ("undone", "stale")
                    if flag in decisions.columns) for k in range(len(decisions))]
    for row, (segment, code, action, new, skip) in enumerate(
            zip(decisions.segment_id, decisions.code_id, decisions.action, new_codes, left_out,
                strict=True), start=1):
        action = "" if _is_missing(action) else str(action).strip().lower()
        code = "" if _is_missing(code) else str(code).strip()
        new = "" if _is_missing(new) else str(new).strip()
        if action not in ACTIONS + IGNORED_ACTIONS:
            raise ResultsError(f"decisions row {row}: unknown action {action!r}; "
                               f"use one of {', '.join(ACTIONS + IGNORED_ACTIONS)}")
        if skip or action in IGNORED_ACTIONS:
            continue
        if segment not in known:
            raise ResultsError(f"decisions row {row}: unknown segment {segment!r} (not in the segments)")
        if not code:
            raise ResultsError(f"decisions row {row}: no code_id")
        if action == "recode" and not new:
            raise ResultsError(f"decisions row {row}: recode needs a new_code_id")
        state = given.setdefault(segment, {})
        state[code] = action in ("accept", "add")
        universe.append(code)
        if action == "recode":
            state[new] = True
            universe.append(new)
    for segment in covered:
        if segment in known:
            given.setdefault(segment, {})
    universe_set = frozenset(universe)
    reviewed = segments[segments.segment_id.isin(given.keys())].drop_duplicates("segment_id")
    positives = [frozenset(c for c, yes in given[s].items() if yes) for s in reviewed.segment_id]
    return pd.DataFrame({"text": reviewed.text.fillna("").astype(str).to_numpy(),
                         "positives": positives,
                         "negatives": [universe_set - p for p in positives]},
                        index=pd.Index(reviewed.segment_id.to_numpy(), name="segment_id"))


def labels_from_codings(segments, codings):
    """Training examples from a complete human coding of some documents.

    ``codings`` (``segment_id, code_id``, as :func:`qualcode.evaluation.load_gold`
    resolves a coded table) is taken to code *every* segment of the documents it
    touches: their segments without a row are negatives for every code, and a row
    whose code is ``(none)`` only says its segment was coded with nothing.  Returns the
    frame of :func:`labels_from_decisions` (indexed by ``segment_id``, in ``segments``
    order, with ``text``, ``positives``, ``negatives``).
    """
    import pandas as pd

    from .evaluation import NO_CODE

    document_of = dict(zip(segments.segment_id, segments.document_id, strict=True))
    documents = {document_of[s] for s in codings.segment_id if s in document_of}
    covered = segments[segments.document_id.isin(documents)].drop_duplicates("segment_id")
    given: dict[str, set[str]] = {}
    for segment, code in zip(codings.segment_id, codings.code_id, strict=True):
        if code != NO_CODE:
            given.setdefault(segment, set()).add(code)
    universe = frozenset(codings.code_id) - {NO_CODE}
    positives = [frozenset(given.get(s, ())) for s in covered.segment_id]
    return pd.DataFrame({"text": covered.text.fillna("").astype(str).to_numpy(),
                         "positives": positives,
                         "negatives": [universe - p for p in positives]},
                        index=pd.Index(covered.segment_id.to_numpy(), name="segment_id"))


def context_texts(segments, parts: Sequence[str] = DEFAULT_CONTEXT):
    """Each segment's text followed by the context a coder reads it in, as a Series by segment id.

    ``parts`` (see :data:`CONTEXT_PARTS`): ``previous`` / ``next`` add the neighbouring
    segment of the same turn, ``question`` the interviewer's question before the turn.
    Speakers say "ça" and "elle" about what they or the interviewer just said, so a
    sentence's code often shows in its neighbours' words.  ``segments`` is a results
    folder's ``segments.csv`` (ordered by document, then position); columns a part
    needs and does not find add nothing.
    """
    import pandas as pd

    unknown = [p for p in parts if p not in CONTEXT_PARTS]
    if unknown:
        raise ValueError(f"unknown context part(s) {', '.join(map(repr, unknown))}; "
                         f"use {', '.join(CONTEXT_PARTS)}")
    frame = segments.reset_index(drop=True)
    texts = frame.text.fillna("").astype(str)
    pieces = [texts]
    keys = [frame[c] for c in ("document_id", "turn_index") if c in frame.columns]
    for part, shift in (("previous", 1), ("next", -1)):
        if part in parts and len(keys) == 2:
            pieces.append(texts.groupby(keys).shift(shift).fillna(""))
    if "question" in parts and "question" in frame.columns:
        pieces.append(frame.question.fillna("").astype(str))
    joined = pieces[0]
    for piece in pieces[1:]:
        joined = joined + (" ¶ " + piece).where(piece != "", "")
    return pd.Series(joined.to_numpy(), index=frame.segment_id.to_numpy(), name="text")


# -- active learning ---------------------------------------------------------------------------
def uncertainty_order(proba):
    """Segments to review first: least confident first, ties broken by segment id.

    A segment's uncertainty is the largest, over codes, of ``1 - |2p - 1|`` (1 at
    p = 0.5, 0 at p = 0 or 1), rounded to 9 decimals so that equal values compare
    equal.  Returns ``proba``'s index in review order.

    Examples
    --------
    >>> import pandas as pd
    >>> proba = pd.DataFrame({"a": [0.9, 0.5, 0.2], "b": [0.1, 0.0, 0.7]}, index=["s3", "s1", "s2"])
    >>> list(uncertainty_order(proba))
    ['s1', 's2', 's3']
    """
    import pandas as pd

    values = proba.to_numpy(dtype=float)
    if values.shape[1]:
        uncertainty = np.round((1.0 - np.abs(2.0 * values - 1.0)).max(axis=1), 9)
    else:
        uncertainty = np.zeros(len(proba))
    order = pd.DataFrame({"uncertainty": uncertainty, "segment": proba.index.to_numpy()})
    order = order.sort_values(["uncertainty", "segment"], ascending=[False, True], kind="mergesort")
    return proba.index[order.index.to_numpy()]


# -- held-out evaluation -----------------------------------------------------------------------
def evaluate_split(texts, labels, *, codes: Iterable[str] | None = None, test_size=0.2,
                   random_state=42, **params) -> dict:
    """Train a :class:`CodeClassifier` on part of the data and score it on the rest.

    The split is ``train_test_split(test_size=test_size, random_state=random_state)``
    (shuffled, not stratified); ``params`` go to :class:`CodeClassifier`.  Every code
    of the labels (and of ``codes``) is scored, including codes too rare to learn,
    which are then never predicted.

    Returns
    -------
    dict
        ``n_train, n_test, test_size, random_state, params, codes`` (all codes
        scored), ``trained``, ``skipped`` (code → reason), ``per_code`` (one dict per
        code: ``code_id, trained, model, train_positives, support, predicted, tp, fp, fn,
        precision, recall, f1, kappa, threshold``), ``micro`` (precision, recall, f1,
        kappa over every code × test text), ``macro`` (mean precision, recall, F1, κ
        over the codes present in the test part) and ``macro_trained`` (the same over
        the trained codes present in the test part).  κ is Cohen's kappa on each
        code's presence; it is ``None`` for a code absent from the test part.
    """
    from sklearn.model_selection import train_test_split

    texts, _ = _as_texts(texts)
    label_sets = _as_label_sets(labels, len(texts))
    universe = _universe(label_sets, codes)
    train, test = train_test_split(np.arange(len(texts)), test_size=test_size,
                                   random_state=random_state)
    model = CodeClassifier(**params).fit([texts[i] for i in train], [label_sets[i] for i in train],
                                         codes=universe)
    predicted = model.predict([texts[i] for i in test])
    truth = [label_sets[i] for i in test]
    y_true = np.array([[c in s for c in universe] for s in truth], dtype=bool).reshape(-1, len(universe))
    y_pred = np.array([[c in s for c in universe] for s in predicted], dtype=bool) \
        .reshape(-1, len(universe))
    summary = model.summary_.set_index("code_id")
    rows = []
    for k, code in enumerate(universe):
        rows.append({"code_id": code, "trained": code in model.models_,
                     "model": summary.at[code, "model"],
                     "train_positives": int(summary.at[code, "positives"]),
                     **_binary_scores(y_true[:, k], y_pred[:, k]),
                     "threshold": model.thresholds_.get(code)})
    return {"n_train": len(train), "n_test": len(test), "test_size": test_size,
            "random_state": random_state, "params": _json_params(model.get_params()),
            "codes": universe, "trained": list(model.codes_), "skipped": dict(model.skipped_),
            "per_code": rows, "micro": _micro(y_true, y_pred),
            "macro": _macro([r for r in rows if r["support"] > 0]),
            "macro_trained": _macro([r for r in rows if r["support"] > 0 and r["trained"]])}


def _kappa(y_true: np.ndarray, y_pred: np.ndarray) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    if len(set(y_true.tolist()) | set(y_pred.tolist())) < 2:
        return None  # no variation at all: agreement by chance is certain, kappa undefined
    return round(float(cohen_kappa_score(y_true, y_pred)), 4)


def _binary_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, average="binary", pos_label=True, zero_division=0.0)
    return {"support": int(y_true.sum()), "predicted": int(y_pred.sum()),
            "tp": int((y_true & y_pred).sum()), "fp": int((~y_true & y_pred).sum()),
            "fn": int((y_true & ~y_pred).sum()), "precision": round(float(precision), 4),
            "recall": round(float(recall), 4), "f1": round(float(f1), 4),
            "kappa": _kappa(y_true, y_pred) if y_true.any() else None}


def _micro(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    from sklearn.metrics import precision_recall_fscore_support

    if y_true.size == 0:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "kappa": None}
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, average="micro", zero_division=0.0)
    return {"precision": round(float(precision), 4), "recall": round(float(recall), 4),
            "f1": round(float(f1), 4), "kappa": _kappa(y_true.ravel(), y_pred.ravel())}


def _macro(rows: list[dict]) -> dict:
    result = {}
    for metric in ("precision", "recall", "f1", "kappa"):
        values = [r[metric] for r in rows if r[metric] is not None]
        result[metric] = round(float(np.mean(values)), 4) if values else None
    result["codes"] = len(rows)
    return result


def _json_params(params: dict) -> dict:
    return {k: v if v is None or isinstance(v, bool | int | float | str) else repr(v)
            for k, v in params.items()}
