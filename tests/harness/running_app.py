"""The real app (Bolt + Starlette) served by uvicorn on a free loopback port, for scenario tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn

from bot.app import build_app
from bot.deps import Deps
from bot.inbox import Inbox
from bot.server import build_asgi_app


@dataclass
class RunningApp:
    url: str
    deps: Deps
    inbox: Inbox | None = None

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until the work the app took on after its acks (bot/inbox.py) is done."""
        if self.inbox is not None:
            self.inbox.wait_idle(timeout)


@contextmanager
def serve_app(deps: Deps) -> Iterator[RunningApp]:
    bolt_app = build_app(deps)
    asgi = build_asgi_app(bolt_app, deps.db, deps=deps)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="uvicorn")
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the app did not start within 10 s")
        time.sleep(0.01)
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    try:
        yield RunningApp(url=url, deps=deps, inbox=bolt_app.inbox)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        if bolt_app.inbox is not None:
            bolt_app.inbox.close()
