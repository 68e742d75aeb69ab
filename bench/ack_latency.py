"""Ack latency of `/refer` and of the referral modal's submission, against a bare Bolt app.

    python -m bench.ack_latency [--requests 3000] [--candidates 100000] [--backends sqlite,postgresql]
                                [--concurrency 64] [--warmup 200] [--profile]

For each backend the database is created afresh and seeded (bench/seed.py); then the fake Slack, the
real app and a bare Bolt app that only acks each run in a process of their own (bench/serve_app.py,
bench/fake_slack_server.py) while this process sends Slack-signed requests from `--concurrency`
closed-loop workers: each sends its next request as soon as the previous answer arrived. A request's
latency is the time from sending it to having read the whole answer, i.e. the ack as Slack sees it.
Only answers that are right count as samples: HTTP 200, and for submissions no `errors` response.

Bare and app are measured one right after the other for each scenario, so that other load on the
machine affects both alike. Targets (from the issue): the app's p99 at most 1.5x the bare app's, and
under 100 ms. Results are printed as a table and written to bench/results/ack_latency.json.

Exit status: 0 when every target is met, 1 when one is missed or a request failed, 2 on a setup error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import select
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote_plus, urlencode, urlsplit

import httpx
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select as sql_select

from bench import BENCH_DIR, RECRUITING_CHANNEL, REFERRERS, RESULTS_DIR, SIGNING_SECRET
from bench.loadgen import Answer, ClosedLoop, LoopResult
from bench.seed import FIRST_NAMES, LAST_NAMES, POSTGRES_DATABASE, SeedReport, fresh_database, seed
from bot.services.referrals import GENERAL_TALENT_POOL, RELATIONSHIPS, ReferralDraft
from commands.referral_views import STATIC_POSITION_OPTIONS, build_referral_modal
from storage import queries
from storage.db import Database
from storage.models import Referral
from tests.harness import build_state_values, checkboxes, email_text, plain_text, static_select, url_text

REPO = BENCH_DIR.parent
BACKENDS = ("sqlite", "postgresql")
SCENARIOS = ("/refer", "submit")
TARGETS = ("bare", "app")
# The targets: the app may add at most half the bare app's p99, and must stay under 100 ms.
MAX_P99_RATIO = 1.5
MAX_P99_MS = 100.0
TEAM_ID, TEAM_DOMAIN, API_APP_ID = "T0001", "acme", "A0TALENT"
# Slack still sends the legacy verification token; Bolt ignores it.
VERIFICATION_TOKEN = "legacy-verification-token"
REQUEST_TIMEOUT_S = 30.0
# Generous: on a busy 2-core machine importing the app alone has taken 10 s per process.
STARTUP_TIMEOUT_S = 180.0
# After the last ack the app still owes Slack calls (views.open, DMs, channel posts); the next scenario
# waits for them so that one scenario's leftovers do not slow the next one down.
DRAIN_TIMEOUT_S = 180.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LOADS = ("bursts", "closed")
# Bursts: a pause after each burst (and its after-ack work), the same for both servers.
BURST_GAP_S = 0.05
BURST_STALL_S = 5.0
EMAIL_DOMAINS = ("gmail.com", "outlook.com", "proton.me", "web.de", "posteo.de")
BLOCKS_PLACEHOLDER = "@@blocks@@"
QUOTED_PLACEHOLDER = quote_plus(json.dumps(BLOCKS_PLACEHOLDER))
# Piped output (CI logs, `| tee`) would otherwise be folded to 80 columns, which the table does not fit.
console = Console(width=None if sys.stdout.isatty() else 150)


# ---------------------------------------------------------------------------------- CPU accounting


def _proc_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and its children (uvicorn's worker processes with --workers)."""
    total = _proc_cpu_seconds(pid)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == pid:
                total += _proc_cpu_seconds(int(entry))
    return total


def _postgres_pids() -> list[int]:
    """PostgreSQL backends serving the bench database (their titles name it): other work on the same
    server, such as test suites, is not ours to count."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    title = cmdline.read()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and POSTGRES_DATABASE.encode() in title.split():
                pids.append(int(entry))
    return pids


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores together."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / CLOCK_TICKS, sum(values) / CLOCK_TICKS


@dataclass
class CpuSnapshot:
    server: float
    fake_slack: float
    # The other server under test, which interleaved bursts keep busy in the same phase.
    companion: float
    load_generator: float
    postgres: dict[int, float]
    machine_busy: float
    machine_total: float

    @classmethod
    def take(cls, server_pid: int, fake_pid: int, companion_pid: int | None = None) -> CpuSnapshot:
        busy, total = _machine_cpu()
        return cls(server=_tree_cpu_seconds(server_pid), fake_slack=_proc_cpu_seconds(fake_pid),
                   companion=_tree_cpu_seconds(companion_pid) if companion_pid else 0.0,
                   load_generator=time.process_time(),
                   postgres={pid: _proc_cpu_seconds(pid) for pid in _postgres_pids()},
                   machine_busy=busy, machine_total=total)


def cpu_usage(before: CpuSnapshot, after: CpuSnapshot, wall_s: float) -> dict[str, float]:
    """Percent of one core each party used over the phase; `others` is everything not ours."""
    postgres = sum(cpu - before.postgres.get(pid, 0.0) for pid, cpu in after.postgres.items())
    parts = {
        "server": after.server - before.server,
        "fake_slack": after.fake_slack - before.fake_slack,
        "load_generator": after.load_generator - before.load_generator,
        "postgres": postgres,
        "companion_server": after.companion - before.companion,
    }
    machine = after.machine_busy - before.machine_busy
    parts["others"] = max(machine - sum(parts.values()), 0.0)
    parts["machine"] = machine
    usage = {name: round(100 * seconds / wall_s, 1) for name, seconds in parts.items()}
    usage["machine_capacity"] = round(100 * (after.machine_total - before.machine_total) / wall_s, 1)
    return usage


# ---------------------------------------------------------------------------------- child processes


class Child:
    """A subprocess whose stdout speaks in lines; stderr goes to a log file kept under bench/results."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path):
        self.name = name
        self.log_path = log_path
        self._log: IO[str] = log_path.open("w")
        self.process = subprocess.Popen(
            list(argv), cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True,
            bufsize=1,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def read_line(self, timeout_s: float) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"{self.name} said nothing within {timeout_s:.0f} s (exit code "
                               f"{self.process.poll()}); see {self.log_path}")
        return line.strip()

    def ask(self, command: str, timeout_s: float = 30.0) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.read_line(timeout_s)

    def stop(self) -> None:
        if self.process.poll() is None:
            if self.process.stdin is not None:
                self.process.stdin.close()  # the fake Slack exits on end of input
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def log_problems(self) -> list[str]:
        """Warning and error lines the process logged (the app logs failed Slack calls as errors)."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if " WARNING " in line or " ERROR " in line or "Traceback" in line]


class FakeSlackProcess(Child):
    def __init__(self, log_path: Path):
        super().__init__("fake Slack", [sys.executable, "-m", "bench.fake_slack_server"], log_path)
        urls = json.loads(self.read_line(STARTUP_TIMEOUT_S))
        self.base_url: str = urls["base_url"]
        self.root_url: str = urls["root_url"]

    def stats(self, *, reset: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.ask("reset" if reset else "stats"))
        return result


class ServerProcess(Child):
    def __init__(self, target: str, database_url: str, slack_url: str, log_path: Path, workers: int = 1):
        super().__init__(f"{target} server", [sys.executable, "-m", "bench.serve_app", "--target", target,
                                              "--database-url", database_url, "--slack-url", slack_url,
                                              "--workers", str(workers)], log_path)
        self.target = target
        port = int(self.read_line(STARTUP_TIMEOUT_S).removeprefix("LISTENING "))
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} did not become healthy; see {log_path}")
            time.sleep(0.05)


# ---------------------------------------------------------------------------------- Slack requests


def _slug(text: str) -> str:
    return "".join(ch for ch in text.encode("ascii", "ignore").decode().lower() if ch.isalnum())


@dataclass
class RequestFactory:
    """Builds Slack-shaped request bodies; request number `n` is unique within a run."""

    fake_root_url: str
    view: dict[str, Any]
    position_values: list[str]
    known_emails: list[str]
    duplicate_share: float
    # Keeps emails, phones, ids and trigger ids of this run apart from any earlier run's.
    nonce: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    # The modal's blocks are the same in every submission: URL-encoded once and spliced into each body,
    # since percent-encoding ~20 kB per request in Python would cost the load generator milliseconds.
    _quoted_blocks: str = field(init=False, default="")
    # Every n-th submission names a known person (0: none).
    _duplicate_every: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._quoted_blocks = quote_plus(json.dumps(self.view["blocks"]))
        if self.known_emails and self.duplicate_share > 0:
            self._duplicate_every = round(1 / self.duplicate_share)

    def slash_command(self, n: int) -> tuple[bytes, bool]:
        user = REFERRERS[n % len(REFERRERS)]
        fields = {
            "token": VERIFICATION_TOKEN, "team_id": TEAM_ID, "team_domain": TEAM_DOMAIN,
            "channel_id": RECRUITING_CHANNEL, "channel_name": "recruiting", "user_id": user,
            "user_name": user.lower(), "command": "/refer", "text": "", "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": f"{self.fake_root_url}/response_url/{n}",
            "trigger_id": self._trigger_id(n),
        }
        return urlencode(fields).encode(), False

    def submission(self, n: int) -> tuple[bytes, bool]:
        rng = random.Random(f"{self.nonce}:{n}")
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        # Every tenth (by default) names someone already in the database, as a person would type it.
        duplicate = self._duplicate_every > 0 and n % self._duplicate_every == 0
        if duplicate:
            email = self.known_emails[(n // self._duplicate_every) % len(self.known_emails)]
        else:
            email = f"{_slug(first)}.{_slug(last)}.b{self.nonce}{n}@{rng.choice(EMAIL_DOMAINS)}"
        phone = None
        if rng.random() < 0.5:
            # A German mobile number written the way people type it; unique through n.
            digits = f"{(int(self.nonce, 16) % 90 + 10) * 1_000_000 + n:08d}"
            phone = f"0152 {digits[:4]} {digits[4:]}" if rng.random() < 0.5 else f"+49 152 {digits}"
        profile = f"https://www.linkedin.com/in/{_slug(first)}-{_slug(last)}-b{self.nonce}{n}" \
            if rng.random() < 0.3 else None
        values = {
            "candidate_name": {"value": plain_text(f"{first} {last}")},
            "email": {"value": email_text(email)},
            "phone": {"value": plain_text(phone)},
            "profile_url": {"value": url_text(profile)},
            "position": {"value": static_select(rng.choice(self.position_values))},
            "relationship": {"value": static_select(rng.choice(RELATIONSHIPS))},
            "note": {"value": plain_text("We shipped the billing rewrite together; calm under pressure.")},
            "consent": {"value": checkboxes("confirmed")},
        }
        view_id = f"VB{self.nonce.upper()}{n:07d}"
        view = {
            **self.view, "blocks": BLOCKS_PLACEHOLDER, "id": view_id, "team_id": TEAM_ID,
            "root_view_id": view_id, "previous_view_id": None,
            "app_id": API_APP_ID, "app_installed_team_id": TEAM_ID, "bot_id": "BBOT", "external_id": "",
            "hash": f"{n}.{self.nonce}", "clear_on_close": False, "notify_on_close": False,
            # build_state_values checks each option against the view, as Slack only sends offered ones.
            "state": {"values": build_state_values(self.view, values)},
        }
        user = REFERRERS[n % len(REFERRERS)]
        payload = {
            "type": "view_submission", "token": VERIFICATION_TOKEN,
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
            "api_app_id": API_APP_ID, "is_enterprise_install": False, "enterprise": None,
            "trigger_id": self._trigger_id(n), "view": view, "response_urls": [],
        }
        body = urlencode({"payload": json.dumps(payload)})
        # Percent-encoding works character by character, so encoded pieces concatenate correctly.
        body = body.replace(QUOTED_PLACEHOLDER, self._quoted_blocks, 1)
        return body.encode(), duplicate

    def _trigger_id(self, n: int) -> str:
        # The fake Slack accepts any well-formed trigger id once, as Slack accepts the ones it issued.
        return f"{1000 + n}.{int(time.time())}.{self.nonce}{uuid.uuid4().hex}"


def problem_with(scenario: str, answer: Answer) -> str | None:
    """Why an answer is wrong, or None. A wrong answer is a failure, not a latency sample."""
    if answer.status != 200:
        # Bolt answers 404 when no listener acked within its 3 s, 401 for a bad signature.
        return f"HTTP {answer.status}"
    if scenario == "submit" and answer.body.strip() not in (b"", b"null"):
        try:
            body = json.loads(answer.body)
        except ValueError:
            return "non-JSON body"
        if isinstance(body, dict) and body.get("response_action") == "errors":
            return "errors: " + ", ".join(sorted(body.get("errors") or {}))
    return None


# ---------------------------------------------------------------------------------- measuring


@dataclass
class PhaseResult:
    backend: str
    target: str
    scenario: str
    requests: int
    ok: int
    failures: dict[str, int]
    warmup_failures: dict[str, int]
    reconnects: int
    duplicates_sent: int
    wall_s: float
    throughput_rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    cpu_percent: dict[str, float]
    # CPU the server process spent per answered request (acks and, for the app, the work after them):
    # the cost that decides throughput, and so latency, once requests queue.
    server_cpu_ms_per_request: float
    fake_slack_cpu_ms_per_request: float
    after_ack: dict[str, Any] = field(default_factory=dict)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: a value that was really observed."""
    if not sorted_values:
        return math.nan
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


@dataclass
class Phase:
    result: LoopResult
    warmup_failures: dict[str, int]
    duplicates_sent: int
    before: CpuSnapshot
    after: CpuSnapshot
    # Interleaved bursts: the whole phase, both servers' turns (CPU shares are taken over it).
    elapsed_s: float | None = None


async def _run_phase(url: str, scenario: str, build: Callable[[int], tuple[bytes, bool]], warmup: range,
                     measured: range, concurrency: int, snapshot: Callable[[], CpuSnapshot]) -> Phase:
    # Bodies are built before the clock starts; only signing (it needs a fresh timestamp) is left
    # for the moment of sending. That keeps the load generator's CPU off the server's two cores.
    warmup_bodies = [build(n)[0] for n in warmup]
    measured_requests = [build(n) for n in measured]
    measured_bodies = [body for body, _ in measured_requests]
    parts = urlsplit(url)
    loop = ClosedLoop(parts.hostname or "127.0.0.1", parts.port or 80, parts.path, SIGNING_SECRET,
                      concurrency=concurrency, timeout_s=REQUEST_TIMEOUT_S)

    def check(answer: Answer) -> str | None:
        return problem_with(scenario, answer)

    try:
        # Warm-up opens the connections, fills the pools and caches, and runs Bolt's first auth.test;
        # it runs straight into the measured part so that no keep-alive connection idles out between.
        warmed = await loop.run(warmup_bodies, check)
        before = snapshot()
        result = await loop.run(measured_bodies, check)
        after = snapshot()
    finally:
        loop.close()
    return Phase(result=result, warmup_failures=dict(warmed.failures),
                 duplicates_sent=sum(duplicate for _, duplicate in measured_requests), before=before, after=after)


@dataclass
class Profiler:
    """py-spy attached to the app while it serves an extra, unreported round of requests."""

    pid: int
    output: Path
    process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profiler:
        # Next to this interpreter first: bench/run does not put .venv/bin on PATH.
        beside = Path(sys.executable).parent / "py-spy"
        py_spy = str(beside) if beside.exists() else shutil.which("py-spy")
        if py_spy is None:
            console.print("[yellow]--profile: py-spy is not installed (pip install py-spy); skipping[/]")
            return self
        # Raw (collapsed) stacks by function; --gil samples only the thread holding the GIL, i.e. where the
        # process's one core of Python goes; --nonblocking so the sampler does not pause the app.
        self.process = subprocess.Popen(
            [py_spy, "record", "--pid", str(self.pid), "--format", "raw", "--function", "--gil", "--nonblocking",
             "--rate", "250", "--output", str(self.output)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)  # py-spy needs a moment to attach
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


# Frames on every thread's stack (thread start-up, the pool's loop) say nothing about costs.
_PLUMBING = ("(threading.py", "(concurrent/futures/thread.py", "(anyio/_backends/_asyncio.py", "<module>",
             "(runpy.py", "(asyncio/")


def summarise_profile(path: Path, top: int = 18) -> list[tuple[str, float, float]]:
    """(function, % of samples anywhere on the stack, % as the innermost frame): the busiest functions
    by inclusive share, then any function with a larger own share that did not make that list."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if not any(p in frame for p in _PLUMBING)] or ["(plumbing)"]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if total == 0:
        return []
    chosen = [frame for frame, _ in inclusive.most_common(top)]
    chosen += [frame for frame, _ in own.most_common(top // 2) if frame not in chosen]
    return [(frame, 100 * inclusive[frame] / total, 100 * own[frame] / total) for frame in chosen]


# ---------------------------------------------------------------------------------- the run


@dataclass
class Options:
    requests: int
    warmup: int
    candidates: int
    backends: list[str]
    concurrency: int
    duplicate_share: float
    profile: bool
    output: Path
    load: str = "bursts"
    workers: int = 1


def _referral_count(db: Database) -> int:
    with db.read() as session:
        return int(session.exec(sql_select(func.count()).select_from(Referral)).one())


def _drain(fake: FakeSlackProcess, scenario: str, expected_calls: int) -> dict[str, Any]:
    """Wait for the Slack calls the app makes after its acks; report them and how long they took."""
    method = "views.open" if scenario == "/refer" else "chat.postMessage"
    started = time.monotonic()
    stats = fake.stats()
    last_seen, last_change = -1, started
    while True:
        done = stats.get(method, {}).get("ok", 0) + sum(stats.get(method, {}).get("errors", {}).values())
        if done != last_seen:
            last_seen, last_change = done, time.monotonic()
        # Stop when all arrived, or when nothing more arrived for 10 s (the app lost some).
        if done >= expected_calls or time.monotonic() - last_change > 10 or \
                time.monotonic() - started > DRAIN_TIMEOUT_S:
            break
        time.sleep(0.2)
        stats = fake.stats()
    drained_s = time.monotonic() - started
    stats = fake.stats(reset=True)
    return {"method": method, "expected": expected_calls, "calls": stats, "drain_s": round(drained_s, 2)}


def _after_ack_work_done(stats: dict[str, Any], scenario: str) -> int:
    """Requests whose after-ack work is finished: a views.open per /refer (or, for one that came too late
    for its trigger, the answer on its response_url); a DM and a channel post per submission."""
    def calls(method: str) -> int:
        counts = stats.get(method, {})
        return counts.get("ok", 0) + sum(counts.get("errors", {}).values())

    if scenario == "/refer":
        return calls("views.open") + calls("response_url")
    return calls("chat.postMessage") // 2


def _wait_for_after_ack_work(fake: FakeSlackProcess, scenario: str, sent: int) -> None:
    """Between bursts: until the app's work on every request sent so far reached the fake Slack (or
    stopped progressing for BURST_STALL_S, which the drain after the phase then reports)."""
    last_done, last_change = -1, time.monotonic()
    while True:
        done = _after_ack_work_done(fake.stats(), scenario)
        if done >= sent:
            return
        if done != last_done:
            last_done, last_change = done, time.monotonic()
        elif time.monotonic() - last_change > BURST_STALL_S:
            return
        time.sleep(0.01)


class Numbers:
    """Hands out request numbers, so that every request of a run (warm-up included) is unique."""

    def __init__(self) -> None:
        self._next = 1

    def take(self, count: int) -> range:
        taken = range(self._next, self._next + count)
        self._next += count
        return taken


def _expected_slack_calls(scenario: str, sent: int) -> int:
    # /refer: one views.open each; a submission: a DM to the referrer and a post in the channel. Counted
    # per request sent, not per ack: Bolt answers 404 when an ack comes too late, but the listener
    # still runs to the end, so late requests are processed all the same.
    return sent if scenario == "/refer" else 2 * sent


def _phase_result(backend: str, target: str, scenario: str, requests: int, phase: Phase) -> PhaseResult:
    ms = sorted(value * 1000 for value in phase.result.latencies_s)
    wall = phase.result.wall_s
    result = PhaseResult(
        backend=backend, target=target, scenario=scenario, requests=requests, ok=len(ms),
        failures=dict(phase.result.failures), warmup_failures=phase.warmup_failures,
        reconnects=phase.result.reconnects,
        duplicates_sent=phase.duplicates_sent, wall_s=round(wall, 3),
        throughput_rps=round(len(ms) / wall, 1) if wall else 0.0,
        p50_ms=round(percentile(ms, 0.50), 2), p90_ms=round(percentile(ms, 0.90), 2),
        p99_ms=round(percentile(ms, 0.99), 2), max_ms=round(ms[-1], 2) if ms else math.nan,
        mean_ms=round(sum(ms) / len(ms), 2) if ms else math.nan,
        cpu_percent=cpu_usage(phase.before, phase.after, phase.elapsed_s or wall),
        server_cpu_ms_per_request=round(1000 * (phase.after.server - phase.before.server) / max(requests, 1), 2),
        fake_slack_cpu_ms_per_request=round(
            1000 * (phase.after.fake_slack - phase.before.fake_slack) / max(requests, 1), 2),
    )
    return result


def measure(options: Options, backend: str, target: str, scenario: str, server: ServerProcess,
            fake: FakeSlackProcess, factory: RequestFactory, numbers: Numbers, db: Database) -> PhaseResult:
    build = factory.slash_command if scenario == "/refer" else factory.submission
    warmup, measured = numbers.take(options.warmup), numbers.take(options.requests)
    referrals_before = _referral_count(db) if target == "app" and scenario == "submit" else 0

    def snapshot() -> CpuSnapshot:
        return CpuSnapshot.take(server.pid, fake.pid)

    phase = asyncio.run(_run_phase(f"{server.url}/slack/events", scenario, build, warmup, measured,
                                   options.concurrency, snapshot))
    result = _phase_result(backend, target, scenario, len(measured), phase)
    sent = len(warmup) + len(measured)
    if target == "app":
        result.after_ack = _drain(fake, scenario, _expected_slack_calls(scenario, sent))
        if scenario == "submit":
            result.after_ack["referrals_stored"] = _referral_count(db) - referrals_before
            result.after_ack["referrals_sent"] = sent
    else:
        result.after_ack = {"calls": fake.stats(reset=True)}
    if options.profile and target == "app":
        output = RESULTS_DIR / f"profile-{backend}-{scenario.strip('/')}.txt"
        with Profiler(server.pid, output):
            asyncio.run(_run_phase(f"{server.url}/slack/events", scenario, build, range(0),
                                   numbers.take(options.requests), options.concurrency, snapshot))
        _drain(fake, scenario, _expected_slack_calls(scenario, options.requests))
        result.after_ack["profile"] = str(output) if output.exists() else None
    return result


def _merge(total: LoopResult, part: LoopResult) -> None:
    total.latencies_s += part.latencies_s
    total.failures.update(part.failures)
    total.reconnects += part.reconnects
    total.wall_s += part.wall_s


async def _run_interleaved(servers: dict[str, ServerProcess], fake: FakeSlackProcess, scenario: str,
                           plan: dict[str, tuple[list[bytes], list[bytes]]], concurrency: int,
                           ) -> dict[str, Phase]:
    """Bursts of `concurrency` requests at once, bare and app taking turns, so that both see the same
    load from the rest of the machine. After an app burst the next burst waits until the app's work
    on it (Slack calls after the ack) arrived; after every burst a short pause."""
    loops = {target: ClosedLoop("127.0.0.1", int(urlsplit(server.url).port or 80), "/slack/events",
                                SIGNING_SECRET, concurrency=concurrency, timeout_s=REQUEST_TIMEOUT_S)
             for target, server in servers.items()}
    app_sent = 0

    def check(answer: Answer) -> str | None:
        return problem_with(scenario, answer)

    async def settle(target: str, sent: int) -> None:
        nonlocal app_sent
        if target == "app":
            app_sent += sent
            _wait_for_after_ack_work(fake, scenario, app_sent)
        await asyncio.sleep(BURST_GAP_S)

    def snapshot(target: str) -> CpuSnapshot:
        other = next(t for t in servers if t != target)
        return CpuSnapshot.take(servers[target].pid, fake.pid, servers[other].pid)

    async def alternate(part: int) -> dict[str, LoopResult]:
        results = {target: LoopResult() for target in servers}
        longest = max(len(plan[target][part]) for target in servers)
        for first in range(0, longest, concurrency):
            for target, loop in loops.items():
                burst = plan[target][part][first:first + concurrency]
                if burst:
                    def settled(sent: int, target: str = target) -> Awaitable[None]:
                        return settle(target, sent)
                    _merge(results[target], await loop.run_bursts(burst, check, settled))
        return results

    try:
        warmed = await alternate(0)
        before = {target: snapshot(target) for target in servers}
        started = time.perf_counter()
        measured = await alternate(1)
        elapsed = time.perf_counter() - started
        after = {target: snapshot(target) for target in servers}
    finally:
        for loop in loops.values():
            loop.close()
    return {target: Phase(result=measured[target], warmup_failures=dict(warmed[target].failures),
                          duplicates_sent=0, before=before[target], after=after[target], elapsed_s=elapsed)
            for target in servers}


def measure_interleaved(options: Options, backend: str, scenario: str, servers: dict[str, ServerProcess],
                        fake: FakeSlackProcess, factory: RequestFactory, numbers: Numbers,
                        db: Database) -> list[PhaseResult]:
    build = factory.slash_command if scenario == "/refer" else factory.submission
    plan: dict[str, tuple[list[bytes], list[bytes]]] = {}
    duplicates: dict[str, int] = {}
    for target in TARGETS:
        warmup = [build(n)[0] for n in numbers.take(options.warmup)]
        measured = [build(n) for n in numbers.take(options.requests)]
        plan[target] = (warmup, [body for body, _ in measured])
        duplicates[target] = sum(duplicate for _, duplicate in measured)
    referrals_before = _referral_count(db) if scenario == "submit" else 0
    fake.stats(reset=True)
    phases = asyncio.run(_run_interleaved(servers, fake, scenario, plan, options.concurrency))
    results = []
    for target in TARGETS:
        phase = phases[target]
        phase.duplicates_sent = duplicates[target]
        result = _phase_result(backend, target, scenario, options.requests, phase)
        if target == "app":
            sent = options.warmup + options.requests
            result.after_ack = _drain(fake, scenario, _expected_slack_calls(scenario, sent))
            if scenario == "submit":
                result.after_ack["referrals_stored"] = _referral_count(db) - referrals_before
                result.after_ack["referrals_sent"] = sent
        results.append(result)
    return results


def build_factory(db: Database, fake: FakeSlackProcess, report: SeedReport, duplicate_share: float) -> RequestFactory:
    with db.read() as session:
        open_count = queries.count_open_positions(session)
        positions = list(queries.open_positions(session, limit=STATIC_POSITION_OPTIONS))
    # The modal exactly as the app builds it for an empty /refer, so submissions carry its options.
    view = build_referral_modal(positions, search_positions=open_count > STATIC_POSITION_OPTIONS,
                                prefill=ReferralDraft(), company_name="Acme")
    # About 40% to the general talent pool, the rest spread over the open positions.
    position_values = [GENERAL_TALENT_POOL] * max(1, len(positions) * 2 // 3) + [str(p.id) for p in positions]
    return RequestFactory(fake_root_url=fake.root_url, view=view, position_values=position_values,
                          known_emails=report.known_emails, duplicate_share=duplicate_share)


def _seed_backend(backend: str, candidates: int) -> SeedReport:
    return seed(fresh_database(backend), candidates=candidates)


def seed_all(options: Options) -> dict[str, SeedReport]:
    """Seed every backend at once, one process each: the two loads share little and the machine has two
    cores, so this nearly halves the wait. Nothing is being measured yet, so nothing is disturbed."""
    console.print(f"seeding {options.candidates:,} candidates into {', '.join(options.backends)}…")
    with ProcessPoolExecutor(max_workers=len(options.backends), mp_context=get_context("spawn")) as pool:
        futures = {backend: pool.submit(_seed_backend, backend, options.candidates) for backend in options.backends}
        reports = {backend: future.result() for backend, future in futures.items()}
    for backend, report in reports.items():
        console.print(f"  {backend} seeded in {report.seconds:.1f} s: "
                      + ", ".join(f"{count:,} {table}" for table, count in report.counts.items()))
    return reports


def run_backend(options: Options, report: SeedReport, fake: FakeSlackProcess) -> list[PhaseResult]:
    backend = report.backend
    console.print(f"[bold]{backend}[/] ({options.load} load, {options.workers} uvicorn worker(s) per server)")
    db = Database(report.url)
    factory = build_factory(db, fake, report, options.duplicate_share)
    numbers = Numbers()
    results: list[PhaseResult] = []
    servers: dict[str, ServerProcess] = {}
    try:
        # Both servers up at once (idle while the other one is measured) so that, per scenario, bare
        # and app run back to back and see the same background load.
        for target in TARGETS:
            servers[target] = ServerProcess(target, report.url, fake.base_url,
                                            RESULTS_DIR / f"server-{backend}-{target}.log", options.workers)
        for scenario in SCENARIOS:
            if options.load == "bursts":
                console.print(f"  bare and app, {scenario:<7} in turns: {options.warmup} warm-up + {options.requests} "
                              f"requests each, in bursts of {options.concurrency}…")
                for result in measure_interleaved(options, backend, scenario, servers, fake, factory, numbers, db):
                    results.append(result)
                    console.print(f"    {result.target:<4} p50 {result.p50_ms:.1f} ms  p99 {result.p99_ms:.1f} ms  "
                                  f"failed {sum(result.failures.values())}")
                continue
            for target in TARGETS:
                console.print(f"  {target:<4} {scenario:<7} {options.warmup} warm-up + {options.requests} "
                              f"requests, {options.concurrency} concurrent…")
                result = measure(options, backend, target, scenario, servers[target], fake, factory, numbers, db)
                results.append(result)
                failed = sum(result.failures.values())
                console.print(f"         p50 {result.p50_ms:.1f} ms  p99 {result.p99_ms:.1f} ms  "
                              f"{result.throughput_rps:.0f} req/s  failed {failed}")
    finally:
        for server in servers.values():
            server.stop()
        db.dispose()
    for target, server in servers.items():
        problems = server.log_problems()
        if problems:
            console.print(f"  [yellow]{target} server logged {len(problems)} warning/error line(s)[/], "
                          f"e.g. {problems[0][:160]!r} (see {server.log_path})")
    return results


# ---------------------------------------------------------------------------------- reporting


def compare(bare: PhaseResult, app: PhaseResult) -> dict[str, Any]:
    ratio_p50 = app.p50_ms / bare.p50_ms if bare.p50_ms else math.inf
    ratio_p99 = app.p99_ms / bare.p99_ms if bare.p99_ms else math.inf
    reasons = []
    if not ratio_p99 <= MAX_P99_RATIO:
        reasons.append(f"p99 {ratio_p99:.2f}x bare > {MAX_P99_RATIO}x")
    if not app.p99_ms < MAX_P99_MS:
        reasons.append(f"p99 {app.p99_ms:.0f} ms >= {MAX_P99_MS:.0f} ms")
    if app.failures:
        reasons.append(f"{sum(app.failures.values())} failed request(s)")
    return {"backend": app.backend, "scenario": app.scenario, "ratio_p50": round(ratio_p50, 2),
            "ratio_p99": round(ratio_p99, 2), "pass": not reasons, "reasons": reasons}


def print_table(results: list[PhaseResult], comparisons: list[dict[str, Any]], load: str) -> None:
    shape = "bursts, bare and app in turns" if load == "bursts" else "closed loop"
    table = Table(title=f"Ack latency ({shape}; a latency is send → full answer)", show_lines=False,
                  caption="CPU: the server process, % of one core; CPU ms/req: its CPU per measured request, "
                          "work after the ack included; ×bare: app ÷ bare app, same backend and scenario")
    for column in ("backend", "scenario", "server", "ok/failed", "p50 ms", "p90 ms", "p99 ms", "max ms",
                   "req/s", "CPU", "CPU ms/req", "p50 ×bare", "p99 ×bare", "target"):
        table.add_column(column, justify="right" if "ms" in column or "×" in column or column in (
            "req/s", "CPU", "ok/failed") else "left")
    by_key = {(c["backend"], c["scenario"]): c for c in comparisons}
    for result in results:
        comparison = by_key.get((result.backend, result.scenario)) if result.target == "app" else None
        verdict = ""
        if comparison is not None:
            verdict = "[green]PASS[/]" if comparison["pass"] else "[red]FAIL[/]"
        table.add_row(
            result.backend, result.scenario, result.target, f"{result.ok}/{sum(result.failures.values())}",
            f"{result.p50_ms:.1f}", f"{result.p90_ms:.1f}", f"{result.p99_ms:.1f}", f"{result.max_ms:.1f}",
            f"{result.throughput_rps:.0f}", f"{result.cpu_percent['server']:.0f}%",
            f"{result.server_cpu_ms_per_request:.1f}",
            f"{comparison['ratio_p50']:.2f}" if comparison else "",
            f"{comparison['ratio_p99']:.2f}" if comparison else "",
            verdict, end_section=result.target == "app")
    console.print(table)
    for comparison in comparisons:
        if not comparison["pass"]:
            console.print(f"[red]FAIL[/] {comparison['backend']} {comparison['scenario']}: "
                          + "; ".join(comparison["reasons"]))
    for result in results:
        if result.failures:
            console.print(f"[red]{result.backend} {result.target} {result.scenario} failures:[/] {result.failures}")
        if result.target == "app":
            after = result.after_ack
            calls = after.get("calls", {}).get(after.get("method", ""), {})
            line = (f"{result.backend} app {result.scenario}: after the acks, {after.get('method')} "
                    f"ok {calls.get('ok', 0)}/{after.get('expected')} errors {calls.get('errors', {})}, "
                    f"finished {after.get('drain_s')} s after the last ack; the fake Slack used "
                    f"{result.fake_slack_cpu_ms_per_request:.1f} ms CPU per request")
            if "referrals_stored" in after:
                line += f"; referrals stored {after['referrals_stored']} of {after['referrals_sent']} submissions sent"
            console.print(line)
        cpu = result.cpu_percent
        if cpu["others"] > 20:
            console.print(f"[yellow]{result.backend} {result.target} {result.scenario}: other processes used "
                          f"{cpu['others']:.0f}% of a core during the measurement; numbers are noisy[/]")


def print_profiles(results: list[PhaseResult]) -> None:
    for result in results:
        path = result.after_ack.get("profile")
        if not path:
            continue
        rows = summarise_profile(Path(path))
        table = Table(title=f"py-spy --gil: app process, {result.backend} {result.scenario} (% of GIL-holding samples)")
        table.add_column("function (file)")
        table.add_column("on stack", justify="right")
        table.add_column("innermost", justify="right")
        for frame, on_stack, own in rows:
            table.add_row(frame[:110], f"{on_stack:.1f}%", f"{own:.1f}%")
        console.print(table)


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="measured requests per server and scenario")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests sent first")
    parser.add_argument("--candidates", type=int, default=100_000, help="candidates seeded per backend")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: sqlite,postgresql")
    parser.add_argument("--concurrency", type=int, default=64, help="closed-loop workers (and connections)")
    parser.add_argument("--duplicates", type=float, default=0.1,
                        help="share of submissions naming an already-known candidate by email")
    parser.add_argument("--profile", action="store_true",
                        help="after each app scenario, sample the app with py-spy over one more round")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "ack_latency.json")
    parser.add_argument("--workers", type=int, default=1,
                        help="uvicorn worker processes for both servers (talentbot serve --workers)")
    parser.add_argument("--load", choices=LOADS, default="bursts",
                        help="bursts: --concurrency requests at once, the next burst once the app's work on "
                             "the last one is done; closed: a closed loop that keeps --concurrency in flight "
                             "(sustained overload on 2 cores)")
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["ack_latency"]:  # `bench/run ack_latency …`, named like `bench/run jobs`
        arguments = arguments[1:]
    args = parser.parse_args(arguments)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or not backends:
        parser.error(f"unknown backend(s) {unknown}; choose from {', '.join(BACKENDS)}")
    if args.requests < 1 or args.warmup < 0 or args.concurrency < 1 or args.candidates < 0:
        parser.error("--requests and --concurrency must be positive, --warmup and --candidates not negative")
    if not 0 <= args.duplicates <= 0.5:
        parser.error("--duplicates must be between 0 and 0.5")
    return Options(requests=args.requests, warmup=args.warmup, candidates=args.candidates, backends=backends,
                   concurrency=args.concurrency, duplicate_share=args.duplicates, profile=args.profile,
                   output=args.output, load=args.load, workers=args.workers)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    results: list[PhaseResult] = []
    try:
        seeds = seed_all(options)
        fake = FakeSlackProcess(RESULTS_DIR / "fake-slack.log")
        try:
            for backend in options.backends:
                results.extend(run_backend(options, seeds[backend], fake))
        finally:
            fake.stop()
    except (RuntimeError, OSError, SQLAlchemyError, psycopg.Error) as error:
        console.print(f"[red]benchmark could not run:[/] {error}")
        return 2
    comparisons = []
    for backend in options.backends:
        for scenario in SCENARIOS:
            pair = {r.target: r for r in results if r.backend == backend and r.scenario == scenario}
            comparisons.append(compare(pair["bare"], pair["app"]))
    elapsed = time.perf_counter() - started
    print_table(results, comparisons, options.load)
    if options.profile:
        print_profiles(results)
    document = {
        "started_at": started_at.isoformat(), "elapsed_s": round(elapsed, 1),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": [round(v, 2) for v in load_before]},
        "options": {**asdict(options), "output": str(options.output)},
        "targets": {"max_p99_ratio": MAX_P99_RATIO, "max_p99_ms": MAX_P99_MS},
        "seeds": [{"backend": s.backend, "seconds": round(s.seconds, 1), "counts": s.counts} for s in seeds.values()],
        "results": [asdict(r) for r in results],
        "comparisons": comparisons,
    }
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(document, indent=2, default=str) + "\n")
    console.print(f"took {elapsed:.0f} s; results in {options.output}")
    return 0 if all(c["pass"] for c in comparisons) else 1


if __name__ == "__main__":
    sys.exit(main())
