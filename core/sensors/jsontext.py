"""JSON and NDJSON text to Python objects, with messages that say what is wrong; lines of big texts.

Every JSON document of a feed is read with ``loads``: numbers of any length and any nesting depth
never stop an import (see there).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from .errors import FeedFormatError

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


#: Values nested deeper than this are read as ``DEEP_VALUE`` (Python's JSON reader stops near 1000 levels).
MAX_DEPTH = 200
DEEP_VALUE = f"(a value nested deeper than {MAX_DEPTH} levels)"
#: Integers with more digits are read as floats (Python refuses to convert integers over 4300 digits).
MAX_INT_DIGITS = 4000
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def loads(text: str) -> Any:
    """``json.loads`` for untrusted feeds: any number is read, any nesting depth is survived.

    An integer of more than ``MAX_INT_DIGITS`` digits is read as a float (infinity when it does not
    fit); a value nested deeper than ``MAX_DEPTH`` levels is replaced by the text ``DEEP_VALUE``, so a
    parser skips that value or entity and the rest of the document is read. Malformed JSON raises
    ``json.JSONDecodeError`` as ``json.loads`` does. The slower paths run only when they are needed.
    """
    try:
        return json.loads(text)
    except RecursionError:
        return json.loads(flatten_deep(text), parse_int=_int)
    except json.JSONDecodeError:
        raise
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        try:
            return json.loads(text, parse_int=_int)
        except RecursionError:
            return json.loads(flatten_deep(text), parse_int=_int)


def _int(digits: str) -> int | float:
    return int(digits) if len(digits) <= MAX_INT_DIGITS else float(digits)


def flatten_deep(text: str, max_depth: int = MAX_DEPTH) -> str:
    """``text`` with every array or object that opens below ``max_depth`` levels replaced by ``DEEP_VALUE``."""
    pieces, depth, cut_from, last = [], 0, -1, 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth == max_depth + 1:
                cut_from = match.start()
        elif token in "]}":
            if depth == max_depth + 1 and cut_from >= 0:
                pieces += [text[last:cut_from], json.dumps(DEEP_VALUE)]
                last, cut_from = match.end(), -1
            depth -= 1
    pieces.append(text[last:])
    return "".join(pieces)


def strip_text(text: str) -> str:
    """Text without a byte-order mark and surrounding white space."""
    return text.lstrip("\ufeff").strip()


def text_lines(text: str) -> Iterator[str]:
    """Yield the lines of ``text`` with their line ends, without a whole copy (``io.StringIO`` copies it)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        stop = len(text) if end < 0 else end + 1
        yield text[start:stop]
        start = stop


def looks_like_json(text: str) -> bool:
    """Tell whether the text starts like a JSON object or array."""
    return strip_text(text[:64])[:1] in ("{", "[")


def check_not_html(text: str) -> None:
    """Raise FeedFormatError when ``text`` is an HTML page (e.g. a server error page) or other markup."""
    head = strip_text(text[:2048])
    if not head.startswith("<"):
        return
    lowered = head.lower()
    if lowered.startswith(("<!doctype html", "<html")) or any(tag in lowered for tag in ("<head", "<body", "<title")):
        title = _TITLE.search(text[:4096])
        detail = f" ({' '.join(title.group(1).split())})" if title else ""
        raise FeedFormatError(
            f"an HTML page, not JSON: the server answered with an error page{detail}; check the URL and credentials"
        )
    raise FeedFormatError(f"XML or other markup, not JSON or CSV: the answer starts with {head[:60]!r}")


def load_documents(text: str, what: str = "JSON") -> list[Any]:
    """Return the JSON documents in ``text``: one document, or one per line (NDJSON).

    A single top-level array is returned as its items; ``{"result": {...}}`` wrappers (TTN Storage
    Integration) are unwrapped.
    """
    body = strip_text(text)
    if not body:
        raise FeedFormatError(f"the feed is empty: no {what} to read")
    check_not_html(body)
    try:
        documents = [loads(body)]
    except json.JSONDecodeError as error:
        documents = _load_lines(body, error, what)
    items: list[Any] = []
    for document in documents:
        items.extend(document if isinstance(document, list) else [document])
    return [_unwrap(item) for item in items]


def _load_lines(body: str, whole_error: json.JSONDecodeError, what: str) -> list[Any]:
    lines = [(number, line.strip()) for number, line in enumerate(body.splitlines(), start=1)]
    lines = [(number, line) for number, line in lines if line]
    if len(lines) < 2:
        raise FeedFormatError(_describe(whole_error, body, what)) from None
    documents = []
    for index, (number, line) in enumerate(lines):
        try:
            documents.append(loads(line))
        except json.JSONDecodeError as error:
            if index == 0:
                # Pretty-printed JSON spread over several lines: report the whole-text error.
                raise FeedFormatError(_describe(whole_error, body, what)) from None
            raise FeedFormatError(_describe(error, line, what, number)) from None
    return documents


def _describe(error: json.JSONDecodeError, text: str, what: str, line: int | None = None) -> str:
    where = f"line {line} is not valid {what}" if line else f"not valid {what}"
    if error.msg == "Extra data":
        return f"{where}: unexpected text after the end of the {what} at line {error.lineno}, column {error.colno}"
    stripped = text.rstrip()
    if error.pos >= len(stripped) or error.msg.startswith("Unterminated") or stripped[-1:] not in ("}", "]"):
        return f"{where}: the text ends too early (truncated?): {error.msg}"
    if line:
        return f"{where}: {error.msg} (column {error.colno})"
    return f"{where} at line {error.lineno}, column {error.colno}: {error.msg}"


def _unwrap(item: Any) -> Any:
    if isinstance(item, dict) and len(item) == 1 and isinstance(item.get("result"), dict):
        return item["result"]
    return item
