"""The indicators page: cards, charts and a table that sorts, drawn from the demo city's cases."""

import pytest

pytestmark = pytest.mark.browser


def test_dashboard_shows_indicators_and_sorts(page, log_in):
    log_in("supervisor")
    page.goto("/dashboard?level=grid&period=last365")
    page.wait_for_selector("#dashboard[data-loaded=grid]")
    rows = int(page.get_attribute("#dashboard", "data-rows"))
    assert rows > 10
    assert page.locator("#kpis .fs-4").count() == 7
    assert page.locator("canvas#chart-weeks").bounding_box()["height"] > 100
    # sort by reports, most first
    page.click("#stats-table th[data-key=reports]")
    page.click("#stats-table th[data-key=reports]")
    assert page.get_attribute("#stats-table th[data-key=reports]", "aria-sort") == "descending"
    counts = [int(t) for t in page.locator("#stats-table tbody tr td:nth-child(3)").all_text_contents()]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0
    # another level redraws the table
    page.select_option("#level", "street")
    page.wait_for_selector("#dashboard[data-loaded=street]")
    assert int(page.get_attribute("#dashboard", "data-rows")) <= 4
    assert "level=street" in page.get_attribute("#export-xlsx", "href")
    assert page.external_requests == []


def test_a_bad_period_is_explained(page, log_in):
    log_in("supervisor")
    page.goto("/dashboard?period=soon")
    page.wait_for_selector("#stats-error:not(.d-none)")
    assert "2026-Q4" in page.text_content("#stats-error")
