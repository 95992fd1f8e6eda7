"""What every ``eventdebug`` subcommand shares: its contract and the output helpers."""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence

from django.core.management.base import CommandError

from ..errors import quoted
from ..jsondoc import rounded
from ..timeutil import MAX_SECONDS, parse_duration

# An ISO 8601 time of the JSON documents: "2026-11-30T05:14:09.954512Z".
ISO_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


class Subcommand:
    """One ``eventdebug <name>``. Subclasses add options and format a core function's result.

    One that answers a feature's query is declared ``class S(Subcommand, document=function,
    formatter=function)``: ``document`` (the feature's, which the API view calls too) of the
    ``query_options`` validated by ``serializer``, shown as JSON or as ``formatter``'s text."""

    name = ""
    help = ""
    examples: tuple[str, ...] = ()  # two or three command lines, the end of --help
    serializer: type | None = None  # validates the query options as the API validates its query
    # name -> help of each query option: --name ("_" as "-"), a string until validated.
    query_options: dict[str, str] = {}
    query_choices: dict[str, Iterable[str]] = {}  # name -> the values --help lists ({a,b,c})
    document: Callable[[dict], dict]
    formatter: Callable[[dict, object], str]  # the text shown without --json

    def __init_subclass__(cls, document=None, formatter=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if document is not None:
            cls.document = staticmethod(document)
            cls.formatter = staticmethod(formatter)

    def add_arguments(self, parser) -> None:
        """Options besides --json, which every subcommand has."""
        for name, text in self.query_options.items():
            choices = one_of(self.query_choices[name]) if name in self.query_choices else {}
            parser.add_argument("--" + name.replace("_", "-"), help=text, **choices)

    def query(self, options: dict) -> dict:
        return validated(self.serializer, options, self.query_options)

    def handle(self, command, options) -> dict:
        doc = self.document(self.query(options))
        self.output(command, options, doc, self.formatter)
        return doc

    @staticmethod
    def write_json(command, data) -> None:
        """The same document the REST endpoint returns, pretty-printed."""
        command.stdout.write(json.dumps(rounded(data), indent=2))

    def output(self, command, options, doc: dict, formatter) -> None:
        """``doc`` as JSON with --json, else as the text ``formatter(doc, command.style)`` makes."""
        if options["json"]:
            self.write_json(command, doc)
        else:
            command.stdout.write(terminal_safe(formatter(escaped(doc), command.style)))


# Control characters (C0, DEL, C1) and bidirectional overrides: names read from Redis, logs and
# the database may carry ESC]0;...BEL or ESC[2J to retitle or wipe the reader's terminal, or a
# newline to forge a line of the output ("x\nFAKE OK").
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# The same but the line breaks and tabs a formatter writes between values.
_CONTROL_BUT_LAYOUT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# The colours of command.style, which the formatters add themselves.
_STYLE = re.compile(r"\x1b\[[0-9;]*m")


def _as_escape(match: re.Match) -> str:
    return ascii(match.group())[1:-1]


def escape_controls(text: str) -> str:
    """``text`` with every control character, newline included, shown as its escape (\\x1b,
    \\n): for one value."""
    return _CONTROL.sub(_as_escape, text)


def escaped(value):
    """A document as text shows it: every string in it, keys included, through escape_controls,
    so whatever a formatter puts a value into, the value stays on its line."""
    if isinstance(value, str):
        return escape_controls(value)
    if isinstance(value, dict):
        return {escaped(key): escaped(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(escaped(item) for item in value)
    return value


def terminal_safe(text: str) -> str:
    """Formatted output with every control character escaped but its own line breaks and tabs,
    and command.style's colours."""
    kept = _STYLE.split(text)
    styles = _STYLE.findall(text)
    parts = [_CONTROL_BUT_LAYOUT.sub(_as_escape, kept[0])]
    for style, plain in zip(styles, kept[1:], strict=True):
        parts += [style, _CONTROL_BUT_LAYOUT.sub(_as_escape, plain)]
    return "".join(parts)


def validated(serializer_class, options: dict, names) -> dict:
    """Options validated exactly as the API validates its query string."""
    serializer = serializer_class(data={n: options[n] for n in names if options.get(n) is not None})
    if not serializer.is_valid():
        problems = "; ".join(
            f"--{field.replace('_', '-')}: {' '.join(str(e) for e in errors)}"
            for field, errors in serializer.errors.items()
        )
        raise CommandError(problems, returncode=2)
    return serializer.validated_data


def one_of(choices: Iterable[str]) -> dict:
    """add_argument keywords that show ``choices`` in --help ({a,b,c}); the value is still
    validated by the feature's serializer, exactly as the API validates it."""
    return {"metavar": "{" + ",".join(choices) + "}"}


def chosen(choices: Iterable[str]):
    """argparse type: one of ``choices`` (argparse's own choices= would echo a refused value whole)."""
    allowed = tuple(choices)

    def parse(text: str) -> str:
        if text not in allowed:
            raise argparse.ArgumentTypeError(f"{quoted(text)} is not one of {', '.join(allowed)}")
        return text

    return parse


def positive_float(text: str) -> float:
    """argparse type: seconds greater than 0 and at most MAX_SECONDS (intervals, timeouts)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not a finite number")
    if not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{quoted(text)} must be greater than 0 and at most {MAX_SECONDS}")
    return value


# The largest count an option takes: beyond it a value is a typo (and overflows Redis's and
# PostgreSQL's integers not far above).
MAX_COUNT = 2**31 - 1


def bounded_int(low: int, high: int = MAX_COUNT):
    """argparse type: an integer from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{quoted(text)} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{quoted(text)} must be at least {low} and at most {high}")
        return value

    return parse


def duration_seconds(text: str) -> float:
    """argparse type: plain seconds ("30") or a duration ("90s", "15m", "2h"), as seconds."""
    try:
        float(text)
    except ValueError:
        try:
            seconds = parse_duration(text).total_seconds()
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc
        return positive_float(str(seconds))
    return positive_float(text)


def counted(count: int, noun: str) -> str:
    """ "1 queue", "2 queues": a count and its noun in the right number."""
    return f"{count} {noun if count == 1 else noun + 's'}"


def when(moment: str | None, milliseconds: bool = False) -> str:
    """An ISO 8601 time of a document as text shows it: to the second (or the millisecond where
    samples are closer than that), not the microseconds the JSON keeps."""
    match = ISO_TIME.match(moment or "")
    if not match:
        return "-" if moment is None else moment
    whole, fraction, zone = match.groups()
    return whole + (f".{(fraction or '').ljust(3, '0')[:3]}" if milliseconds else "") + zone


def format_number(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return when(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_table(headers: Sequence[str], rows: Iterable[Sequence], numeric: Sequence[bool] = ()) -> str:
    """Columns padded to their widest cell; numeric columns right-aligned."""
    cells = [[str(h) for h in headers]] + [[escape_controls(format_number(v)) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    right = list(numeric) + [False] * (len(headers) - len(numeric))
    lines = []
    for row in cells:
        padded = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=True)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def render_pairs(pairs: Iterable[tuple[str, object]], indent: int = 2) -> str:
    """ "key  value" lines with the values aligned."""
    pairs = [(escape_controls(str(k)), escape_controls(format_number(v))) for k, v in pairs]
    if not pairs:
        return ""
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{' ' * indent}{k.ljust(width)}  {v}" for k, v in pairs)


def indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())
