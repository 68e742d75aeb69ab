"""The sandbox served for real (uvicorn on a free loopback port) and headless Chromium driving its page.

One sandbox per test module: starting the bot, migrating and seeding takes seconds, a page takes milliseconds.
Chromium is Debian's (/usr/bin/chromium) driven by Playwright's Python package; no browser is downloaded.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

CHROMIUM = Path(os.environ.get("TALENTBOT_CHROMIUM", "/usr/bin/chromium"))


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} — CI must run the browser tests; refusing to skip", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} not found (apt-get install chromium, or `make test` as root)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


class RunningSandbox:
    def __init__(self, sandbox: object, server: uvicorn.Server, thread: threading.Thread):
        self.sandbox = sandbox
        self.server = server
        self.thread = thread

    @property
    def url(self) -> str:
        return self.sandbox.url  # type: ignore[attr-defined, no-any-return]

    @property
    def deps(self) -> object:
        return self.sandbox.deps  # type: ignore[attr-defined]


def start_sandbox(directory: Path) -> RunningSandbox:
    from sandbox.run import build_sandbox

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # The scheduler stays off: tests run the jobs they need (deliver_email) when they need them.
    sandbox = build_sandbox(port, directory=directory, scheduler=False)
    server = uvicorn.Server(uvicorn.Config(sandbox.app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="sandbox")
    thread.start()
    if not sandbox.bot.ready.wait(60) or sandbox.bot.app is None:
        server.should_exit = True
        raise RuntimeError("the sandbox's bot did not start")
    return RunningSandbox(sandbox, server, thread)


@pytest.fixture(scope="module")
def running_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    try:
        yield running
    finally:
        running.server.should_exit = True
        running.thread.join(timeout=10)
        running.sandbox.mail.stop()  # type: ignore[attr-defined]
        running.sandbox.deps.db.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def page(browser: object, running_sandbox: RunningSandbox) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 820})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    # A script error in the page is a failure even when the scenario happened to pass.
    assert not errors, errors


def wait_until(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
