"""Screenshots of the sandbox's main screens for the README: `python -m tests.browser.screenshots [OUT_DIR]`.

Runs a fresh sandbox (its own temporary database, seeded demo data) and drives it with headless Chromium like
the browser tests do, so the pictures show what `make run` shows.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright
from sqlmodel import select

from bot.jobs import JOBS
from sandbox.people import RECRUITING_CHANNEL, person
from storage.models import Application, Candidate
from tests.browser.conftest import CHROMIUM, start_sandbox

OUT = Path("docs/screenshots")


def _settle(page: Any) -> None:
    # Two polls of the page, so late messages from the bot are in the picture.
    time.sleep(1.6)


def capture(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with tempfile.TemporaryDirectory() as directory:
        running = start_sandbox(Path(directory))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                url = running.url

                def shot(name: str) -> None:
                    _settle(page)
                    path = out / f"{name}.png"
                    page.screenshot(path=str(path))
                    shots.append(path)

                recruiter, employee, manager = person("recruiter"), person("employee"), person("hiring manager")
                page.goto(f"{url}/#user={recruiter.id}&place=home")
                expect(page.locator("#home .bk-blocks")).to_be_visible()
                shot("app-home-recruiter")

                page.click(f"[data-nav={RECRUITING_CHANNEL}]")
                expect(page.locator("#messages .msg").first).to_be_visible()
                shot("recruiting-channel")

                page.fill("#composer-input", "@talentbot stale candidates this week")
                page.press("#composer-input", "Enter")
                page.locator("#messages .msg", has_text="stale candidates").last.locator("button.reply-link") \
                    .filter(has_text="repl").click()
                expect(page.locator("#thread-messages .msg").nth(1)).to_be_visible()
                shot("question-thread")
                thread = page.locator("#thread-messages")
                thread.locator("button", has_text="Draft follow-up").first.click()
                expect(thread.locator("button", has_text="Approve & send")).to_be_visible()
                thread.evaluate("node => { node.scrollTop = node.scrollHeight; }")
                shot("draft-in-thread")
                thread.locator("button", has_text="Approve & send").click()
                page.locator(".bk-confirm button.bk-confirm-ok").click()
                expect(thread).to_contain_text("Sent to")

                with running.deps.db.read() as session:  # type: ignore[attr-defined]
                    application = session.exec(select(Application).where(Application.stage == "Offer")).first()
                    name = session.get(Candidate, application.candidate_id).full_name  # type: ignore[union-attr]
                page.fill("#composer-input", f"/candidate {name}")
                page.press("#composer-input", "Enter")
                expect(page.locator("#modal")).to_contain_text(name)
                shot("candidate-card")
                card = page.locator("#modal")
                move = card.locator("select[data-type=static_select]",
                                    has=page.locator("option", has_text="Offer Accepted")).first
                move.select_option(move.locator("option", has_text="Offer Accepted").first.get_attribute("value"))
                expect(card.locator(".bk-section .bk-text", has_text="· Offer Accepted").first).to_be_visible()
                page.click("#modal-close")

                page.select_option("#user-switcher", manager.id)
                page.click("#nav-dm")
                expect(page.locator("#messages .msg", has_text=name).first).to_be_visible()
                shot("onboarding-dm")

                page.select_option("#user-switcher", employee.id)
                page.click("#nav-dm")
                page.fill("#composer-input", "/refer")
                page.press("#composer-input", "Enter")
                modal = page.locator("#modal")
                expect(modal).to_contain_text("Refer a candidate")
                blocks = modal.locator(".bk-input-block")
                blocks.filter(has_text="Candidate's name").locator("input").fill("Ada Quinlan")
                blocks.filter(has_text="Email").locator("input").fill("ada.quinlan@")
                page.click("#modal-submit")
                expect(modal.locator(".bk-error").first).to_be_visible()
                shot("refer-modal-validation")
                page.click("#modal-close")

                JOBS["deliver_email"].run(running.deps)  # type: ignore[arg-type]
                page.click("#nav-outbox")
                expect(page.locator("#outbox .email").first).to_be_visible()
                shot("outbox")
                browser.close()
        finally:
            running.server.should_exit = True
            running.thread.join(timeout=10)
            running.sandbox.mail.stop()  # type: ignore[attr-defined]
    return shots


if __name__ == "__main__":
    for written in capture(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(written)
