"""Live feeds saved in the QGIS project, exported to and imported from a JSON file."""

from __future__ import annotations

import uuid
from pathlib import Path

from qgis.core import QgsProject

from ..core.live.feed_config import FeedConfig, feeds_from_json, feeds_to_json

SCOPE = "SocialResilience"
KEY = "/live_feeds"


def load_from_project(project: QgsProject | None = None, problems: list[str] | None = None) -> list[FeedConfig]:
    """Return the feeds stored in ``project`` (default: the current one); [] when none or unreadable.

    What was left out or repaired (and why nothing could be read) goes into ``problems``.
    """
    project = project or QgsProject.instance()
    text, found = project.readEntry(SCOPE, KEY, "")
    if not found or not text:
        return []
    found_problems = problems if problems is not None else []
    try:
        return feeds_from_json(text, found_problems)
    except ValueError as error:
        found_problems.append(str(error))
        return []


def save_to_project(feeds: list[FeedConfig], project: QgsProject | None = None) -> None:
    """Store the feeds in ``project`` (marks it modified)."""
    project = project or QgsProject.instance()
    if feeds:
        project.writeEntry(SCOPE, KEY, feeds_to_json(feeds))
    else:
        project.removeEntry(SCOPE, KEY)


def export_file(feeds: list[FeedConfig], path: str | Path) -> None:
    """Write the feeds to a JSON file (no credentials: authcfg ids, URLs without their secrets)."""
    Path(path).write_text(feeds_to_json(feeds), encoding="utf-8")


def import_file(path: str | Path, existing: list[FeedConfig], problems: list[str] | None = None) -> list[FeedConfig]:
    """Read the feeds of a JSON file; ids already used by ``existing`` feeds are replaced.

    Raises ValueError (unreadable or invalid file) with the reason; feeds left out or repaired are
    named in ``problems``.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    feeds = feeds_from_json(text, problems)
    used = {feed.feed_id for feed in existing}
    for feed in feeds:
        if feed.feed_id in used or not feed.feed_id:
            feed.feed_id = uuid.uuid4().hex[:12]
        used.add(feed.feed_id)
    return feeds
