"""Serve a copy of the demo site on 127.0.0.1 (port 0 = a free port), in a background thread.

Used by `archiver serve-demo`, `archiver demo`, the tests and the benchmarks. It answers like the
real site: listing pages, robots.txt, 404 past the last page, a 200 page without cards for an
empty filter, release pages (a moved one: 301 with a Location; a deleted one: 404 or 410). It
also supports what tests need to stage scenarios: swapping the content while running
(`server.site = ...`), a delay per answer (a slow site), ETag / Last-Modified with 304 answers
(release pages too), a record of the paths requested, and misbehaving pages (`server.faults`, a
FaultPlan from archiver.demo.faults: 5xx, hangs, resets, truncated bodies and more, for a number
of tries, on any path).
"""

from __future__ import annotations

import email.utils
import hashlib
import socket
import struct
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from archiver.demo.faults import FaultAnswer, FaultPlan, fault_answer
from archiver.demo.render import SitePages

LAST_MODIFIED = email.utils.formatdate(1_700_000_000, usegmt=True)


class _Handler(BaseHTTPRequestHandler):
    server: _DemoHTTPServer
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, a keep-alive client (Scrapy) waits
    # for the delayed ACK (~40 ms) on every answer: 22 requests/s instead of ~1,500.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        demo = self.server.demo
        demo.record(self.path, self.headers.get("User-Agent", ""))
        if demo.delay:
            time.sleep(demo.delay)
        fault = demo.faults.on_request(self.path)
        status, body = demo.site.lookup(self.path)
        is_robots = self.path.split("?")[0] == "/robots.txt"
        ctype = "text/plain; charset=utf-8" if is_robots else "text/html; charset=UTF-8"
        if fault is not None:
            self._misbehave(fault_answer(fault, self.path, status, body, ctype))
            return
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if status == 200 and self.headers.get("If-None-Match") == etag:
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(status)
        if 300 <= status < 400:
            location = demo.site.location(self.path)
            if location is not None:
                self.send_header("Location", location)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if status == 200:
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
        self.end_headers()
        self.wfile.write(body)

    def _misbehave(self, answer: FaultAnswer) -> None:
        """Put a fault on the wire: wait, answer (or not), then keep, close or reset."""
        if answer.wait:
            self.server.demo.sleep(answer.wait)
        if answer.status is not None:
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
        if answer.end == "keep":
            return
        self.close_connection = True
        if answer.end == "reset":
            # Linger 0: close() discards the connection with an RST instead of a FIN. The socket
            # closes only when its last file (rfile) does, and before socketserver's shutdown()
            # (which would send a FIN first).
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()

    def log_message(self, format: str, *args: object) -> None:
        if self.server.demo.verbose:
            super().log_message(format, *args)


class _DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    demo: DemoServer


class DemoServer:
    """A local copy of the site on 127.0.0.1; use as a context manager.

    `faults` (a FaultPlan, empty by default) makes chosen paths misbehave; set or change it while
    the server runs. It also counts the tries of every path (`server.faults.tries`).

    >>> from archiver.demo.build import load_site
    >>> with DemoServer(load_site("current")) as server:
    ...     server.base_url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(
        self,
        site: SitePages | None = None,
        *,
        layout: str = "current",
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        verbose: bool = False,
        faults: FaultPlan | None = None,
    ) -> None:
        if site is None:
            from archiver.demo.build import load_site

            site = load_site(layout)
        self.site = site
        self.delay = delay
        self.verbose = verbose
        self.faults = faults if faults is not None else FaultPlan()
        self._stopping = threading.Event()
        self.requests: list[str] = []
        self.user_agents: set[str] = set()
        self._lock = threading.Lock()
        self._httpd = _DemoHTTPServer((host, port), _Handler)
        self._httpd.demo = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, to pass as the spider's `base_url`."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def record(self, path: str, user_agent: str = "") -> None:
        """Remember a requested path and who asked (tests read `requests`, `user_agents`)."""
        with self._lock:
            self.requests.append(path)
            self.user_agents.add(user_agent)

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` in a handler thread, less if the server stops (a hang must not outlive
        the test that staged it)."""
        self._stopping.wait(seconds)

    def start(self) -> DemoServer:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="demo-site", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        self._httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving and free the port (a hanging fault gives up its connection)."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
