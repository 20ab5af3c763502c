"""Fetcher over the QGIS network stack: the user's proxy, SSL and authentication settings apply."""

from __future__ import annotations

import time

from qgis.core import QgsBlockingNetworkRequest, QgsFeedback
from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtNetwork import QNetworkRequest

from ..core.sensors.errors import FeedError, FeedHttpError
from ..core.sensors.fetch import FeedConnectionError, FileFetcher, is_local, redact_text, redact_url


class QgisFetcher:
    """GET through ``QgsBlockingNetworkRequest`` with an auth configuration and a per-request timeout.

    Local paths and ``file://`` URLs are read from disk. Cancelling ``feedback`` aborts a request.
    """

    def __init__(self, authcfg: str = "", timeout_s: float = 30.0, feedback: QgsFeedback | None = None) -> None:
        self.authcfg = authcfg or ""
        self.timeout_ms = max(1, int(timeout_s * 1000))
        self.feedback = feedback
        self._files = FileFetcher()

    def get(self, url: str) -> bytes:
        """Return the body of ``url``; FeedHttpError for an HTTP error, FeedConnectionError without answer."""
        if is_local(url):
            return self._files.get(url)
        request = QNetworkRequest(QUrl.fromEncoded(url.encode("utf-8")))
        request.setTransferTimeout(self.timeout_ms)
        request.setRawHeader(b"Accept", b"application/json, text/csv, text/plain, */*")
        blocking = QgsBlockingNetworkRequest()
        if self.authcfg:
            blocking.setAuthCfg(self.authcfg)
        started = time.monotonic()
        code = blocking.get(request, True, self.feedback)
        reply = blocking.reply()
        if code == QgsBlockingNetworkRequest.NoError:
            return bytes(reply.content())
        where = redact_url(url)
        if self.feedback is not None and self.feedback.isCanceled():
            raise FeedError(f"cancelled while fetching {where}")
        status = reply.attribute(QNetworkRequest.HttpStatusCodeAttribute)
        if isinstance(status, int) and status >= 400:
            hint = " (authentication needed: choose an AUTHCFG)" if status in (401, 403) else ""
            raise FeedHttpError(f"HTTP {status} from {where}{hint}", status, url)
        elapsed = time.monotonic() - started
        if code == QgsBlockingNetworkRequest.TimeoutError or elapsed * 1000 >= self.timeout_ms * 0.95:
            raise FeedConnectionError(f"no answer from {where} within {self.timeout_ms / 1000:g} s (TIMEOUT)")
        raise FeedConnectionError(f"cannot fetch {where}: {redact_text(blocking.errorMessage())}")
