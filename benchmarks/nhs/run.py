"""NHS patient feedback: held-out accuracy of qualcode's CodeClassifier on English comments.

Trains :class:`qualcode.learning.CodeClassifier` on human-coded NHS Friends and Family Test
comments (pxtextmining "v6 framework", MIT, Copyright (c) 2021 NHS England) and scores it on
a held-out 20 %, next to the figures the pxtextmining project published (see README.md).

Protocol (after pxtextmining, as far as the public 2-trust file allows)
-----------------------------------------------------------------------
Labels
    The 50 one-hot columns minus the six pxtextmining left out of its v6 models (Safeguarding
    concerns?, Psychological therapy arrangements, Existence of services, Choice of services,
    Out of hours support (community services), Learning organisation): 44 codes.
Rows, run ``strict`` (the primary figures)
    Drop rows with no answer (empty, or a value pandas reads as missing, such as "None", as
    pxtextmining's ``read_csv`` did), rows answering "Did not answer", and rows whose only label is
    "Labelling not possible".  In this file that label occurs only on those rows, so it
    disappears: 43 codes.
Rows, run ``pxtextmining``
    pxtextmining's own filtering: drop rows with no answer (as above) or none of the 44 labels;
    "Did not answer" rows stay, labelled "Labelling not possible" (which a model gets right
    trivially); averages are also given without that code.
Text
    Line breaks to spaces, digits removed, ``, . -`` to spaces, other ASCII punctuation
    removed, lower-cased, spaces collapsed (as pxtextmining's ``remove_punc_and_nums``); rows
    left empty are dropped.  The question asked is not used (pxtextmining added it as a feature).
Split and scores
    ``qualcode.learning.evaluate_split``: ``train_test_split(test_size=0.2, random_state=42)``
    (shuffled, not stratified) over the rows in file order; per code precision, recall, F1 and
    Cohen's kappa on presence; micro averages over every code x comment; macro averages over
    the codes present in the test part (codes too rare to train count, with F1 0).
Model
    ``CodeClassifier()`` defaults (threshold 0.5), and in run ``strict_tuned`` the same with
    ``tune_thresholds=True`` (per-code thresholds tuned for F1 on 20 % of the training part).

Usage::

    python benchmarks/nhs/run.py --json nhs.json            # all runs, about a minute on 2 cores
    python benchmarks/nhs/run.py --runs strict --sample 1500 --json small.json
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import string
import sys
import time
from pathlib import Path

DATA = (Path(__file__).resolve().parents[3]
        / "shared/datasets/nhs-fft-patient-feedback/v6framework_230831.csv")
TEXT = "FFT answer"
LAST_FEATURE = "Comment sentiment"  # the label columns follow this one
EXCLUDED = ("Safeguarding concerns?", "Psychological therapy arrangements", "Existence of services",
            "Choice of services", "Out of hours support (community services)", "Learning organisation")
NOT_POSSIBLE = "Labelling not possible"
RUNS = ("strict", "strict_tuned", "pxtextmining")

#: Published by pxtextmining (dataset README), trained and tested on a larger non-public 6-trust dataset.
PEER = {
    "source": "pxtextmining (github.com/The-Strategy-Unit/pxtextmining), as quoted in the dataset README",
    "protocol": "6-trust dataset (this file is a 2-trust public subset), train_test_split(test_size=0.2, "
                "random_state=42), rows with no text or no label dropped, digits removed and lower-cased "
                "for the scikit-learn models, question type as an extra feature",
    "v6_44_labels": {"TF-IDF + one-vs-rest SVC": {"micro_f1": 0.70, "macro_f1": 0.58},
                     "XGBoost": {"micro_f1": 0.72, "macro_f1": 0.51},
                     "DistilBERT": {"micro_f1": 0.72, "macro_f1": 0.58}},
    "v7_32_merged_labels_not_this_file": {"SVC": {"micro_f1": 0.71, "macro_f1": 0.64},
                                          "DistilBERT": {"micro_f1": 0.75, "macro_f1": 0.67},
                                          "ensemble": {"micro_f1": 0.77, "macro_f1": 0.71}},
}

_DROP = str.maketrans({**{c: " " for c in ",.-\n\r"},
                       **{c: None for c in string.punctuation if c not in ",.-"}})


def clean(text: str) -> str:
    """Lower-case, digits and punctuation removed, spaces collapsed."""
    text = text.replace("â€™", "'")
    text = re.sub(r"\d", "", text).translate(_DROP)
    return " ".join(text.lower().split())


def load(source: Path, protocol: str, sample: int | None = None):
    """Texts, label sets, code columns and row counts of one protocol."""
    import pandas as pd

    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    columns = list(frame.columns)
    labels = [c for c in columns[columns.index(LAST_FEATURE) + 1:] if c not in EXCLUDED]
    given = frame[labels].apply(lambda column: column.str.strip() == "1")
    answer = frame[TEXT].str.strip()
    # pxtextmining read the file with pandas' default missing values: "None", "N/A"… are no text
    missing = pd.read_csv(source, usecols=[TEXT], dtype=str)[TEXT].isna()
    keep = (answer != "") & ~missing & given.any(axis=1)
    if protocol == "strict":
        only_not_possible = given[NOT_POSSIBLE] & (given.sum(axis=1) == 1)
        keep &= (answer != "Did not answer") & ~only_not_possible
    texts = frame[TEXT].map(clean)
    keep &= texts != ""
    if protocol == "strict" and not given.loc[keep, NOT_POSSIBLE].any():
        labels.remove(NOT_POSSIBLE)
    rows = frame.index[keep]
    if sample is not None and sample < len(rows):
        rows = pd.Index(sorted(pd.Series(rows).sample(n=sample, random_state=42)))
    label_sets = [{c for c in labels if given.at[i, c]} for i in rows]
    counts = {"rows_in_file": len(frame), "rows_used": len(rows),
              "dropped": len(frame) - int(keep.sum()), "sampled": sample is not None}
    return texts.loc[rows].tolist(), label_sets, labels, counts


def run_one(name: str, source: Path, sample: int | None, n_jobs: int) -> dict:
    from qualcode.learning import evaluate_split

    protocol = "pxtextmining" if name == "pxtextmining" else "strict"
    texts, labels, codes, counts = load(source, protocol, sample)
    started = time.perf_counter()
    result = evaluate_split(texts, labels, codes=codes, test_size=0.2, random_state=42,
                            tune_thresholds=name == "strict_tuned", n_jobs=n_jobs)
    result = {"run": name, "protocol": protocol, **counts,
              "seconds": round(time.perf_counter() - started, 1), **result}
    if NOT_POSSIBLE in codes:
        result["without_labelling_not_possible"] = _averages_without(result["per_code"], NOT_POSSIBLE)
    return result


def _averages_without(rows: list[dict], code: str) -> dict:
    """Micro and macro P/R/F1 recomputed from the per-code counts, leaving one code out."""
    kept = [r for r in rows if r["code_id"] != code]
    tp, fp, fn = (sum(r[k] for r in kept) for k in ("tp", "fp", "fn"))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    present = [r for r in kept if r["support"] > 0]
    return {"micro": {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)},
            "macro": {m: round(sum(r[m] for r in present) / len(present), 4) if present else None
                      for m in ("precision", "recall", "f1")} | {"codes": len(present)}}


def _fmt(value) -> str:
    return "—" if value is None else f"{round(value, 2) + 0.0:.2f}"  # + 0.0: no "-0.00"


def report(results: list[dict]) -> str:
    lines = []
    first = results[0]
    lines.append(f"Per code, run {first['run']} ({first['protocol']} rows, threshold "
                 f"{'tuned' if first['run'] == 'strict_tuned' else '0.5'}), held-out "
                 f"{first['n_test']} comments:")
    width = max(len(r["code_id"]) for r in first["per_code"])
    lines.append(f"{'code':<{width}}  {'train+':>6} {'test+':>5} {'pred':>5}  "
                 f"{'P':>4} {'R':>4} {'F1':>4} {'kappa':>5}  model")
    for row in sorted(first["per_code"], key=lambda r: (-r["support"], r["code_id"])):
        lines.append(f"{row['code_id']:<{width}}  {row['train_positives']:>6} {row['support']:>5} "
                     f"{row['predicted']:>5}  {_fmt(row['precision']):>4} {_fmt(row['recall']):>4} "
                     f"{_fmt(row['f1']):>4} {_fmt(row['kappa']):>5}  {row['model']}")
    lines.append("")
    lines.append(f"{'run':<34} {'rows':>5} {'train/test':>10} {'codes':>5} {'trained':>7}  "
                 f"{'micro P':>7} {'R':>4} {'F1':>4} {'kappa':>5}  {'macro F1':>8} {'kappa':>5} {'s':>5}")
    for r in results:
        lines.append(f"{r['run']:<34} {r['rows_used']:>5} {r['n_train']:>5}/{r['n_test']:<4} "
                     f"{len(r['codes']):>5} {len(r['trained']):>7}  {_fmt(r['micro']['precision']):>7} "
                     f"{_fmt(r['micro']['recall']):>4} {_fmt(r['micro']['f1']):>4} "
                     f"{_fmt(r['micro']['kappa']):>5}  {_fmt(r['macro']['f1']):>8} "
                     f"{_fmt(r['macro']['kappa']):>5} {r['seconds']:>5.1f}")
        other = r.get("without_labelling_not_possible")
        if other:
            lines.append(f"{'  same, without ' + NOT_POSSIBLE:<34} {'':>5} {'':>10} "
                         f"{len(r['codes']) - 1:>5} {'':>7}  {_fmt(other['micro']['precision']):>7} "
                         f"{_fmt(other['micro']['recall']):>4} {_fmt(other['micro']['f1']):>4} "
                         f"{'':>5}  {_fmt(other['macro']['f1']):>8}")
    lines.append("")
    lines.append("Published by pxtextmining (larger non-public 6-trust dataset, 44 v6 labels, "
                 "question type as a feature; a reference point, not a leaderboard):")
    for model, scores in PEER["v6_44_labels"].items():
        lines.append(f"  {model:<26} micro-F1 {scores['micro_f1']:.2f}  macro-F1 {scores['macro_f1']:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DATA, help="v6framework_230831.csv")
    parser.add_argument("--runs", nargs="+", choices=RUNS, default=list(RUNS),
                        help="which runs (default: all)")
    parser.add_argument("--sample", type=int, default=None,
                        help="use only this many rows (drawn with random_state=42 after filtering)")
    parser.add_argument("--n-jobs", type=int, default=2, help="codes trained in parallel")
    parser.add_argument("--json", type=Path, default=None, help="write every figure to this file")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"{args.source}: no such file; pass --source", file=sys.stderr)
        return 2
    results = [run_one(name, args.source, args.sample, args.n_jobs) for name in args.runs]
    print(report(results))
    if args.json is not None:
        import pandas
        import sklearn

        from qualcode import __version__

        payload = {
            "benchmark": "nhs-fft-v6 held-out evaluation of qualcode.learning.CodeClassifier",
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "command": " ".join(["python", "benchmarks/nhs/run.py", *(argv or sys.argv[1:])]),
            "dataset": {"path": str(args.source),
                        "sha256": hashlib.sha256(args.source.read_bytes()).hexdigest(),
                        "licence": "MIT, Copyright (c) 2021 NHS England (pxtextmining)"},
            "environment": {"qualcode": __version__, "python": platform.python_version(),
                            "scikit-learn": sklearn.__version__, "pandas": pandas.__version__,
                            "cpus": os.cpu_count(), "n_jobs": args.n_jobs},
            "peer": PEER,
            "runs": results,
        }
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
