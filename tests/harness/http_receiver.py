"""A loopback HTTP server that records every request it gets, for the tests of bot/webhooks.py.

    with HttpReceiver() as receiver:
        receiver.fail_next(500, times=2)   # the next two requests are answered 500
        receiver.hang_next(2.0)            # the next request waits 2 s for its answer (client time-outs)
        sender_url = receiver.url("/hr")
        ...
        receiver.requests                  # what arrived, in order, including the failed ones

Requests that get no special treatment are answered 204.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    # Lower-case names: HTTP header names are case-insensitive.
    headers: dict[str, str]
    body: bytes
    # What the receiver answered; None when it hung instead.
    status: int | None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class _Plan:
    status: int = 204
    delay: float = 0.0


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        receiver = self.server.receiver
        plan = receiver._next_plan()
        headers = {name.lower(): value for name, value in self.headers.items()}
        receiver._record(ReceivedRequest(self.command, self.path, headers, body,
                                         None if plan.delay else plan.status))
        if plan.delay and receiver._stopping.wait(plan.delay):
            return
        try:
            self.send_response(plan.status)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting, which is what a hang is for

    def log_message(self, format: str, *args: Any) -> None:
        # Test output stays readable without a line per request.
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: HttpReceiver


class HttpReceiver:
    def __init__(self) -> None:
        self._server = _Server((HOST, 0), _RequestHandler)
        self._server.receiver = self
        self._lock = threading.Lock()
        self._plans: list[_Plan] = []
        self._requests: list[ReceivedRequest] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-receiver", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://{HOST}:{self.port}{path}"

    def start(self) -> HttpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, status: int = 500, *, times: int = 1) -> None:
        with self._lock:
            self._plans.extend(_Plan(status=status) for _ in range(times))

    def hang_next(self, seconds: float, *, times: int = 1) -> None:
        with self._lock:
            self._plans.extend(_Plan(delay=seconds) for _ in range(times))

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def wait_for(self, count: int, *, timeout: float = 5.0) -> list[ReceivedRequest]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} request(s), received {len(self.requests)}")
            time.sleep(0.02)
        return self.requests

    def _next_plan(self) -> _Plan:
        with self._lock:
            return self._plans.pop(0) if self._plans else _Plan()

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self._requests.append(request)
