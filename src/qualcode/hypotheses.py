"""Hypothesis support: the coded segments for and against each hypothesis, quotes and a verdict.

Evidence rule
-------------
A segment *supports* a hypothesis when it carries every code of at least one
``supported_by`` item, and *contradicts* it when it carries every code of at least
one ``contradicted_by`` item.  A supporting match whose codes are a subset of a
contradicting match on the same segment is absorbed by it: a segment coded
``ds_accompagnement_changement`` and ``frein`` contradicts H1 through
``{all_of: [ds_accompagnement_changement, frein]}`` and does not also support it
through ``ds_accompagnement_changement``.  A segment that keeps another,
unabsorbed supporting match counts on both sides.

The strength of a match is the lowest score among its codes; a segment's strength
is that of its strongest match.  A segment's evidence is ``accepted`` when one of
its matches rests only on human-accepted codings, else ``suggested``.

Verdict rules
-------------
Checked in this order; the first that holds is the verdict.  ``sp``/``ss`` are
supporting participants/segments, ``cp`` contradicting participants; ``N``, ``M``
and ``r`` come from the codebook's ``settings.verdict`` (defaults in brackets)::

    supported          sp >= N and ss >= M and cp < r × sp
    contested          sp >= N and cp >= N
    partly supported   sp > cp
    not supported      otherwise

    N = min_participants [3], M = min_segments [5], r = contested_ratio [0.5]
    status [all]: which codings count (all = suggested or accepted, never rejected)

Examples
--------
>>> from qualcode.results import load_results                        # doctest: +SKIP
>>> support = hypothesis_support(load_results("results/"))           # doctest: +SKIP
>>> hypotheses_frame(support)[["hypothesis_id", "verdict"]]          # doctest: +SKIP
  hypothesis_id    verdict
0            H1  supported
1            H2  supported
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .codebook import Codebook, Hypothesis
from .errors import CodebookError, OptionError, Problem
from .results import STATUSES, Results

__all__ = ["DEFAULTS", "VERDICTS", "HypothesisSupport", "hypotheses_frame", "hypothesis_support",
           "to_dict", "to_markdown"]

#: Verdict rules' settings when the codebook's ``settings.verdict`` leaves them out.
DEFAULTS = {"min_participants": 3, "min_segments": 5, "contested_ratio": 0.5, "status": "all"}
#: Verdicts in the order their rules are checked (``not supported`` when none holds).
VERDICTS = ("supported", "contested", "partly supported", "not supported")
_GROUPS = ("participant_id", "role", "establishment")
_WORDS = {
    "en": {"supported": "supported", "contested": "contested", "partly supported": "partly supported",
           "not supported": "not supported", "sp": "supporting participants",
           "ss": "supporting segments", "cp": "contradicting participants", "yes": "yes", "no": "no",
           "and": "and", "sep": "; ", "check": "{}? {}: ", "last": "{}: no rule above applies",
           "title": "Hypotheses", "basis": "Basis: ", "rule": "**Rule**: ", "for": "Supporting quotes",
           "against": "Counter-evidence quotes", "groups": "Evidence by group", "none": "(none)",
           "cs": "contradicting segments", "accepted": "accepted",
           "heads": ("hypothesis", "verdict", "by", "group")},
    "fr": {"supported": "soutenue", "contested": "contestée", "partly supported": "partiellement soutenue",
           "not supported": "non soutenue", "sp": "participants en soutien",
           "ss": "segments en soutien", "cp": "participants en contradiction", "yes": "oui", "no": "non",
           "and": "et", "sep": " ; ", "check": "{} ? {} : ",
           "last": "{} : aucune règle ci-dessus ne s'applique",
           "title": "Hypothèses", "basis": "Base : ", "rule": "**Règle** : ", "for": "Citations à l'appui",
           "against": "Citations contraires", "groups": "Éléments par groupe", "none": "(aucune)",
           "cs": "segments en contradiction", "accepted": "acceptés",
           "heads": ("hypothèse", "verdict", "par", "groupe")},
}
_HOLDS = {">=": ("≥", "<"), "<": ("<", "≥"), ">": (">", "≤")}  # shown when it holds / fails


@dataclass(frozen=True, eq=False)
class HypothesisSupport:
    """Evidence, quotes and verdict for one hypothesis.

    ``supporting``/``contradicting`` have one row per evidence segment (with its
    ``codes``, ``score`` and ``status``); ``by_group`` counts them per participant,
    role and establishment; ``quotes_for``/``quotes_against`` are verbatim segment
    texts; ``counts`` splits every count by status; ``rule`` shows the verdict's
    arithmetic; ``settings`` are the verdict settings used.
    """

    hypothesis_id: str
    statement: str
    verdict: str
    verdict_label: str
    rule: str
    basis: str
    supporting: object  # DataFrame
    contradicting: object  # DataFrame
    by_group: object  # DataFrame
    quotes_for: object  # DataFrame
    quotes_against: object  # DataFrame
    counts: dict
    settings: dict
    language: str = "en"


def hypothesis_support(results: Results, *, status: str | None = None, min_score: float = 0.0,
                       quotes: int = 5) -> list[HypothesisSupport]:
    """Evidence, quotes and verdict for every hypothesis of the results' codebook.

    Parameters
    ----------
    results : Results
        A loaded results folder (:func:`qualcode.results.load_results`).
    status : {"all", "accepted", "suggested"}, optional
        Which codings count; default the codebook's ``settings.verdict.status``, else ``"all"``
        (suggested or accepted; rejected codings never count).
    min_score : float
        Codings scoring below this are ignored.
    quotes : int
        Quotes kept on each side.

    Examples
    --------
    >>> support = hypothesis_support(results, min_score=0.6, quotes=3)   # doctest: +SKIP
    >>> support[0].verdict, support[0].counts["supporting_participants"]  # doctest: +SKIP
    ('supported', 13)
    """
    if isinstance(min_score, bool) or not isinstance(min_score, int | float) or not 0 <= min_score <= 1:
        raise OptionError(f"min_score must be a number between 0 and 1, got {min_score!r}")
    if isinstance(quotes, bool) or not isinstance(quotes, int) or quotes < 0:
        raise OptionError(f"quotes must be a whole number >= 0, got {quotes!r}")
    settings = _settings(results.codebook, status)
    held = _held_codes(results.codings, settings["status"], min_score)
    segments = results.segments[results.segments.participant_id.notna()]
    if "role" not in segments.columns:
        segments = segments.assign(role=None)
    segments = segments.set_index("segment_id", drop=False)[
        ["segment_id", "document_id", "speaker", "participant_id", "start",
         *dict.fromkeys([*results.attributes, "role"]), "text"]]
    basis = f"{results.basis}; {_STATUS_WORDS[settings['status']]}" + \
        (f", score ≥ {min_score:g}" if min_score > 0 else "")
    language = "fr" if results.codebook.language == "fr" else "en"
    return [_support(h, held, segments, settings, basis, quotes, language)
            for h in results.codebook.hypotheses]


_STATUS_WORDS = {"all": "codings suggested or accepted (rejected excluded)",
                 "accepted": "accepted codings only", "suggested": "suggested codings only"}


def _settings(codebook: Codebook, status: str | None) -> dict:
    """Verdict settings from the codebook over the defaults, validated."""
    settings = {**DEFAULTS, **codebook.settings.verdict}
    problems = []
    for key in ("min_participants", "min_segments", "contested_ratio"):
        value, kind = settings[key], float if key == "contested_ratio" else int
        if isinstance(value, bool) or not isinstance(value, int | kind) or value < 0:
            words = "a number" if kind is float else "a whole number"
            problems.append((key, f"expected {words} ≥ 0, got {value!r}"))
    if settings["status"] not in STATUSES:
        problems.append(("status", f"{settings['status']!r} is not one of {', '.join(STATUSES)}"))
    if problems:
        where = codebook.path or "<codebook>"
        raise CodebookError([Problem(message, where, None, f"settings.verdict.{key}")
                             for key, message in problems], path=where)
    if status is not None and status not in STATUSES:
        raise OptionError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    return {**settings, "status": status or settings["status"]}


def _held_codes(codings, status: str, min_score: float) -> dict[str, dict[str, tuple[float, bool]]]:
    """segment_id → {code_id: (score, accepted)} for the codings that count."""
    counted = codings.status != "rejected" if status == "all" else codings.status == status
    kept = codings[counted & (codings.score >= min_score)]
    held: dict[str, dict[str, tuple[float, bool]]] = {}
    for segment, code, score, state in zip(kept.segment_id, kept.code_id, kept.score, kept.status,
                                           strict=True):
        old_score, old_accepted = held.setdefault(segment, {}).get(code, (0.0, False))
        held[segment][code] = (max(old_score, float(score)), old_accepted or state == "accepted")
    return held


def _evidence(hypothesis: Hypothesis, held) -> tuple[list[dict], list[dict]]:
    """Rows of supporting and contradicting segments, applying the absorption rule."""
    sides: tuple[list[dict], list[dict]] = ([], [])
    for segment_id, codes in held.items():
        against = [item for item in hypothesis.contradicted_by if set(item) <= codes.keys()]
        support = [item for item in hypothesis.supported_by if set(item) <= codes.keys()
                   and not any(set(item) <= set(c) for c in against)]
        for rows, matched in zip(sides, (support, against), strict=True):
            if matched:
                accepted = any(all(codes[c][1] for c in m) for m in matched)
                rows.append({"segment_id": segment_id,
                             "codes": "; ".join(" + ".join(m) for m in matched),
                             "score": max(min(codes[c][0] for c in m) for m in matched),
                             "status": "accepted" if accepted else "suggested"})
    return sides


def _frame(rows: list[dict], segments):
    """Evidence rows joined with their segments, in reading order (``start`` kept for ranking)."""
    import pandas as pd

    evidence = pd.DataFrame(rows, columns=["segment_id", "codes", "score", "status"])
    frame = evidence.merge(segments.drop(columns=["segment_id"]), left_on="segment_id",
                           right_index=True, how="inner")
    columns = [c for c in segments.columns if c != "start"] + ["codes", "score", "status", "start"]
    return frame.sort_values(["document_id", "start"], kind="stable").reset_index(drop=True)[columns]


def _support(hypothesis, held, segments, settings, basis, quotes, language) -> HypothesisSupport:
    rows_for, rows_against = _evidence(hypothesis, held)
    supporting, contradicting = _frame(rows_for, segments), _frame(rows_against, segments)
    counts = {**_counts(supporting, "supporting"), **_counts(contradicting, "contradicting")}
    verdict, rule = _verdict(counts, settings, language)
    return HypothesisSupport(
        hypothesis.id, hypothesis.statement, verdict, _WORDS[language][verdict], rule,
        basis, supporting.drop(columns=["start"]), contradicting.drop(columns=["start"]),
        _by_group(supporting, contradicting, segments), _quotes(supporting, quotes),
        _quotes(contradicting, quotes), counts, dict(settings), language)


def _counts(frame, side: str) -> dict:
    accepted = frame[frame.status == "accepted"]
    return {f"{side}_segments": len(frame), f"{side}_accepted_segments": len(accepted),
            f"{side}_suggested_segments": len(frame) - len(accepted),
            f"{side}_participants": int(frame.participant_id.nunique()),
            f"{side}_accepted_participants": int(accepted.participant_id.nunique())}


def _by_group(supporting, contradicting, segments):
    """Segments (all, accepted) and participants per participant, role, establishment; all groups."""
    import pandas as pd

    parts = []
    for column in [c for c in _GROUPS if c in segments.columns and segments[c].notna().any()]:
        values = sorted(segments[column].dropna().astype(str).unique())
        tallies = [_tally(frame, column, side).reindex(values, fill_value=0)
                   for frame, side in ((supporting, "supporting"), (contradicting, "contradicting"))]
        part = pd.concat(tallies, axis=1).rename_axis("group").reset_index()
        part.insert(0, "by", column)
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["by", "group"])


def _tally(frame, column: str, side: str):
    grouped = frame.assign(key=frame[column].astype(str),
                           accepted=frame.status.eq("accepted")).groupby("key")
    tally = grouped.agg(segments=("segment_id", "size"), accepted_segments=("accepted", "sum"),
                        participants=("participant_id", "nunique")).astype(int)
    return tally.add_prefix(f"{side}_")


def _quotes(frame, n: int):
    """The ``n`` strongest quotes, varied: new roles first, then new participants, then the rest.

    Candidates are ranked by score (ties by document and position); three greedy
    passes over that ranking take a quote whose role is not yet quoted, then one
    whose participant is not yet quoted, then any; the chosen quotes are returned
    in ranking order, their text verbatim.
    """
    import pandas as pd

    ranked = frame.sort_values(["score", "document_id", "start"], ascending=[False, True, True],
                               kind="stable").to_dict("records")
    for row in ranked:
        row["role_key"] = row["role"] if isinstance(row["role"], str) else row["participant_id"]
    chosen: list[int] = []
    for key in ("role_key", "participant_id", None):
        for i, row in enumerate(ranked):
            seen = {ranked[j][key] for j in chosen} if key else set()
            if len(chosen) < n and i not in chosen and (key is None or row[key] not in seen):
                chosen.append(i)
    columns = ["rank", "quote", "speaker", "participant_id", "role", "document_id", "segment_id",
               "codes", "score", "status"]
    return pd.DataFrame([{**ranked[i], "rank": rank, "quote": ranked[i]["text"]}
                         for rank, i in enumerate(sorted(chosen), 1)], columns=columns)


def _verdict(counts: dict, settings: dict, language: str) -> tuple[str, str]:
    """The first verdict whose conditions all hold, and the checks written out with their numbers."""
    w = _WORDS[language]
    sp, ss, cp = (counts["supporting_participants"], counts["supporting_segments"],
                  counts["contradicting_participants"])
    n, m, r = settings["min_participants"], settings["min_segments"], settings["contested_ratio"]
    limit = round(r * sp, 9)  # so that 0.1 × 30 is shown and compared as 3
    ratio = f"contested_ratio × {w['sp']} ({_num(r, language)} × {sp} = {_num(limit, language)})"
    checks = {
        "supported": [(w["sp"], sp, ">=", f"min_participants ({n})", n),
                      (w["ss"], ss, ">=", f"min_segments ({m})", m),
                      (w["cp"], cp, "<", ratio, limit)],
        "contested": [(w["sp"], sp, ">=", f"min_participants ({n})", n),
                      (w["cp"], cp, ">=", f"min_participants ({n})", n)],
        "partly supported": [(w["sp"], sp, ">", f"{w['cp']} ({cp})", cp)],
    }
    parts = []
    for verdict, conditions in checks.items():
        held = [{">=": v >= b, "<": v < b, ">": v > b}[op] for _, v, op, _, b in conditions]
        shown = [f"{name} ({value}) {_HOLDS[op][0 if ok else 1]} {right}"
                 for (name, value, op, right, _), ok in zip(conditions, held, strict=True)]
        if all(held):
            parts.append(w["check"].format(w[verdict], w["yes"]) + f" {w['and']} ".join(shown))
            return verdict, w["sep"].join(parts) + "."
        parts.append(w["check"].format(w[verdict], w["no"]) + shown[held.index(False)])
    parts.append(w["last"].format(w["not supported"]))
    return "not supported", w["sep"].join(parts) + "."


def _num(value: float, language: str) -> str:
    text = f"{value:g}"
    return text.replace(".", ",") if language == "fr" else text


def hypotheses_frame(support_list: list[HypothesisSupport]):
    """One row per hypothesis: statement, verdict and the evidence counts, all and by status.

    Examples
    --------
    >>> hypotheses_frame(hypothesis_support(results)).columns[:4].tolist()  # doctest: +SKIP
    ['hypothesis_id', 'statement', 'verdict', 'verdict_label']
    """
    import pandas as pd

    return pd.DataFrame([{"hypothesis_id": s.hypothesis_id, "statement": s.statement,
                          "verdict": s.verdict, "verdict_label": s.verdict_label, **s.counts}
                         for s in support_list])


def to_dict(support_list: list[HypothesisSupport]) -> dict:
    """Everything as JSON-ready lists and dicts (NaN → None); evidence segments without their text.

    Examples
    --------
    >>> json.dumps(to_dict(hypothesis_support(results)), ensure_ascii=False)  # doctest: +SKIP
    """

    def records(frame) -> list[dict]:
        return json.loads(frame.to_json(orient="records", force_ascii=False)) if len(frame) else []

    return {"basis": support_list[0].basis if support_list else "",
            "hypotheses": [{
                "hypothesis_id": s.hypothesis_id, "statement": s.statement, "verdict": s.verdict,
                "verdict_label": s.verdict_label, "rule": s.rule, "basis": s.basis,
                "settings": dict(s.settings), "counts": dict(s.counts),
                "by_group": records(s.by_group), "quotes_for": records(s.quotes_for),
                "quotes_against": records(s.quotes_against),
                "supporting": records(s.supporting.drop(columns=["text"])),
                "contradicting": records(s.contradicting.drop(columns=["text"]))}
                for s in support_list]}


def to_markdown(support_list: list[HypothesisSupport]) -> str:
    """A Markdown report in the codebook's language: verdicts, rules, verbatim quotes, counts by group.

    Examples
    --------
    >>> print(to_markdown(hypothesis_support(results)))  # doctest: +SKIP
    """
    w = _WORDS[support_list[0].language if support_list else "en"]
    counts = [f"{w['ss']} ({w['accepted']})", w["sp"], f"{w['cs']} ({w['accepted']})", w["cp"]]
    summary = [(s.hypothesis_id, s.verdict_label, *_cells(s.counts)) for s in support_list]
    lines = [f"# {w['title']}", "", w["basis"] + (support_list[0].basis if support_list else ""), "",
             *_table([*w["heads"][:2], *counts], summary)]
    for s in support_list:
        lines += ["", f"## {s.hypothesis_id} — {s.verdict_label}", "", f"*{s.statement}*", "",
                  w["rule"] + s.rule, ""]
        for title, frame in ((w["for"], s.quotes_for), (w["against"], s.quotes_against)):
            lines += [f"### {title}", "", *(_quote_lines(frame) or [w["none"], ""])]
        rows = [(r["by"], r["group"], *_cells(r)) for r in s.by_group.to_dict("records")]
        lines += [f"### {w['groups']}", "", *_table([*w["heads"][2:], *counts], rows)]
    return "\n".join(lines) + "\n"


def _cells(c: dict) -> tuple:
    """Segments (accepted) and participants for and against, from counts or a by_group row."""
    return (f"{c['supporting_segments']} ({c['supporting_accepted_segments']})",
            c["supporting_participants"],
            f"{c['contradicting_segments']} ({c['contradicting_accepted_segments']})",
            c["contradicting_participants"])


def _quote_lines(frame) -> list[str]:
    lines = []
    for q in frame.itertuples():
        who = q.speaker + (f", {q.role}" if isinstance(q.role, str) and q.role != q.speaker else "")
        lines += [*(f"> {line}" for line in q.quote.split("\n")),
                  f"> — {who} ({q.document_id}; {q.codes}; {q.score:.2f}, {q.status})", ""]
    return lines


def _table(header, rows) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(str(v).replace("|", "\\|").replace("\n", " ") for v in row) + " |"
              for row in rows)]
