"""Shared fixtures: a real embedded warehouse (chDB) per test, and small hand-made export files."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from warehouse.clickhouse import close_all, connect
from warehouse.ingest import IngestReport, ingest
from warehouse.mapping import load_mapping
from warehouse.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
ONLINE_RETAIL = REPO.parent / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    close_all()  # chDB opens one data directory per process
    yield load_settings(home=tmp_path / "home")
    close_all()


@pytest.fixture
def client(settings: Settings):
    return connect(settings)


def write_csv(folder: Path, name: str, header: list[str], rows: list[list[object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


SALES_HEADER = ["cod_transacao", "item", "cod_loja", "cod_vendedor", "cod_cliente", "cod_prod", "quantidade",
                "preco_unitario", "desconto", "data_venda"]


@pytest.fixture
def dims(tmp_path: Path) -> Path:
    """Two stores, three sellers, three products with price/cost history, commission rules."""
    d = tmp_path / "dims"
    write_csv(d, "lojas.csv", ["cod_loja", "nome", "cidade", "uf", "regiao", "data_abertura"],
              [["L1", "Loja Centro", "São Paulo", "SP", "Sudeste", "2020-01-01"],
               ["L2", "Loja Praia", "Recife", "PE", "Nordeste", "2021-06-01"]])
    write_csv(d, "vendedores.csv", ["id_employee", "cod_loja", "nome", "cargo", "data_admissao"],
              [["V1", "L1", "Ana", "gerente", "2020-01-01"], ["V2", "L1", "Bruno", "vendedor", "2022-01-01"],
               ["V3", "L2", "Carla", "vendedor", "2021-06-01"]])
    write_csv(d, "produtos.csv", ["cod_prod", "nome_abrev", "nome", "categoria", "sub_categoria", "marca",
                                  "data_lancamento"],
              [["P1", "Batom", "Batom Rosa", "maquiagem", "batom", "Ipê", "2020-01-01"],
               ["P2", "Perfume", "Perfume Flor", "perfumaria", "perfume feminino", "Lumi", "2020-01-01"],
               ["P3", "Shampoo", "Shampoo Brilho", "cabelos", "shampoo", "Brisa", "2020-01-01"]])
    write_csv(d, "precos.csv", ["cod_prod", "preco", "data_inicio", "data_fim"],
              [["P1", "40.00", "2024-01-01", "2024-03-15"], ["P1", "50.00", "2024-03-16", ""],
               ["P2", "100.00", "2024-01-01", ""], ["P3", "20.00", "2024-01-01", ""]])
    write_csv(d, "custos.csv", ["cod_prod", "custo", "data_inicio", "data_fim"],
              [["P1", "20.00", "2024-01-01", ""], ["P2", "60.00", "2024-01-01", ""], ["P3", "10.00", "2024-01-01", ""]])
    write_csv(d, "regras_comissao.csv", ["cod_regra", "tipo", "categoria", "atingimento_min", "taxa"],
              [["R1", "categoria", "", "", "0.03"], ["R2", "categoria", "perfumaria", "", "0.05"],
               ["R3", "faixa", "", "100", "0.01"], ["R4", "faixa", "", "120", "0.02"]])
    return d


def load(client, settings: Settings, *paths: Path, mapping: str = "cosmeticco") -> IngestReport:
    return ingest(client, settings, list(paths), load_mapping(mapping))


def scalar(client, sql: str, **params):
    return client.query(sql, parameters=params).result_rows[0][0]


VITRINE = [sys.executable, "-m", "pipelines.cli"]


def run_vitrine(*args: str, home: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    """The ``vitrine`` command as a user runs it, in its own process."""
    return subprocess.run([*VITRINE, *args, "--home", str(home)], capture_output=True, text=True, timeout=timeout,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """(pid, command line) of the processes other than this one whose command line or environment
    holds ``text``: what a test started with a home under this session's temporary folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (entry / "environ").read_bytes().decode(errors="replace")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:  # gone meanwhile, or not ours to read
            continue
        ours = parent == os.getpid()  # this process's own helper, e.g. its multiprocessing resource tracker
        if (text in cmdline or text in environ) and not (ours and "multiprocessing.resource_tracker" in cmdline):
            found.append((int(entry.name), cmdline[:200]))
    return found


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind(tmp_path_factory):
    """Every process a test starts, it stops: when the session ends, none that names one of its
    homes is alive (a leftover is killed, and the session fails)."""
    base = str(tmp_path_factory.getbasetemp())
    yield
    if "features.spark" in sys.modules:  # the Spark session the feature tests share, and its JVM
        sys.modules["features.spark"].stop_spark()
    time.sleep(1)  # a process told to stop a moment ago
    left = processes_mentioning(base)
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not left, f"processes left running after the tests: {left}"


def generated_warehouse(home: Path, scale, seed: int, feature_sets: tuple[str, ...]) -> Settings:
    """A home with generated data of ``scale`` (a generator.Scale) ingested and ``feature_sets``
    built on a small local Spark: what the training tests start from."""
    from features.build import build
    from warehouse import generator

    close_all()
    settings = load_settings(home=home, spark_master="local[2]", spark_driver_memory="2g", spark_shuffle_partitions=4)
    generator.SCALES["test"] = scale
    try:
        generator.generate("test", seed, home / "data")
    finally:
        del generator.SCALES["test"]
    ingest(connect(settings), settings, [home / "data"], load_mapping("cosmeticco"))
    build(settings, feature_sets)
    return settings


SUMMARY_END = "`vitrine up` starts it again with new codes."  # the summary box's last line


class MainJob(NamedTuple):
    home: Path  # with the three champions trained
    result: subprocess.CompletedProcess  # stdout: what it printed up to the summary box; stderr: after
    longest_silence: tuple[float, str]  # seconds without a line before the box, and the line that ended it


@pytest.fixture(scope="session")
def main_job(tmp_path_factory) -> MainJob:
    """The main job on tiny data as `make run` runs it, once per session: it serves as soon as the
    figures are out, trains the three champions, prints the summary box, and is stopped (SIGTERM)
    once the box is out."""
    home = tmp_path_factory.mktemp("main-job")
    api, dashboard = free_port(), free_port()
    process = subprocess.Popen(
        [*VITRINE, "run", "--scale", "tiny", "--home", str(home)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin",
                                                "VITRINE_SERVICE_PORT": str(api), "VITRINE_DASHBOARD_PORT": str(dashboard)})
    lines: list[str] = []
    arrivals = [time.monotonic()]  # when each line came, after the start

    def read() -> None:
        for line in process.stdout:
            arrivals.append(time.monotonic())
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 1500  # ~4 min on 2 quiet cores; a busy machine runs several times slower
    while time.monotonic() < deadline and process.poll() is None and not any(SUMMARY_END in line for line in lines):
        time.sleep(1)
    time.sleep(2)  # anything printed after the box would land now
    printed_before_stop = len(lines)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # as Ctrl-C: it stops its services' process trees
    try:
        code = process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        kill_tree(process)
        code = process.wait()
    reader.join(timeout=10)
    box = next((k for k, line in enumerate(lines) if "vitrine is up" in line), len(lines))
    gaps = [(arrivals[k + 1] - arrivals[k], lines[k]) for k in range(min(box, len(lines)))]
    return MainJob(home, subprocess.CompletedProcess(process.args, code, "".join(lines[:printed_before_stop]),
                                                     "".join(lines[printed_before_stop:])),
                   max(gaps, default=(0.0, "")))


# -- the real service on a free localhost port ---------------------------------------------------
BENTOML = Path(sys.executable).parent / "bentoml"
TODAY = "2026-10-31"  # the last day of the generated data: the live figures replay it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(home: Path, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = home / f"service-{port}.log"
    # mlflow.set_tracking_uri in this test process exports MLFLOW_TRACKING_URI: other tests' stores must not leak in
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    process = subprocess.Popen(  # its own process group: a kill reaches BentoML's workers too
        [str(BENTOML), "serve", "serving.service:Vitrine", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=log.open("w"), start_new_session=True,
        env={**inherited, "VITRINE_HOME": str(home), "BENTOML_DO_NOT_TRACK": "true", **env})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(1)
    kill_tree(process)
    raise RuntimeError(f"the service did not become ready in 180 s: {log.read_text()[-3000:]}")


def kill_tree(process: subprocess.Popen) -> None:
    """kill -9 of the process and every process below it (BentoML's workers run in sessions of their
    own: a signal to the group misses them, and they outlive a killed parent)."""
    import psutil

    for below in psutil.Process(process.pid).children(recursive=True):
        below.kill()
    process.kill()
    process.wait(timeout=10)


def stop(process: subprocess.Popen) -> None:
    from pipelines.cli import stop_process_tree

    stop_process_tree(process.pid)
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def service(main_job):
    """The real API over the main job's home, with a user of each role: (settings, url, tokens)."""
    from serving import auth

    home, result, _ = main_job
    assert result.returncode == 0, result.stdout[-2000:]
    settings = load_settings(home=home)
    tokens = {
        "admin": auth.add_user(settings, "Ana", "admin")[1],
        "analyst": auth.add_user(settings, "Rui", "analyst")[1],
        "manager": auth.add_user(settings, "Gil", "manager", store_id="L001")[1],
        "seller": auth.add_user(settings, "Vera", "seller", store_id="L002", seller_id="V0010")[1],
        "pos": auth.add_user(settings, "Caixa L002", "pos", store_id="L002")[1],
    }
    process, url = start(home, VITRINE_MODEL_POLL_SECONDS="2", VITRINE_TODAY=TODAY)
    yield settings, url, tokens
    stop(process)


def call(url: str, endpoint: str, token: str | None = None, **body) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{url}/{endpoint}", json=body, headers=headers, timeout=30)


MAIN_JOB_TIMEOUT = 1800  # s: the main job's own 1,500 s deadline and its 120 s stop, with room


def pytest_itemcollected(item):
    """A test on the main job's home may be the one that waits for the main job: its time limit
    covers the main job's own deadline (the suite's 600 s do not, on a busy machine: 135 s on 2
    quiet cores beside the other worker). Under pytest-xdist (``make test``): the tests on the
    main job's home run in one worker (the main job is a session fixture: split across workers,
    each would run it), and each other module's tests in one worker (their module fixtures train
    models)."""
    if "main_job" in item.fixturenames:
        item.add_marker(pytest.mark.timeout(MAIN_JOB_TIMEOUT))
    if hasattr(item.config, "workerinput"):
        item.add_marker(pytest.mark.xdist_group("main_job" if "main_job" in item.fixturenames else item.module.__name__))


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, the main job's tests first: the longest group, so a worker starts on it
    at once while the other runs the layers in order (alone, pytest keeps the layers' order)."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: "main_job" not in item.fixturenames)
