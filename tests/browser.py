"""Headless Chromium driven over the DevTools protocol (aiohttp's websocket client): open a page, wait
until its text settles (Streamlit renders over a websocket after the load event, so a plain
``--screenshot`` catches only the skeleton), read the text and save a screenshot."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import httpx

from tests.conftest import free_port

LAPTOP, PHONE = (1280, 900), (390, 844)


class Visit(NamedTuple):
    text: str
    seconds: float
    overflow_px: int
    cut_off: list[str]


# the main content's sideways overflow, and the metric tiles and headings whose text is cut (ellipsis)
LAYOUT = """(() => {
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  const cut = [...document.querySelectorAll('[data-testid="stMetricValue"] div, [data-testid="stMetricLabel"] p, h1, h2, h3')]
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText.slice(0, 40));
  return {overflow_px: Math.max(main.scrollWidth - main.clientWidth, document.documentElement.scrollWidth - window.innerWidth),
          cut_off: cut};
})()"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    def __init__(self) -> None:
        binary = chromium()
        if binary is None:
            raise RuntimeError("Chromium is missing: `make test` installs Debian's `chromium` (apt-get install chromium)")
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="vitrine-chromium-")
        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
             f"--remote-debugging-port={self.port}", f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                targets = httpx.get(f"http://127.0.0.1:{self.port}/json", timeout=2).json()
                self.socket_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
                break
            except (httpx.HTTPError, StopIteration):
                if time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError("Chromium's DevTools did not come up in 30 s") from None
                time.sleep(0.3)

    def visit(self, url: str, screenshot: Path, size: tuple[int, int] = LAPTOP, phone: bool = False,
              settle_s: float = 1.5, timeout_s: float = 60) -> Visit:
        """Open ``url`` in a ``size`` viewport (a phone's: touch, device width); once its text has
        not changed for ``settle_s`` (and no spinner shows), save a screenshot. Returns the page's
        text, the seconds until it first settled, and what the layout gets wrong: ``overflow_px``,
        how far the main content is wider than the screen (a sideways scroll), and ``cut_off``, the
        tiles and headings whose text does not fit their box (shown truncated)."""
        return asyncio.run(self._visit(url, screenshot, settle_s, timeout_s, size, phone))

    async def _visit(self, url: str, screenshot: Path, settle_s: float, timeout_s: float,
                     size: tuple[int, int], phone: bool) -> Visit:
        import aiohttp

        async with aiohttp.ClientSession() as session, session.ws_connect(self.socket_url, max_msg_size=0) as ws:
            counter = 0

            async def send(method: str, **params) -> dict:
                nonlocal counter
                counter += 1
                await ws.send_str(json.dumps({"id": counter, "method": method, "params": params}))
                while True:
                    message = json.loads((await ws.receive()).data)
                    if message.get("id") == counter:
                        return message.get("result", {})

            async def text() -> str:
                found = await send("Runtime.evaluate", expression="document.body ? document.body.innerText : ''")
                return found["result"].get("value", "")

            await send("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1], deviceScaleFactor=1,
                       mobile=phone)
            started = time.monotonic()
            await send("Page.navigate", url=url)
            last, stable_since, settled = None, time.monotonic(), None
            while time.monotonic() - started < timeout_s:
                await asyncio.sleep(0.25)
                now_text = await text()
                busy = await send("Runtime.evaluate", expression=(
                    "!!document.querySelector('[data-testid=\"stSpinner\"], [data-testid=\"stStatusWidget\"] svg,"
                    " [data-testid=\"stSkeleton\"]')"))
                if now_text != last or busy["result"].get("value"):
                    last, stable_since = now_text, time.monotonic()
                elif now_text.strip() and time.monotonic() - stable_since >= settle_s:
                    settled = stable_since - started
                    break
            layout = (await send("Runtime.evaluate", returnByValue=True, expression=LAYOUT))["result"].get("value", {})
            shot = await send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            return Visit(last or "", settled if settled is not None else float("inf"), layout.get("overflow_px", 0),
                         layout.get("cut_off", []))

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
