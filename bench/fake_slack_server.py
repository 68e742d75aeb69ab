"""The test harness's FakeSlack in a process of its own, driven over stdin/stdout.

    python -m bench.fake_slack_server

Prints one JSON line {"base_url": ..., "root_url": ...} once it listens, then answers each line read:
`stats` with a JSON line of the calls recorded so far, per method ({"ok": n, "errors": {...},
"warnings": {...}}); `reset` the same, and forgets the calls. It exits when stdin closes, so it never
outlives the benchmark that started it.

Running it apart keeps its work (parsing and checking every view and message the app sends) off the
app's and the load generator's GILs; it still shares the machine's two cores with them.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from bench import ADMIN, BOT_TOKEN, RECRUITER, RECRUITING_CHANNEL, REFERRERS
from tests.harness import Call, FakeSlack
from tests.harness import fake_slack as fake_slack_module

# socketserver listens with a backlog of 5. The app opens a new connection per Web API call from up to
# 16 listener threads at once, so bursts overflow it and the kernel drops SYNs, which the client only
# resends after a second: a stall real Slack does not cause. A deep backlog keeps that out of the numbers.
LISTEN_BACKLOG = 1024


def summarise(calls: Iterable[Call]) -> dict[str, Any]:
    ok: Counter[str] = Counter()
    errors: defaultdict[str, Counter[str]] = defaultdict(Counter)
    warnings: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for call in calls:
        if call.ok:
            ok[call.method] += 1
        else:
            errors[call.method][call.error or f"HTTP {call.status}"] += 1
        for warning in call.warnings:
            warnings[call.method][warning] += 1
    return {method: {"ok": ok[method], "errors": dict(errors[method]), "warnings": dict(warnings[method])}
            for method in sorted(set(ok) | set(errors) | set(warnings))}


def main() -> None:
    fake_slack_module._QuietServer.request_queue_size = LISTEN_BACKLOG
    fake = FakeSlack(tokens=(BOT_TOKEN,))
    for user_id in (ADMIN, RECRUITER, *REFERRERS):
        name = user_id.lower()
        fake.add_user(user_id, name=name, real_name=name.title(), email=f"{name}@acme.test")
    fake.add_channel(RECRUITING_CHANNEL, "recruiting")
    fake.start()
    print(json.dumps({"base_url": fake.base_url, "root_url": fake.root_url}), flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command not in ("stats", "reset"):
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
                continue
            print(json.dumps(summarise(fake.calls)), flush=True)
            if command == "reset":
                fake.clear()
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
