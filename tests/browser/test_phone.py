"""Phone first: every page a role may open fits a 360 × 740 phone in both languages (nothing
scrolls sideways), the nav folds into a menu, touch targets are at least 44 px where people work
with a thumb, lists become cards and the map's filters fold into a panel."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
LOCALES = {"zh_Hans_CN": "zh-CN", "en": "en-US"}
# the pages each demo user may open: the nav's, the account and a case in their scope
EVERYONE = ["/report", "/my", "/inbox", "/cases", "CASE", "/map", "/coverage", "/account"]
DIARY = ["/diary", "/households/unvisited?grid=650202001001001&days=30", "BUILDING", "VISIT"]
PAGES = {
    "worker": [*EVERYONE, *DIARY],
    "louzhang": [*EVERYONE, "/teams", "/points", "/points?board=1"],
    "supervisor": [*EVERYONE, "/dashboard", "/map?wall=1", "/teams", "/points", "/mediation", "/networks"],
    "dispatcher": [*EVERYONE, "/dashboard"],
    "water": [*EVERYONE, "/templates"],
    "planner": [*EVERYONE, "/import", "/imports", "/import/households"],
    "admin": [
        *EVERYONE,
        "/dashboard",
        "/import",
        "/admin/categories",
        "/admin/audit",
        "/templates",
        "/admin/point-rules",
    ],
}
READY = {"/dashboard": "#dashboard[data-loaded]", "/map": ".folium-map[data-grids-loaded]"}
ANONYMOUS = ["/login", "/api/v1/docs", "/nothing-here"]
TOUCH = (
    "button, select, textarea, a.btn, .page-link, "
    "input:not([type=checkbox]):not([type=hidden]):not([type=file])"
)


@pytest.fixture
def phone(browser, live_server, request):
    def open_(locale: str = "zh_Hans_CN"):
        context = browser.new_context(
            base_url=live_server, viewport=PHONE, locale=LOCALES[locale], is_mobile=True, has_touch=True
        )
        request.addfinalizer(context.close)
        return context.new_page()

    return open_


def log_in_as(page, username: str):
    from gis.demo import DEMO_PASSWORD

    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def widest(page) -> dict:
    return page.evaluate(
        """() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                   culprits: Array.from(document.querySelectorAll('body *'))
                     .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1
                                     && !el.closest('.leaflet-container, .table-responsive, .swagger-ui'))
                     .slice(0, 5).map((el) => el.tagName + '#' + el.id + '.' + el.className)})"""
    )


def first_case(page, query: str = "") -> int:
    """A case this user may open: the first row of their case list (with ``query``'s filters)."""
    page.goto(f"/cases{query}")
    return int(page.locator("#cases td.gw-card-id a").first.inner_text())


@pytest.mark.parametrize("locale", list(LOCALES))
@pytest.mark.parametrize("username", list(PAGES))
def test_every_page_fits_a_phone(phone, username, locale):
    page = phone(locale)
    log_in_as(page, username)
    for path in PAGES[username]:
        if path == "CASE":
            if not page.locator("#cases td.gw-card-id a").count():
                continue  # a planner has no case to open
            path = f"/cases/{first_case(page)}"
        elif path in ("BUILDING", "VISIT"):  # the first household not visited in the worker's first grid
            page.goto(DIARY[1])
            link = ".gw-unvisited a.fw-semibold" if path == "BUILDING" else ".gw-unvisited a.btn"
            path = page.locator(link).first.get_attribute("href")
        page.goto(path, wait_until="load")
        if path in READY:  # a page drawn from what it fetches: wait until it is drawn
            page.wait_for_selector(READY[path], state="attached")
        assert page.get_attribute("html", "lang") == {"zh_Hans_CN": "zh-CN", "en": "en"}[locale]
        width = widest(page)
        assert width["scroll"] <= width["inner"], f"{username} {path} ({locale}): {width}"


@pytest.mark.parametrize("locale", list(LOCALES))
def test_pages_without_a_login_fit_a_phone(phone, locale):
    page = phone(locale)
    for path in ANONYMOUS:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        width = widest(page)
        assert width["scroll"] <= width["inner"], f"{path} ({locale}): {width}"


def test_the_nav_folds_into_a_menu_and_log_out_stays_in_reach(phone):
    page = phone()
    log_in_as(page, "supervisor")
    page.goto("/cases")
    assert page.is_visible(".navbar-toggler") and not page.is_visible("#logout")
    page.click(".navbar-toggler")
    page.wait_for_selector("#logout", state="visible")
    box = page.locator("#logout").bounding_box()
    assert box["x"] + box["width"] <= PHONE["width"] and box["height"] >= 44
    assert page.locator("#nav-links .nav-link", has_text="案件").is_visible()


def _small_targets(page, within: str) -> list[str]:
    """The visible controls under ``within`` (and check-box rows) less than 44 px tall."""
    counted, small = page.evaluate(
        """([within, touch]) => {
            const shown = (el) => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden";
            const low = (el) => el.getBoundingClientRect().height < 44;
            const root = document.querySelector(within);
            const all = [...root.querySelectorAll(touch), ...root.querySelectorAll(".form-check")]
              .filter(shown);
            const height = (el) => Math.round(el.getBoundingClientRect().height);
            return [all.length, all.filter(low).map((el) =>`${el.outerHTML.slice(0, 80)}: ${height(el)} px`)];
        }""",
        [within, TOUCH],
    )
    assert counted >= 3, f"only {counted} controls found under {within}"
    return small


def test_touch_targets_are_44_px_where_people_work_with_a_thumb(phone):
    page = phone()
    log_in_as(page, "supervisor")
    page.goto("/report")
    page.wait_for_selector("#patrol-bar[data-ready]")
    assert not _small_targets(page, "main"), _small_targets(page, "main")
    page.goto("/cases")
    page.click("#filters-toggle")
    page.wait_for_selector("#case-filters.show")
    assert not _small_targets(page, "main"), _small_targets(page, "main")
    log_in_as(page, "dispatcher")  # a new case: the dispatcher's buttons (accept, void) and the note
    page.goto(f"/cases/{first_case(page, '?status=reported')}")
    assert page.is_visible("#actions button[value=accept]")
    assert not _small_targets(page, "main"), _small_targets(page, "main")


def test_the_case_list_is_cards_on_a_phone_and_a_table_on_a_desk(phone, log_in):
    small = phone()
    log_in_as(small, "supervisor")
    small.goto("/cases")
    style = "(sel, pseudo) => getComputedStyle(document.querySelector(sel), pseudo || null)"
    assert small.evaluate(f"({style})('#cases thead').display") == "none"
    assert small.evaluate(f"({style})('#cases tbody tr').display") == "block"
    assert "上报时间" in small.evaluate(f"({style})('#cases td[data-label]', '::before').content")
    desk = log_in("supervisor")  # the shared 1200 px page
    desk.goto("/cases")
    assert desk.evaluate(f"({style})('#cases thead').display") == "table-header-group"


def test_the_maps_filters_fold_into_a_panel_on_a_phone(phone):
    page = phone()
    log_in_as(page, "supervisor")
    page.goto("/map")
    page.wait_for_selector(".folium-map[data-grids-loaded]")
    assert not page.is_visible("#map-filters") and page.is_visible("#filters-toggle")
    page.click("#filters-toggle")
    assert page.is_visible("#map-filters select[name=status]")
    assert page.get_attribute("#filters-toggle", "aria-expanded") == "true"
    page.select_option("#map-filters select[name=status]", "handled")  # still works from the panel
    page.click("#filters-toggle")
    assert not page.is_visible("#map-filters")
