"""`bench/run sending`: 10k due nurture steps to a loopback SMTP server, exactly once, even across a kill -9.

    bench/run sending [--steps 10000] [--kill-at 0.4] [--senders 2] [--output PATH]

Processes: an SMTP sink (aiosmtpd on loopback, logging each message's Message-ID and recipient to a file), the
sender with its `--senders` workers (each `talentbot`'s own `nurture_steps` job code: claim due enrolments, queue
the emails through the outreach service, send them with bot.mail.Mailer; one process each, as several worker
processes would run the job, so they do not share a GIL), and this one, which seeds, measures and checks.

1. Baseline: the same number of messages (a message like a step's, one recipient each) sent with plain
   smtplib over one connection, as the Mailer sends a delivery run's messages, with no database at all.
2. Throughput: 10k enrolments due now, on SQLite; time until every email is sent. Target ≥ 300 emails/s.
3. Crash: the same again on a fresh database and sink; the sender is killed with SIGKILL once the sink has
   received `--kill-at` of the messages, then started again as it would be after the claims it held expired
   (its clock runs bot.mail.CLAIM_FOR ahead). Then: every step must have reached the sink (none lost), and no
   step twice (duplicates = deliveries beyond one per step; a step sent twice under two Message-IDs would be a
   double send; the same Message-ID twice is the one message in flight at the kill, re-sent because the sink's
   "250 OK" never reached the database — receivers drop it by Message-ID).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_PER_SECOND = 300.0
HOST = "127.0.0.1"
SIGNING_SECRET = "bench-signing-secret"
BENCH_WORKSPACE: dict[str, Any] = {
    "company_name": "Acme",
    "recruiting_channel": "C0RECRUIT",
    "roles": {"admins": ["UADMIN01"]},
    "nurture": {"sequences": {"passive": {
        "steps": [{"template": "intro", "delay": "0d"}, {"template": "culture_video", "delay": "7d"}],
        "links": {"careers": "https://acme.test/careers"}}}},
    "outreach": {"privacy_policy_url": "https://acme.test/privacy"},
}
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


# --- the SMTP sink (its own process) ----------------------------------------------------------------------


def run_sink(port: int, log: Path) -> None:
    from aiosmtpd.controller import Controller

    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd)
            found = MESSAGE_ID.search(envelope.original_content or envelope.content)
            message_id = found.group(1).decode() if found else "-"
            # One write per message on an O_APPEND descriptor: whole lines, whatever the sender does.
            os.write(fd, f"{message_id}\t{','.join(envelope.rcpt_tos)}\n".encode())
            return "250 2.0.0 accepted"

    controller = Controller(Handler(), hostname=HOST, port=port, server_hostname="smtp.bench", ident="bench sink")
    controller.start()
    signal.signal(signal.SIGTERM, lambda *_: (controller.stop(), os._exit(0)))
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def read_sink(log: Path) -> list[tuple[str, str]]:
    if not log.exists():
        return []
    return [tuple(line.split("\t", 1)) for line in log.read_text().splitlines() if "\t" in line]  # type: ignore[misc]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def start_sink(log: Path) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.sending", "sink", "--port", str(port),
                                "--log", str(log)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process, port


# --- the sender (its own process, so that it can be killed) ---------------------------------------------


def _deps(database_url: str, smtp_port: int, clock_offset: float) -> Any:
    from bot.deps import build_deps
    from bot.settings import Settings
    from bot.workspace import parse_workspace_config

    settings = Settings(slack_bot_token="xoxb-bench", slack_signing_secret=SIGNING_SECRET, database_url=database_url,
                        smtp_url=f"smtp://{HOST}:{smtp_port}", smtp_from="Acme Recruiting <jobs@acme.test>",
                        talentbot_public_url="https://bot.acme.test", talentbot_scheduler=False)
    return build_deps(settings, parse_workspace_config(BENCH_WORKSPACE),
                      clock=lambda: datetime.now(UTC) + timedelta(seconds=clock_offset))


def run_worker(database_url: str, smtp_port: int, *, clock_offset: float) -> None:
    """One copy of the nurture_steps job (commands.nurture.run_nurture_steps) until nothing is left to send.

    Prints "ready" once imported and set up, starts on a line on stdin, and prints the CPU it spent sending.
    """
    from commands.nurture import run_nurture_steps

    deps = _deps(database_url, smtp_port, clock_offset)
    print("ready", flush=True)
    sys.stdin.readline()
    cpu = time.process_time()
    while True:
        report = run_nurture_steps(deps)
        delivered = deps.mailer.deliver_due(limit=500)
        if report.startswith("0 emails") and delivered.sent == 0 and delivered.retrying == 0:
            break
    print(json.dumps({"cpu": time.process_time() - cpu}), flush=True)


def run_sender(database_url: str, smtp_port: int, *, clock_offset: float, senders: int) -> None:
    """`senders` copies of the job at once, as several worker processes would run them (one GIL each): rows are
    claimed, so they share the work without sending anything twice. Timed from when all are set up."""
    from sqlalchemy import func
    from sqlmodel import select

    from storage.db import Database
    from storage.models import EmailMessage, OutboxStatus

    workers = [subprocess.Popen([sys.executable, "-m", "bench.sending", "worker", "--database", database_url,
                                 "--smtp-port", str(smtp_port), "--clock-offset", str(clock_offset)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(senders)]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    cpu = sum(json.loads(worker.communicate()[0].strip().splitlines()[-1])["cpu"] for worker in workers)
    elapsed = time.perf_counter() - started
    db = Database(database_url)
    with db.read() as session:
        sent = session.exec(select(func.count()).select_from(EmailMessage)
                            .where(EmailMessage.status == OutboxStatus.SENT)).one()
    db.dispose()
    print(json.dumps({"elapsed": elapsed, "cpu": cpu, "sent": sent}), flush=True)


# --- seeding ---------------------------------------------------------------------------------------------


def fresh_database(name: str) -> str:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def seed(database_url: str, steps: int) -> None:
    from sqlalchemy import insert

    from storage.db import Database
    from storage.migrate import upgrade
    from storage.models import Candidate, Consent, NurtureEnrollment

    db = Database(database_url)
    upgrade(db)
    now = datetime.now(UTC)
    due = now - timedelta(minutes=1)
    with db.transaction() as session:
        session.execute(insert(Candidate), [
            {"id": n, "full_name": f"Candidate {n}", "name_key": f"candidate {n}", "email": f"c{n}@example.com",
             "email_normalized": f"c{n}@example.com", "skills": [], "source": "sourced", "status": "active",
             "open_to_opportunities": False, "created_at": now, "updated_at": now} for n in range(1, steps + 1)])
        session.execute(insert(Consent), [
            {"candidate_id": n, "kind": "contact", "action": "granted", "recorded_at": now, "evidence": "bench"}
            for n in range(1, steps + 1)])
        session.execute(insert(NurtureEnrollment), [
            {"candidate_id": n, "sequence": "passive", "status": "active", "next_step": 0, "next_step_at": due,
             "enrolled_by_slack_id": "UADMIN01", "enrolled_at": due, "updated_at": due}
            for n in range(1, steps + 1)])
    db.dispose()


def start_sender(database_url: str, port: int, *, clock_offset: float = 0.0,
                 senders: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bench.sending", "sender", "--database", database_url,
                             "--smtp-port", str(port), "--clock-offset", str(clock_offset),
                             "--senders", str(senders)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)


# --- the three measurements ------------------------------------------------------------------------------


def baseline(steps: int, port: int) -> float:
    """Plain smtplib: a message like a step's to `steps` recipients over one connection, as the Mailer sends a
    run's messages, with no database and no rendering; emails per second."""
    from email.message import EmailMessage

    sample = EmailMessage()
    sample["From"] = "Acme Recruiting <jobs@acme.test>"
    sample["Subject"] = "Jane, a hello from Acme"
    sample.set_content("Hi Jane,\n\n" + "We would like to share a little of how we work.\n" * 12)
    sample.add_alternative("<p>Hi Jane,</p>" + "<p>We would like to share a little of how we work.</p>" * 12,
                           subtype="html")
    started = time.perf_counter()
    client = smtplib.SMTP(HOST, port, timeout=10)
    for n in range(1, steps + 1):
        del sample["To"], sample["Message-ID"]
        sample["To"] = f"c{n}@example.com"
        sample["Message-ID"] = f"<baseline.{n}@acme.test>"
        client.send_message(sample)
    client.quit()
    return steps / (time.perf_counter() - started)


@dataclass
class Run:
    elapsed_s: float
    per_second: float
    # Emails per second of the sender's own CPU time: the rate on a machine that other work does not share.
    per_cpu_second: float
    deliveries: int
    distinct_message_ids: int
    distinct_steps: int
    duplicates: int
    double_sends: int
    lost: int
    killed_after: int | None = None


def check(log: Path, steps: int, elapsed: float, cpu: float, killed_after: int | None = None) -> Run:
    received = read_sink(log)
    by_step: dict[str, set[str]] = {}
    for message_id, recipient in received:
        by_step.setdefault(recipient, set()).add(message_id)
    return Run(elapsed_s=elapsed, per_second=steps / elapsed if elapsed else 0.0,
               per_cpu_second=steps / cpu if cpu else 0.0, deliveries=len(received),
               distinct_message_ids=len({m for m, _ in received}), distinct_steps=len(by_step),
               duplicates=len(received) - len(by_step),
               double_sends=sum(1 for ids in by_step.values() if len(ids) > 1), lost=steps - len(by_step),
               killed_after=killed_after)


@contextmanager
def seeded_with_sink(name: str, steps: int) -> Iterator[tuple[str, Path, int]]:
    """A fresh database with `steps` due steps and a fresh sink: (database URL, sink log, SMTP port)."""
    url = fresh_database(name)
    seed(url, steps)
    log = RESULTS / f"{name}.log"
    log.unlink(missing_ok=True)
    sink, port = start_sink(log)
    try:
        yield url, log, port
    finally:
        sink.terminate()
        sink.wait()


def sender_result(sender: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = sender.communicate()
    return dict(json.loads(out.strip().splitlines()[-1]))


def throughput(steps: int, senders: int) -> Run:
    with seeded_with_sink("sending_throughput", steps) as (url, log, port):
        result = sender_result(start_sender(url, port, senders=senders))
        return check(log, steps, result["elapsed"], result["cpu"])


def crash(steps: int, senders: int, kill_at: float) -> Run:
    from bot.mail import CLAIM_FOR

    with seeded_with_sink("sending_crash", steps) as (url, log, port):
        started = time.perf_counter()
        sender = start_sender(url, port, senders=senders)
        while len(read_sink(log)) < steps * kill_at:
            if sender.poll() is not None:
                raise RuntimeError("the sender finished before it could be killed; raise --steps")
            time.sleep(0.005)
        # The sender and its workers, as a machine losing power would: its own process group.
        os.killpg(sender.pid, signal.SIGKILL)
        sender.wait()
        killed_after = len(read_sink(log))
        # The restart comes after the dead process's claims have expired, as it would in production.
        restarted = start_sender(url, port, clock_offset=CLAIM_FOR.total_seconds() + 1, senders=senders)
        cpu = sender_result(restarted)["cpu"]
        return check(log, steps, time.perf_counter() - started, cpu, killed_after=killed_after)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run sending")
    sub = parser.add_subparsers(dest="role")
    sink = sub.add_parser("sink")
    sink.add_argument("--port", type=int, required=True)
    sink.add_argument("--log", type=Path, required=True)
    sender = sub.add_parser("sender")
    sender.add_argument("--database", required=True)
    sender.add_argument("--smtp-port", type=int, required=True)
    sender.add_argument("--clock-offset", type=float, default=0.0)
    sender.add_argument("--senders", type=int, default=2)
    worker = sub.add_parser("worker")
    worker.add_argument("--database", required=True)
    worker.add_argument("--smtp-port", type=int, required=True)
    worker.add_argument("--clock-offset", type=float, default=0.0)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--kill-at", type=float, default=0.4, help="share of the steps received before the kill")
    parser.add_argument("--senders", type=int, default=2, help="copies of the job running at once, one process each")
    parser.add_argument("--output", type=Path, default=RESULTS / "sending.json")
    args = parser.parse_args(argv)
    if args.role == "sink":
        run_sink(args.port, args.log)
        return 0
    if args.role == "worker":
        run_worker(args.database, args.smtp_port, clock_offset=args.clock_offset)
        return 0
    if args.role == "sender":
        run_sender(args.database, args.smtp_port, clock_offset=args.clock_offset, senders=args.senders)
        return 0

    RESULTS.mkdir(exist_ok=True)
    baseline_log = RESULTS / "sending_baseline.log"
    baseline_log.unlink(missing_ok=True)
    sink_process, port = start_sink(baseline_log)
    try:
        base = baseline(args.steps, port)
    finally:
        sink_process.terminate()
        sink_process.wait()
    print(f"baseline: {base:.0f} emails/s", flush=True)
    fast = throughput(args.steps, args.senders)
    print(f"throughput: {json.dumps(asdict(fast))}", flush=True)
    crashed = crash(args.steps, args.senders, args.kill_at)

    print(f"sending {args.steps} due nurture steps on SQLite to a loopback SMTP server ({args.senders} senders)")
    print(f"  baseline, plain smtplib (one connection, no database):          {base:8.0f} emails/s")
    print(f"  talentbot nurture_steps + Mailer (exactly-once bookkeeping):     {fast.per_second:8.0f} emails/s"
          f"   ratio {fast.per_second / base:.2f} of baseline   target ≥ {TARGET_PER_SECOND:.0f}/s: "
          f"{'PASS' if fast.per_second >= TARGET_PER_SECOND else 'FAIL'}")
    print(f"    sender CPU: {fast.per_cpu_second:.0f} emails per CPU-second; load average while measuring: "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"    delivered {fast.deliveries}, steps reached {fast.distinct_steps}, duplicates {fast.duplicates}, "
          f"lost {fast.lost}")
    redelivered = crashed.deliveries - crashed.distinct_message_ids
    print(f"  kill -9 after {crashed.killed_after} received, restart: delivered {crashed.deliveries}, "
          f"distinct Message-IDs {crashed.distinct_message_ids}, steps reached {crashed.distinct_steps}, "
          f"lost {crashed.lost}, double sends (two Message-IDs for one step) {crashed.double_sends}, "
          f"re-deliveries of one Message-ID {redelivered} (at most {args.senders}: the message each sender had "
          f"on the wire; receivers drop it by Message-ID)")
    # Exactly once as receivers see it: one Message-ID per step, none lost. A re-delivery of a Message-ID is the
    # message in flight at the kill (accepted by the server, not yet recorded), at most one per sender.
    ok = (fast.per_second >= TARGET_PER_SECOND and fast.duplicates == 0 and fast.lost == 0
          and crashed.lost == 0 and crashed.double_sends == 0 and redelivered <= args.senders)
    print(f"  overall: {'PASS' if ok else 'FAIL'}")
    args.output.write_text(json.dumps({"steps": args.steps, "baseline_per_second": base,
                                       "throughput": asdict(fast), "crash": asdict(crashed)}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
