"""The interactive terminal review behind ``qualcode review`` (presentation only, like the cli package).

Each decision is written to the project store the moment a key is pressed, so
quitting — or losing the terminal — never loses work, and the next session
resumes with what is left.  Keys are read line by line from the console, which
also lets tests drive a session with scripted input.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from .review import apply_decisions, review_queue, turn_context
from .store import ProjectStore

KEYS = ("[bold]a[/bold]ccept  [bold]r[/bold]eject  re-[bold]c[/bold]ode  add a code ([bold]n[/bold])  "
        "[bold]m[/bold]emo  [bold]u[/bold]ndo  [bold]s[/bold]kip  [bold]q[/bold]uit")


def run_review(folder: Path, *, coder: str, order: str, code: str | None, console: Console) -> dict:
    """Walk the queue until it is empty or the reviewer quits; return counts of what was done."""
    from .results import load_results

    results = load_results(folder)
    labels = {c.id: c.label for c in results.codebook.codes}
    queue = review_queue(folder, coder=coder, order=order, code=code)
    done = {"decisions": 0, "skipped": 0, "remaining": len(queue)}
    position = 0
    with ProjectStore(folder) as store:
        while position < len(queue):
            row = queue.iloc[position]
            _show(console, results, row, labels, position, len(queue))
            key = console.input("> ").strip().lower()[:1]
            if key == "q":
                break
            if key == "s":
                done["skipped"] += 1
                position += 1
                continue
            if key == "u":
                if done["decisions"] <= 0:
                    console.print("[dim]nothing to undo in this session[/dim]")
                elif store.undo(coder) is not None:
                    done["decisions"] -= 1
                    queue = review_queue(folder, coder=coder, order=order, code=code)
                    position = 0
                    console.print("[dim]undone: the decision is back in the queue[/dim]")
                continue
            decision = _decision(key, row, labels, console)
            if decision is None:
                console.print(KEYS)
                continue
            action, new_code, memo = decision
            if action == "add":  # the added code is the decision's code
                store.decide(row.segment_id, new_code, "add", coder)
            else:
                store.decide(row.segment_id, row.code_id, action, coder, new_code_id=new_code,
                             memo=memo)
            done["decisions"] += 1
            if action not in ("memo", "add"):  # a memo or an added code leaves the suggestion to decide
                position += 1
    done["remaining"] = len(review_queue(folder, coder=coder, order=order, code=code))
    apply_decisions(folder)
    return done


def _decision(key: str, row, labels: dict, console: Console) -> tuple | None:
    """``(action, new_code_id, memo)`` for a key, asking what else is needed."""
    if key == "a":
        return ("accept", None, None)
    if key == "r":
        return ("reject", None, None)
    if key in ("c", "n"):
        answer = console.input("code id: ").strip()
        if answer not in labels:
            console.print(f"[red]unknown code {escape(answer)!r}[/red]; codes: "
                          + escape(", ".join(labels)))
            return None
        return ("recode", answer, None) if key == "c" else ("add", answer, None)
    if key == "m":
        return ("memo", None, console.input("memo: ").strip())
    return None


def _show(console: Console, results, row, labels: dict, position: int, total: int) -> None:
    context = turn_context(results, row.segment_id)
    lines = []
    for segment_id, text in context:
        style = "bold yellow" if segment_id == row.segment_id else "dim"
        lines.append(f"[{style}]{escape(text)}[/{style}]")
    question = row.question if isinstance(row.question, str) and row.question else "—"
    body = (f"[italic]Q: {escape(question)}[/italic]\n\n" + " ".join(lines) +
            f"\n\n[bold]{escape(row.code_id)}[/bold] — {escape(labels.get(row.code_id, ''))}"
            f"  score {row.score:.2f} ({escape(row.method)})\n[dim]{escape(row.evidence)}[/dim]")
    title = f"{position + 1}/{total} · {escape(str(row.speaker))} · {escape(row.segment_id)}"
    console.print(Panel(body, title=title, title_align="left"))
    console.print(KEYS)
