"""Stock advice on hand-made cases: known demand and on-hand give known dates and quantities."""

from __future__ import annotations

from datetime import date
from statistics import NormalDist

import pytest

from models.stock_advice import Z_90, stock_advice

TODAY = date(2024, 5, 1)


def test_certain_demand_gives_exact_cover_date_and_order():
    advice = stock_advice(TODAY, [2] * 14, [2] * 14, on_hand=10, lead_time_days=3, review_days=7)
    assert advice.days_of_cover == 5 and advice.stockout_date == date(2024, 5, 7)  # 2/day: 5 days, out on day 6
    assert advice.stockout_probability == 0  # 6 units over the 3-day lead time, 10 on hand
    assert advice.order_up_to == 20 and advice.order_quantity == 10  # cover 10 days of 2/day


def test_running_out_before_the_delivery_is_certain_when_lead_time_demand_exceeds_stock():
    advice = stock_advice(TODAY, [2] * 14, [2] * 14, on_hand=3, lead_time_days=3, review_days=0)
    assert advice.stockout_probability == 1 and advice.days_of_cover == 1


def test_uncertain_demand_uses_the_service_level():
    sigma = 3.0
    advice = stock_advice(TODAY, [10] * 7, [10 + Z_90 * sigma] * 7, on_hand=20, lead_time_days=2, review_days=2,
                          service_level=0.95)
    # lead time + review = 4 days: mean 40, sigma 3 * sqrt(4) = 6
    assert advice.order_up_to == pytest.approx(40 + NormalDist().inv_cdf(0.95) * 6)
    assert advice.order_quantity == 30  # ceil(49.87 - 20)
    # over the 2-day lead time demand is N(20, 3 * sqrt 2): half the time it exceeds 20 on hand
    assert advice.stockout_probability == pytest.approx(0.5)
    more_service = stock_advice(TODAY, [10] * 7, [10 + Z_90 * sigma] * 7, on_hand=20, lead_time_days=2,
                                review_days=2, service_level=0.99)
    assert more_service.order_quantity > advice.order_quantity


def test_stock_that_outlasts_the_forecast_and_orders_on_the_way():
    advice = stock_advice(TODAY, [1] * 10, [1] * 10, on_hand=50, lead_time_days=3, review_days=3, on_order=5)
    assert advice.days_of_cover is None and advice.stockout_date is None
    assert advice.order_quantity == 0 and advice.stockout_probability == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"p90": [1] * 9}, "p50 has 10 days and p90 9"),
    ({"p90": [0.5] * 10}, "quantiles are crossed"),
    ({"service_level": 1.0}, "service level must be in"),
    ({"on_hand": -1}, "cannot be negative"),
    ({"lead_time_days": 8, "review_days": 7}, "the forecast covers 10 days, shorter than lead time"),
])
def test_bad_inputs_are_named(kwargs, message):
    args = {"origin": TODAY, "p50": [1] * 10, "p90": [2] * 10, "on_hand": 5, "lead_time_days": 3, "review_days": 7}
    with pytest.raises(ValueError, match=message):
        stock_advice(**{**args, **kwargs})
