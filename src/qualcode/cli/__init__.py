"""The ``qualcode`` command line: option parsing, one library call, and display.

User errors (:class:`~qualcode.errors.QualcodeError`) become one line on stderr
and exit code 2; library warnings are shown as ``warning:`` lines.

This module creates the Typer apps and registers every command, in the order of
``qualcode --help``; the commands live in :mod:`.coding`, :mod:`.codebook`,
:mod:`.analysis` and :mod:`.decisions`, the shared console and helpers in :mod:`.common`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from .analysis import export, freq, hypotheses, kwic, matrix
from .codebook import codebook_check, codebook_show
from .coding import code, evaluate, ingest, learn
from .common import err, out, user_errors
from .decisions import agreement_command, import_command, review

__all__ = ["app", "codebook_app", "err", "main", "out", "user_errors"]

app = typer.Typer(
    name="qualcode",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)
codebook_app = typer.Typer(help="Validate and display a thematic codebook.", no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")


def _version(value: bool) -> None:
    if value:
        out.print(f"qualcode {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Thematic coding of interview transcripts.

    Example: [bold]qualcode ingest transcripts/[/bold]
    """


app.command()(ingest)
app.command()(code)
app.command()(evaluate)
app.command()(matrix)
app.command()(hypotheses)
app.command()(kwic)
app.command()(freq)
app.command()(review)
app.command()(export)
app.command("import")(import_command)
app.command("agreement")(agreement_command)
app.command()(learn)
codebook_app.command("check")(codebook_check)
codebook_app.command("show")(codebook_show)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="qualcode")

