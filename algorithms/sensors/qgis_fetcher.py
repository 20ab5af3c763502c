"""The one fetch path over the QGIS network stack (proxy, SSL and authentication settings apply).

Used by the Processing import and by the live dock (``ui/fetch_task.py``). The rules for
untrusted servers are pure (``core/sensors/fetch.py``); this module only applies them to
``QgsNetworkAccessManager`` replies:

- redirects are followed here, one by one (``ManualRedirectPolicy``), so each target is checked:
  http(s) only, no loop, at most ``max_redirects``; the credentials of ``AUTHCFG`` are added only
  to requests to the origin of SOURCE (a redirect to another origin is followed without them);
- the body is read while it arrives and decompressed here (we ask for gzip/deflate ourselves, so
  Qt does not inflate it whole) with the size limit checked after every piece;
- always from the network, never from (or into) QGIS's network cache: a feed changes;
- a total deadline per request (TIMEOUT, including redirects, capped by the import's deadline)
  and cancelling ``feedback`` abort the reply within 50 ms, from a timer of the fetching thread
  (the request's event loop runs in that thread: a worker thread of a QgsTask or the main thread).
"""

from __future__ import annotations

from dataclasses import dataclass

from qgis.core import QgsApplication, QgsFeedback, QgsNetworkAccessManager
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QEventLoop, QTimer, QUrl
from qgis.PyQt.QtNetwork import QNetworkReply, QNetworkRequest

from ...core.sensors.errors import FeedError, FeedHttpError
from ...core.sensors.fetch import (
    REDIRECT_STATUS,
    FeedCancelledError,
    FeedConnectionError,
    FetchLimits,
    LimitedBody,
    RequestRules,
    is_local,
    read_local,
    redact_text,
    redact_url,
)

ACCEPT = b"application/json, text/csv;q=0.9, text/plain;q=0.8, */*;q=0.5"
#: Bytes Qt may buffer before this thread reads them (the socket waits while the buffer is full).
READ_BUFFER = 1024 * 1024
WATCH_MS = 50


@dataclass
class _Answer:
    status: int | None
    location: str
    reason: str
    body: bytes
    error: int
    error_text: str


class QgisFetcher:
    """``get(url) -> bytes`` for the feed whose SOURCE is ``source``, under ``limits``.

    Only SOURCE itself may be a local file. Raises FeedHttpError (HTTP error status),
    FeedConnectionError (no connection), FeedStopError/FeedTimeoutError (a rule stopped the
    request), FeedCancelledError (``feedback`` was cancelled).
    """

    def __init__(self, source: str, authcfg: str = "", limits: FetchLimits | None = None,
                 feedback: QgsFeedback | None = None) -> None:
        self.rules = RequestRules(source, limits)
        self.limits = self.rules.limits
        self.authcfg = authcfg or ""
        self.feedback = feedback
        self._ahead: tuple[str, float, QNetworkReply] | None = None  #: (url, deadline, reply) sent ahead

    def get(self, url: str) -> bytes:
        """Return the body of ``url`` after at most ``max_redirects`` checked redirects."""
        self.rules.check(url)
        if is_local(url):
            self.drop_prefetch()
            return read_local(url, self.limits.max_bytes, self.limits)
        self.limits.check_import()
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] != url:
            _discard(ahead[2])
            ahead = None
        deadline = ahead[1] if ahead is not None else self.limits.request_deadline()
        reply = ahead[2] if ahead is not None else None
        chain = [url]
        while True:
            answer = self._once(chain[-1], deadline, reply)
            reply = None
            if answer.status in REDIRECT_STATUS and answer.location:
                chain.append(self.rules.redirect(chain[-1], answer.location, chain))
                continue
            return self._result(chain[-1], answer)

    def prefetch(self, url: str) -> None:
        """Send the request for ``url`` now (the next page) so it arrives while this page is used.

        ``get(url)`` then reads it, under the same rules (its deadline runs from now); one request
        ahead at most, any other ``get`` or ``drop_prefetch`` aborts it. A URL a rule refuses is not
        sent (``get`` raises then).
        """
        self.drop_prefetch()
        if is_local(url):
            return
        try:
            self.rules.check(url)
            self.limits.check_import()
        except FeedError:
            return
        deadline = self.limits.request_deadline()
        self._ahead = (url, deadline, self._send(url))

    def drop_prefetch(self) -> None:
        """Abort a request sent ahead that is not needed any more."""
        if self._ahead is not None:
            _discard(self._ahead[2])
            self._ahead = None

    def _send(self, url: str) -> QNetworkReply:
        request = QNetworkRequest(QUrl.fromEncoded(url.encode("utf-8")))
        attribute, policy = QNetworkRequest.Attribute, QNetworkRequest.RedirectPolicy
        request.setAttribute(attribute.RedirectPolicyAttribute, policy.ManualRedirectPolicy)
        # feeds change: never an answer from QGIS's network cache, and no pages of a big import in it
        request.setAttribute(attribute.CacheLoadControlAttribute, QNetworkRequest.CacheLoadControl.AlwaysNetwork)
        request.setAttribute(attribute.CacheSaveControlAttribute, False)
        request.setRawHeader(b"Accept", ACCEPT)
        request.setRawHeader(b"Accept-Encoding", b"gzip, deflate")  # inflated here, under the size limit
        credentials = bool(self.authcfg) and self.rules.sends_credentials(url)
        if credentials:
            applied, request = QgsApplication.authManager().updateNetworkRequest(request, self.authcfg)
            if not applied:
                raise FeedError(f"the authentication configuration {self.authcfg} could not be applied; "
                                "check AUTHCFG")
        reply = QgsNetworkAccessManager.instance().get(request)
        reply.setReadBufferSize(READ_BUFFER)
        if credentials:
            QgsApplication.authManager().updateNetworkReply(reply, self.authcfg)
        return reply

    def _once(self, url: str, deadline: float, reply: QNetworkReply | None = None) -> _Answer:
        reply = reply if reply is not None else self._send(url)
        try:
            return _ReplyReader(reply, url, self.limits, deadline, self.feedback).run()
        finally:
            reply.deleteLater()

    def _result(self, url: str, answer: _Answer) -> bytes:
        where = redact_url(url)
        if answer.status is not None and answer.status >= 400:
            hint = ""
            if answer.status in (401, 403):
                hint = (" (authentication needed: check AUTHCFG)" if self.rules.sends_credentials(url) else
                        " (another origin than SOURCE asks for a login: AUTHCFG is sent only to the origin of SOURCE)")
            raise FeedHttpError(f"HTTP {answer.status} {answer.reason}".strip() + f" from {where}{hint}",
                                answer.status, url)
        if answer.error in (QNetworkReply.NetworkError.OperationCanceledError, QNetworkReply.NetworkError.TimeoutError):
            raise self.limits.timeout_error(url)
        if answer.error != QNetworkReply.NetworkError.NoError:
            raise FeedConnectionError(f"cannot fetch {where}: {redact_text(answer.error_text)}")
        return answer.body


def _discard(reply: QNetworkReply) -> None:
    reply.abort()
    reply.deleteLater()


class _ReplyReader:
    """Reads one reply while it arrives; aborts it on the deadline, the size limit or a cancel."""

    def __init__(self, reply: QNetworkReply, url: str, limits: FetchLimits, deadline: float,
                 feedback: QgsFeedback | None) -> None:
        self.reply = reply
        self.url = url
        self.limits = limits
        self.deadline = deadline
        self.feedback = feedback
        self.body: LimitedBody | None = None
        self.stop: FeedError | None = None

    def run(self) -> _Answer:
        reply = self.reply
        reply.setReadBufferSize(READ_BUFFER)
        loop = QEventLoop()
        reply.readyRead.connect(self._read)
        reply.finished.connect(loop.quit)
        watch = QTimer()
        watch.setInterval(WATCH_MS)
        watch.timeout.connect(self._watch)
        watch.start()
        try:
            if reply.bytesAvailable():  # a request sent ahead: what arrived before (its buffer may be full)
                self._read()
            if not reply.isFinished() and self.stop is None:
                loop.exec()
        finally:
            # a reply emits readyRead while it is destroyed (deleteLater, in the next request's event loop);
            # a Python slot then meets a deleted object, and an exception in a slot aborts the process
            watch.stop()
            reply.readyRead.disconnect(self._read)
            reply.finished.disconnect(loop.quit)
        if self.stop is None:
            self._read()
        if self.stop is not None:
            raise self.stop
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
        location = bytes(reply.rawHeader(b"Location")).decode("latin-1")
        reason = reply.attribute(QNetworkRequest.Attribute.HttpReasonPhraseAttribute) or ""
        ok = reply.error() == QNetworkReply.NetworkError.NoError
        body = self.body.content() if self.body is not None and ok else b""
        return _Answer(status if isinstance(status, int) else None, location, str(reason), body,
                       reply.error(), reply.errorString())

    def _read(self) -> None:
        if self.stop is not None or sip.isdeleted(self.reply):
            return
        try:
            if self.body is None:
                encoding = bytes(self.reply.rawHeader(b"Content-Encoding")).decode("latin-1")
                self.body = LimitedBody(self.url, self.limits, encoding)
            self.body.feed(bytes(self.reply.readAll()))
        except FeedError as error:
            self._abort(error)

    def _watch(self) -> None:
        if self.feedback is not None and self.feedback.isCanceled():
            self._abort(FeedCancelledError(f"cancelled while fetching {redact_url(self.url)}"))
        elif self.limits.clock() >= self.deadline:
            self._abort(self.limits.timeout_error(self.url))

    def _abort(self, error: FeedError) -> None:
        if self.stop is None:
            self.stop = error
            self.body = None
            self.reply.abort()
