"""From customers per hour to sellers on the floor: the Erlang C queue.

Why Erlang C fits a store floor: customers walk in at random, independently of each other, so the
arrivals within an hour are close to Poisson; a customer who wants help waits for the next free
seller rather than being turned away (no blocking, unlike Erlang B); any seller can serve any
customer (one pool of identical servers); and the service time (greeting, advice, testing, paying)
varies a lot from customer to customer, which the exponential assumption covers well enough for
staffing. What it ignores — customers who give up waiting — only makes it cautious.
"""

from __future__ import annotations

import math


def erlang_c(sellers: int, load: float) -> float:
    """Probability that a customer has to wait, with ``sellers`` servers and ``load`` Erlangs
    (arrivals per hour × service hours per customer). 1.0 when the queue cannot keep up."""
    if load <= 0:
        return 0.0
    if sellers <= load:
        return 1.0
    blocking = 1.0  # Erlang B by its stable recursion, then Erlang C from it
    for k in range(1, sellers + 1):
        blocking = load * blocking / (k + load * blocking)
    return sellers * blocking / (sellers - load * (1 - blocking))


def wait_beyond(sellers: int, arrivals_per_hour: float, service_minutes: float, minutes: float) -> float:
    """Share of customers who wait longer than ``minutes`` for a seller (1.0 with no one on the floor)."""
    if arrivals_per_hour <= 0:
        return 0.0
    if sellers <= 0:
        return 1.0
    load = arrivals_per_hour * service_minutes / 60
    if sellers <= load:
        return 1.0
    return erlang_c(sellers, load) * math.exp(-(sellers - load) * minutes / service_minutes)


def sellers_needed(arrivals_per_hour: float, service_minutes: float, answer_within_minutes: float = 5.0,
                   target_share: float = 0.8, max_utilisation: float = 0.85, minimum: int = 1) -> int:
    """The fewest sellers so that ``target_share`` of customers are attended within
    ``answer_within_minutes`` and no seller is busy more than ``max_utilisation`` of the hour;
    never fewer than ``minimum`` (the open-hour floor)."""
    if arrivals_per_hour < 0 or service_minutes <= 0:
        raise ValueError("arrivals per hour must be >= 0 and service minutes > 0")
    if not 0 < target_share < 1 or not 0 < max_utilisation <= 1:
        raise ValueError("the target share must be within (0, 1) and the utilisation cap within (0, 1]")
    load = arrivals_per_hour * service_minutes / 60
    sellers = max(minimum, math.floor(load))
    while sellers < minimum or load / max(sellers, 1e-9) > max_utilisation or (
            load > 0 and 1 - wait_beyond(sellers, arrivals_per_hour, service_minutes, answer_within_minutes)
            < target_share):
        sellers += 1
    return sellers
