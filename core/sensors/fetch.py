"""Getting feed documents: the Fetcher protocol, the rules for untrusted servers, retries, local files.

A Fetcher only transports bytes. It raises ``FeedHttpError`` for an HTTP error status,
``FeedConnectionError`` for a failed connection and ``FeedStopError`` when a rule for untrusted
servers stops the request (``FeedTimeoutError`` for a deadline). ``fetch_json``/``fetch_text``
add the retry policy: transient failures (HTTP 5xx, 408, 429, timeouts, connection errors,
truncated or HTML answers) are retried with exponential back-off; after two failures in a row an
optional ``shrink`` callback may rewrite the URL (e.g. a smaller ``$top``). Every message names
the URL with credentials redacted.

The rules (docs/architecture.md, "Feeds and servers are untrusted"), pure here and applied by every
transport: ``FetchLimits`` (total deadline per request and per import, size limit, redirect
limit), ``RequestRules`` (credentials only to the origin of SOURCE, redirects: no local files,
a limit, no loops; cross-origin redirects are followed WITHOUT credentials), ``LimitedBody``
(the size limit applied while the body is read and decompressed) and ``LinkGuard`` (server
links: http(s) only, never a local file, never the same link twice). ``source_key`` is the
normalised source without credentials, window, page and order used as the archive key.

Secrets: ``is_secret`` decides by rule, not by a fixed list, which query parameters (and fragment
parameters) are credentials: a credential word in the name, a credential name, or a value that looks
like a token. Every message, the ``source`` column and the archive key show them as ``***``.
"""

from __future__ import annotations

import json
import math
import os
import re
import select
import stat
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Union
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit

from .errors import FeedError, FeedFormatError, FeedHttpError
from .jsontext import check_not_html, loads, strip_text

#: A query parameter is a credential when a word of its name is one of these (the name split at
#: ``-``, ``_``, ``.`` and lower-to-upper case changes: ``X-Amz-Signature``, ``api_token``, ``apiKey``) ...
SECRET_WORDS = frozenset(
    {"key", "apikey", "token", "accesstoken", "authtoken", "apitoken", "password", "passwd", "pwd", "passphrase",
     "secret", "clientsecret", "auth", "authorization", "bearer", "sig", "signature", "credential", "credentials",
     "jwt", "session", "sessionid", "otp"}
)
#: ... or its whole name (lower case, separators removed) is one of these, or ends with one of the
#: ``SECRET_ENDINGS`` (``subscription-key``, ``accesskey``, ``X-Auth-Token``) ...
SECRET_NAMES = frozenset({"code", "appid", "sid", "sas", "ticket"})
SECRET_ENDINGS = ("apikey", "accesskey", "secretkey", "privatekey", "appkey", "subscriptionkey", "clientkey",
                  "authkey", "userkey", "masterkey", "sharedkey", "token", "secret", "password", "passwd",
                  "signature", "credential", "credentials")
#: ... or its value looks like one: a JSON Web Token, or 24 or more characters of a token alphabet that mix
#: upper case, lower case and digits (API keys; identifiers such as UUIDs or object ids are lower case).
SECRET_VALUE = re.compile(r"^(eyJ[\w-]+\.[\w-]+\.[\w-]*|(?=[^a-z]*[a-z])(?=[^A-Z]*[A-Z])(?=\D*\d)[\w+/=.~-]{24,})$")
#: Query parameters of a time window, a page or an order (names compared like SECRET_NAMES): not part
#: of the archive key, nor is any parameter whose value is an ISO 8601 date or time.
WINDOW_PARAMETERS = frozenset(
    {"from", "to", "fromdate", "todate", "start", "end", "startdate", "enddate", "starttime", "endtime",
     "startdatetime", "enddatetime", "begin", "since", "until", "after", "before", "date", "day", "time",
     "datetime", "timestamp", "period", "last", "limit", "offset", "page", "pagesize", "perpage", "count",
     "skip", "top", "orderby", "order", "sort", "sortby", "cursor", "pagetoken"}
)
_ISO_VALUE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}\S*)?(/\S*)?$")
_NAME_WORDS = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MAX_BACKOFF_S = 8.0
MIB = 1024 * 1024
DEFAULT_MAX_MB = 256
DEFAULT_MAX_REDIRECTS = 10
HTTP_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
#: Largest piece decompressed at once (the size limit is checked after each piece).
_INFLATE_STEP = MIB
#: Largest piece read at once from a local file, device or FIFO.
_READ_STEP = MIB

Response = Union[bytes, Exception]


class FeedConnectionError(FeedError):
    """No answer: the connection failed or timed out (worth retrying)."""


class FeedCancelledError(FeedError):
    """The user cancelled while a request was running."""


class FeedStopError(FeedError):
    """A rule for untrusted servers stopped a request (``cause``: timeout, size, redirect, loop, link)."""

    def __init__(self, message: str, cause: str) -> None:
        super().__init__(message)
        self.cause = cause


class FeedTimeoutError(FeedStopError, FeedConnectionError):
    """A request did not end within its total deadline (TIMEOUT); retried like a failed connection."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "timeout")


class Fetcher(Protocol):
    """Transport: the body of ``url`` as bytes, or FeedHttpError / FeedConnectionError."""

    def get(self, url: str) -> bytes:
        """Fetch ``url``."""
        ...


def redact_url(url: str) -> str:
    """``url`` without a password or user name and with secret query values replaced by ``***`` (``is_secret``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, netloc, parts.path, _redact_query(parts.query), _redact_query(parts.fragment)))


def _redact_query(query: str) -> str:
    if "=" not in query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(is_secret(name, value) for name, value in pairs):
        return query
    return urlencode([(name, "***" if is_secret(name, value) else value) for name, value in pairs], safe=_SAFE)


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+")
_SAFE = "$(),'/:*"


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted (Qt error messages repeat the URL)."""
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)


def is_secret(name: str, value: str = "") -> bool:
    """Tell whether a query parameter is a credential: by a word of its name, its whole name, or its value.

    See ``SECRET_WORDS``, ``SECRET_NAMES``, ``SECRET_ENDINGS`` and ``SECRET_VALUE``: no fixed list of
    names, so ``access_key``, ``X-Amz-Credential``, ``subscription-key`` or an unnamed token are hidden.
    """
    words = {word.lower() for word in _NAME_WORDS.split(name) if word}
    whole = _plain(name)
    return (bool(words & SECRET_WORDS) or whole in SECRET_NAMES or whole.endswith(SECRET_ENDINGS)
            or bool(value and value != "***" and SECRET_VALUE.match(value)))


def _plain(name: str) -> str:
    """Return a parameter name as the rules compare it: lower case, without separators and a leading ``$``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def is_local(source: str) -> bool:
    """Tell whether ``source`` is a file path or ``file://`` URL (not http(s) or another URL)."""
    scheme = urlsplit(source).scheme.lower()
    return scheme in ("", "file") or (len(scheme) == 1 and source[1:2] == ":")  # C:\... on Windows


def is_transient(error: Exception) -> bool:
    """Tell whether a later attempt may succeed where this one failed."""
    if isinstance(error, FeedStopError) and not isinstance(error, FeedTimeoutError):
        return False
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
        return loads(text)
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
    """Reads local files; ``get`` takes a path or a ``file://`` URL (files over ``max_bytes`` are refused)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_MB * MIB, limits: FetchLimits | None = None) -> None:
        self.max_bytes = max_bytes
        self.limits = limits

    def get(self, url: str) -> bytes:
        """Return the bytes of the file."""
        return read_local(url, self.max_bytes, self.limits)


class CountingFetcher:
    """Wraps a Fetcher and counts the requests answered and the bytes of their bodies (decompressed).

    Other attributes (``prefetch``, ``drop_prefetch``) are the wrapped fetcher's.
    """

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self.requests = 0
        self.bytes = 0

    def get(self, url: str) -> bytes:
        """Return the wrapped fetcher's body of ``url`` and count it."""
        body = self.fetcher.get(url)
        self.requests += 1
        self.bytes += len(body)
        return body

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fetcher, name)


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


# -- the rules for untrusted servers ------------------------------------------------------------
def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, lower-case, default port filled in; None otherwise."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in HTTP_SCHEMES or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def same_origin(url: str, other: str) -> bool:
    """Tell whether two http(s) URLs share scheme, host and port."""
    mine = origin(url)
    return mine is not None and mine == origin(other)


def source_key(source: str) -> str:
    """Return the archive key of a source: the stream, not the request that fetched it.

    No credentials (user, password, secret query values as ``***``: ``is_secret``), scheme and host
    lower case, no default port, no fragment, no window, page or order parameters (``WINDOW_PARAMETERS``
    and every parameter whose value is an ISO 8601 time), the other parameters sorted: the same stream
    fetched with its query reordered or with overlapping windows has one key. A local path stays as it is.
    """
    text = source.strip()
    if is_local(text):
        return text
    parts = urlsplit(normalise_url(text))
    pairs = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True)
             if _plain(name) not in WINDOW_PARAMETERS and not _ISO_VALUE.match(value.strip())]
    pairs = sorted((name, "***" if is_secret(name, value) else value) for name, value in pairs)
    query = urlencode(pairs, safe=_SAFE) if pairs else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def normalise_url(url: str) -> str:
    """Return ``url`` without user and password, scheme and host lower-case, without a default port."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass
class FetchLimits:
    """Limits of one import or refresh: total deadline per request and per import, size, redirects.

    ``import_timeout_s`` 0 means no deadline for the whole import; the clock starts at creation.
    """

    timeout_s: float = 30.0
    import_timeout_s: float = 0.0
    max_bytes: int = DEFAULT_MAX_MB * MIB
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.timeout_s) and math.isfinite(self.import_timeout_s)):
            raise ValueError("a timeout must be a number of seconds, not NaN or infinity (it would switch it off)")
        self.started = self.started or self.clock()

    def import_deadline(self) -> float | None:
        """Clock time at which the import must end, None without a limit."""
        return self.started + self.import_timeout_s if self.import_timeout_s > 0 else None

    def request_deadline(self) -> float:
        """Clock time at which a request starting now must end (TIMEOUT, or the import's deadline)."""
        deadline = self.clock() + self.timeout_s
        ends = self.import_deadline()
        return deadline if ends is None else min(deadline, ends)

    def check_import(self) -> None:
        """Raise FeedStopError when the import's deadline has passed."""
        ends = self.import_deadline()
        if ends is not None and self.clock() >= ends:
            raise self._import_timeout()

    def timeout_error(self, url: str) -> FeedStopError:
        """Return the error for a request that passed its deadline (the import's or its own)."""
        ends = self.import_deadline()
        if ends is not None and self.clock() >= ends - 0.01:
            return self._import_timeout()
        return FeedTimeoutError(
            f"timeout: {redact_url(url)} did not answer completely within {self.timeout_s:g} s (TIMEOUT)")

    def _import_timeout(self) -> FeedStopError:
        return FeedStopError(f"timeout: the import did not end within {self.import_timeout_s:g} s (IMPORT_TIMEOUT); "
                             "raise it or narrow START/END", "timeout")

    def size_error(self, url: str) -> FeedStopError:
        """Return the error for an answer over the size limit."""
        return FeedStopError(
            f"size limit: the answer of {redact_url(url)} is larger than {self.max_bytes / MIB:g} MB "
            "(MAX_RESPONSE_MB); it was not read further", "size")


class RequestRules:
    """What one request may do: credentials only to SOURCE's origin, bounded redirects, no local files."""

    def __init__(self, source: str, limits: FetchLimits | None = None) -> None:
        self.source = source.strip()
        self.limits = limits or FetchLimits()

    def allows_local(self, url: str) -> bool:
        """Only SOURCE itself may be a local file."""
        return is_local(url) and url.strip() == self.source

    def check(self, url: str) -> None:
        """FeedStopError unless ``url`` is http(s) or SOURCE itself."""
        if is_local(url) and not self.allows_local(url):
            raise FeedStopError(f"refused to open {redact_url(url)}: only SOURCE may be a local file", "local link")
        if not is_local(url) and urlsplit(url).scheme.lower() not in HTTP_SCHEMES:
            raise FeedStopError(f"refused {redact_url(url)}: not an http(s) address", "link")

    def sends_credentials(self, url: str) -> bool:
        """Credentials go only to the origin (scheme, host, port) of SOURCE."""
        return same_origin(url, self.source)

    def redirect(self, url: str, location: str, chain: list[str]) -> str:
        """Return the target of a redirect from ``url``; FeedStopError for a loop, too many, or a non-http target.

        ``chain`` holds the URLs of this request so far (``url`` included).
        """
        target = urljoin(url, location.strip())
        where = redact_url(url)
        if urlsplit(target).scheme.lower() not in HTTP_SCHEMES:
            raise FeedStopError(f"redirect refused: {where} redirects to {redact_url(target)}, not an http(s) "
                                "address (a server never opens a local file)", "redirect")
        if _link_key(target) in {_link_key(seen) for seen in chain}:
            raise FeedStopError(f"redirect loop: {where} redirects back to {redact_url(target)}", "redirect loop")
        if len(chain) > self.limits.max_redirects:
            raise FeedStopError(f"too many redirects: more than {self.limits.max_redirects} from "
                                f"{redact_url(chain[0])}", "redirect loop")
        return target


class LimitedBody:
    """A response body read piece by piece, decompressed here (gzip/deflate), refused over ``max_bytes``.

    The limit applies to the decompressed size and is checked after every piece of at most 1 MiB,
    so a small compressed answer that unpacks to gigabytes is never held whole.
    """

    def __init__(self, url: str, limits: FetchLimits, content_encoding: str = "") -> None:
        self.url = url
        self.limits = limits
        self.size = 0
        self._chunks: list[bytes] = []
        encoding = content_encoding.strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self._inflate: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflate = "deflate"  # zlib-wrapped or raw: decided by the first bytes
        elif encoding in ("", "identity"):
            self._inflate = None
        else:
            raise FeedFormatError(f"{redact_url(url)} answered with the content encoding '{encoding}', "
                                  "which cannot be read")

    def feed(self, data: bytes) -> None:
        """Add received bytes; FeedStopError when the decompressed body passes the limit."""
        if not data:
            return
        if self._inflate is None:
            self._add(data)
            return
        if self._inflate == "deflate":
            wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] * 256 + data[1]) % 31 == 0
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        try:
            pending = data
            while pending:
                room = self.limits.max_bytes - self.size
                self._add(self._inflate.decompress(pending, max(1, min(room + 1, _INFLATE_STEP))))
                pending = self._inflate.unconsumed_tail
                if not pending and self._inflate.eof and self._inflate.unused_data:  # next gzip member
                    pending = self._inflate.unused_data
                    self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        except zlib.error as error:
            raise FeedFormatError(f"{redact_url(self.url)} sent a broken compressed answer ({error})") from None

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limits.max_bytes:
            self._chunks.clear()
            raise self.limits.size_error(self.url)
        if data:
            self._chunks.append(data)

    def content(self) -> bytes:
        """Return the whole (decompressed) body."""
        if self._inflate not in (None, "deflate"):
            self._add(self._inflate.flush())
        return b"".join(self._chunks)


def _link_key(url: str) -> str:
    """Return a link as compared for loops: without fragment and credentials, host lower-case."""
    return url.strip() if is_local(url) else normalise_url(url.split("#", 1)[0])


class LinkGuard:
    """Links of one import or refresh: http(s) only (SOURCE may be a file), none fetched twice.

    ``visit`` raises FeedStopError (``cause`` "link" or "loop") for a link a server must not make
    the importer follow: a local file, another scheme, or a link already fetched (a loop).
    """

    def __init__(self, source: str) -> None:
        self.rules = RequestRules(source)
        self._seen: set[str] = set()

    def visit(self, url: str) -> None:
        """Record ``url`` as fetched; FeedStopError when it must not be fetched."""
        if url.strip() != self.rules.source:
            scheme = urlsplit(url.strip()).scheme.lower()
            if scheme not in HTTP_SCHEMES:
                raise FeedStopError(f"link refused: the server links to {redact_url(url)}, not an http(s) address "
                                    "(a server link never opens a local file)", "link")
        key = _link_key(url)
        if key in self._seen:
            raise FeedStopError(f"link loop: the server links again to {redact_url(url)}, which was fetched "
                                "before", "loop")
        self._seen.add(key)

    def allows(self, url: str) -> bool:
        """Tell whether ``visit(url)`` would accept ``url`` now (nothing is recorded)."""
        if url.strip() != self.rules.source and urlsplit(url.strip()).scheme.lower() not in HTTP_SCHEMES:
            return False
        return _link_key(url) not in self._seen


def read_local(url: str, max_bytes: int, limits: FetchLimits | None = None) -> bytes:
    """Return the bytes of a local file (SOURCE only), read piece by piece under the size limit and the deadline.

    Every kind of file is read the same way: a regular file, a device (``/dev/zero``, ``/dev/urandom``)
    or a FIFO; the size limit applies while reading (a device never ends) and ``limits`` give the
    deadline (TIMEOUT, capped by IMPORT_TIMEOUT), also while waiting for a FIFO's writer. FeedError when
    missing, a folder or unreadable; FeedStopError over ``max_bytes`` or the deadline.
    """
    path = local_path(url)
    limits = limits or FetchLimits(max_bytes=max_bytes)
    deadline = limits.request_deadline()
    try:
        if path.is_dir():
            raise IsADirectoryError
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise FeedError(f"file not found: {path}; check the path in SOURCE") from None
    except IsADirectoryError:
        raise FeedError(f"{path} is a folder, not a file; choose a file") from None
    except OSError as error:
        raise FeedError(f"cannot read {path}: {error.strerror}") from None
    try:
        if stat.S_ISREG(os.fstat(descriptor).st_mode) and os.fstat(descriptor).st_size > max_bytes:
            raise FeedStopError(f"size limit: {path} is larger than {max_bytes / MIB:g} MB (MAX_RESPONSE_MB)", "size")
        return _read_descriptor(descriptor, path, max_bytes, limits, deadline)
    except OSError as error:
        raise FeedError(f"cannot read {path}: {error.strerror}") from None
    finally:
        os.close(descriptor)


def _read_descriptor(descriptor: int, path: Path, max_bytes: int, limits: FetchLimits, deadline: float) -> bytes:
    """Read until the end of the file, or FeedStopError at the size limit or the deadline."""
    chunks, size = [], 0
    waiting = select.poll() if hasattr(select, "poll") else None
    if waiting is not None:
        waiting.register(descriptor, select.POLLIN | select.POLLPRI)
    while True:
        left = deadline - limits.clock()
        if left <= 0:
            raise limits.timeout_error(str(path))
        if waiting is not None and not waiting.poll(int(min(left, 0.2) * 1000) + 1):
            continue  # a FIFO whose writer has not written (or connected) yet
        try:
            chunk = os.read(descriptor, min(_READ_STEP, max_bytes - size + 1))
        except BlockingIOError:
            continue
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise FeedStopError(f"size limit: {path} is larger than {max_bytes / MIB:g} MB (MAX_RESPONSE_MB); "
                                "it was not read further", "size")
        chunks.append(chunk)


_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_CONTENT_TAIL = re.compile(r"(;?\s*(the )?header( is)?:|the answer starts with).*$", re.IGNORECASE)
_PAGE_TITLE = re.compile(r"error page \([^)]*\)")


def without_content(message: str) -> str:
    """Return ``message`` without the quoted text and header lists that parsers copy from a document.

    Used for a local SOURCE: a message about a local file names the problem, never its content.
    """
    message = _PAGE_TITLE.sub("error page", message)
    message = _CONTENT_TAIL.sub("", message)
    return _QUOTED.sub("'…'", message)
