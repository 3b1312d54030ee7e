"""The learning benchmarks the README quotes run on a results folder of the bundled interviews."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True,
                          text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_learning_curve_grows_with_the_hand_coded_interviews(bundled_run):
    rows = [line.split() for line in run("learning_curve.py", "--results", str(bundled_run.folder))
            .splitlines()[1:]]
    assert [int(r[0]) for r in rows] == [2, 4, 6, 8, 10]
    segments = [int(r[1]) for r in rows]
    assert segments == sorted(segments) and segments[-1] > 1000
    codes, themes = [float(r[2]) for r in rows], [float(r[3]) for r in rows]
    assert all(0.0 <= f <= 1.0 for f in codes + themes)
    assert codes[-1] > codes[0] and themes[-1] >= codes[-1]  # more examples help; themes are easier


@pytest.mark.slow
def test_learning_cv_chooses_settings_on_the_development_interviews(bundled_run):
    shown = run("learning_cv.py", "--results", str(bundled_run.folder), "--gold",
                str(ROOT / "gold" / "ds-ia-sante-dev.csv"), "--quick")
    assert shown.startswith("10 development interviews, 1507 segments, 1787 codings")
    alone = re.search(r"rules/similarity alone on the same segments: codes micro-F1 ([\d.]+)", shown)
    chosen = re.search(r"chosen: context previous\+question, C=1.0, threshold ([\d.]+) "
                       r"\(codes micro-F1 ([\d.]+), themes ([\d.]+)\)", shown)
    assert alone and chosen, shown
    assert float(chosen[2]) > float(alone[1])  # the classifier adds to the rules, out of fold
