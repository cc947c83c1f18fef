"""The retail calendar follows the retailer's country (VITRINE_COUNTRY), Brazil by default."""

from __future__ import annotations

from datetime import date

import pytest

from features.calendar import calendar_frame
from warehouse.calendar import public_holidays, retail_event_days
from warehouse.settings import load_settings


def test_the_country_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    assert load_settings(home=tmp_path).country == "BR"
    monkeypatch.setenv("VITRINE_COUNTRY", "GB")
    assert load_settings(home=tmp_path).country == "GB"


def test_holidays_and_retail_dates_are_the_countrys():
    assert date(2024, 12, 26) in public_holidays(range(2024, 2025), "GB")  # Boxing Day
    assert date(2024, 12, 26) not in public_holidays(range(2024, 2025), "BR")
    assert date(2024, 11, 15) in public_holidays(range(2024, 2025), "BR")  # Proclamação da República
    assert ("Dia dos Namorados", date(2024, 6, 12)) in retail_event_days(range(2024, 2025), "BR")
    assert ("Valentine's Day", date(2024, 2, 14)) in retail_event_days(range(2024, 2025), "GB")
    assert ("Mothering Sunday", date(2024, 3, 10)) in retail_event_days(range(2024, 2025), "GB")
    assert ("Black Friday", date(2024, 11, 29)) in retail_event_days(range(2024, 2025), "US")
    assert {name for name, _ in retail_event_days(range(2024, 2025), "JP")} == {
        "Valentine's Day", "Black Friday", "Christmas Eve"}  # a country without its own table: the common dates


def test_the_feature_calendar_uses_the_country():
    gb = calendar_frame(date(2024, 12, 20), date(2024, 12, 31), 1, "GB").set_index("date")
    br = calendar_frame(date(2024, 12, 20), date(2024, 12, 31), 1, "BR").set_index("date")
    assert gb.at[date(2024, 12, 26), "holidays_in_period"] == 1 and br.at[date(2024, 12, 26), "holidays_in_period"] == 0
    assert gb.at[date(2024, 12, 20), "next_event"] == "Christmas Eve" and br.at[date(2024, 12, 20), "next_event"] == "Natal"


def test_an_unknown_country_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown country 'XX'"):
        calendar_frame(date(2024, 1, 1), date(2024, 1, 5), 1, "XX")
