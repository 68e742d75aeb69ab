"""A loopback OpenAI-compatible server for tests: `POST /v1/chat/completions` with scripted answers.

The real `openai` client talks to it over HTTP (openai ≥ 3 sends through httpx2, which respx cannot
intercept), so tests exercise the same request the bot sends in production. Every request is recorded;
`prompts()` gives every message text the model was shown, for asserting that no personal data got out.

    with FakeOpenAI() as fake:
        fake.reply_with_tool_call("stale", {"stage": "Interview"})
        settings = Settings(openai_base_url=fake.base_url, openai_api_key="test", talentbot_llm_model="fake-1")
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

MODEL = "fake-model-1"


@dataclass
class RecordedRequest:
    path: str
    # Names in lower case: HTTP header names are case-insensitive, and clients differ in how they send them.
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class _Reply:
    status: int = 200
    tool: str | None = None
    arguments: str | None = None
    text: str | None = None
    delay: float = 0.0


class FakeOpenAI:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[_Reply] = deque()
        self._ids = itertools.count(1)
        self.requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # --- scripting ---------------------------------------------------------------------------------

    def reply_with_tool_call(self, name: str, arguments: dict[str, Any] | str, *, delay: float = 0.0) -> None:
        """The next completion calls `name`; a str is sent as the raw arguments (for malformed JSON)."""
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        with self._lock:
            self._script.append(_Reply(tool=name, arguments=raw, delay=delay))

    def reply_with_text(self, text: str) -> None:
        with self._lock:
            self._script.append(_Reply(text=text))

    def fail_next(self, *, status: int = 500, times: int = 1) -> None:
        with self._lock:
            self._script.extend(_Reply(status=status) for _ in range(times))

    # --- inspection --------------------------------------------------------------------------------

    def prompts(self) -> list[str]:
        """Every message text of every request, as the model saw them."""
        texts: list[str] = []
        with self._lock:
            requests = list(self.requests)
        for request in requests:
            texts += [str(m.get("content") or "") for m in request.body.get("messages", [])]
        return texts

    # --- serving -----------------------------------------------------------------------------------

    def _next_reply(self, body: dict[str, Any], path: str, headers: dict[str, str]) -> _Reply:
        with self._lock:
            self.requests.append(RecordedRequest(path=path, headers=headers, body=body))
            return self._script.popleft() if self._script else _Reply(text="I am not sure.")

    def _completion(self, reply: _Reply, model: str) -> dict[str, Any]:
        number = next(self._ids)
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        finish = "stop"
        if reply.tool is not None:
            message["tool_calls"] = [{"id": f"call_{number}", "type": "function",
                                      "function": {"name": reply.tool, "arguments": reply.arguments or "{}"}}]
            finish = "tool_calls"
        return {"id": f"chatcmpl-{number}", "object": "chat.completion", "created": int(time.time()),
                "model": model, "choices": [{"index": 0, "message": message, "finish_reason": finish,
                                             "logprobs": None}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            body = {"unparsed": raw.decode("utf-8", "replace")}
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            return
        reply = self.fake._next_reply(body, self.path, {k.lower(): v for k, v in self.headers.items()})
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            self._send(reply.status, {"error": {"message": "scripted failure", "type": "server_error"}})
            return
        self._send(200, self.fake._completion(reply, str(body.get("model") or MODEL)))

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass
