"""Load on the real API: requests/s and p50/p99 latency for cross_sell and seller_summary, and for
the trivial ``health`` endpoint in the same run as the ceiling of the HTTP stack on this machine.

The service runs as ``vitrine serve`` would (``bentoml serve`` on a free loopback port) over a home
where the main job has run (given with --home, or built here with ``vitrine run --scale SCALE
--no-serve``). The load generator is an asyncio client (aiohttp) with a fixed number of open
connections, each sending its next request when the last one answers, for a fixed time per
endpoint; it shares the machine's cores with the service, as a co-located client would.

Goals on 2 cores: cross_sell ≥ 300 req/s with p99 ≤ 25 ms and ≥ 0.6 × the trivial endpoint's
throughput; seller_summary p99 ≤ 50 ms; seller_history p99 ≤ 100 ms over a year (issue 21: at
medium scale), asked by an admin for random sellers and store teams, by day, week and month.

Usage: python benchmarks/bench_service.py [--home DIR] [--scale small] [--seconds 10] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TODAY = "2026-10-31"  # the generated data's last day: the live figures replay it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(home: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    log = (home / "bench-service.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "bentoml"), "serve", "serving.service:Vitrine", "--host", "127.0.0.1",
         "--port", str(port)], cwd=REPO, stdout=log, stderr=log, start_new_session=True,
        env={**os.environ, "VITRINE_HOME": str(home), "VITRINE_TODAY": TODAY, "BENTOML_DO_NOT_TRACK": "true"})
    url = f"http://127.0.0.1:{port}"
    for _ in range(180):
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(1)
    raise SystemExit("the service did not start; see bench-service.log")


async def load(url: str, endpoint: str, bodies: list[dict], token: str | None, seconds: float, connections: int
               ) -> tuple[int, list[float], int]:
    import aiohttp

    headers = {"authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(session: aiohttp.ClientSession, seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            body = rng.choice(bodies)
            started = time.perf_counter()
            async with session.post(f"{url}/{endpoint}", json=body, headers=headers) as reply:
                await reply.read()
                if reply.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(20):  # warm-up
            async with session.post(f"{url}/{endpoint}", json=bodies[0], headers=headers) as reply:
                await reply.read()
        began = time.perf_counter()
        await asyncio.gather(*(worker(session, i) for i in range(connections)))
        elapsed = time.perf_counter() - began
    return int(len(latencies) / elapsed), latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, help="a home where `vitrine run` has run (default: build one)")
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()

    from serving import auth
    from serving.live_figures import LiveFigures
    from warehouse.settings import load_settings

    home = args.home or Path(tempfile.mkdtemp(prefix="vitrine-bench-service-"))
    if not (home / "serving" / "figures" / "meta.json").exists():
        print(f"Running the main job ({args.scale}) into {home}…", flush=True)
        subprocess.run([str(Path(sys.executable).parent / "vitrine"), "run", "--scale", args.scale, "--no-serve",
                        "--home", str(home)], check=True, stdout=subprocess.DEVNULL)
    settings = load_settings(home=home)
    figures = LiveFigures(settings)
    sellers = figures.published.frames["sellers"]
    seller = sellers.iloc[1]
    _, seller_token = auth.add_user(settings, "bench seller", "seller", store_id=seller.store_id,
                                    seller_id=seller.seller_id)
    exports = [*(home / "data").rglob("vendas.csv"), *(home.parent / "data").rglob("vendas.csv")]  # vitrine run, bench_scale
    sales = pd.read_csv(exports[0], usecols=["cod_transacao", "cod_loja", "cod_prod"],
                        dtype=str)
    sales = sales[sales["cod_loja"] == seller.store_id]
    grouped = sales.groupby("cod_transacao")["cod_prod"].agg(list)
    cross_bodies = [{"basket": b[:3], "store_id": seller.store_id, "k": 5} for b in grouped if len(b) >= 3][:500]

    _, admin_token = auth.add_user(settings, "bench admin", "admin")
    year = {"start": str(pd.Timestamp(TODAY) - pd.Timedelta(days=364))[:10], "end": TODAY}
    history_bodies = [{"seller_id": s, "grain": g, **year} for s in sellers["seller_id"] for g in ("day", "week", "month")]
    history_bodies += [{"store_id": s, "grain": g, **year} for s in sellers["store_id"].unique() for g in ("day", "week", "month")]

    process, url = start_service(home)
    try:
        print(f"Service at {url}; {args.connections} connections, {args.seconds:g} s per endpoint, "
              f"{os.cpu_count()} cores shared with the load generator.\n")
        results = {}
        for endpoint, bodies, token in (("health", [{}], None), ("cross_sell", cross_bodies, seller_token),
                                        ("seller_summary", [{}], seller_token),
                                        ("seller_history", history_bodies, admin_token)):
            rps, latencies, errors = asyncio.run(load(url, endpoint, bodies, token, args.seconds, args.connections))
            ms = np.array(latencies) * 1000
            results[endpoint] = (rps, float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), errors)
            print(f"{endpoint:15s} {rps:6d} req/s   p50 {results[endpoint][1]:6.1f} ms   p99 {results[endpoint][2]:6.1f} ms"
                  f"   errors {errors}", flush=True)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    ceiling = results["health"][0]
    cross = results["cross_sell"]
    summary = results["seller_summary"]
    print("\nGoals")
    print(f"  cross_sell ≥ 300 req/s: {cross[0]} → {'met' if cross[0] >= 300 else 'MISSED'}")
    print(f"  cross_sell p99 ≤ 25 ms: {cross[2]:.1f} ms → {'met' if cross[2] <= 25 else 'MISSED'}")
    print(f"  cross_sell ≥ 0.6 × trivial ({ceiling} req/s): {cross[0] / ceiling:.2f} → "
          f"{'met' if cross[0] >= 0.6 * ceiling else 'MISSED'}")
    print(f"  seller_summary p99 ≤ 50 ms: {summary[2]:.1f} ms → {'met' if summary[2] <= 50 else 'MISSED'}")
    history = results["seller_history"]
    print(f"  seller_history p99 ≤ 100 ms (a year, {len(history_bodies)} sellers and teams × 3 grains): "
          f"{history[2]:.1f} ms → {'met' if history[2] <= 100 else 'MISSED'}")


if __name__ == "__main__":
    main()
