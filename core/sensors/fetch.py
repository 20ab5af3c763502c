"""Getting feed documents: the Fetcher protocol, retries with back-off, local files, a test double.

A Fetcher only transports bytes. It raises ``FeedHttpError`` for an HTTP error status and
``FeedConnectionError`` for a timeout or a failed connection. ``fetch_json``/``fetch_text``
add the policy: transient failures (HTTP 5xx, 408, 429, timeouts, connection errors, truncated
or HTML answers) are retried with exponential back-off; after two failures in a row an
optional ``shrink`` callback may rewrite the URL (e.g. a smaller ``$top``). Every message names
the URL with credentials redacted.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, Union
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from .errors import FeedError, FeedFormatError, FeedHttpError
from .jsontext import check_not_html, strip_text

#: Query parameters whose values are secrets (compared case-insensitively, ``-``/``_`` ignored).
SECRET_PARAMETERS = frozenset(
    {"key", "apikey", "token", "accesstoken", "authtoken", "password", "passwd", "pwd", "secret",
     "clientsecret", "auth", "authorization", "sig", "signature", "session", "sessionid"}
)
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_BACKOFF_S = 8.0

Response = Union[bytes, Exception]


class FeedConnectionError(FeedError):
    """No answer: the connection failed or timed out (worth retrying)."""


class Fetcher(Protocol):
    """Transport: the body of ``url`` as bytes, or FeedHttpError / FeedConnectionError."""

    def get(self, url: str) -> bytes:
        """Fetch ``url``."""
        ...


def redact_url(url: str) -> str:
    """``url`` without a password or user name and with secret query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_is_secret(name) for name, _ in pairs):
            query = urlencode([(name, "***" if _is_secret(name) else value) for name, value in pairs], safe="$(),'/:")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+")


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted (Qt error messages repeat the URL)."""
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)


def _is_secret(name: str) -> bool:
    return name.lower().replace("-", "").replace("_", "") in SECRET_PARAMETERS


def is_local(source: str) -> bool:
    """Tell whether ``source`` is a file path or ``file://`` URL (not http(s) or another URL)."""
    scheme = urlsplit(source).scheme.lower()
    return scheme in ("", "file") or (len(scheme) == 1 and source[1:2] == ":")  # C:\... on Windows


def is_transient(error: Exception) -> bool:
    """Tell whether a later attempt may succeed where this one failed."""
    if isinstance(error, FeedHttpError):
        return error.status is None or error.status in TRANSIENT_STATUS or error.status >= 500
    return isinstance(error, (FeedConnectionError, FeedFormatError))


def decode_json(data: bytes, url: str) -> Any:
    """Return the JSON document in ``data``; FeedFormatError naming ``url`` for HTML or broken JSON."""
    text = strip_text(data.decode("utf-8", errors="replace"))
    where = redact_url(url)
    try:
        check_not_html(text)
    except FeedFormatError as error:
        raise FeedFormatError(f"{where} returned {error}") from None
    if not text:
        raise FeedFormatError(f"{where} returned an empty answer instead of JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        truncated = error.pos >= len(text) - 1
        hint = " (the answer ends too early: truncated?)" if truncated else ""
        raise FeedFormatError(
            f"{where} returned malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}{hint}"
        ) from None


def fetch_with_retries(
    fetcher: Fetcher,
    url: str,
    decode: Callable[[bytes, str], Any],
    retries: int = 3,
    backoff: float = 0.5,
    shrink: Callable[[str], str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    cancelled: Callable[[], bool] | None = None,
) -> Any:
    """``decode(fetcher.get(url), url)`` with up to ``retries`` further attempts on transient failures.

    Waits ``backoff * 2**n`` seconds (at most 8 s) before attempt n + 1; from the third attempt
    on, ``shrink`` rewrites the URL (the importer passes one only for URLs it built itself).
    """
    attempt = 0
    while True:
        try:
            return decode(fetcher.get(url), url)
        except FeedError as error:
            if not is_transient(error) or attempt >= retries or (cancelled is not None and cancelled()):
                raise
            sleep(min(MAX_BACKOFF_S, backoff * 2**attempt))
            attempt += 1
            if shrink is not None and attempt >= 2:
                url = shrink(url)


def fetch_json(fetcher: Fetcher, url: str, **policy: Any) -> Any:
    """Return the JSON document at ``url`` (see ``fetch_with_retries`` for the policy keywords)."""
    return fetch_with_retries(fetcher, url, decode_json, **policy)


def fetch_text(fetcher: Fetcher, url: str, **policy: Any) -> str:
    """Return the text at ``url`` (UTF-8, BOM removed); HTML error pages are refused."""

    def decode(data: bytes, where: str) -> str:
        text = data.decode("utf-8-sig", errors="replace")
        try:
            check_not_html(text)
        except FeedFormatError as error:
            raise FeedFormatError(f"{redact_url(where)} returned {error}") from None
        return text

    return fetch_with_retries(fetcher, url, decode, **policy)


def local_path(source: str) -> Path:
    """Return the file path of a local ``source`` (plain path or ``file://`` URL)."""
    if source.lower().startswith("file:"):
        parts = urlsplit(source)
        path = unquote(parts.path)
        if re.match(r"^/[A-Za-z]:", path):  # file:///C:/...
            path = path[1:]
        return Path(path)
    return Path(source).expanduser()


class FileFetcher:
    """Reads local files; ``get`` takes a path or a ``file://`` URL."""

    def get(self, url: str) -> bytes:
        """Return the bytes of the file."""
        path = local_path(url)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise FeedError(f"file not found: {path}; check the path in SOURCE") from None
        except IsADirectoryError:
            raise FeedError(f"{path} is a folder, not a file; choose a file") from None
        except OSError as error:
            raise FeedError(f"cannot read {path}: {error.strerror}") from None


class MemoryFetcher:
    """Test double: answers from a mapping URL -> bytes, or a list of bytes/exceptions in turn.

    The last item of a list repeats. Unknown URLs raise FeedHttpError 404. Every requested URL
    is recorded in ``requests``.
    """

    def __init__(self, responses: Mapping[str, Response | Iterable[Response]]) -> None:
        self._responses: dict[str, list[Response]] = {}
        for url, answer in responses.items():
            items = [answer] if isinstance(answer, (bytes, Exception)) else list(answer)
            self._responses[url] = items
        self.requests: list[str] = []

    def get(self, url: str) -> bytes:
        """Return (or raise) the next answer for ``url``."""
        self.requests.append(url)
        answers = self._responses.get(url)
        if not answers:
            raise FeedHttpError(f"HTTP 404 from {redact_url(url)}", 404, url)
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer
