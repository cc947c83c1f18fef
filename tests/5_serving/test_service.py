"""The real API (``bentoml serve`` on a free localhost port) over the main job's champions: tokens and
roles, denials, revocation, the audit trail, bad input as 4xx, a new champion picked up without a
restart, and an unreachable registry served from the last good copies."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from serving import auth
from tests.conftest import TODAY, VITRINE, call, kill_tree, start, stop


def test_health_is_open_and_everything_else_needs_a_valid_token(service):
    settings, url, _ = service
    assert call(url, "health").json() == {"status": "ok"}
    for endpoint, body in (("readiness", {}), ("cross_sell", {"basket": ["P00001"], "store_id": "L001"}),
                           ("stock_alerts", {"store_id": "L001"}), ("staffing_plan", {"store_id": "L001"}),
                           ("forecast", {"store_id": "L001", "skus": ["P00001"]}), ("reload", {})):
        assert call(url, endpoint, **body).status_code == 401
        assert call(url, endpoint, "not-a-token", **body).status_code == 401
    denied = [row for row in auth.audit_rows(settings, 50) if row["status"] == 401]
    assert len(denied) >= 12 and all(row["user_id"] is None for row in denied)


def test_readiness_lists_the_three_champions(service):
    _, url, tokens = service
    ready = call(url, "readiness", tokens["seller"]).json()
    assert ready["status"] == "ready", ready
    assert {name: m["source"] for name, m in ready["models"].items()} == {
        "stock-forecaster": "registry", "cross-sell": "registry", "staffing": "registry"}
    assert ready["figures"]["data_through"] == TODAY and ready["figures"]["live_upto"] == 0 and ready["today"] == TODAY


def test_a_manager_sees_their_store_and_only_their_store(service):
    _, url, tokens = service
    alerts = call(url, "stock_alerts", tokens["manager"], store_id="L001", limit=5)
    assert alerts.status_code == 200
    rows = alerts.json()["alerts"]
    assert 0 < len(rows) <= 5
    assert [r["stockout_probability"] for r in rows] == sorted((r["stockout_probability"] for r in rows), reverse=True)
    sku = rows[0]["sku"]
    forecast = call(url, "forecast", tokens["manager"], store_id="L001", skus=[sku], horizon_days=7).json()
    assert len(forecast["days"]) == 7 and all(d["p10"] <= d["p50"] <= d["p90"] for d in forecast["days"])
    plan = call(url, "staffing_plan", tokens["manager"], store_id="L001").json()
    assert plan["basis"] == "store" and len({h["date"] for h in plan["hours"]}) == 7 and plan["peaks"]
    assert all(h["sellers_needed"] >= 1 for h in plan["hours"])
    for endpoint, body in (("stock_alerts", {"store_id": "L002"}), ("staffing_plan", {"store_id": "L002"}),
                           ("forecast", {"store_id": "L002", "skus": [sku]}), ("reload", {})):
        assert call(url, endpoint, tokens["manager"], **body).status_code == 403
    missing = call(url, "forecast", tokens["manager"], store_id="L001", skus=["NOPE"])
    assert missing.status_code == 404 and "NOPE" in missing.text


def test_a_seller_gets_cross_sell_for_their_store_but_no_manager_views(service):
    _, url, tokens = service
    reply = call(url, "cross_sell", tokens["seller"], basket=["P00001", "NADA"], store_id="L002", k=3)
    assert reply.status_code == 200
    body = reply.json()
    assert body["unknown"] == ["NADA"] and 0 < len(body["suggestions"]) <= 3
    assert all(s["reason"] and s["sku"] != "P00001" for s in body["suggestions"])
    assert call(url, "cross_sell", tokens["seller"], basket=["P00001"], store_id="L001").status_code == 403
    assert call(url, "stock_alerts", tokens["seller"], store_id="L002").status_code == 403
    assert call(url, "stock_alerts", tokens["analyst"], store_id="L002").status_code == 200  # analysts read all
    assert call(url, "reload", tokens["analyst"]).status_code == 403


def test_bad_input_is_a_4xx_naming_the_field(service):
    _, url, tokens = service
    for body, field in (({"basket": [], "store_id": "L001"}, "basket"), ({"basket": ["P1"], "store_id": "L001", "k": 0}, "k"),
                        ({"basket": "P1", "store_id": "L001"}, "basket"), ({"basket": ["P1"]}, "store_id")):
        reply = call(url, "cross_sell", tokens["admin"], **body)
        assert reply.status_code == 400 and field in reply.text and "Traceback" not in reply.text
    bad_week = call(url, "staffing_plan", tokens["admin"], store_id="L001", week_start="2031-01-06")
    assert bad_week.status_code == 400 and "outside the forecast" in bad_week.text
    assert call(url, "staffing_plan", tokens["admin"], store_id="L001", plan_on="p75").status_code == 400
    for endpoint, body in (("reports", {"store_id": "L001", "delete_id": 2**70}), ("link_code", {"user_id": 2**70}),
                           ("report_preview", {"store_id": "L001", "report_id": 2**70}), ("alerts", {"after_id": 2**70}),
                           ("reports", {"store_id": "L001", "save": {"report_id": 2**70, "name": "x", "metrics": ["sales"]}})):
        huge = call(url, endpoint, tokens["admin"], **body)  # past SQLite's ids: was a 500
        assert huge.status_code == 400 and "less than or equal" in huge.text, (endpoint, huge.text)


def test_every_call_is_audited_and_revoked_tokens_stop_working(service):
    settings, url, _ = service
    user, token = auth.add_user(settings, "Temp", "manager", store_id="L001")
    assert call(url, "stock_alerts", token, store_id="L001").status_code == 200
    auth.revoke(settings, user.user_id)
    assert call(url, "stock_alerts", token, store_id="L001").status_code == 401
    rows = auth.audit_rows(settings, 5)
    mine = [r for r in rows if r["user_id"] == user.user_id]
    assert mine and mine[0]["endpoint"] == "stock_alerts" and mine[0]["status"] == 200
    assert json.loads(mine[0]["request"]) == {"store_id": "L001", "limit": 20}
    assert all(token not in r["request"] for r in rows)


def test_a_new_champion_is_served_without_a_restart(service):
    from mlflow import MlflowClient

    from training.tracking import configure
    from warehouse.model_store import CHAMPION

    settings, url, tokens = service
    configure(settings, "staffing")
    client = MlflowClient()
    current = client.get_model_version_by_alias("staffing", CHAMPION)
    newer = client.create_model_version("staffing", current.source, run_id=current.run_id)
    client.set_registered_model_alias("staffing", CHAMPION, newer.version)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        models = call(url, "readiness", tokens["admin"]).json()["models"]
        if models["staffing"]["version"] == str(newer.version):
            break
        time.sleep(1)
    assert models["staffing"]["version"] == str(newer.version)
    plan = call(url, "staffing_plan", tokens["admin"], store_id="L001").json()
    assert plan["model_version"] == str(newer.version)


def test_an_unreachable_registry_serves_the_last_good_models_and_says_degraded(service):
    settings, _, tokens = service
    process, url = start(settings.home, MLFLOW_TRACKING_URI="http://127.0.0.1:9", MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
                         MLFLOW_HTTP_REQUEST_TIMEOUT="2", VITRINE_MODEL_POLL_SECONDS="3600")
    try:
        ready = call(url, "readiness", tokens["admin"]).json()
        assert ready["status"] == "degraded"
        assert all(m["source"] == "last good copy" and m["error"] for m in ready["models"].values())
        reply = call(url, "cross_sell", tokens["admin"], basket=["P00001"], store_id="L001")
        assert reply.status_code == 200 and reply.json()["suggestions"]
    finally:
        stop(process)


SALE = {"ticket_id": "POS-1", "line": 1, "store_id": "L002", "seller_id": "V0010", "customer_id": "CPF 123.456.789-00",
        "sku": "P00001", "quantity": 2, "unit_price": 53.0, "discount": 5.0, "sold_at": f"{TODAY}T15:00:00"}  # P00001 lists at 53


def test_a_posted_sale_counts_at_once_and_only_once(service):
    from warehouse import live_sales

    settings, url, tokens = service
    before = call(url, "seller_summary", tokens["seller"]).json()
    assert (before["seller_id"], before["store_id"], before["today"]) == ("V0010", "L002", TODAY)
    assert before["sales_month"] > 0 and before["target"] > 0 and before["days_left"] == 1
    started = time.monotonic()
    assert call(url, "sales", tokens["pos"], lines=[SALE]).json() == {"accepted": 1, "duplicates": 0}
    after = call(url, "seller_summary", tokens["seller"]).json()
    assert time.monotonic() - started < 2
    assert after["sales_today"] == pytest.approx(before["sales_today"] + 101.0, abs=0.01)
    assert after["sales_month"] == pytest.approx(before["sales_month"] + 101.0, abs=0.01)
    assert after["commission_accrued"] > before["commission_accrued"] and after["live_lines"] == before["live_lines"] + 1
    assert call(url, "sales", tokens["pos"], lines=[SALE]).json() == {"accepted": 0, "duplicates": 1}
    assert call(url, "seller_summary", tokens["seller"]).json()["sales_month"] == after["sales_month"]
    changed = call(url, "sales", tokens["pos"], lines=[{**SALE, "quantity": 3}])
    assert changed.status_code == 409 and "POS-1 line 1" in changed.text
    stored = [r for r in live_sales.lines_after(settings, 0) if r["ticket_id"] == "POS-1"]
    assert len(stored) == 1 and stored[0]["customer_id"].startswith("anon-")
    assert b"123.456.789" not in settings.live_sales_db.read_bytes()  # LGPD: never stored as sent


def test_posting_sales_is_checked_and_scoped(service):
    _, url, tokens = service
    for change, status, text in (({"sku": "NOPE"}, 400, "lines[0].sku"), ({"quantity": 0}, 400, "lines[0].quantity"),
                                 ({"store_id": "L001"}, 403, ""),  # BentoML words every 403 alike
                                 ({"seller_id": "V0001"}, 400, "lines[0].seller_id"),  # works at L001
                                 ({"unit_price": -1}, 400, "unit_price")):
        reply = call(url, "sales", tokens["pos"], lines=[{**SALE, "ticket_id": "POS-X", **change}])
        assert reply.status_code == status and text in reply.text, (change, reply.text)
    for role in ("seller", "manager", "analyst", "admin"):  # only the store's point of sale posts its sales
        assert call(url, "sales", tokens[role], lines=[{**SALE, "ticket_id": "POS-X"}]).status_code == 403
    assert call(url, "sales", tokens["pos"], lines=[]).status_code == 400


def test_implausible_sales_are_refused_naming_the_field_and_the_manager_is_told(service):
    """The probes that inflated a seller's commission: a price far from the catalogue, a huge
    quantity, a discount above the line, dates the warehouse would quarantine. Each is a 422 naming
    the field, counts nowhere, and is listed for the store's managers."""
    _, url, tokens = service
    before = call(url, "seller_summary", tokens["seller"]).json()
    for n, (change, field) in enumerate((({"quantity": 1000, "unit_price": 1_000_000}, "quantity"),  # the probe: first rule broken
                                         ({"quantity": 201}, "quantity"),
                                         ({"unit_price": 10.0, "discount": 500.0}, "discount"),
                                         ({"unit_price": 200.0}, "unit_price"),
                                         ({"sold_at": "2030-01-01T10:00:00"}, "sold_at"),
                                         ({"sold_at": "1990-01-01T10:00:00"}, "sold_at"),
                                         ({"sold_at": "0001-01-01T10:00:00"}, "sold_at"))):
        reply = call(url, "sales", tokens["pos"], lines=[{**SALE, "ticket_id": f"BAD-{n}", **change}])
        assert reply.status_code == 422 and f"lines[0].{field}" in reply.text, (change, reply.text)
    assert call(url, "seller_summary", tokens["seller"]).json()["sales_month"] == before["sales_month"]
    refused = call(url, "refused_sales", tokens["admin"], store_id="L002").json()["refused"]
    assert {r["ticket_id"] for r in refused} >= {f"BAD-{n}" for n in range(7)}
    assert any("outside the catalogue band" in r["reason"] and r["seller_id"] == "V0010" for r in refused)
    assert call(url, "refused_sales", tokens["manager"], store_id="L002").status_code == 403  # L001's manager
    assert call(url, "refused_sales", tokens["seller"], store_id="L002").status_code == 403


def test_a_line_the_warehouse_holds_is_a_duplicate_or_a_conflict(service):
    """Ticket 10022100 line 1 is in the generated sales (V0010 returned a P00010 on the last day):
    posted again as it is, nothing is added; changed, it is a 409, as the warehouse would drop it."""
    _, url, tokens = service
    held = {"ticket_id": "10022100", "line": 1, "store_id": "L002", "seller_id": "V0010", "sku": "P00010",
            "quantity": -1, "unit_price": 181.8, "discount": 0, "sold_at": f"{TODAY}T16:05:47"}
    before = call(url, "seller_summary", tokens["seller"]).json()
    assert call(url, "sales", tokens["pos"], lines=[held]).json() == {"accepted": 0, "duplicates": 1}
    changed = call(url, "sales", tokens["pos"], lines=[{**held, "quantity": -2}])
    assert changed.status_code == 409 and "already in the warehouse" in changed.text
    assert call(url, "seller_summary", tokens["seller"]).json()["sales_month"] == before["sales_month"]


def test_a_manager_sees_the_team_the_comparison_and_margins(service):
    _, url, tokens = service
    team = call(url, "team_summary", tokens["manager"], store_id="L001").json()["sellers"]
    assert {s["seller_id"] for s in team} == {f"V000{i}" for i in range(1, 9)}
    ranked = [s["attainment_pct"] for s in team if s["attainment_pct"] is not None]
    assert ranked == sorted(ranked, reverse=True) and len(ranked) >= 7
    assert call(url, "seller_summary", tokens["manager"], seller_id="V0002").json()["store_id"] == "L001"
    assert call(url, "seller_summary", tokens["manager"], seller_id="V0010").status_code == 403
    assert call(url, "team_summary", tokens["seller"], store_id="L002").status_code == 403
    comparison = call(url, "store_comparison", tokens["manager"], store_id="L001").json()
    assert comparison["month"] == "2026-10-01" and len(comparison["kpis"]) == 5
    assert all(k["stores"] == 4 and 1 <= k["rank"] <= 4 for k in comparison["kpis"] if k["kpi"] != "growth_pct")
    below = {k["kpi"] for k in comparison["kpis"] if k["gap_pct"] is not None and k["gap_pct"] < 0}
    assert set(comparison["areas_to_improve"]) == below
    assert call(url, "store_comparison", tokens["manager"], store_id="L009").status_code == 403
    assert call(url, "store_comparison", tokens["admin"], store_id="L009").status_code == 404
    margins = call(url, "high_margin", tokens["seller"], k=5).json()
    assert margins["seller_id"] == "V0010" and len(margins["products"]) == 5
    # ranked by margin per unit × the category's share of the seller's sales
    worth = [p["margin_value"] * p["category_share_pct"] for p in margins["products"]]
    assert all(a >= b * 0.99 for a, b in zip(worth, worth[1:]))  # (the reply's figures are rounded)
    assert all(p["in_your_categories"] for p in margins["products"])
    assert call(url, "high_margin", tokens["seller"], seller_id="V0002").status_code == 403
    # "not yours" reads the same whether the seller exists or not: ids cannot be enumerated
    for endpoint in ("seller_summary", "high_margin"):
        real, made_up = (call(url, endpoint, tokens["seller"], seller_id=s) for s in ("V0002", "V9999"))
        assert (real.status_code, made_up.status_code) == (403, 403) and "V0002" not in made_up.text
        assert real.text.replace("V0002", "") == made_up.text.replace("V9999", "")
    assert call(url, "seller_summary", tokens["admin"], seller_id="V9999").status_code == 404


def test_acknowledged_sales_survive_a_kill_9(service):
    """A stream of POST /sales, the service killed mid-stream: after a restart every acknowledged
    line is stored exactly once, and re-sending them all adds only the unacknowledged ones."""
    import threading

    from warehouse import live_sales

    settings, _, tokens = service
    process, url = start(settings.home, VITRINE_TODAY=TODAY, VITRINE_MODEL_POLL_SECONDS="3600")
    acknowledged: list[int] = []
    stop_sending = threading.Event()

    def send() -> None:
        for n in range(1, 100_000):
            if stop_sending.is_set():
                return
            try:
                reply = call(url, "sales", tokens["pos"], lines=[{**SALE, "ticket_id": f"KILL-{n}"}])
            except httpx.HTTPError:
                return
            if reply.status_code == 200:
                acknowledged.append(n)

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    kill_tree(process)  # kill -9: the service and its workers, no chance to finish anything
    stop_sending.set()
    sender.join(timeout=30)
    process.wait(timeout=10)
    assert len(acknowledged) >= 50
    stored = [int(r["ticket_id"][5:]) for r in live_sales.lines_after(settings, 0) if r["ticket_id"].startswith("KILL-")]
    assert set(acknowledged) <= set(stored) and len(stored) == len(set(stored))
    process, url = start(settings.home, VITRINE_TODAY=TODAY, VITRINE_MODEL_POLL_SECONDS="3600")
    try:
        resent = call(url, "sales", tokens["pos"],
                      lines=[{**SALE, "ticket_id": f"KILL-{n}"} for n in range(1, max(stored) + 2)]).json()
        assert resent == {"accepted": 1, "duplicates": max(stored)}
    finally:
        stop(process)


def test_the_pipeline_runs_while_the_service_answers_and_takes_the_posted_sales_in(service):
    """`vitrine pipeline run` owns the warehouse while the service keeps answering from published
    figures; afterwards the posted lines are in the warehouse and counted once."""
    from warehouse.clickhouse import close_all, connect

    settings, url, tokens = service
    before = call(url, "seller_summary", tokens["seller"]).json()
    assert before["live_lines"] >= 1  # POS-1 from the test above, not in the warehouse yet
    pipeline = subprocess.Popen([*VITRINE, "pipeline", "run", "--quick", "--home", str(settings.home)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"})
    answered = 0
    while pipeline.poll() is None:
        reply = call(url, "seller_summary", tokens["seller"])
        assert reply.status_code == 200
        answered += 1
        time.sleep(1)
    output = pipeline.stdout.read()
    assert pipeline.returncode == 0, output[-3000:]
    assert answered >= 10 and "vendas-live-" in output and "Published the sellers' and stores' figures" in output
    call(url, "reload", tokens["admin"])
    after = call(url, "seller_summary", tokens["seller"]).json()
    assert after["live_lines"] == 0 and after["sales_month"] == pytest.approx(before["sales_month"], abs=0.01)
    close_all()
    try:
        client = connect(settings)
        stored = client.query("SELECT count(), any(customer_id) FROM silver.sales WHERE ticket_id = 'POS-1'").result_rows
    finally:
        close_all()
    assert stored[0][0] == 1 and stored[0][1].startswith("anon-")


def test_sales_history_by_period_for_the_seller_and_the_team(service):
    _, url, tokens = service
    mine = call(url, "seller_history", tokens["seller"], grain="week").json()
    assert (mine["seller_id"], mine["store_id"], len(mine["periods"])) == ("V0010", "L002", 13)
    assert sum(p["sales"] for p in mine["periods"]) > 0
    team = call(url, "seller_history", tokens["manager"], store_id="L001", grain="month", start="2026-01-01").json()
    this_month = team["periods"][-1]
    members = call(url, "team_summary", tokens["manager"], store_id="L001").json()["sellers"]
    assert this_month["sales"] == pytest.approx(sum(s["sales_month"] for s in members), abs=0.05)
    assert this_month["in_progress"] == (this_month["end"] > TODAY)
    assert call(url, "seller_history", tokens["seller"], store_id="L002").status_code == 403
    assert call(url, "seller_history", tokens["manager"], store_id="L002").status_code == 403
    assert call(url, "seller_history", tokens["manager"], seller_id="V0002").json()["name"]
    too_long = call(url, "seller_history", tokens["seller"], grain="day", start="2000-01-01")
    assert too_long.status_code == 422 and "coarser grain" in too_long.text


def test_a_manager_shapes_reports_and_previews_them(service):
    _, url, tokens = service
    shaped = {"name": "Fechamento", "metrics": ["sales", "tickets", "attainment_pct"], "grain": "week",
              "audience": "team", "schedule": "weekly"}
    saved = call(url, "reports", tokens["manager"], store_id="L001", save=shaped).json()["reports"]
    report_id = saved[-1]["report_id"]
    assert saved[-1] | {"report_id": None} == shaped | {"report_id": None}
    table = call(url, "report_preview", tokens["manager"], store_id="L001", report_id=report_id).json()
    team = call(url, "seller_history", tokens["manager"], store_id="L001", grain="week", start=table["period_start"],
                end=table["period_start"]).json()["periods"][-1]
    assert table["rows"][-1]["seller_id"] is None and table["rows"][-1]["values"]["sales"] == team["sales"]
    assert len(table["rows"]) == 9 and list(table["rows"][0]["values"]) == shaped["metrics"]
    assert call(url, "reports", tokens["analyst"], store_id="L001").json()["reports"][-1]["name"] == "Fechamento"
    assert call(url, "reports", tokens["analyst"], store_id="L001", save=shaped).status_code == 403  # reads only
    assert call(url, "reports", tokens["seller"], store_id="L002").status_code == 403
    assert call(url, "reports", tokens["manager"], store_id="L002").status_code == 403
    stranger = call(url, "reports", tokens["admin"], store_id="L002", save=shaped | {"report_id": report_id})
    assert stranger.status_code == 422 and "no report" in stranger.text  # another store's report
    after = call(url, "reports", tokens["manager"], store_id="L001", delete_id=report_id).json()
    assert after["reports"] == saved[:-1]
    [deleted, created] = [c for c in after["changes"] if c["report_id"] == report_id]  # the audit, newest first
    assert (deleted["action"], created["action"]) == ("deleted", "created") and deleted["changed_by"].startswith("Gil")
    assert created["new"] == shaped and deleted["old"] == shaped and deleted["new"] is None
    assert call(url, "report_preview", tokens["manager"], store_id="L001", report_id=report_id).status_code == 404


def test_trends_to_promote_are_scoped_and_explained(service):
    _, url, tokens = service
    mine = call(url, "trends", tokens["seller"], k=50).json()
    assert mine["store_id"] == "L002" and mine["window_end"] == TODAY
    flags = [t["in_your_categories"] for t in mine["trends"]]
    assert flags == sorted(flags, reverse=True)  # the seller's categories first
    assert all(t["units"] >= 5 and t["units"] >= 1.5 * t["expected"] and t["reason"] for t in mine["trends"])
    assert call(url, "trends", tokens["manager"], store_id="L002").status_code == 403
    assert call(url, "trends", tokens["seller"], store_id="L001").status_code == 403


def test_fuzzing_every_endpoint_from_the_openapi_finds_no_server_error(service):
    """schemathesis generates valid and invalid bodies for every operation of the published OpenAPI
    (as an admin, who may call them all): none may answer 5xx. Except ``run_pipeline``, which takes
    no body and would start a whole pipeline run that outlives the test (test_pipeline_runs.py
    covers it)."""
    _, url, tokens = service
    fuzz = subprocess.run(
        [str(Path(sys.executable).parent / "st"), "run", f"{url}/docs.json", "--checks", "not_a_server_error",
         "--exclude-path", "/run_pipeline",
         "--max-examples", "25", "--seed", "7", "--request-timeout", "30", "--header",
         f"Authorization: Bearer {tokens['admin']}"], capture_output=True, text=True, timeout=900)
    assert fuzz.returncode == 0, fuzz.stdout[-5000:] + fuzz.stderr[-2000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", fuzz.stdout)
    assert cases and int(cases[1]) == int(cases[2]) >= 500, fuzz.stdout[-2000:]


def test_a_body_over_the_limit_is_a_413_sized_or_chunked(service):
    _, url, tokens = service
    headers = {"authorization": f"Bearer {tokens['pos']}", "content-type": "application/json"}
    big = json.dumps({"lines": [SALE] * 40_000}).encode()  # ~10 MB
    assert len(big) > 5_000_000
    assert httpx.post(f"{url}/sales", content=big, headers=headers, timeout=60).status_code == 413

    def chunks():  # no content-length: counted as it arrives
        for at in range(0, len(big), 65_536):
            yield big[at:at + 65_536]

    assert httpx.post(f"{url}/sales", content=chunks(), headers=headers, timeout=60).status_code == 413
    assert call(url, "health").json() == {"status": "ok"}  # and the service goes on
    small = json.dumps({"lines": [{**SALE, "ticket_id": "CHUNKED-1"}]}).encode()
    reply = httpx.post(f"{url}/sales", content=iter([small[:50], small[50:]]), headers=headers, timeout=60)
    assert reply.json() == {"accepted": 1, "duplicates": 0}  # a chunked body under the limit is served as usual


def test_stopping_vitrine_up_stops_the_service_and_the_dashboard(service):
    """SIGTERM to `vitrine up` (as systemd or docker stop sends) stops everything it started:
    BentoML's and Streamlit's workers included, nothing left serving."""
    from tests.conftest import free_port, processes_mentioning

    settings, _, _ = service
    api, dashboard, mark = free_port(), free_port(), f"up-{os.getpid()}-{time.monotonic_ns()}"
    up = subprocess.Popen([*VITRINE, "up", "--home", str(settings.home)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True,
                          env={"PATH": "/usr/bin:/bin", "VITRINE_SERVICE_PORT": str(api),
                               "VITRINE_DASHBOARD_PORT": str(dashboard), "VITRINE_TEST_MARK": mark})
    try:
        deadline = time.monotonic() + 240
        for url in (f"http://127.0.0.1:{api}/readyz", f"http://127.0.0.1:{dashboard}/_stcore/health"):
            while True:
                assert up.poll() is None and time.monotonic() < deadline, f"{url} never answered"
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(1)
        assert len(processes_mentioning(mark)) >= 3  # up, the API and its workers, the dashboard
        up.send_signal(signal.SIGTERM)  # to `vitrine up` alone, not its group
        assert up.wait(timeout=60) is not None
        deadline = time.monotonic() + 30
        while processes_mentioning(mark) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert processes_mentioning(mark) == []
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
