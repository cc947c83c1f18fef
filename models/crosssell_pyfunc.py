"""The cross-sell recommender as an MLflow pyfunc: ``models:/cross-sell@champion`` → ranked suggestions.

One input row is one request: ``basket`` (SKUs separated by commas), ``store_id`` and optionally
``customer_id`` (a known customer's recent SKUs join the fold-in) and ``k``. The output has one row
per suggestion, numbered by ``request`` (the input row) and ``rank``, with the score, margin share,
the reason a seller can say aloud and the source that scored it; basket SKUs nobody knows come back
in ``unknown`` on every row of their request (a request with no suggestion gets one row with an
empty ``sku`` so nothing is lost).
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
from mlflow.types.schema import ColSpec, Schema

from models.crosssell import CrossSell

INPUT = Schema([ColSpec("string", "basket"), ColSpec("string", "store_id", required=False),
                ColSpec("string", "customer_id", required=False), ColSpec("long", "k", required=False)])
OUTPUT = Schema([ColSpec("long", "request"), ColSpec("long", "rank"), ColSpec("string", "sku"),
                 ColSpec("string", "name"), ColSpec("double", "score"), ColSpec("double", "margin", required=False),
                 ColSpec("string", "reason"), ColSpec("string", "source"), ColSpec("string", "unknown")])
DEFAULT_K = 5


class CrossSellModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        folder = Path(context.artifacts["recommender"])
        self.recommender = CrossSell.load(folder)
        histories = pd.read_parquet(folder / "histories.parquet")
        self.histories = histories.groupby("customer_id")["sku"].agg(list).to_dict()

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return suggest(self.recommender, self.histories, model_input)


def suggest(recommender: CrossSell, histories: dict[str, list[str]], requests: pd.DataFrame) -> pd.DataFrame:
    """One row per suggestion for each request row (see the module docstring)."""
    if "basket" not in requests.columns:
        raise ValueError("the input needs a 'basket' column (SKUs separated by commas)")
    rows = []
    for n, request in enumerate(requests.to_dict("records")):
        basket = [s.strip() for s in str(request["basket"] or "").split(",") if s.strip()]
        store = request.get("store_id") or None
        k = request.get("k")
        k = DEFAULT_K if k is None or pd.isna(k) else int(k)
        history = histories.get(str(request.get("customer_id") or ""), [])
        result = recommender.complete(basket, store, k, history)
        unknown = ",".join(result.unknown)
        for rank, item in enumerate(result.items, start=1):
            rows.append({"request": n, "rank": rank, "sku": item.sku, "name": item.name, "score": item.score,
                         "margin": item.margin, "reason": item.reason, "source": item.source, "unknown": unknown})
        if not result.items:
            rows.append({"request": n, "rank": 0, "sku": "", "name": "", "score": 0.0, "margin": None,
                         "reason": "", "source": result.source, "unknown": unknown})
    return pd.DataFrame(rows).astype({"request": "int64", "rank": "int64", "score": float, "margin": float})
