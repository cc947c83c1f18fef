"""Every page of the real dashboard server in headless Chromium, over the real service: the page must
render its title with no exception text, and its screenshot is kept under test-output/screenshots."""

from __future__ import annotations

import os
import re
import subprocess
import time

import httpx
import pytest

from serving import auth
from tests.browser import PHONE, Browser
from tests.conftest import REPO, VITRINE, free_port, stop

SCREENSHOTS = REPO / "test-output" / "screenshots"
PAGES = {"estoque": "Estoque", "escala": "Escala", "cross_sell": "Cross-sell", "metas": "Metas e comissões",
         "historico": "Histórico", "lojas": "CosmeticCo", "alertas": "Alertas", "relatorios": "Relatórios",
         "modelos": "Modelos"}
BROKEN = ("Traceback", "Exception", "Error:", "fora do ar", "não vale", "Não foi possível", "Page not found")
NOT_PT_BR = re.compile(r"\b(nan|NaN|None|never|Deploy|Choose options)\b")


def start_dashboard(settings, url: str, extra_env: dict[str, str]):
    """`vitrine dashboard` on a free port over the service at ``url``; returns (process, address)."""
    port = free_port()
    log = (settings.home / f"dashboard-{port}.log").open("w")
    process = subprocess.Popen([*VITRINE, "dashboard", "--port", str(port), "--home", str(settings.home)],
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO,
                               env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
                                    "VITRINE_SERVICE_URL": url, **extra_env})
    address = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{address}/_stcore/health", timeout=2).status_code == 200:
                return process, address
        except httpx.HTTPError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, (settings.home / f"dashboard-{port}.log").read_text()
        time.sleep(0.5)


@pytest.fixture(scope="module")
def dashboard_server(service):
    settings, url, _ = service
    user, _ = auth.add_user(settings, "Tela Analista", "analyst")
    process, address = start_dashboard(settings, url, {
        "VITRINE_DASHBOARD_TOKEN": auth.add_token(settings, user.user_id, "browser test")})
    browser = Browser()
    yield address, browser
    browser.close()
    stop(process)  # the whole group: `vitrine dashboard` and the Streamlit it runs


def test_every_page_renders_in_chromium_without_an_exception(dashboard_server):
    address, browser = dashboard_server
    for n, (path, title) in enumerate(PAGES.items()):
        text, seconds, overflow, cut_off = browser.visit(f"{address}/{path if n else ''}", SCREENSHOTS / f"{path}.png")
        assert seconds < 60, f"{path} never settled: {text[-500:]}"  # (the first is /)
        assert overflow <= 0 and not cut_off, f"{path} at 1280 px: {overflow} px too wide, cut off: {cut_off}"
        assert title in text, f"{path}: {text[:500]}"
        assert not [b for b in BROKEN if b in text], f"{path}: {text[:2000]}"
        assert not NOT_PT_BR.search(text), f"{path} shows {NOT_PT_BR.search(text).group()!r}: {text[:2000]}"
        assert (SCREENSHOTS / f"{path}.png").stat().st_size > 10_000
    for unknown in ("nao-existe", "login"):  # an address the menu does not have: a pt-BR page, not a dialog
        text = browser.visit(f"{address}/{unknown}", SCREENSHOTS / f"unknown-{unknown}.png").text
        assert "Página não encontrada" in text and f"/{unknown}" in text and "Page not found" not in text, text[:500]


def test_every_page_reads_on_a_phone_without_sideways_scroll_or_cut_tiles(dashboard_server):
    """390 × 844, a phone's viewport: the main content fits the width, and no tile, label or
    heading is shown truncated. Screenshots: test-output/screenshots/phone-*.png."""
    address, browser = dashboard_server
    for path, title in PAGES.items():
        seen = browser.visit(f"{address}/{path}", SCREENSHOTS / f"phone-{path}.png", PHONE, phone=True)
        assert title in seen.text, f"{path}: {seen.text[:500]}"
        assert seen.overflow_px <= 0, f"{path}: the content is {seen.overflow_px} px wider than the phone"
        assert not seen.cut_off, f"{path}: cut off on a phone: {seen.cut_off}"


def test_a_reload_with_the_session_in_the_address_stays_signed_in(service, dashboard_server):
    """No kiosk token here: the address's session (what signing in puts there) is what signs in."""
    from serving.dashboard import sessions

    settings, url, tokens = service
    _, browser = dashboard_server
    process, address = start_dashboard(settings, url, {})
    try:
        session = sessions.open_session(settings, tokens["manager"])
        text = browser.visit(f"{address}/metas?s={session}", SCREENSHOTS / "reload.png").text
        assert "Metas e comissões" in text and "Entrar" not in text, text[:1000]
        text = browser.visit(f"{address}/metas?s=forged", SCREENSHOTS / "reload-forged.png").text
        assert "Entrar" in text and "Metas e comissões" not in text and "Page not found" not in text, text[:1000]
    finally:
        stop(process)
