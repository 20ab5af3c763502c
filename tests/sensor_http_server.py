"""A local HTTP server for sensor-feed tests (127.0.0.1, random port, stops by itself).

- Static routes: URL path (with or without query) -> bytes or file, like QGIS's own provider
  tests; absolute URLs too (``http://next``): the server also acts as an HTTP proxy, so a
  client with this server as its proxy fetches a nextLink to another host exactly as written.
- A generated SensorThings service at ``/sta/v1.1`` (Things with expanded Locations and
  Datastreams, paged Observations with ``$top``/``$skip``, phenomenonTime filter, nextLinks).
- The third-party server's data (``tests/sta_thirdparty/dataset.py``) served as FROST does at
  ``/frost/v1.1`` (``DatasetFeed``): MultiDatastreams, ``dataArray``, MQTT in ``serverSettings``.
- Injected faults per path prefix, used once each in order: ``503``, ``500``, ``401``, ``html``
  (an HTML error page with status 200), ``truncate`` (JSON cut in half), ``timeout:<s>``
  (answer after s seconds), ``reset`` (close without an answer), ``drip`` (the route's body
  at one byte per second).
- Hostile answers: ``redirect`` (a 302 to any URL, e.g. another port, ``file://`` or back),
  extra headers per route (``Content-Encoding: gzip`` for ``gzip_bomb``), ``drip`` as above.
- Bounded: it shuts itself down after ``lifetime`` seconds; sleeps are capped at 10 s and a drip
  at 60 s.

Run as a script to serve a big generated feed for benchmarks:
``python3 tests/sensor_http_server.py --things 10 --streams 10 --observations 10000``
prints the base URL and serves until killed or the lifetime ends.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import math
import re
import sys
import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

STA_PREFIX = "/sta/v1.1"
MAX_SLEEP_S = 10.0
MAX_DRIP_S = 60.0
_TIME_FILTER = re.compile(r"phenomenonTime\s+(ge|gt|le|lt)\s+(\S+?Z)")
_OBSERVATIONS = re.compile(r"^/Datastreams\((\d+)\)/Observations$")


class StaFeed:
    """A generated SensorThings service: things x streams x observations, deterministic values.

    Observation i of a stream is at ``start + i * step_s`` with result ``20 + 10 sin(i/50 + stream)``
    rounded to 3 decimals, or null when ``null_every`` divides i + 1.
    """

    def __init__(self, things: int = 2, streams: int = 2, observations: int = 50, max_top: int = 1000,
                 start: datetime = datetime(2024, 1, 1, tzinfo=timezone.utc), step_s: int = 60,
                 null_every: int = 0) -> None:
        self.things, self.streams, self.observations = things, streams, observations
        self.max_top, self.start, self.step_s, self.null_every = max_top, start, step_s, null_every

    def result(self, stream: int, index: int) -> float | None:
        if self.null_every and (index + 1) % self.null_every == 0:
            return None
        return round(20 + 10 * math.sin(index / 50 + stream), 3)

    def time_text(self, index: int) -> str:
        moment = self.start + timedelta(seconds=index * self.step_s)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def lon_lat(self, thing: int) -> tuple[float, float]:
        return 9.0 + thing * 0.01, 51.0 + thing * 0.005

    def answer(self, base: str, path: str, query: str) -> dict:
        params = dict(parse_qsl(query, keep_blank_values=True))
        if path in ("", "/"):
            names = ["Things", "Locations", "HistoricalLocations", "Datastreams", "Sensors", "Observations",
                     "ObservedProperties", "FeaturesOfInterest"]
            return {"value": [{"name": n, "url": f"{base}{STA_PREFIX}/{n}"} for n in names]}
        if path == "/Things":
            return self._things(base, params)
        match = _OBSERVATIONS.match(path)
        if match:
            return self._observations(base, int(match.group(1)), params)
        raise KeyError(path)

    def _page(self, params: dict, total: int) -> tuple[int, int]:
        top = min(int(params.get("$top", self.max_top)), self.max_top)
        skip = int(params.get("$skip", 0))
        return skip, min(total, skip + top)

    @staticmethod
    def _next(base: str, path: str, params: dict, skip: int) -> str:
        params = {**params, "$skip": str(skip)}
        query = "&".join(f"{k}={quote(v, safe='$(),:/')}" for k, v in params.items())
        return f"{base}{STA_PREFIX}{path}?{query}"

    def _things(self, base: str, params: dict) -> dict:
        skip, stop = self._page(params, self.things)
        things = []
        for t in range(skip, stop):
            lon, lat = self.lon_lat(t)
            streams = []
            for s in range(self.streams):
                ds_id = t * 1000 + s
                streams.append({
                    "@iot.id": ds_id,
                    "name": f"Thing {t} stream {s}",
                    "unitOfMeasurement": {"name": "degree Celsius", "symbol": "°C"},
                    "ObservedProperty": {"@iot.id": s, "name": f"property_{s}"},
                    "Sensor": {"@iot.id": 1, "name": "generated"},
                })
            things.append({
                "@iot.id": t,
                "name": f"Thing {t}",
                "properties": {"generated": True},
                "Locations": [{"@iot.id": t, "location": {"type": "Point", "coordinates": [lon, lat]}}],
                "Datastreams": streams,
            })
        page: dict = {"value": things}
        if stop < self.things:
            page["@iot.nextLink"] = self._next(base, "/Things", params, stop)
        return page

    def _index_range(self, params: dict) -> tuple[int, int]:
        first, last = 0, self.observations - 1
        for operator, text in _TIME_FILTER.findall(unquote(params.get("$filter", ""))):
            moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
            offset = (moment - self.start).total_seconds() / self.step_s
            if operator in ("ge", "gt"):
                first = max(first, math.ceil(offset + (1e-9 if operator == "gt" else 0)))
            else:
                last = min(last, math.floor(offset - (1e-9 if operator == "lt" else 0)))
        return first, max(first - 1, last)

    def _observations(self, base: str, ds_id: int, params: dict) -> dict:
        stream = ds_id % 1000
        if ds_id // 1000 >= self.things or stream >= self.streams:
            raise KeyError(ds_id)
        first, last = self._index_range(params)
        skip, stop = self._page(params, last - first + 1)
        value = [{"phenomenonTime": self.time_text(first + i), "result": self.result(stream, first + i)}
                 for i in range(skip, stop)]
        page: dict = {"value": value}
        if stop < last - first + 1:
            page["@iot.nextLink"] = self._next(base, f"/Datastreams({ds_id})/Observations", params, stop)
        return page


class DatasetFeed:
    """The seeded year of ``tests/sta_thirdparty/dataset.py`` (plus a MultiDatastream) as FROST-Server serves it.

    Root with and without slash, ``serverSettings`` (dataArray, and MQTT when ``mqtt_endpoint``
    is set), Things with Locations, Datastreams and MultiDatastreams expanded (with their newest
    Observation when the expansion asks for Observations), one Datastream or MultiDatastream,
    and their Observations filtered by phenomenonTime, newest first unless ordered ascending,
    paged by ``$top`` (at most ``max_top``)/``$skip``, optionally as ``dataArray``.
    """

    prefix = "/frost/v1.1"

    def __init__(self, max_top: int = 1000, mqtt_endpoint: str = "", version: str = "v1.1") -> None:
        from .sta_thirdparty import dataset

        self.data, self.max_top, self.mqtt_endpoint = dataset, max_top, mqtt_endpoint
        self.version2 = version.startswith("v2")
        self.prefix = f"/frost/{version}"
        self.streams = {dataset.datastream_id(thing, prop): (index, thing, prop)
                        for index, thing in enumerate(dataset.THINGS) for prop in dataset.PROPERTIES}

    def answer(self, base: str, path: str, query: str) -> dict:
        params = dict(parse_qsl(query, keep_blank_values=True))
        root = f"{base}{self.prefix}"
        if path in ("", "/"):
            return self._root(root)
        if path == "/Things":
            return {"value": [self._thing(root, index, "Observations" in params.get("$expand", ""))
                              for index in range(len(self.data.THINGS))]}
        match = _ENTITY.match(path)
        if not match:
            raise KeyError(path)
        kind, entity_id, observations = match.group(1), match.group(2), match.group(3)
        if observations:
            return self._observations(root, kind, entity_id, params)
        return self._stream(root, kind, entity_id, expand_thing=True)

    def _root(self, root: str) -> dict:
        names = ["Things", "Locations", "Datastreams", "MultiDatastreams", "Sensors", "Observations",
                 "ObservedProperties", "FeaturesOfInterest"]
        conformance = ["http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
                       "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array"]
        settings: dict = {"conformance": conformance}
        if self.mqtt_endpoint:
            mqtt = "http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates"
            conformance.append(mqtt)
            settings[mqtt] = {"endpoints": [self.mqtt_endpoint]}
        return {"serverSettings": settings, "value": [{"name": n, "url": f"{root}/{n}"} for n in names]}

    def _thing(self, root: str, index: int, with_latest: bool) -> dict:
        thing = self.data.THINGS[index]
        lon_lat = [thing.lon, thing.lat]
        entity = {"@iot.id": self.data.thing_id(thing), "name": thing.name,
                  "properties": {"city": thing.name.split()[0]},
                  "Locations": [{"@iot.id": self.data.entity_id("Location", thing.key), "name": thing.name,
                                 "location": {"type": "Point", "coordinates": lon_lat}}]}
        entity["Datastreams"] = [self._stream(root, "Datastreams", f"'{self.data.datastream_id(thing, prop)}'")
                                 for prop in self.data.PROPERTIES]
        multi = self.data.MULTI
        entity["MultiDatastreams"] = ([self._stream(root, "MultiDatastreams", f"'{self.data.multi_id(multi)}'")]
                                      if multi.thing_index == index else [])
        if self.version2:  # 2.0: no MultiDatastreams; the weather record is a Datastream with a DataRecord result
            record = entity.pop("MultiDatastreams")
            entity["Datastreams"] += [{**m, "resultType": {"type": "DataRecord", "fields": []}} for m in record]
        if with_latest:
            last = self.data.HOURS - 1
            for stream in entity["Datastreams"] + entity.get("MultiDatastreams", []):
                stream["Observations"] = [{"phenomenonTime": self._time(last),
                                           "result": self._result(stream["@iot.id"], last)}]
        return entity

    def _stream(self, root: str, kind: str, quoted_id: str, expand_thing: bool = False) -> dict:
        entity_id = quoted_id.strip("'")
        multi = self.data.MULTI
        if kind == "MultiDatastreams":
            if entity_id != self.data.multi_id(multi):
                raise KeyError(entity_id)
            thing = self.data.THINGS[multi.thing_index]
            entity = {"@iot.id": entity_id, "name": multi.name,
                      "unitOfMeasurements": [{"name": p.unit_name, "symbol": p.symbol} for p in multi.components],
                      "multiObservationDataTypes": ["OM_Measurement"] * len(multi.components),
                      "ObservedProperties": [{"name": p.name} for p in multi.components]}
        else:
            _index, thing, prop = self.streams[entity_id]
            entity = {"@iot.id": entity_id, "name": f"{thing.name} {prop.name}",
                      "unitOfMeasurement": {"name": prop.unit_name, "symbol": prop.symbol},
                      "ObservedProperty": {"name": prop.name}}
            if self.version2:  # SensorThings 2.0: resultType (SWE Common) and ObservedProperties
                del entity["unitOfMeasurement"], entity["ObservedProperty"]
                entity["resultType"] = {"type": "Quantity", "uom": {"code": prop.symbol}}
                entity["ObservedProperties"] = [{"name": prop.name}]
        entity["@iot.selfLink"] = f"{root}/{kind}('{entity_id}')"
        if expand_thing:
            thing_entity = self._thing(root, self.data.THINGS.index(thing), False)
            entity["Thing"] = {key: thing_entity[key] for key in ("@iot.id", "name", "Locations")}
        return entity

    def _time(self, hour: int) -> str:
        return self.data.hour_time(hour).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def _result(self, entity_id: str, hour: int) -> float | list[float]:
        if entity_id in self.streams:
            index, _thing, prop = self.streams[entity_id]
            return self.data.value(index, prop, hour)
        multi = self.data.MULTI
        return [self.data.value(multi.thing_index, p, hour) for p in multi.components]

    def _hours(self, params: dict) -> list[int]:
        first, last = 0, self.data.HOURS - 1
        for operator, text in _TIME_FILTER.findall(unquote(params.get("$filter", ""))):
            moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
            offset = (moment - self.data.YEAR_START).total_seconds() / 3600
            if operator in ("ge", "gt"):
                first = max(first, math.ceil(offset + (1e-9 if operator == "gt" else 0)))
            else:
                last = min(last, math.floor(offset - (1e-9 if operator == "lt" else 0)))
        hours = list(range(first, last + 1))
        return hours if "asc" in params.get("$orderby", "") else hours[::-1]

    def _observations(self, root: str, kind: str, quoted_id: str, params: dict) -> dict:
        entity_id = quoted_id.strip("'")
        if entity_id not in self.streams and entity_id != self.data.multi_id(self.data.MULTI):
            raise KeyError(entity_id)
        hours = self._hours(params)
        top = min(int(params.get("$top", self.max_top)), self.max_top)
        skip = int(params.get("$skip", 0))
        rows = [(self._time(h), self._result(entity_id, h)) for h in hours[skip:skip + top]]
        if params.get("$resultFormat") == "dataArray":
            arrays = [{"components": ["phenomenonTime", "result"], "dataArray": [list(r) for r in rows]}]
            page: dict = {"value": arrays}
        else:
            page = {"value": [{"phenomenonTime": t, "result": r} for t, r in rows]}
        if skip + top < len(hours):
            query = "&".join(f"{k}={quote(v, safe='$(),:/')}" for k, v in {**params, "$skip": str(skip + top)}.items())
            page["@iot.nextLink"] = f"{root}/{kind}('{entity_id}')/Observations?{query}"
        return page


_ENTITY = re.compile(r"^/(Datastreams|MultiDatastreams)\(('[^']*'|[^)]*)\)(/Observations)?$")


class SensorHttpServer:
    """Context manager: ``with SensorHttpServer() as server: server.add("/a.json", b"{}"); server.url("/a.json")``."""

    def __init__(self, lifetime: float = 120.0, sta: StaFeed | None = None, dataset: DatasetFeed | None = None) -> None:
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        self.route_headers: dict[str, dict[str, str]] = {}
        self.faults: list[tuple[str, deque]] = []
        self.requests: list[str] = []
        self.headers: list[dict[str, str]] = []  #: request headers, parallel to ``requests``
        self.credentials: dict[str, str] = {}  #: path prefix -> required "user:password" (HTTP basic)
        self.sta = sta
        self.dataset = dataset
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    def __enter__(self) -> SensorHttpServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.cancel()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, key: str, body: bytes | str | Path, content_type: str = "application/json",
            status: int = 200, headers: dict[str, str] | None = None) -> str:
        """Serve ``body`` at ``key`` (a path, path?query, or an absolute URL); returns the local URL."""
        if isinstance(body, Path):
            body = body.read_bytes()
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.routes[key] = (status, content_type, body)
        self.route_headers[key] = dict(headers or {})
        return key if "://" in key else self.url(key)

    def redirect(self, key: str, location: str, status: int = 302) -> str:
        """Answer requests for ``key`` with a redirect to ``location``; returns the local URL."""
        return self.add(key, b"", "text/plain", status, {"Location": location})

    def headers_of(self, fragment: str) -> list[dict[str, str]]:
        """Request headers of the requests whose target contains ``fragment``."""
        with self._lock:
            return [h for r, h in zip(self.requests, self.headers) if fragment in r]

    def inject(self, prefix: str, *faults: str) -> None:
        """Use ``faults`` in turn for requests whose path (or absolute URL) starts with ``prefix``."""
        self.faults.append((prefix, deque(faults)))

    def require_basic_auth(self, prefix: str, user_password: str) -> None:
        """Answer 401 to requests under ``prefix`` without these HTTP basic credentials."""
        self.credentials[prefix] = user_password

    def requested(self, fragment: str) -> list[str]:
        """Requests whose target contains ``fragment``."""
        return [r for r in self.requests if fragment in r]

    # -- request handling (called from handler threads) ------------------------------------
    def take_fault(self, target: str, headers: dict[str, str] | None = None) -> str | None:
        with self._lock:
            self.requests.append(target)
            self.headers.append(headers or {})
            for prefix, user_password in self.credentials.items():
                expected = "Basic " + base64.b64encode(user_password.encode()).decode()
                if urlsplit(target).path.startswith(prefix) and (headers or {}).get("Authorization") != expected:
                    return "401"
            for prefix, queue in self.faults:
                if target.startswith(prefix) and queue:
                    return queue.popleft()
        return None

    def lookup(self, target: str, host: str) -> tuple[int, str, bytes]:
        return self.lookup_with_headers(target, host)[:3]

    def lookup_with_headers(self, target: str, host: str) -> tuple[int, str, bytes, dict[str, str]]:
        parts = urlsplit(target)
        path_query = parts.path + (f"?{parts.query}" if parts.query else "")
        for key in (target, target.rstrip("/"), path_query, parts.path):
            if key in self.routes:
                return (*self.routes[key], self.route_headers.get(key, {}))
        if self.dataset is not None and parts.path.startswith(self.dataset.prefix):
            try:
                document = self.dataset.answer(f"http://{host}", parts.path[len(self.dataset.prefix):], parts.query)
            except (KeyError, ValueError):
                return 404, "application/json", b'{"code":404,"type":"error","message":"Not found."}', {}
            return 200, "application/json", json.dumps(document).encode("utf-8"), {}
        if self.sta is not None and parts.path.startswith(STA_PREFIX):
            try:
                document = self.sta.answer(f"http://{host}", parts.path[len(STA_PREFIX):], parts.query)
            except (KeyError, ValueError):
                return 404, "application/json", b'{"code":404,"type":"error","message":"Not found."}', {}
            return 200, "application/json", json.dumps(document).encode("utf-8"), {}
        return 404, "text/plain", b"not found", {}


def _handler_class(server: SensorHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            target = self.path
            fault = server.take_fault(target, dict(self.headers.items()))
            if fault == "reset":
                self.close_connection = True
                return
            if fault and fault.startswith("timeout"):
                time.sleep(min(MAX_SLEEP_S, float(fault.partition(":")[2] or 5)))
            if fault in ("500", "503", "401"):
                body = b'{"error": "injected"}'
                extra = {"WWW-Authenticate": 'Basic realm="feeds"'} if fault == "401" else {}
                return self._send(int(fault), "application/json", body, extra)
            if fault == "html":
                return self._send(200, "text/html", b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title>"
                                                    b"</head><body>Bad gateway</body></html>")
            host = self.headers.get("Host") or f"127.0.0.1:{server.port}"
            status, content_type, body, headers = server.lookup_with_headers(target, host)
            if fault == "truncate" and body:
                body = body[: max(1, len(body) // 2)]
            if fault == "drip":
                return self._drip(status, content_type, body)
            self._send(status, content_type, body, headers)

        def _drip(self, status: int, content_type: str, body: bytes) -> None:
            """Send ``body`` at one byte per second (for at most MAX_DRIP_S)."""
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                started = time.monotonic()
                for index in range(len(body)):
                    if time.monotonic() - started > MAX_DRIP_S:
                        break
                    self.wfile.write(body[index:index + 1])
                    self.wfile.flush()
                    time.sleep(1.0)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

        def do_CONNECT(self) -> None:
            """A proxy tunnel (https through this proxy) is recorded and refused: no TLS here."""
            server.take_fault(f"CONNECT {self.path}")
            self._send(502, "text/plain", b"no tunnels")

        def _send(self, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


def gzip_bomb(unpacked_mib: int = 1024) -> bytes:
    """A gzip body of about 1 KB per MiB that unpacks to ``unpacked_mib`` MiB of spaces.

    One gzip member per MiB (RFC 1952 allows several; readers must go on after the first).
    """
    member = gzip.compress(b" " * (1024 * 1024), compresslevel=9)
    return member * unpacked_mib


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--things", type=int, default=10)
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--observations", type=int, default=10_000)
    parser.add_argument("--max-top", type=int, default=1000)
    parser.add_argument("--lifetime", type=float, default=600)
    args = parser.parse_args(argv)
    feed = StaFeed(args.things, args.streams, args.observations, args.max_top)
    server = SensorHttpServer(lifetime=args.lifetime, sta=feed)
    server.start()
    print(server.url(STA_PREFIX), flush=True)
    try:
        server._thread.join()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
