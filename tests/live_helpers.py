"""Helpers for the live-dock tests and benchmark: a SensorThings server whose values change, waiting loops."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Process Qt events until ``predicate()`` is true or the time is up; the final value."""
    from qgis.PyQt.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        if predicate():
            return True
        time.sleep(0.003)
    QCoreApplication.processEvents()
    return predicate()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LiveStaServer:
    """A SensorThings ``Things`` endpoint with one NO2 Datastream per Thing and its newest Observation.

    ``set_values`` records new observations (time: now) between refreshes; every Datastream also
    answers ``Datastreams(<1000 + thing>)/Observations`` with its recorded history, newest first;
    ``mode`` injects faults: ``401``, ``malformed`` (JSON cut short), ``html`` (an error page).
    ``stop()`` closes the port (connection refused), ``start()`` opens it again on the same port.
    Pages hold ``page_size`` Things and chain with ``@iot.nextLink``.
    """

    def __init__(self, values: dict[int, float | None], page_size: int = 2, prop: str = "NO2") -> None:
        self.history: dict[int, list[tuple[datetime, float | None]]] = {}
        self.set_values(values)
        self.prop = prop
        self.page_size = page_size
        self.mode = "ok"
        self.routes: dict[str, bytes] = {}  # extra static answers by path (other feed formats)
        self.delay_s = 0.0
        self.requests: list[str] = []
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def set_values(self, values: dict[int, float | None], moment: datetime | None = None) -> None:
        moment = moment or datetime.now(timezone.utc)
        for thing, value in values.items():
            self.history.setdefault(thing, []).append((moment, value))

    @property
    def values(self) -> dict[int, float | None]:
        return {thing: series[-1][1] for thing, series in self.history.items()}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/FROST-Server/v1.1"

    def position(self, thing: int) -> tuple[float, float]:
        return 9.45 + (thing % 25) * 0.004, 51.29 + (thing // 25) * 0.003

    def things_page(self, skip: int, base: str) -> dict:
        ids = sorted(self.history)
        page = ids[skip : skip + self.page_size]
        things = []
        for thing in page:
            lon, lat = self.position(thing)
            moment, value = self.history[thing][-1]
            things.append(
                {
                    "@iot.id": thing,
                    "name": f"Station {thing}",
                    "Locations": [{"location": {"type": "Point", "coordinates": [lon, lat]}}],
                    "Datastreams": [
                        {
                            "@iot.id": 1000 + thing,
                            "name": f"{self.prop} at station {thing}",
                            "unitOfMeasurement": {"name": "microgram per cubic meter", "symbol": "µg/m³"},
                            "ObservedProperty": {"name": self.prop},
                            "Observations": [{"phenomenonTime": _iso(moment), "result": value}],
                        }
                    ],
                }
            )
        document: dict = {"value": things}
        if skip + self.page_size < len(ids):
            document["@iot.nextLink"] = f"{base}/Things?$skip={skip + self.page_size}&$top={self.page_size}"
        return document

    def answer(self, path: str, query: str) -> tuple[int, bytes, str]:
        if self.mode == "401":
            return 401, b'{"code":401,"message":"Unauthorized"}', "application/json"
        if self.mode == "html":
            return 200, b"<html><head><title>Proxy error</title></head><body>down</body></html>", "text/html"
        if path in self.routes:
            return 200, self.routes[path], "application/json"
        base = f"http://127.0.0.1:{self.port}/FROST-Server/v1.1"
        series = re.fullmatch(r"/FROST-Server/v1.1/Datastreams\((\d+)\)/Observations", path)
        if series and int(series.group(1)) - 1000 in self.history:
            observations = self.history[int(series.group(1)) - 1000]
            items = [{"phenomenonTime": _iso(t), "result": v} for t, v in reversed(observations)]
            return 200, json.dumps({"value": items}).encode(), "application/json"
        if path != "/FROST-Server/v1.1/Things":
            return 404, b'{"code":404}', "application/json"
        skip = int(dict(parse_qsl(query)).get("$skip", 0))
        body = json.dumps(self.things_page(skip, base)).encode()
        if self.mode == "malformed":
            body = body[: len(body) // 2]
        return 200, body, "application/json"

    def start(self) -> None:
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                server_self.requests.append(self.path)
                if server_self.delay_s:
                    time.sleep(min(server_self.delay_s, 10.0))
                status, body, kind = server_self.answer(parts.path, parts.query)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="live-sta-server")
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None
