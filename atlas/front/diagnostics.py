"""Errors for people: `file:line:col`, what was expected, the line and a caret."""

from __future__ import annotations

from ..meaning.ir import Span


class AtlasError(Exception):
    """An error in the user's input.  `str()` is the complete message."""

    def __init__(self, span: Span | None, message: str, note: str | None = None, source: str | None = None):
        self.span = span
        self.message = message
        self.note = note
        self.source = source  # the text of span.file, for the excerpt
        super().__init__(self.render())

    def with_source(self, text: str) -> "AtlasError":
        if self.source is None:
            return AtlasError(self.span, self.message, self.note, text)
        return self

    def render(self) -> str:
        if self.span is None:
            head = f"error: {self.message}"
        else:
            head = f"{self.span}: error: {self.message}"
        lines = [head]
        if self.span is not None and self.source is not None:
            lines += excerpt(self.source, self.span)
        if self.note:
            lines.append(f"  = note: {self.note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def excerpt(text: str, span: Span) -> list[str]:
    """The source line of `span` with carets under the spanned columns."""
    src_lines = text.splitlines()
    if not 1 <= span.line <= len(src_lines):
        return []
    line = src_lines[span.line - 1].expandtabs(4)
    width = 1
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    col = span.col
    if len(line) > _WIDE:
        # A very long line (a generated chain, a huge literal) is shown as a
        # window around the caret, so the message stays readable.
        start = max(0, col - 1 - _BEFORE)
        shown = line[start : start + _WIDE]
        line = ("..." if start else "") + shown + ("..." if start + _WIDE < len(line) else "")
        col = col - start + (3 if start else 0)
        width = max(1, min(width, len(shown) - (col - 1 - (3 if start else 0))))
    gutter = f"{span.line:>4} | "
    return [gutter + line, " " * (len(gutter) - 2) + "| " + " " * (col - 1) + "^" * width]


_WIDE = 120  # longest excerpt shown whole
_BEFORE = 40  # context kept before the caret in a window
