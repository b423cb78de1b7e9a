"""What every command shares: the consoles, the common options, the quiet switch."""

from __future__ import annotations

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True, soft_wrap=True)  # never break a file:line message across lines

TEXT_FIELD = typer.Option("text", "--text-field", help="field (JSONL) or column (CSV/TSV) holding the text")
LABEL_FIELD = typer.Option("label", "--label-field", help="field or column holding the label (MASSIVE: intent)")
QUIET = typer.Option(False, "--quiet", "-q", help="no progress bars")
TASK = typer.Option(
    "label", "--task", help="label (one label per text) | multilabel | intent | slots | intent+slots | label+parent"
)
LABEL_SEP = typer.Option(None, "--label-sep", help="multilabel CSV/TSV: separator of the labels in a cell, e.g. '|'")
THRESHOLD = typer.Option(None, "--threshold", help="multilabel: one decision threshold for every label (override)")
SLOT_FIELD = typer.Option("annot_utt", "--slot-field", help="field with \\[slot : value] markup (slot tasks)")
DEVICE = typer.Option(None, "--device", help="cpu, cuda, cuda:1, mps (default: best available)")


def setup(quiet: bool) -> None:
    import warnings

    from agileclf.progress import set_quiet

    set_quiet(quiet)
    warnings.showwarning = _show_warning


_warned: set[str] = set()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line, `warning: ...`, once per text: the user needs what it says, not the library's file and
    line (the same warning raised from two places, e.g. a fit and its cross-validation, is said once)."""
    from rich.text import Text

    text = str(message)
    if text not in _warned:
        _warned.add(text)
        err.print(Text("warning: ", style="yellow") + Text(text), highlight=False)


def note(message: str) -> None:
    """A message the user should see, on stderr, without rich markup read from it (labels may hold [brackets])."""
    from rich.text import Text

    err.print(Text("note: ", style="yellow") + Text(message), highlight=False)


def err_line(line: str) -> None:
    """A progress line from the library, on stderr, printed as it is (no rich markup: it may quote user data)."""
    err.print(line, highlight=False, markup=False)
