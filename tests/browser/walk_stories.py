"""Walk the agent's and the customer's stories (issue 13) in a real browser on a running
`make run`, saving screenshots at 1280x900 and 390x844 for a person to look at.

Not collected by pytest (no test_ prefix): run it by hand against a fresh demo, one language
per fresh database (the walk files complaints, confirms a closure, freezes alice's account):

    PORT=18160 make run          # in another terminal (or the same steps by hand, see below)
    .venv/bin/python tests/browser/walk_stories.py --base-url http://127.0.0.1:18160 \
        --lang zh-hans --var-dir var --otpauth seed.log --out /tmp/shots/walk/zh

`--otpauth` is a file holding the `otpauth://` lines the first `seed_demo` printed (the staff's
TOTP secrets); `--var-dir` is where the development SMS and mail land (the one-time codes).
Each step saves <out>/<step>-desktop.png and <step>-mobile.png and writes <out>/walk.log:
page loads per step, answers >= 500, console errors, text in the other language, a page wider
than the phone, and each step that failed (the walk goes on with the next one).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import re
import struct
import sys
import time
import traceback
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from playwright.sync_api import Page, expect, sync_playwright

DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BIG = b"%PDF-1.4\n" + b"0" * (6 * 1024 * 1024) + b"\n%%EOF\n"
ALICE, BOB = ("alice", "alice-demo-pass"), ("bob", "bob-demo-pass")
ALICE_PHONE = "13800138000"
# Words an English page may carry untranslated (names, codes) and Chinese an en page may
# carry (customer names, what the customer wrote, the language switch).
EN_ALLOWED = re.compile(
    r"^(PI-[A-Z0-9-]+|[A-Z0-9-]{6,}|TOTP|PDF|JPEG|PNG|API|SMS|ID|OK|MB|English"
    r"|alice|bob|agent|reviewer|manager|risk|auditor)$"
)
# Django's admin app list carries visually hidden column headers that its zh-hans catalog
# does not translate (read out by screen readers): reported once, not on every page.
ADMIN_HIDDEN = {"MODEL NAME", "ADD LINK", "CHANGE OR VIEW LIST LINK"}


class Walk:
    def __init__(self, args: argparse.Namespace) -> None:
        self.base = args.base_url.rstrip("/")
        self.nodebug = (args.nodebug_url or "").rstrip("/")
        self.lang = args.lang
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.var = Path(args.var_dir)
        self.secrets = _otpauth_secrets(Path(args.otpauth).read_text())
        self.used_steps: dict[str, int] = {}
        self.log_lines: list[str] = []
        self.loads = 0
        self.nav_urls: list[str] = []
        self.state: dict[str, str] = {}
        self.alice_password = ALICE[1]

    # --- bookkeeping -------------------------------------------------------------------------

    def log(self, line: str) -> None:
        print(line, flush=True)
        self.log_lines.append(line)

    def watch(self, page: Page, who: str) -> None:
        def navigated(frame) -> None:
            if frame == page.main_frame:
                self.loads += 1
                self.nav_urls.append(frame.url)

        page.on("framenavigated", navigated)
        page.on(
            "response",
            lambda r: self.log(f"  !! {who}: {r.status} {r.request.method} {r.url}")
            if r.status >= 500
            else None,
        )
        page.on(
            "console",
            lambda m: self.log(f"  !! {who} console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None,
        )
        page.on("pageerror", lambda e: self.log(f"  !! {who} page error: {e}"))

    def shot(self, page: Page, step: str) -> None:
        """Both sizes, full page; checks the text's language and the phone layout."""
        for label, size in (("desktop", DESKTOP), ("mobile", MOBILE)):
            page.set_viewport_size(size)
            page.wait_for_timeout(150)
            page.screenshot(path=str(self.out / f"{step}-{label}.png"), full_page=True)
            if label == "mobile":
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > MOBILE["width"] + 2:
                    wide = page.evaluate(
                        """() => Array.from(document.querySelectorAll('body *'))
                        .filter(e => e.getBoundingClientRect().right > 392)
                        .slice(0, 4).map(e => e.tagName + '.' + e.className + '#' + e.id)"""
                    )
                    self.log(f"  ?? {step}: {width}px wide at 390 ({wide})")
        page.set_viewport_size(DESKTOP)
        self.language_check(page, step)

    def language_check(self, page: Page, step: str) -> None:
        text = page.locator("body").inner_text()
        if self.lang == "en":
            runs = set(re.findall(r"[\u4e00-\u9fff][\u4e00-\u9fff，。：、（）\w]*", text))
            if runs:
                self.log(f"  ?? {step}: Chinese on an en page: {sorted(runs)[:12]}")
        else:
            words = set()
            for run in re.findall(r"[A-Za-z][A-Za-z' ,.:-]{3,}[A-Za-z]", text):
                worded = " " in run.strip() or run.lower() == run
                if worded and not all(EN_ALLOWED.match(w) for w in run.split()):
                    words.add(run.strip())
            if words & ADMIN_HIDDEN and not self.state.get("admin_hidden_logged"):
                self.state["admin_hidden_logged"] = "1"
                self.log(f"  ?? {step}: admin's hidden headers untranslated: {ADMIN_HIDDEN}")
            words -= ADMIN_HIDDEN
            if words:
                self.log(f"  ?? {step}: Latin text on a zh page: {sorted(words)[:12]}")
        for raw in re.findall(r"\b[a-z]+_[a-z_]+\b", text):
            self.log(f"  ?? {step}: raw code on the page: {raw}")
            break

    def step(self, name: str, fn, *args) -> None:
        before = self.loads
        started = time.monotonic()
        try:
            fn(*args)
        except Exception as exc:  # the walk goes on; the failure is a finding
            self.log(f"  XX {name} failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            self.log("     " + traceback.format_exc().strip().splitlines()[-3])
            for page in args:
                if isinstance(page, Page):
                    with contextlib.suppress(Exception):
                        page.screenshot(path=str(self.out / f"{name}-FAILED.png"), full_page=True)
                    break
        self.log(
            f"{name}: {self.loads - before} page loads, {time.monotonic() - started:.1f}s wall"
        )

    # --- one-time codes ----------------------------------------------------------------------

    def totp(self, username: str) -> str:
        """The current code; waits for the next 30 s step when this one was used (replay)."""
        key = base64.b32decode(self.secrets[username])
        while True:
            counter = int(time.time()) // 30
            if self.used_steps.get(username) != counter:
                break
            time.sleep(1)
        self.used_steps[username] = counter
        digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
        offset = digest[-1] & 0x0F
        code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
        return f"{code:06d}"

    def latest_code(self, since: float) -> str:
        """The six-digit code of the newest SMS or mail written after `since`."""
        for _ in range(60):
            files = [
                p
                for folder in ("sms", "mail")
                for p in (self.var / folder).glob("*")
                if p.is_file() and p.stat().st_mtime >= since
            ]
            for path in sorted(files, key=lambda p: p.stat().st_mtime, reverse=True):
                text = path.read_text(errors="replace")
                if path.suffix == ".json":
                    text = json.loads(text).get("body", "")
                else:  # an email: the body, after the headers
                    text = text.split("\n\n", 1)[-1]
                found = re.findall(r"(?<![\w-])(\d{6})(?![\w-])", text)
                if found:
                    return found[0]
            time.sleep(0.5)
        raise AssertionError("no code arrived in var/sms or var/mail")

    # --- signing in --------------------------------------------------------------------------

    def new_page(self, browser, who: str, base: str | None = None) -> Page:
        base = base or self.base
        context = browser.new_context(
            base_url=base, locale="zh-CN" if self.lang == "zh-hans" else "en-US"
        )
        context.add_cookies([{"name": "django_language", "value": self.lang, "url": base}])
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.set_viewport_size(DESKTOP)
        self.watch(page, who)
        return page

    def staff_sign_in(self, page: Page, username: str, step: str | None = None) -> None:
        page.goto("/admin/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", f"{username}-demo-pass")
        if step:
            self.shot(page, step)
        page.fill("#id_otp_token", self.totp(username))
        page.click("#login-form input[type=submit]")
        expect(page).to_have_url(re.compile(r"/admin/$"))

    def customer_sign_in(self, page: Page, username: str, password: str) -> None:
        page.goto("/portal/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("[data-testid=login-submit]")
        expect(page).to_have_url(re.compile(r"/portal/$"))

    # --- the customer ------------------------------------------------------------------------

    def c_sign_in(self, page: Page) -> None:
        page.goto("/portal/login/")
        self.shot(page, "c01-login")
        page.fill("input[name=username]", ALICE[0])
        page.fill("input[name=password]", "wrong-password")
        page.click("[data-testid=login-submit]")
        self.shot(page, "c02-login-error")
        page.fill("input[name=password]", ALICE[1])
        page.click("[data-testid=login-submit]")
        expect(page).to_have_url(re.compile(r"/portal/$"))
        self.shot(page, "c03-accounts")

    def c_account_and_dispute(self, page: Page) -> None:
        page.locator("[data-testid^=account-] a.title").first.click()
        self.shot(page, "c04-account")
        row = page.locator("[data-testid=loan-table] tbody tr", has_text="LNDEMOA004")
        expect(row).to_contain_text("03:12")
        row.locator("a.dispute").click()
        self.shot(page, "c05-dispute-form")
        expect(page.locator("body")).to_contain_text("03:12")
        # The form's errors first: an empty description.
        page.click("[data-testid=submit-complaint]")
        self.shot(page, "c06-dispute-errors")
        page.fill(
            "textarea[name=description]",
            "这笔不是我本人借的：凌晨三点我在睡觉，没有收到任何验证码。"
            if self.lang == "zh-hans"
            else "I did not take this loan: at 3 am I was asleep and got no code.",
        )
        self.shot(page, "c07-dispute-filled")
        page.click("[data-testid=submit-complaint]")
        expect(page).to_have_url(re.compile(r"/portal/complaints/[A-Z0-9-]+/$"))
        self.state["reference"] = page.url.rstrip("/").rsplit("/", 1)[-1]
        self.log(f"  complaint {self.state['reference']}")
        self.shot(page, "c08-complaint-filed")
        page.goto(page.url.split("/portal/")[0] + "/portal/")
        page.locator("[data-testid^=account-] a.title").first.click()
        row = page.locator("[data-testid=loan-table] tbody tr", has_text="LNDEMOA004")
        expect(row.locator("a.dispute")).to_have_count(0)
        self.shot(page, "c09-account-disputed-loan")
        link = row.locator(f"a[href*='{self.state['reference']}']")
        if link.count() == 0:
            self.log("  ?? the disputed loan does not link to its complaint (item 10)")

    def c_complaints_and_reply(self, page: Page) -> None:
        page.click("[data-testid=nav-complaints]")
        expect(page).to_have_url(re.compile(r"/portal/complaints/$"))
        self.shot(page, "c10-my-complaints")
        page.locator(f"[data-testid=complaint-{self.state['reference']}] a.title").click()
        page.fill(
            "textarea[name=body]",
            "附上我的银行流水，那天我不在国内。"
            if self.lang == "zh-hans"
            else "Attached: my bank statement; I was abroad that day.",
        )
        page.set_input_files(
            "input[name=file]",
            files=[{"name": "银行流水.pdf", "mimeType": "application/pdf", "buffer": PDF}],
        )
        self.shot(page, "c11-reply-filled")
        page.click("[data-testid=message-submit]")
        expect(page.locator("[data-testid=conversation-message]")).to_have_count(1)
        self.shot(page, "c12-reply-sent")
        # A 6 MB file: refused by the page before anything is sent.
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.method) if r.method == "POST" else None)
        page.fill("textarea[name=body]", "再附一个大文件。")
        page.set_input_files(
            "input[name=file]",
            files=[{"name": "扫描件.pdf", "mimeType": "application/pdf", "buffer": BIG}],
        )
        expect(page.locator("[data-testid=file-too-large]")).to_be_visible()
        page.click("[data-testid=message-submit]")
        page.wait_for_timeout(500)
        self.shot(page, "c13-big-file-refused")
        if requests:
            self.log(f"  ?? the message was sent without the 6 MB file: {requests}")
        else:
            # Still on the page with what was typed; sent once the file is taken off.
            expect(page.locator("textarea[name=body]")).to_have_value("再附一个大文件。")
            page.set_input_files("input[name=file]", files=[])
            page.fill("textarea[name=body]", "")

    def c_counter(self, page: Page) -> None:
        page.goto(f"/portal/complaints/{self.state['reference']}/")
        box = page.locator("textarea[name=body]")
        limit = int(box.get_attribute("data-maxlength") or box.get_attribute("maxlength") or 0)
        if not limit:
            self.log("  ?? the reply box has no character limit / counter")
            return
        box.fill("字" * (limit + 7))
        expect(page.locator("[data-testid=counter-body]")).to_have_class(re.compile("over"))
        self.shot(page, "c14-counter-over")
        page.click("[data-testid=message-submit]")
        self.shot(page, "c15-counter-server-error")
        box = page.locator("textarea[name=body]")
        box.fill("")

    def c_answer_seen(self, page: Page) -> None:
        page.goto(f"/portal/complaints/{self.state['reference']}/")
        expect(page.locator("[data-testid=conversation-message][data-author=staff]")).to_have_count(
            1
        )
        self.shot(page, "c20-answer-seen")
        page.click("[data-testid=nav-messages]")
        self.shot(page, "c21-messages")

    def c_decided(self, page: Page) -> None:
        page.goto(f"/portal/complaints/{self.state['reference']}/")
        self.shot(page, "c22-decided")
        page.goto("/portal/")
        page.locator("[data-testid^=account-] a.title").first.click()
        self.shot(page, "c23-account-after-decision")

    def c_closure(self, page: Page) -> None:
        page.goto("/portal/")
        page.locator("[data-testid^=account-] a.title").first.click()
        close = page.locator("[data-testid=close-account]")
        if close.count() == 0:
            self.shot(page, "c30-no-close-button")
            self.log("  ?? no 'close this account' on alice's account")
            return
        close.click()
        self.shot(page, "c30-close-form")
        page.click("main form button[type=submit] >> nth=0")  # errors first
        self.shot(page, "c31-close-form-submitted")
        if "/confirm/" not in page.url:
            # Fill what the form asks for: tick every checkbox, first choice of each select.
            for box in page.locator("main form input[type=checkbox]").all():
                box.check()
            for radio in page.locator("main form input[type=radio]").all()[:1]:
                radio.check()
            for area in page.locator("main form textarea").all():
                area.fill("不再使用。" if self.lang == "zh-hans" else "No longer used.")
            since = time.time() - 1
            page.click("main form button[type=submit] >> nth=0")
        else:
            since = time.time() - 5
        expect(page).to_have_url(re.compile(r"/confirm/$"))
        self.shot(page, "c32-code-page")
        expect(page.locator("[data-testid=code-destination]")).to_contain_text("****")
        page.fill("input[name=otp]", "000000")
        page.click("[data-testid=confirm-closure]")
        self.shot(page, "c33-code-wrong")
        code = self.latest_code(since)
        page.fill("input[name=otp]", code)
        page.click("[data-testid=confirm-closure]")
        self.shot(page, "c34-closure-confirmed")
        page.goto("/portal/")
        self.shot(page, "c35-accounts-closing")
        page.locator("[data-testid^=account-] a.title").first.click()
        expect(page.locator("[data-testid=pending-closure]")).to_be_visible()
        self.shot(page, "c36-account-pending-closure")
        page.click("[data-testid=withdraw-closure]")
        self.shot(page, "c37-closure-withdrawn")

    def c_rate_limit(self, page: Page) -> None:
        """429: the password reset, 5 a client IP in 10 minutes (the closure code's resend
        waits a minute between codes first); then the sign-in lockout (5 failures)."""
        page.context.clear_cookies()
        page.context.add_cookies(
            [{"name": "django_language", "value": self.lang, "url": self.base}]
        )
        for _ in range(7):
            page.goto("/portal/password-reset/")
            page.fill("input[name=username]", "13900000000")
            page.click("main form button[type=submit]")
            page.wait_for_load_state()
            if page.locator("text=429").count() or "/code/" not in page.url:
                self.shot(page, "c40-429")
                break
        else:
            self.log("  ?? no 429 after 7 password-reset requests")
        for i in range(6):
            page.goto("/portal/login/")
            page.fill("input[name=username]", "nobody")
            page.fill("input[name=password]", f"wrong-{i}")
            page.click("[data-testid=login-submit]")
        self.shot(page, "c41-lockout")

    def _unused_resend_429(self, page: Page) -> None:
        """The resend's own limit (3 in 10 minutes), kept for a slower walk."""
        page.goto("/portal/")
        page.locator("[data-testid^=account-] a.title").first.click()
        close = page.locator("[data-testid=close-account]")
        if close.count() == 0:
            self.log("  ?? no close button for the 429 walk")
            return
        close.click()
        for box in page.locator("main form input[type=checkbox]").all():
            box.check()
        for radio in page.locator("main form input[type=radio]").all()[:1]:
            radio.check()
        for area in page.locator("main form textarea").all():
            area.fill("再试一次。")
        page.click("main form button[type=submit] >> nth=0")
        expect(page).to_have_url(re.compile(r"/confirm/$"))
        for i in range(6):
            if page.locator("[data-testid=resend-code]").count() == 0:
                break
            page.fill("input[name=otp]", "12345")
            page.click("[data-testid=resend-code]")
            page.wait_for_load_state()
            self.shot(page, f"c40-resend-{i + 1}")
            if "429" in page.title() or page.locator("text=429").count():
                break
        page.goto("/portal/")
        page.locator("[data-testid^=account-] a.title").first.click()
        withdraw = page.locator("[data-testid=withdraw-closure]")
        if withdraw.count():
            withdraw.click()
        else:
            page.goto("/portal/")
            self.log("  ?? could not withdraw the second closure request from the account page")

    def c_errors(self, page: Page) -> None:
        """On the server given by --nodebug-url (DEBUG off, as in production) when there is
        one: with DEBUG on Django answers every 404 with its own technical page."""
        if self.nodebug:
            page = self.new_page(self.browser, "customer (DEBUG off)", base=self.nodebug)
            self.customer_sign_in(page, ALICE[0], self.alice_password)
        for step, path in (
            ("c50-404-complaint", "/portal/complaints/NO-SUCH-REF/"),
            ("c51-404-account", "/portal/accounts/999999/"),
            ("c52-404-unknown-url", "/portal/no-such-page/"),
            ("c53-400-nul", "/portal/complaints/?page=%00"),
        ):
            response = page.goto(path)
            self.log(f"  {path}: {response.status}")
            self.shot(page, step)
        if self.nodebug:
            page.context.close()

    def c_language_switch(self, page: Page) -> None:
        page.goto("/portal/")
        page.click("[data-testid=language-switch] a")
        self.shot(page, "c60-switched")
        page.click("[data-testid=nav-complaints]")
        self.shot(page, "c61-switched-next-page")
        page.click("[data-testid=language-switch] a")  # back
        expect(page.locator("html")).to_have_attribute("lang", self.lang)

    def c_appeals(self, page: Page) -> None:
        page.click("[data-testid=nav-appeals]")
        self.shot(page, "c62-appeals-alice")

    def c_compromised(self, page: Page) -> None:
        page.goto("/portal/complaints/new/?category=other")
        self.shot(page, "c70-new-complaint")
        select = page.locator("select[name=category]")
        options = select.locator("option").all_inner_texts()
        self.log(f"  categories: {options}")
        page.fill(
            "textarea[name=description]",
            "我的账户可能被盗用了，有人改了我的手机号。"
            if self.lang == "zh-hans"
            else "Someone may be using my account.",
        )
        if not page.locator("select[name=account]").input_value():
            self.log("  ?? the only account is not chosen on the complaint form")
            page.select_option("select[name=account]", index=1)
        page.check("input[name=account_compromised]")
        page.click("[data-testid=submit-complaint]")
        expect(page).to_have_url(re.compile(r"/portal/account-secured/"))
        self.shot(page, "c71-account-secured")
        page.goto("/portal/")
        self.shot(page, "c72-signed-out")
        # The page leads to a password change: sign in again, then change it.
        page.goto("/portal/password/")
        self.shot(page, "c73-password-needs-sign-in")
        if "/login/" in page.url:
            page.fill("input[name=username]", ALICE[0])
            page.fill("input[name=password]", self.alice_password)
            page.click("[data-testid=login-submit]")
        self.shot(page, "c74-after-sign-in")
        if "/password/" not in page.url:
            page.goto("/portal/password/")
        page.fill("input[name=old_password]", "not-my-password")
        page.fill("input[name=new_password1]", "short")
        page.fill("input[name=new_password2]", "different")
        page.click("main form button[type=submit]")
        self.shot(page, "c75-password-errors")
        page.fill("input[name=old_password]", self.alice_password)
        page.fill("input[name=new_password1]", "Neue-Passwort-2026")
        page.fill("input[name=new_password2]", "Neue-Passwort-2026")
        page.click("main form button[type=submit]")
        self.shot(page, "c76-password-changed")
        self.alice_password = "Neue-Passwort-2026"

    def c_password_reset(self, page: Page) -> None:
        page.context.clear_cookies()
        page.context.add_cookies(
            [{"name": "django_language", "value": self.lang, "url": self.base}]
        )
        page.goto("/portal/login/")
        self.shot(page, "c80-login-signed-out")
        reset = page.locator("a[href*='password-reset']")
        if reset.count() == 0:
            self.log("  ?? the sign-in page does not link to the password reset")
            page.goto("/portal/password-reset/")
        else:
            reset.first.click()
        self.shot(page, "c81-reset-form")
        since = time.time() - 1
        page.fill("input[name=username]", ALICE_PHONE)
        page.click("main form button[type=submit]")
        expect(page).to_have_url(re.compile(r"/password-reset/code/$"))
        self.shot(page, "c82-reset-code")
        page.fill("input[name=code]", "12")
        page.fill("input[name=new_password1]", "alice-demo-pass")
        page.fill("input[name=new_password2]", "alice-demo-pass")
        page.click("main form button[type=submit]")
        self.shot(page, "c83-reset-code-errors")
        code = self.latest_code(since)
        page.fill("input[name=code]", code)
        page.fill("input[name=new_password1]", "alice-demo-pass")
        page.fill("input[name=new_password2]", "alice-demo-pass")
        page.click("main form button[type=submit]")
        self.shot(page, "c84-reset-done")
        self.alice_password = ALICE[1]
        page.fill("input[name=username]", ALICE[0])
        page.fill("input[name=password]", self.alice_password)
        page.click("[data-testid=login-submit]")
        self.shot(page, "c85-signed-in-after-reset")

    def c_bob(self, page: Page) -> None:
        page.context.clear_cookies()
        page.context.add_cookies(
            [{"name": "django_language", "value": self.lang, "url": self.base}]
        )
        self.customer_sign_in(page, *BOB)
        self.shot(page, "c90-bob-accounts")
        page.locator("[data-testid^=account-] a.title").first.click()
        self.shot(page, "c91-bob-account-closed")
        page.click("[data-testid=nav-appeals]")
        self.shot(page, "c92-bob-appeals")

    # --- staff -------------------------------------------------------------------------------

    def m_canned_reply(self, page: Page) -> None:
        self.staff_sign_in(page, "manager")
        page.goto("/admin/complaints/cannedreply/add/")
        self.shot(page, "a01-canned-reply-add")
        page.fill("#id_title", "已收到材料" if self.lang == "zh-hans" else "Evidence received")
        page.select_option("#id_language", self.lang)
        page.fill(
            "#id_body",
            "{customer_name}您好，投诉 {reference} 的材料已收到，我们会在 {deadline} 前答复。"
            if self.lang == "zh-hans"
            else "Dear {customer_name}, we received the evidence for {reference} and will answer"
            " by {deadline}.",
        )
        page.fill("#id_reason", "常用回复" if self.lang == "zh-hans" else "common answer")
        page.click("input[name=_save]")
        self.shot(page, "a02-canned-replies")

    def a_queue_and_search(self, page: Page) -> None:
        self.staff_sign_in(page, "agent", step="a03-admin-login")
        self.shot(page, "a04-admin-home")
        page.goto("/admin/complaints/complaint/")
        self.shot(page, "a05-queue")
        for label, term in (
            ("reference", self.state["reference"]),
            ("reference-lower", self.state["reference"].lower()),
            ("name", "李爱"),
            ("phone", ALICE_PHONE),
        ):
            page.fill("#searchbar", term)
            with page.expect_navigation():
                page.press("#searchbar", "Enter")
            rows = page.locator("#result_list tbody tr")
            count = rows.count()
            self.log(f"  search by {label} {term!r}: {count} rows")
            if count == 0:
                self.log(f"  ?? search by {label} found nothing")
            self.shot(page, f"a06-search-{label}")

    def a_case(self, page: Page) -> None:
        page.goto("/admin/complaints/complaint/?queue=unassigned")
        self.loads, self.nav_urls = 0, []
        page.click(f"text={self.state['reference']}")
        expect(page.locator("[data-testid=case-status]")).to_be_visible()
        self.state["case_url"] = page.url
        self.shot(page, "a07-case")
        page.click("[data-testid=act-take]")
        expect(page.locator("[data-testid=case-assignee]")).to_have_text("agent")
        self.shot(page, "a08-case-taken")
        page.fill("form[data-testid=act-note] textarea", "已核对授权记录：该笔无授权事件。")
        page.click("[data-testid=submit-note]")
        self.shot(page, "a09-note-added")
        select = page.locator("#act-message select[name=canned_reply]")
        options = select.locator("option").all_inner_texts()
        self.log(f"  canned replies offered: {options}")
        if select.locator("option").count() > 1:
            select.select_option(index=1)
        else:
            page.fill("#act-message textarea[name=text]", "您好，材料已收到。")
        page.locator("#act-message").scroll_into_view_if_needed()
        self.shot(page, "a10-message-canned")
        page.click("[data-testid=submit-message]")
        self.shot(page, "a11-message-sent")

    def a_decide(self, page: Page) -> None:
        form = page.locator("form[data-testid=act-decide]")
        for row in form.locator("[data-testid^=decide-]").all():
            row.locator("input[type=radio][value=upheld]").check()
            row.locator("textarea").first.fill("无任何授权记录，凌晨三点的新设备。")
        form.locator("select[name=root_cause]").select_option(index=1)
        form.locator("textarea[name=decision_text]").fill(
            "经核查，该笔借款无授权记录，予以冲正，征信异议已提交。"
            if self.lang == "zh-hans"
            else "We found no authorization for this loan: it is reversed."
        )
        self.shot(page, "a12-decide-filled")
        page.click("[data-testid=submit-decide]")
        self.shot(page, "a13-decision-drafted")
        self.log(f"  page loads from the queue to the drafted decision: {self.loads}")
        for url in self.nav_urls:
            self.log(f"    {url.replace(self.base, '')}")

    def r_approve(self, page: Page) -> None:
        self.staff_sign_in(page, "reviewer")
        page.goto("/admin/complaints/complaint/?queue=approval")
        self.shot(page, "a14-reviewer-queue")
        page.goto(self.state["case_url"])
        self.shot(page, "a15-reviewer-case")
        page.click("[data-testid=act-approve]")
        self.shot(page, "a16-approve-page")
        page.fill("textarea[name=reason]", "核对了授权轨迹，同意。")
        page.click("[data-testid=submit-action]")
        self.shot(page, "a17-approved")

    def a_customer_page(self, page: Page) -> None:
        page.goto(self.state["case_url"])
        page.click("[data-testid=customer-page]")
        self.shot(page, "a18-customer-page")

    def a_intake_and_repeat(self, page: Page) -> None:
        page.goto("/admin/complaints/complaint/intake/")
        self.shot(page, "a19-intake")
        page.fill("#intake-find", "李爱丽")
        page.press("#intake-find", "Enter")
        self.shot(page, "a20-intake-found")
        page.locator("[data-testid^=pick-]").first.click()
        self.shot(page, "a21-intake-chosen")
        page.select_option("#id_category", "unauthorized_loan")
        page.fill("#id_loan_references", "LNDEMOA003")
        page.fill("#id_description", "客户来电：4200 元那笔也不是她借的。")
        page.click("main form input[type=submit], #content form input[type=submit] >> nth=-1")
        self.shot(page, "a22-intake-filed")
        self.state["repeat_url"] = page.url
        page.goto("/admin/complaints/complaint/")
        self.shot(page, "a23-queue-repeat-flag")

    def a_bulk(self, page: Page) -> None:
        page.goto("/admin/complaints/complaint/?queue=unassigned")
        rows = page.locator("#result_list tbody tr")
        self.log(f"  unassigned: {rows.count()} rows")
        page.check("#action-toggle")
        page.select_option("select[name=action]", "bulk_take")
        page.click("button[name=index]")
        self.shot(page, "a24-bulk-take")
        page.fill("#id_reason", "早班分配")
        page.click("#bulk-form input[type=submit]")
        self.shot(page, "a25-bulk-take-done")
        page.goto("/admin/complaints/complaint/")
        page.check("#action-toggle")
        page.select_option("select[name=action]", "bulk_assign")
        page.click("button[name=index]")
        assignee = page.locator("#id_assignee option")
        self.log(f"  assignees offered: {assignee.all_inner_texts()}")
        page.select_option("#id_assignee", index=1)
        page.fill("#id_reason", "午班交接")
        self.shot(page, "a26-bulk-assign")
        page.click("#bulk-form input[type=submit]")
        self.shot(page, "a27-bulk-assign-done")

    # --- the whole walk ----------------------------------------------------------------------

    def run(self) -> int:
        with sync_playwright() as pw:
            browser = self.browser = pw.chromium.launch(executable_path="/usr/bin/chromium")
            customer = self.new_page(browser, "customer")
            manager = self.new_page(browser, "manager")
            agent = self.new_page(browser, "agent")
            reviewer = self.new_page(browser, "reviewer")
            self.step("customer signs in", self.c_sign_in, customer)
            self.step("customer disputes the 03:12 loan", self.c_account_and_dispute, customer)
            self.step("customer replies with a file", self.c_complaints_and_reply, customer)
            self.step("character counter", self.c_counter, customer)
            self.step("manager writes a canned reply", self.m_canned_reply, manager)
            self.step("agent queue and search", self.a_queue_and_search, agent)
            self.step("agent case: take, note, message", self.a_case, agent)
            self.step("customer sees the answer", self.c_answer_seen, customer)
            self.step("agent drafts an upheld decision", self.a_decide, agent)
            self.step("reviewer approves", self.r_approve, reviewer)
            self.step("customer sees the decision", self.c_decided, customer)
            self.step("agent customer page", self.a_customer_page, agent)
            self.step("agent phone intake, repeat complaint", self.a_intake_and_repeat, agent)
            self.step("agent bulk take and assign", self.a_bulk, agent)
            self.step("customer closure, code page", self.c_closure, customer)
            self.step("customer error pages", self.c_errors, customer)
            self.step("customer language switch", self.c_language_switch, customer)
            self.step("customer appeals", self.c_appeals, customer)
            self.step("customer compromised", self.c_compromised, customer)
            self.step("customer password reset", self.c_password_reset, customer)
            self.step("bob", self.c_bob, customer)
            self.step("customer 429 and lockout", self.c_rate_limit, customer)
            browser.close()
        (self.out / "walk.log").write_text("\n".join(self.log_lines) + "\n")
        return 0


def _otpauth_secrets(text: str) -> dict[str, str]:
    secrets = {}
    for line in re.findall(r"otpauth://\S+", text):
        parsed = urlparse(line)
        name = unquote(parsed.path.lstrip("/")).split(":")[-1]
        secrets[name] = parse_qs(parsed.query)["secret"][0]
    return secrets


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--lang", choices=("zh-hans", "en"), default="zh-hans")
    parser.add_argument(
        "--nodebug-url",
        default="",
        help="the same database served with DEBUG=off on another host name (error pages)",
    )
    parser.add_argument("--var-dir", default="var")
    parser.add_argument("--otpauth", required=True, help="file with seed_demo's otpauth lines")
    parser.add_argument("--out", default="/tmp/shots/walk/zh")
    return Walk(parser.parse_args(argv)).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
