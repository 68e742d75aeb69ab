"""A small closed-loop HTTP/1.1 load generator for Slack-signed POSTs.

Why not httpx: with 64 connections in one AsyncClient, httpcore's pool re-checks every connection
(is_idle, has_expired, a readability poll on its socket) for every request, which cost the load
generator ~10 ms of CPU per request in a profile here. On a 2-core machine that CPU is taken from
the server being measured. Each worker below owns one keep-alive connection instead and spends a
few tens of microseconds per request, so the numbers describe the server, not the client.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

READ_LIMIT = 1 << 20


class ProtocolError(Exception):
    pass


@dataclass
class Answer:
    status: int
    body: bytes


def slack_signature_headers(body: bytes, signing_secret: str) -> bytes:
    """Slack's v0 signature over a fresh timestamp (Bolt refuses anything five minutes old)."""
    timestamp = str(int(time.time()))
    digest = hmac.new(signing_secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return (f"Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Slack-Request-Timestamp: {timestamp}\r\n"
            f"X-Slack-Signature: v0={digest.hexdigest()}\r\n"
            f"User-Agent: Slackbot 1.0 (+https://api.slack.com/robots)\r\n").encode()


class KeepAliveConnection:
    """One persistent connection; requests on it are strictly one after another (no pipelining)."""

    def __init__(self, host: str, port: int, timeout_s: float):
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.reconnects = 0

    async def _open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port, limit=READ_LIMIT)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def post(self, path: str, body: bytes, headers: bytes) -> Answer:
        reused = self._writer is not None
        try:
            if not reused:
                await self._open()
            return await asyncio.wait_for(self._exchange(path, body, headers), self.timeout_s)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.close()
            if not reused:
                raise
            # A kept-alive connection the server closed while idle fails before any answer: send once
            # more on a new one (counted in `reconnects`). A fresh connection failing is the server's fault.
            self.reconnects += 1
        except BaseException:
            # Timed out or malformed: whatever is left on the connection would be read as the next answer.
            self.close()
            raise
        try:
            await self._open()
            return await asyncio.wait_for(self._exchange(path, body, headers), self.timeout_s)
        except BaseException:
            self.close()
            raise

    async def _exchange(self, path: str, body: bytes, headers: bytes) -> Answer:
        assert self._reader is not None and self._writer is not None
        head = f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(body)}\r\n".encode()
        self._writer.write(head + headers + b"\r\n" + body)
        await self._writer.drain()
        status_line = await self._reader.readline()
        if not status_line:
            raise ConnectionResetError("connection closed before the answer")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"bad status line {status_line[:80]!r}")
        response_headers: dict[bytes, bytes] = {}
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            response_headers[name.strip().lower()] = value.strip()
        if b"content-length" in response_headers:
            content = await self._reader.readexactly(int(response_headers[b"content-length"]))
        elif response_headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            content = await self._read_chunked()
        else:
            raise ProtocolError("answer without Content-Length or chunked encoding")
        if response_headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return Answer(status=int(parts[1]), body=content)

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        chunks: list[bytes] = []
        while True:
            size = int((await self._reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await self._reader.readline()  # the blank line after the last chunk (no trailers expected)
                return b"".join(chunks)
            chunks.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)


@dataclass
class LoopResult:
    latencies_s: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    reconnects: int = 0
    wall_s: float = 0.0


class ClosedLoop:
    """`concurrency` workers, each sending its next request as soon as its previous answer arrived.

    Connections stay open across `run` calls, so a warm-up run leaves them ready for the measured one.
    """

    def __init__(self, host: str, port: int, path: str, signing_secret: str, *, concurrency: int,
                 timeout_s: float):
        self.path = path
        self.signing_secret = signing_secret
        self.connections = [KeepAliveConnection(host, port, timeout_s) for _ in range(concurrency)]

    async def _send(self, connection: KeepAliveConnection, body: bytes, check: Callable[[Answer], str | None],
                    result: LoopResult) -> None:
        """One request: its latency into `result`, or what went wrong with it."""
        headers = slack_signature_headers(body, self.signing_secret)
        started = time.perf_counter()
        try:
            answer = await connection.post(self.path, body, headers)
        except (OSError, asyncio.IncompleteReadError, ProtocolError, TimeoutError) as error:
            result.failures[type(error).__name__] += 1
            return
        elapsed = time.perf_counter() - started
        problem = check(answer)
        if problem:
            result.failures[problem] += 1
        else:
            result.latencies_s.append(elapsed)

    async def run(self, bodies: Sequence[bytes], check: Callable[[Answer], str | None]) -> LoopResult:
        """Send every body once; `check` names what is wrong with an answer, or returns None."""
        result = LoopResult()
        reconnects_before = sum(c.reconnects for c in self.connections)
        pending = iter(bodies)

        async def worker(connection: KeepAliveConnection) -> None:
            for body in pending:  # one shared iterator: each body is sent by exactly one worker
                await self._send(connection, body, check, result)

        started = time.perf_counter()
        await asyncio.gather(*(worker(connection) for connection in self.connections))
        result.wall_s = time.perf_counter() - started
        result.reconnects = sum(c.reconnects for c in self.connections) - reconnects_before
        return result

    async def run_bursts(self, bodies: Sequence[bytes], check: Callable[[Answer], str | None],
                         settle: Callable[[int], Awaitable[None]]) -> LoopResult:
        """Send the bodies in bursts of `concurrency` requests at once, one per connection; after each
        burst's answers, `settle(sent so far)` waits for the server's work on it before the next burst."""
        result = LoopResult()
        reconnects_before = sum(c.reconnects for c in self.connections)
        size = len(self.connections)

        started = time.perf_counter()
        for first in range(0, len(bodies), size):
            burst = bodies[first:first + size]
            # The last burst may be short: zip stops with the bodies.
            await asyncio.gather(*(self._send(connection, body, check, result)
                                   for connection, body in zip(self.connections, burst, strict=False)))
            await settle(first + len(burst))
        result.wall_s = time.perf_counter() - started
        result.reconnects = sum(c.reconnects for c in self.connections) - reconnects_before
        return result

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
