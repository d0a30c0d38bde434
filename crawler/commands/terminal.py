"""What reaches a terminal: stored text and names made harmless, and progress bars on a TTY."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, TextIO

import click

# C0 controls but tab and line feed, DEL, C1 controls (U+009B is CSI on terminals that honour
# 8-bit controls), and the bidi controls that reorder what is shown (Trojan Source).
UNSAFE_CHARS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
# A counter redrawn on every page would cost more terminal writes than the work it reports.
REDRAW_SECONDS = 0.2


def printable(text: str) -> str:
    """`text` with every control or bidi character shown as its escape (ESC as \\x1b): stored
    text and file names are data, never a command to the terminal."""
    return UNSAFE_CHARS.sub(_escape, text)


def json_safe(text: str) -> str:
    """JSON text with the unsafe characters left raw by ensure_ascii=False escaped (\\u009b):
    the same JSON value, safe to print. They can only occur inside JSON strings."""
    return UNSAFE_CHARS.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


class Styled(NamedTuple):
    """A piece of a line that `echo` shows in a style (click.style's keywords)."""

    text: str
    styles: dict[str, Any]


def styled(text: str, **styles: Any) -> Styled:
    return Styled(text, styles)


def echo(*pieces: str | Styled, err: bool = False, color: bool | None = None) -> None:
    """Print one line made of `pieces`, each made printable; the styles are added after, so the
    only escape sequences that reach the terminal are ours (and click drops them off a TTY)."""
    line = "".join(
        click.style(printable(piece.text), **piece.styles)
        if isinstance(piece, Styled)
        else printable(piece)
        for piece in pieces
    )
    click.echo(line, err=err, color=color)


class _Quiet:
    """The progress bar off a terminal: counts nothing, prints nothing."""

    def update(self, steps: int) -> None:
        pass


class _Counter:
    """Progress of work whose size is unknown (a backfill finds its pages as it goes): a count
    rewritten in place."""

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label, self.stream, self.done, self.shown_at = label, stream, 0, 0.0

    def update(self, steps: int) -> None:
        self.done += steps
        now = time.monotonic()
        if now - self.shown_at >= REDRAW_SECONDS:
            self.shown_at = now
            self._draw()

    def finish(self) -> None:
        self._draw()
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self) -> None:
        self.stream.write(f"\r{self.label}  {self.done}")
        self.stream.flush()


@contextmanager
def progress(length: int | None, label: str, stream: TextIO | None = None) -> Iterator[Any]:
    """A progress bar on stderr while it is a terminal; off one (cron, a pipe, a log file) a
    bar that prints nothing. Call .update(n) as work is done; `length` None when unknown."""
    stream = stream or sys.stderr
    if not _is_terminal(stream):
        yield _Quiet()
        return
    if length is None:
        counter = _Counter(label, stream)
        try:
            yield counter
        finally:
            counter.finish()
        return
    with click.progressbar(
        length=length, label=label, file=stream, show_pos=True, show_eta=length is not None
    ) as bar:
        yield bar


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
