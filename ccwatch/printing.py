"""The CLI's console: people's and records' text printed as it is, full tables when piped."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import IO, Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Column, Table

from models.labels import heading
from models.localtime import local

PIPED_WIDTH = 1000  # columns when piped or redirected: no table is cut, no line wrapped


def cli_console(file: IO[str] | None = None, stderr: bool = False) -> Console:
    """A console that never reads rich markup or emoji codes in what it prints (so an
    officer's note ``see [/x]`` prints as written; colours are given as ``style=``). On a
    terminal it is as wide as the terminal; piped, wide enough for any table (an explicit
    ``COLUMNS`` still decides)."""
    out = file or (sys.stderr if stderr else sys.stdout)
    piped = not out.isatty() and "COLUMNS" not in os.environ
    return Console(
        file=file,
        stderr=stderr,
        markup=False,
        emoji=False,
        highlight=False,
        width=PIPED_WIDTH if piped else None,
    )


class CurrentConsole:
    """:func:`cli_console` as of each use (the output and ``COLUMNS`` then, not at import),
    for a module's ``console``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(cli_console(), name)


def progress() -> Progress:
    """A transient progress bar on the current console, shown only on a terminal."""
    out = cli_console()
    return Progress(console=out, transient=True, disable=not out.is_terminal)


def table(*names: str, **wide: bool) -> Table:
    """A table whose columns are headed from the shared label table (Chinese over English);
    ``wide=True`` names columns never wrapped (ids)."""
    return Table(*(Column(heading(n), no_wrap=wide.get(n, False)) for n in names))


def shown(when: str | None) -> str:
    """An ISO instant in Beijing time, to the minute; nothing for none."""
    return f"{local(datetime.fromisoformat(when)):%Y-%m-%d %H:%M}" if when else ""
