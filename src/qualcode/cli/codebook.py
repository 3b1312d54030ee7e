"""``qualcode codebook check`` and ``qualcode codebook show``: validate and display a codebook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.tree import Tree

from .common import out, user_errors


def codebook_check(
    file: Annotated[Path, typer.Argument(help="Codebook YAML file.", show_default=False)],
) -> None:
    """Validate a codebook and report every problem at once, with line and key.

    Example: [bold]qualcode codebook check codebooks/ds-ia-sante.yaml[/bold]
    """
    from ..codebook import load_codebook

    with user_errors():
        codebook = load_codebook(file)
        codes = codebook.codes
        out.print(f"{escape(str(file))}: ok — {len(codebook.themes)} themes, {len(codes)} codes, "
                  f"{len(codebook.hypotheses)} hypotheses")
        for note in _advice(codebook):
            out.print(f"  note: {escape(note)}")


def _advice(codebook) -> list[str]:
    """Things that are valid but weaken automatic coding."""
    notes = []
    for code in codebook.codes:
        if not code.definition:
            notes.append(f"code {code.id} has no definition")
        if not code.keywords and not code.patterns:
            notes.append(f"code {code.id} has no keywords or patterns: only similarity can find it")
        if len(code.examples) < 2:
            notes.append(f"code {code.id} has {len(code.examples)} example(s); "
                         "similarity needs a few")
    return notes


def codebook_show(
    file: Annotated[Path, typer.Argument(help="Codebook YAML file.", show_default=False)],
    definitions: Annotated[bool, typer.Option("--definitions", "-d",
                                              help="Show each code's definition.")] = False,
) -> None:
    """Show the codebook as a tree of themes and codes, then its hypotheses.

    Example: [bold]qualcode codebook show codebooks/ds-ia-sante.yaml --definitions[/bold]
    """
    from ..codebook import load_codebook

    with user_errors():
        codebook = load_codebook(file)
        title = codebook.title or codebook.name
        tree = Tree(f"[bold]{escape(title)}[/bold] (version {escape(codebook.version)}, "
                    f"{codebook.language})")
        for theme in codebook.themes:
            branch = tree.add(f"[bold]{escape(theme.label)}[/bold] [dim]{theme.id}[/dim]")
            _add_codes(branch, theme.codes, definitions)
        out.print(tree)
        for hyp in codebook.hypotheses:
            out.print(f"[bold]{escape(hyp.id)}[/bold] {escape(hyp.statement)}")
            out.print("  supported by: " + escape(_evidence(hyp.supported_by)))
            out.print("  contradicted by: " + escape(_evidence(hyp.contradicted_by)))


def _add_codes(branch, codes, definitions: bool) -> None:
    for code in codes:
        counts = (f"[dim]{code.id} · {len(code.keywords)} keywords · "
                  f"{len(code.examples)} examples[/dim]")
        node = branch.add(f"{escape(code.label)} {counts}")
        if definitions and code.definition:
            node.add(f"[italic]{escape(code.definition)}[/italic]")
        _add_codes(node, code.codes, definitions)


def _evidence(items) -> str:
    return ", ".join(" + ".join(item) for item in items) or "—"
