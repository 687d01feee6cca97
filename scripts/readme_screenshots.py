"""Screenshots of the demo's three pages for the README: ``docs/screenshots/*.png``.

Runs ``gongfang demo`` (embedded defaults, a temporary folder), signs in where the demo
says (operator PIN on the station console, reviewer password on the cooperative review),
opens the printed farmer passbook link, and saves one small PNG per page at the size it is
made for: console 1280×800 (the station's touch screen), review 1280×800 (a laptop),
passbook 360×740 (a cheap phone). Chinese, the pages' default. Needs Debian's Chromium
(``/usr/bin/chromium``); every request outside 127.0.0.1 is refused.

    .venv/bin/python scripts/readme_screenshots.py
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"


def start_demo(home: Path) -> tuple[subprocess.Popen[str], str]:
    """The demo running with its pages up, and what it printed up to the passbook URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gongfang.cli", "demo", "--farmers", "3", "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
    if proc.stdout is None:
        raise RuntimeError("no output pipe")
    lines: list[str] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if len(lines) > 1 and "farmer passbook" in lines[-2]:
            break
    return proc, "\n".join(lines)


def _after(text: str, label: str) -> str:
    lines = text.splitlines()
    i = next(n for n, line in enumerate(lines) if label in line)
    return lines[i + 1].strip()


def _small(path: Path) -> None:
    """A 256-colour palette PNG: a fraction of the size, the same to the eye for a page."""
    from PIL import Image

    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def _local_only(context: Any) -> None:
    def route(r: Any) -> None:
        host = re.sub(r"^\w+://([^/:]+).*$", r"\1", r.request.url)
        if r.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)


def shoot(out: str) -> None:
    from playwright.sync_api import sync_playwright

    console_url = _after(out, "station console")
    review_url = _after(out, "cooperative review")
    passbook_url = _after(out, "farmer passbook")
    pin = re.search(r"PIN: (\d+)", out)
    who = re.search(r"审核员 reviewer: (\S+)  密码 password: (\S+)", out)
    if who is None:
        raise SystemExit(f"the demo printed no reviewer sign-in:\n{out}")
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 800})
            _local_only(ctx)
            page = ctx.new_page()
            page.goto(console_url)
            if pin and page.locator("#pin").count():
                page.fill("#pin", pin[1])
                page.locator("form.signin-form button[type=submit]").click()
                page.wait_for_load_state("networkidle")
            page.wait_for_timeout(1500)  # live weights arrive over the socket
            page.screenshot(path=str(OUT / "console.png"))
            ctx.close()

            ctx = browser.new_context(viewport={"width": 1280, "height": 800})
            _local_only(ctx)
            page = ctx.new_page()
            page.goto(review_url)
            if page.locator("#password").count():
                page.fill("#name", who[1])
                page.fill("#password", who[2])
                page.locator("form button[type=submit]").click()
                page.wait_for_load_state("networkidle")
            run = page.locator("a[href^='/coop/runs/']").first
            if run.count():
                run.click()
                page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / "review.png"))
            ctx.close()

            ctx = browser.new_context(viewport={"width": 360, "height": 740})
            _local_only(ctx)
            page = ctx.new_page()
            page.goto(passbook_url)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / "passbook.png"), full_page=True)
            ctx.close()
        finally:
            browser.close()
    for name in ("console", "review", "passbook"):
        _small(OUT / f"{name}.png")
        print(OUT / f"{name}.png", (OUT / f"{name}.png").stat().st_size, "bytes")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="gongfang-shots-") as home:
        proc, out = start_demo(Path(home))
        try:
            shoot(out)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
