"""Shared fixtures: a real embedded warehouse (chDB) per test, and small hand-made export files."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.ingest import IngestReport, ingest
from pipelines.mapping import load_mapping
from pipelines.settings import Settings, load_settings
from pipelines.warehouse import close_all, connect

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


@pytest.fixture(scope="session")
def main_job(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The main job on tiny data, once per session: a home with the three champions trained."""
    home = tmp_path_factory.mktemp("main-job")
    return home, run_vitrine("run", "--scale", "tiny", "--no-serve", home=home)
