"""The server under test, in a process of its own so that the load generator does not share its GIL.

    python -m bench.serve_app --target app  --database-url URL --slack-url http://127.0.0.1:PORT/api/
    python -m bench.serve_app --target bare --database-url URL --slack-url ...

`app` is talentbot as `talentbot serve` builds it (build_deps, build_app, build_asgi_app) with the
background scheduler off. `bare` is a Bolt App with the same client, signing secret, listener pool and
Starlette endpoint (bot.server.build_asgi_app itself) whose two listeners only ack: the difference
between the two is exactly the work our listeners do before and around the ack.

Both bind a free loopback port, print `LISTENING <port>` on stdout and serve with uvicorn's defaults,
as `talentbot serve` does (one worker, auto loop and HTTP implementation), except that the log level
is warning so that only problems reach the log file the benchmark keeps.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import uvicorn
from slack_bolt import Ack, App
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from bench import BOT_TOKEN, SIGNING_SECRET, WORKSPACE
from bot.app import TalentBotApp, build_app
from bot.deps import build_deps
from bot.inbox import acks_inline
from bot.server import build_asgi_app
from bot.settings import Settings
from bot.slack import build_web_client
from bot.workspace import parse_workspace_config
from commands.referral_views import CALLBACK_REFERRAL
from storage.db import Database

TARGETS = ("app", "bare")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ENV_TARGET, ENV_DATABASE_URL, ENV_SLACK_URL = "BENCH_SERVE_TARGET", "BENCH_SERVE_DATABASE_URL", "BENCH_SERVE_SLACK_URL"


def bench_settings(database_url: str, slack_url: str) -> Settings:
    # Explicit values win over the environment, except those left out on purpose:
    # TALENTBOT_LISTENER_THREADS still applies, so pool sizes can be compared without code changes.
    return Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack_url,
                    database_url=database_url, talentbot_scheduler=False)


def build_bare_app(settings: Settings) -> App:
    """A Bolt app that acks /refer and the referral modal and does nothing else.

    Built like the real one (bot.app.build_app): the same App subclass and listener runner, client,
    signing secret and pool, and its two listeners ack inline as the real ones do; only the work
    before the ack (the app's validation and its inbox commit) is missing.
    """
    app = TalentBotApp(
        client=build_web_client(settings),
        signing_secret=settings.slack_signing_secret or "",
        process_before_response=False,
        # The same pool size as the real app: Bolt's default (5 threads) would make the baseline
        # differ from the app in more than the listeners' work.
        listener_executor=ThreadPoolExecutor(max_workers=settings.talentbot_listener_threads,
                                             thread_name_prefix="listener"),
        logger=logging.getLogger("slack_bolt"),
    )

    @app.command("/refer")
    @acks_inline
    def ack_command(ack: Ack) -> None:
        ack()

    @app.view(CALLBACK_REFERRAL)
    @acks_inline
    def ack_submission(ack: Ack) -> None:
        ack()

    return app


def build_target_asgi(target: str, database_url: str, slack_url: str) -> Starlette:
    settings = bench_settings(database_url, slack_url)
    if target == "bare":
        bolt_app = build_bare_app(settings)
        # Only /healthz touches it, so both servers answer the same readiness probe.
        db = Database(settings.database_url)
    else:
        deps = build_deps(settings, parse_workspace_config(WORKSPACE))
        bolt_app = build_app(deps)
        db = deps.db
    return build_asgi_app(bolt_app, db)


def asgi_from_environment() -> Starlette:
    """uvicorn's factory in each worker process (--workers N): the arguments come by environment."""
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    return build_target_asgi(os.environ[ENV_TARGET], os.environ[ENV_DATABASE_URL], os.environ[ENV_SLACK_URL])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=TARGETS, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--slack-url", required=True, help="the fake Slack's Web API base URL")
    parser.add_argument("--workers", type=int, default=1,
                        help="uvicorn worker processes, as `talentbot serve --workers`")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)

    # Binding port 0 here and reporting it avoids racing other processes for a "free" port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(f"LISTENING {sock.getsockname()[1]}", flush=True)
    if args.workers == 1:
        asgi = build_target_asgi(args.target, args.database_url, args.slack_url)
        uvicorn.Server(uvicorn.Config(asgi, log_level="warning", access_log=False)).run(sockets=[sock])
        return
    # Several processes accept on the one socket, each with its own app (and GIL), as uvicorn --workers does.
    os.environ.update({ENV_TARGET: args.target, ENV_DATABASE_URL: args.database_url, ENV_SLACK_URL: args.slack_url})
    # A worker still importing on a busy machine must not be taken for a hung one (default: 5 s).
    config = uvicorn.Config("bench.serve_app:asgi_from_environment", factory=True, workers=args.workers,
                            log_level="warning", access_log=False, timeout_worker_healthcheck=60)
    Multiprocess(config, sockets=[sock]).run()


if __name__ == "__main__":
    main()
