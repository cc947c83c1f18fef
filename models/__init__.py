"""vitrine's model code. The public API fits vitrine's models on plain data::

    from models import fit_demand, fit_traffic, fit_recommender

Imported lazily, so that the service's hot paths (``models.crosssell``) do not pay for
statsforecast and LightGBM at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.auto_forecast import fit_demand, fit_traffic
    from models.recommend import fit_recommender

__all__ = ["fit_demand", "fit_recommender", "fit_traffic"]


def __getattr__(name: str) -> Any:
    if name in ("fit_demand", "fit_traffic"):
        from models import auto_forecast

        return getattr(auto_forecast, name)
    if name == "fit_recommender":
        from models.recommend import fit_recommender

        return fit_recommender
    raise AttributeError(f"module 'models' has no attribute {name!r}")
