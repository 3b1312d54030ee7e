"""Convert the LabForSims2 dialogues into qualcode transcripts and gold codings.

Source data: LabForSims2 corpus, Copyright (c) 2020 CEA LIST, licensed CC BY-SA 4.0
(Laleye, de Chalendar, Blanié, Brouquet, Behnamou, "A French Medical Conversations Corpus
Annotated for a Virtual Patient Dialogue System", LREC 2020, pp. 574-580).  Everything this
script writes is adapted material and is shared under CC BY-SA 4.0 as well (see LICENSE).

Usage (from the repository root)::

    python benchmarks/labforsims2/convert.py --out /tmp/lfs2 [--source PATH]

Writes, under ``--out``:

* ``transcripts/consultation_NN.txt``: one line per turn, ``Médecin : …`` / ``Patient : …``
  (UTF-8, NFC, ``\\n`` newlines);
* ``transcripts/participants.csv``: the two speaker labels (neither is an interviewer);
* ``gold_train.csv`` (dialogues 01-20) and ``gold_test.csv`` (21-41): one row per doctor turn,
  ``document_id,start,end,code_id,speaker``, with Python string offsets of the turn's text
  (after ``Médecin : ``) in the file text as written, and the category slug as ``code_id``;
* ``split.json``: dialogues per split, category counts per split, the majority-class
  baseline, and the data problems that were handled.

Source format (``dialogues/InterneNN/dialogues``): ``<ID> <text>`` per line, with ID
``{d|p}{dialogue:2}{category:2}{subcategory:3}{turn index}``; doctor (d) and patient (p)
lines alternate and a patient line repeats its doctor line's codes.

Edge cases handled explicitly (anything else unexpected stops the script with file:line):

* blank or whitespace-only lines are skipped (none in the 2019 release);
* a missing final newline, a byte-order mark or CRLF line ends are tolerated;
* spaces (including the no-break spaces before ``?``) at the start and end of a turn's text
  are dropped, because qualcode trims turns; the text inside a turn is kept as is (casing,
  no-break spaces, ``…``, double spaces);
* a turn with no text left would give qualcode no turn: such a line is dropped (and a doctor
  turn without text is not a gold row); none in the 2019 release;
* ``Interne02`` holds its dialogue twice: after 25 exchanges the turn index restarts at 0 and
  the 50 lines repeat lines 1-50 exactly.  A repeat like that (the whole prefix of the file,
  verbatim, from the restart on) is dropped; ``--keep-duplicates`` keeps it, which reproduces
  the upstream counts (909 doctor turns).  A restart that is not an exact repeat is an error;
* IDs are checked: the pattern above, the dialogue number equal to the folder's, the
  category among 00-06, d/p alternation, the patient ID equal to the doctor ID before it.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

DEFAULT_SOURCE = (Path(__file__).resolve().parents[3]
                  / "shared/datasets/labforsims2-fr-medical-dialogues")

#: Category codes of the corpus (``categories_ids`` in the upstream script) → code ids.
CATEGORIES = {
    "00": "sujet_consultation",  # sujetconsultation: reason for the visit
    "01": "identite",            # personal: identity
    "02": "mode_de_vie",         # modevie: lifestyle
    "03": "traitement",          # traitement: treatment
    "04": "antecedents",         # antecedent: medical history
    "05": "symptomes",           # symptome: symptoms
    "06": "autre",               # unknow: other
}

DOCTOR, PATIENT = "Médecin", "Patient"
LABELS = {"d": DOCTOR, "p": PATIENT}
SEPARATOR = " : "
PARTICIPANTS = [
    {"speaker": DOCTOR, "participant_id": "medecin", "role": "médecin"},
    {"speaker": PATIENT, "participant_id": "patient", "role": "patient"},
]

TRAIN = range(1, 21)   # dialogues 01-20: tuning
TEST = range(21, 42)   # dialogues 21-41: held out
GOLD_COLUMNS = ["document_id", "start", "end", "code_id", "speaker"]

_ID = re.compile(r"(?P<speaker>[dp])(?P<dialogue>\d{2})(?P<category>\d{2})"
                 r"(?P<subcategory>\d{3})(?P<turn>\d+)")
_FOLDER = re.compile(r"Interne(\d{2})")


class DataError(Exception):
    """The source does not look like the LabForSims2 release this script was written for."""


def document_id(number: int) -> str:
    return f"consultation_{number:02d}"


def read_lines(path: Path) -> list[tuple[int, str]]:
    """``(line number, line)`` of a dialogue file, blank lines left out."""
    text = path.read_bytes().decode("utf-8-sig")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [(i, line) for i, line in enumerate(text.split("\n"), start=1) if line.strip()]


def parse_dialogue(path: Path, number: int, notes: list[str],
                   keep_duplicates: bool = False) -> list[dict]:
    """The turns of one dialogue file, checked; see the module docstring for the rules."""
    turns = []
    for lineno, line in read_lines(path):
        where = f"{path}:{lineno}"
        ident, sep, rest = line.partition(" ")
        match = _ID.fullmatch(ident)
        if not sep or match is None:
            raise DataError(f"{where}: line does not start with an ID and a space: {ident[:20]!r}")
        if int(match["dialogue"]) != number:
            raise DataError(f"{where}: ID {ident} names dialogue {match['dialogue']}, "
                            f"not {number:02d}")
        if match["category"] not in CATEGORIES:
            raise DataError(f"{where}: ID {ident} has unknown category {match['category']}")
        turns.append({"line": lineno, "id": ident, "speaker": match["speaker"],
                      "category": match["category"], "subcategory": match["subcategory"],
                      "turn": int(match["turn"]), "text": unicodedata.normalize("NFC", rest)})
    if not turns:
        raise DataError(f"{path}: no turns")

    for k, turn in enumerate(turns):
        expected = "d" if k % 2 == 0 else "p"
        if turn["speaker"] != expected:
            raise DataError(f"{path}:{turn['line']}: expected a {LABELS[expected]} line, "
                            f"got {turn['id']}")
        if expected == "p" and turn["id"][1:] != turns[k - 1]["id"][1:]:
            raise DataError(f"{path}:{turn['line']}: patient ID {turn['id']} does not repeat "
                            f"the doctor ID {turns[k - 1]['id']}")
    if len(turns) % 2:
        notes.append(f"{path.parent.name}: last doctor turn has no patient answer")

    turns = drop_repeat(path, turns, notes, keep_duplicates)

    kept = []
    for turn in turns:
        turn["text"] = turn["text"].strip()
        if not turn["text"]:
            notes.append(f"{path.parent.name} line {turn['line']} ({turn['id']}): "
                         "no text; turn dropped")
            continue
        kept.append(turn)
    return kept


def drop_repeat(path: Path, turns: list[dict], notes: list[str],
                keep_duplicates: bool) -> list[dict]:
    """Drop a verbatim repeat of the dialogue that follows a restart of the turn index."""
    doctor = [k for k, t in enumerate(turns) if t["speaker"] == "d"]
    restarts = [k for k in doctor[1:] if turns[k]["turn"] <= turns[k - 2]["turn"]]
    if not restarts:
        return turns
    first = restarts[0]
    tail = turns[first:]
    head = turns[:len(tail)]
    same = len(tail) <= first and all(
        (a["id"], a["text"]) == (b["id"], b["text"]) for a, b in zip(head, tail, strict=True))
    if not same:
        raise DataError(f"{path}:{turns[first]['line']}: turn index restarts at "
                        f"{turns[first]['id']} but the lines that follow are not a repeat")
    if keep_duplicates:
        notes.append(f"{path.parent.name}: lines {tail[0]['line']}-{tail[-1]['line']} repeat "
                     f"lines {head[0]['line']}-{head[-1]['line']} verbatim; kept "
                     "(--keep-duplicates)")
        return turns
    notes.append(f"{path.parent.name}: lines {tail[0]['line']}-{tail[-1]['line']} repeat "
                 f"lines {head[0]['line']}-{head[-1]['line']} verbatim (turn index restarts at 0); "
                 f"the repeat ({len(tail) // 2} exchanges) is dropped")
    return turns[:first]


def write_transcript(path: Path, turns: list[dict]) -> tuple[str, list[dict]]:
    """Write one transcript; return its text and a gold row per doctor turn."""
    lines, gold, offset = [], [], 0
    for turn in turns:
        label = LABELS[turn["speaker"]]
        line = f"{label}{SEPARATOR}{turn['text']}"
        if "\n" in line:
            raise DataError(f"{turn['id']}: a turn's text holds a line break")
        if turn["speaker"] == "d":
            start = offset + len(label) + len(SEPARATOR)
            gold.append({"start": start, "end": start + len(turn["text"]),
                         "code_id": CATEGORIES[turn["category"]], "speaker": DOCTOR,
                         "text": turn["text"]})
        lines.append(line)
        offset += len(line) + 1
    text = unicodedata.normalize("NFC", "\n".join(lines) + "\n")
    path.write_text(text, encoding="utf-8", newline="\n")
    written = path.read_text(encoding="utf-8")
    assert written == text, path
    for row in gold:
        assert written[row["start"]:row["end"]] == row["text"], (path, row)
        assert written[row["start"] - len(SEPARATOR) - len(DOCTOR):row["start"]] == \
            DOCTOR + SEPARATOR, (path, row)
    return text, gold


def find_dialogues(source: Path) -> dict[int, Path]:
    folder = source / "dialogues"
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (pass --source)")
    found = {}
    for entry in sorted(folder.iterdir()):
        match = _FOLDER.fullmatch(entry.name)
        if not entry.is_dir():
            continue  # the upstream dialogues.py would sit here; it was not copied
        if match is None:
            raise DataError(f"{entry}: unexpected folder name")
        if not (entry / "dialogues").is_file():
            raise DataError(f"{entry}: no 'dialogues' file")
        found[int(match[1])] = entry / "dialogues"
    expected = set(TRAIN) | set(TEST)
    if set(found) != expected:
        missing = sorted(expected - set(found))
        extra = sorted(set(found) - expected)
        raise DataError(f"{folder}: expected dialogues 01-41; missing {missing}, extra {extra}")
    return found


def majority_baseline(train: Counter, test: Counter) -> dict:
    majority = max(sorted(train), key=lambda c: train[c])
    total = sum(test.values())
    return {"majority_train_category": majority, "test_turns": total,
            "test_correct": test[majority],
            "test_accuracy": round(test[majority] / total, 4) if total else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help=f"LabForSims2 folder (default: {DEFAULT_SOURCE})")
    parser.add_argument("--keep-duplicates", action="store_true",
                        help="keep Interne02's verbatim repeat (upstream counts, 909 doctor turns)")
    args = parser.parse_args(argv)

    try:
        dialogues = find_dialogues(args.source)
        notes: list[str] = []
        parsed = {n: parse_dialogue(path, n, notes, args.keep_duplicates)
                  for n, path in sorted(dialogues.items())}
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    transcripts = args.out / "transcripts"
    transcripts.mkdir(parents=True, exist_ok=True)
    gold = {"train": [], "test": []}
    turn_counts = {"train": 0, "test": 0}
    for number, turns in parsed.items():
        doc = document_id(number)
        _, rows = write_transcript(transcripts / f"{doc}.txt", turns)
        split = "train" if number in TRAIN else "test"
        gold[split].extend({"document_id": doc, **row} for row in rows)
        turn_counts[split] += len(turns)

    with open(transcripts / "participants.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["speaker", "participant_id", "role"],
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(PARTICIPANTS)

    for split, rows in gold.items():
        with open(args.out / f"gold_{split}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=GOLD_COLUMNS, extrasaction="ignore",
                                    lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    # Check the gold files as written against the transcripts as written.
    for split in gold:
        with open(args.out / f"gold_{split}.csv", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                text = (transcripts / f"{row['document_id']}.txt").read_text(encoding="utf-8")
                start, end = int(row["start"]), int(row["end"])
                line_start = text.rfind("\n", 0, start) + 1
                line_end = text.find("\n", end)
                assert text[line_start:start] == DOCTOR + SEPARATOR, row
                assert line_end == end and text[start:end] == text[start:end].strip(), row

    counts = {split: Counter(r["code_id"] for r in rows) for split, rows in gold.items()}
    order = list(CATEGORIES.values())
    summary = {
        "source": "LabForSims2 (CEA LIST, CC BY-SA 4.0), dialogues/InterneNN/dialogues",
        "categories": {code: slug for code, slug in CATEGORIES.items()},
        "keep_duplicates": args.keep_duplicates,
        "notes": notes,
        "majority_baseline": majority_baseline(counts["train"], counts["test"]),
        "all_dialogues_majority_accuracy": round(
            max((counts["train"] + counts["test"]).values())
            / sum((counts["train"] + counts["test"]).values()), 4),
    }
    for split, numbers in (("train", TRAIN), ("test", TEST)):
        summary[split] = {
            "dialogues": [f"{n:02d}" for n in numbers],
            "documents": [document_id(n) for n in numbers],
            "turns": turn_counts[split],
            "doctor_turns": len(gold[split]),
            "category_counts": {c: counts[split][c] for c in order},
        }
    summary = {k: summary[k] for k in ("source", "categories", "train", "test",
                                       "majority_baseline", "all_dialogues_majority_accuracy",
                                       "keep_duplicates", "notes")}
    (args.out / "split.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n",
                                         encoding="utf-8")

    print(f"wrote {len(parsed)} transcripts to {transcripts}")
    for note in notes:
        print(f"note: {note}")
    width = max(len(c) for c in order)
    print(f"{'category':<{width}}  train   test")
    for c in order:
        print(f"{c:<{width}}  {counts['train'][c]:5d}  {counts['test'][c]:5d}")
    print(f"{'doctor turns':<{width}}  {len(gold['train']):5d}  {len(gold['test']):5d}")
    base = summary["majority_baseline"]
    print(f"majority baseline on test (always {base['majority_train_category']}): "
          f"{base['test_correct']}/{base['test_turns']} = {base['test_accuracy']:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
