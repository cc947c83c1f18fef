"""vitrine's model code. The public API fits vitrine's models on plain data::

    from models import fit_demand, fit_traffic, fit_recommender

Imported lazily, so that the service's hot paths (``models.crosssell``) do not pay for
statsforecast and LightGBM at start-up.

OpenMP threads (LightGBM's, scikit-learn's) wait for each other passively unless the caller
chose otherwise: by default they spin, and on a machine busy with other work (the service
answering, Spark's other worker, a test suite) a spinning thread burns the slices its partner
needs. The global model's fit on 20 series × 200 days, beside a Spark job holding both cores,
took 473 s spinning and 20 s waiting passively. Set before any OpenMP runtime loads: only this
package imports LightGBM (which loads scikit-learn's runtime too) and implicit.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
