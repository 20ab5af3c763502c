"""Errors raised while reading sensor feeds; messages say what is wrong in plain words."""

from __future__ import annotations


class FeedError(Exception):
    """Base class: a feed could not be read."""


class FeedFormatError(FeedError):
    """The text is not what the chosen format expects (malformed, truncated, an HTML page, ...)."""


class FeedHttpError(FeedError):
    """The server answered with an HTTP error status."""

    def __init__(self, message: str, status: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.url = url
