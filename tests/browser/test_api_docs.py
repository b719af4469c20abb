"""The API's description, readable in the browser from our own copy of Swagger UI."""

import pytest

pytestmark = pytest.mark.browser


def test_the_docs_page_lists_every_operation(page, log_in):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in("supervisor")
    page.goto("/api/v1/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=15_000)
    paths = set(page.locator(".opblock-summary-path").all_text_contents())
    assert {"/api/v1/reports", "/api/v1/layers/reports.geojson", "/open311/v2/requests.{fmt}"} <= paths
    assert page.external_requests == []
    assert not [e for e in errors if "Content Security Policy" in e], errors
