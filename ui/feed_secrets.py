"""Secrets of live-feed URLs kept in a QGIS authentication configuration, never in a project or export.

A feed URL with a user and password or a secret query value (``core/sensors/fetch.is_secret``) is
saved without them (``feed_config.split_secrets``: the query keeps the value ``***``). ``move_secrets``
stores them in a QGIS authentication configuration (method Basic: user and password as usual, the
secret query values under ``QUERY_KEY``), encrypted in the QGIS authentication database; the feed
refers to it by ``authcfg`` and ``feed_url`` puts the values back in when the feed is fetched.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl, urlencode

from qgis.core import QgsApplication, QgsAuthMethodConfig
from qgis.PyQt.QtCore import QCoreApplication

from ..core.live.feed_config import FeedConfig, fill_secrets, missing_secrets, split_secrets
from ..core.sensors.errors import FeedError

#: Key of the authentication configuration's map that holds the secret query values (URL-encoded).
QUERY_KEY = "social_resilience_query"


def tr(text: str) -> str:
    """Translate in the context of this module."""
    return QCoreApplication.translate("feed_secrets", text)


def stored_secrets(authcfg: str) -> dict[str, str]:
    """Return the secret query values kept in the authentication configuration ``authcfg`` ({} when none)."""
    if not authcfg:
        return {}
    config = QgsAuthMethodConfig()
    if not QgsApplication.authManager().loadAuthenticationConfig(authcfg, config, True):
        return {}
    return dict(parse_qsl(config.config(QUERY_KEY, ""), keep_blank_values=True))


def feed_url(config: FeedConfig) -> str:
    """Return the URL to fetch: the feed's URL with its secret query values filled in from ``authcfg``.

    FeedError when a secret is neither in the URL nor in the authentication configuration.
    """
    if not missing_secrets(config.url):
        return config.url
    url = fill_secrets(config.url, stored_secrets(config.authcfg))
    missing = missing_secrets(url)
    if missing:
        raise FeedError(tr("the secret {} of the URL is not stored (a secret is never saved in the project): edit "
                           "the feed and enter it to move it into an authentication configuration").format(
            ", ".join(missing)))
    return url


def move_secrets(config: FeedConfig) -> FeedConfig:
    """Store the URL's secrets in a QGIS authentication configuration; return the feed without them in its URL.

    The feed's own Basic configuration is extended, else a new one is made. ValueError when QGIS cannot
    store it (no master password) or the feed uses a configuration of another method.
    """
    url, secrets, (user, password) = split_secrets(config.url)
    if url == config.url:
        return config
    manager = QgsApplication.authManager()
    auth = QgsAuthMethodConfig()
    existing = bool(config.authcfg) and manager.loadAuthenticationConfig(config.authcfg, auth, True)
    if existing and auth.method() != "Basic":
        raise ValueError(tr("the feed already uses the authentication configuration {} ({}); remove the secret from "
                            "the URL and add it there").format(auth.name(), auth.method()))
    if not existing:
        auth = QgsAuthMethodConfig("Basic")
        auth.setName(tr("Live feed {}").format(config.name))
    if user or password:
        auth.setConfig("username", user)
        auth.setConfig("password", password)
    kept = dict(parse_qsl(auth.config(QUERY_KEY, ""), keep_blank_values=True))
    auth.setConfig(QUERY_KEY, urlencode({**kept, **secrets}))
    stored = manager.updateAuthenticationConfig(auth) if existing else manager.storeAuthenticationConfig(auth)[0]
    if not stored:
        raise ValueError(tr("QGIS could not store the authentication configuration: set the master password of "
                            "the authentication database (Settings > Options > Authentication)"))
    return replace(config, url=url, authcfg=auth.id())


def secret_names(config: FeedConfig) -> list[str]:
    """Name what the feed's URL holds that must not be saved: user and password, secret parameters."""
    _url, secrets, (user, password) = split_secrets(config.url)
    return ([tr("user and password")] if user or password else []) + sorted(secrets)
