"""Shared by every command: the consoles, error and warning display, progress, and table output."""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import CodebookError, QualcodeError

# When piped, Rich would fall back to 80 columns and fold the tables; 120 keeps them readable.
_PIPE_WIDTH = None if sys.stdout.isatty() else 120
out = Console(highlight=False, width=_PIPE_WIDTH)
err = Console(stderr=True, highlight=False, width=_PIPE_WIDTH)

ResultsDir = Annotated[Path, typer.Argument(help="Results folder written by `qualcode code`.",
                                            show_default=False)]


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Show QualcodeError as one stderr line and exit 2; show warnings as ``warning:`` lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except CodebookError as exc:
            _show_warnings(caught)
            err.print(f"error: {escape(str(exc))}", soft_wrap=True)
            if len(exc.problems) > 1:
                for problem in exc.problems:
                    err.print(f"  {escape(str(problem))}", soft_wrap=True)
            raise typer.Exit(2) from None
        except QualcodeError as exc:
            _show_warnings(caught)
            err.print(f"error: {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(2) from None
        _show_warnings(caught)


def _show_warnings(caught) -> None:
    seen = set()
    for warning in caught:
        text = str(warning.message)
        if text not in seen and issubclass(warning.category, UserWarning):
            seen.add(text)
            err.print(f"warning: {escape(text)}", soft_wrap=True)


@contextlib.contextmanager
def progress_bar(description: str):
    """A transient progress bar on a terminal stderr; yields ``advance(item_name)``."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if not err.is_terminal:
        yield lambda _name: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[item]}"),
                  TimeElapsedColumn(), console=err, transient=True) as progress:
        task = progress.add_task(description, total=None, item="")
        yield lambda name: progress.update(task, advance=1, item=escape(str(name)))


def emit(frame, fmt: str, out_file: Path | None, title: str) -> None:
    """Show or write a DataFrame in the requested format (atomic when written to a file)."""
    from ..outputs import atomic_write

    if fmt not in ("table", "csv", "md", "xlsx"):
        raise typer.BadParameter(f"{fmt!r}; use table, csv, md or xlsx", param_hint="--format")
    if fmt == "xlsx":
        if out_file is None:
            raise typer.BadParameter("xlsx needs --out FILE", param_hint="--format")
        atomic_write(out_file, lambda tmp: frame.to_excel(tmp, engine="openpyxl"))
        out.print(f"Wrote {escape(str(out_file))}")
        return
    if fmt == "table":
        table = Table(title=escape(title))
        table.add_column(escape(str(frame.index.name or "")))
        for column in frame.columns:
            table.add_column(escape(" ".join(map(str, column)) if isinstance(column, tuple)
                                    else str(column)), justify="right")
        for label, row in frame.iterrows():
            table.add_row(escape(str(label)), *(cell(v) for v in row))
        out.print(table)
        return
    text = frame.to_csv(lineterminator="\n") if fmt == "csv" else \
        f"{title}\n\n" + frame.to_markdown() + "\n"
    write_text(text, out_file)


def write_text(text: str, out_file: Path | None) -> None:
    """Text to stdout, or atomically to ``out_file``."""
    from ..outputs import atomic_write

    if out_file is None:
        sys.stdout.write(text)
    else:
        atomic_write(out_file, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        out.print(f"Wrote {escape(str(out_file))}")


def cell(value) -> str:
    """A figure for a table cell: NaN as a dash, whole floats without decimals, others to 3."""
    if isinstance(value, float):
        if value != value:  # NaN: undefined (e.g. kappa with no variation)
            return "—"
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)
