"""Chinese first: every word people read has a Chinese translation, templates and scripts hold no
text outside the translation calls, the reader's language is chosen as the issue says (their
setting, then Accept-Language, then Chinese), and every page shows local time."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import update

from gis import i18n
from gis.cases.categories import display_names
from gis.cases.intake import submit_report
from gis.cases.lifecycle import act
from gis.models import Category, User
from tests.factories import CELL, ORIGIN, bearer

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "app" / "templates"
SCRIPTS = ROOT / "static" / "js"
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


# -- the catalogues ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The msgids in the code now, extracted as `make i18n` does (not the committed .pot)."""
    out = tmp_path_factory.mktemp("pot")
    pybabel = str(Path(sys.executable).with_name("pybabel"))
    for domain, config, extra in (("messages", "babel.cfg", []), ("js", "babel-js.cfg", ["-k", "_t"])):
        subprocess.run(
            [pybabel, "-q", "extract", "-F", config, *extra, "-o", str(out / f"{domain}.pot"), "."],
            cwd=ROOT,
            check=True,
        )
    return {d: read_po((out / f"{d}.pot").open("rb")) for d in ("messages", "js")}


@pytest.mark.parametrize("domain", ["messages", "js"])
def test_every_msgid_has_a_chinese_translation_with_the_same_placeholders(extracted, domain):
    po = read_po((i18n.TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / f"{domain}.po").open("rb"))
    missing, broken = [], []
    for message in extracted[domain]:
        if not message.id:
            continue
        translated = po.get(message.id)
        strings = translated and (
            translated.string if isinstance(translated.string, tuple) else (translated.string,)
        )
        if not translated or not all(strings) or translated.fuzzy:
            missing.append(message.id)
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        if any(set(PLACEHOLDER.findall(s)) != wanted for s in strings):
            broken.append(message.id)
    assert not missing, f"no Chinese for {missing[:10]} (run `make i18n`, then translate them)"
    assert not broken, f"placeholders differ in {broken[:10]}"


@pytest.mark.parametrize("domain", ["messages", "js"])
def test_each_catalogue_compiles_as_the_set_up_compiles_it(domain):
    """pybabel's own checks (a clean clone compiles every .po): a msgid python-format by accident
    ("80 % of" reads as a format) fails there."""
    po = read_po((i18n.TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / f"{domain}.po").open("rb"))
    problems = [(message.id, [str(e) for e in errors]) for message, errors in po.check()]
    assert not problems, problems[:5]


def test_the_catalogue_holds_the_fields_vocabulary():
    i18n.set_locale("zh_Hans_CN")
    try:
        words = {
            msgid: i18n.gettext(msgid)
            for msgid in (
                "Report",
                "Accept",
                "Open case",
                "Dispatch",
                "Report handled",
                "Verified on site",
                "Close",
                "Failed check: rework",
                "Void",
                "Extend deadline",
                "Send back",
                "Solved on the spot",
                "Escalate",
            )
        }
    finally:
        i18n.set_locale(None)
    assert list(words.values()) == [
        "上报",
        "受理",
        "立案",
        "派遣",
        "处置完毕",
        "核查通过",
        "结案",
        "核查不通过，返工",
        "作废",
        "延期",
        "退回",
        "就地解决",
        "上报街道/区",
    ]


def test_every_t_call_in_the_scripts_is_extracted(extracted):
    """A _t("…") the extractor cannot see (inside a template literal) would never be translated."""
    called = {
        m.group(2)
        for script in SCRIPTS.glob("*.js")
        for m in re.finditer(r"""\b_t\((["'])((?:\\.|(?!\1).)*)\1""", script.read_text(encoding="utf-8"))
    }
    known = {m.id for m in extracted["js"] if m.id}
    assert not called - known, f"not extracted: {sorted(called - known)[:10]}"


# -- no text outside the translation calls --------------------------------------------------------
class _Words(HTMLParser):
    """Text and people-facing attributes of a template whose Jinja parts were taken out."""

    ATTRIBUTES = {"placeholder", "title", "aria-label", "alt", "label"}

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.found += [value for name, value in attrs if name in self.ATTRIBUTES and value]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.found.append(data)


def has_words(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("L") for ch in text)


JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_hold_no_text_outside_the_translation_calls(template):
    parser = _Words()
    parser.feed(JINJA.sub(" ", (TEMPLATES / template).read_text(encoding="utf-8")))
    loose = [t.strip() for t in parser.found if has_words(t)]
    assert not loose, f"{template}: text outside _(): {loose[:5]}"


# Where a script puts text before a person: a literal with words there must be a _t("…") call.
SINKS = re.compile(
    r"""(?:textContent\s*=|textNode\(\s*"\w+",|\bT\(\s*"\w+",|new\s+Option\(|render\(|replaceChildren\(|"""
    r"""\b(?:label|text|title|tip):|setAttribute\(\s*"(?:aria-label|title)",|\blist\()\s*(["'`])([^"'`]*)\1"""
)


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.js")))
def test_scripts_put_no_text_before_people_outside_t(script):
    source = (SCRIPTS / script).read_text(encoding="utf-8")
    loose = [m.group(2) for m in SINKS.finditer(source) if has_words(re.sub(r"\$\{[^}]*\}", "", m.group(2)))]
    assert not loose, f"{script}: text outside _t(): {loose[:5]}"


# -- the reader's language ----------------------------------------------------------------------------
def _report(session, **kw):
    return submit_report(
        session,
        lon=ORIGIN[0] + CELL / 2,
        lat=ORIGIN[1] + CELL / 2,
        category="0101",
        description="井盖破损",
        **kw,
    ).report(session)


def test_chinese_is_chosen_by_accept_language_and_the_users_own_setting_wins(
    client, login, session, town, make_user
):
    supervisor = make_user("supervisor")
    login(supervisor)
    english = client.get("/cases").get_data(as_text=True)
    assert 'lang="en"' in english and "No case matches these filters." in english
    chinese = client.get("/cases", headers=CHINESE).get_data(as_text=True)
    assert 'lang="zh-CN"' in chinese and "没有符合筛选条件的案件。" in chinese and "退出" in chinese
    session.execute(update(User).where(User.id == supervisor.id).values(locale="en"))
    assert 'lang="en"' in client.get("/cases", headers=CHINESE).get_data(as_text=True)


def test_the_language_switch_keeps_the_choice_for_the_user_and_before_log_in(
    client, login, session, make_user
):
    from tests.conftest import csrf_from

    page = client.get("/login").get_data(as_text=True)
    answer = client.post(
        "/locale", data={"locale": "zh_Hans_CN", "next": "/login", "csrf_token": csrf_from(page)}
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login")
    assert "用户名" in client.get("/login").get_data(as_text=True)  # the cookie, before logging in
    user = make_user("dispatcher")
    login(user)
    page = client.get("/account").get_data(as_text=True)
    client.post("/locale", data={"locale": "en", "next": "/account", "csrf_token": csrf_from(page)})
    session.expire_all()
    assert session.get(User, user.id).locale == "en"
    assert "Change password" in client.get("/account", headers=CHINESE).get_data(as_text=True)


def test_the_case_page_speaks_the_loop_in_chinese_and_shows_local_time(
    client, login, session, town, make_user
):
    created = dt.datetime(2026, 11, 23, 1, 5, tzinfo=dt.UTC)  # 09:05 in Shanghai
    report = _report(session, now=created)
    dispatcher = make_user("dispatcher")
    act(session, report, dispatcher, "accept", version=report.version)
    login(dispatcher)
    page = client.get(f"/cases/{report.id}", headers=CHINESE).get_data(as_text=True)
    assert (
        "已受理" in page and "上报" in page and "受理" in page and "立案" in page
    )  # status, timeline, buttons
    assert "2026-11-23 09:05" in page and "01:05" not in page
    listing = client.get("/cases", headers=CHINESE).get_data(as_text=True)
    assert "2026-11-23 09:05" in listing and "已受理" in listing
    # the API keeps ISO 8601 with its offset
    body = client.get(f"/api/v1/reports/{report.id}", headers=bearer(dispatcher)).get_json()
    assert dt.datetime.fromisoformat(body["created_at"]) == created and body["created_at"].endswith("+00:00")


def test_a_refusal_is_in_the_readers_language(client, town, make_user):
    worker = make_user("grid_worker", grids=town["grids"][:1])
    headers = {**bearer(worker), **CHINESE}
    answer = client.post(
        "/api/v1/reports", json={"lon": 200, "lat": 44.3, "category": "0101"}, headers=headers
    )
    assert answer.status_code == 422 and "不是地球上的位置" in answer.get_json()["error"]
    answer = client.post(
        "/api/v1/reports", json={"lon": "east", "lat": 44.3, "category": "0101"}, headers=headers
    )
    assert answer.status_code == 422 and "必须是数字" in answer.get_json()["fields"]["lon"]
    english = client.post(
        "/api/v1/reports", json={"lon": 200, "lat": 44.3, "category": "0101"}, headers=bearer(worker)
    )
    assert "not a position on Earth" in english.get_json()["error"]


def test_a_name_that_repeats_carries_its_kind(session):
    names = display_names(session.query(Category).all(), "zh_Hans_CN")
    assert names["03"] == "市容环境 (部件)" and names["11"] == "市容环境 (事件)"
    assert names["0101"] == "上水井盖"  # unique names stay as they are
    assert display_names(session.query(Category).all(), "en")["03"].startswith("City appearance (")


def test_messages_kept_in_the_database_are_read_in_the_readers_language(session, town, make_user):
    """A track's cleaning keeps its warnings as msgids: a Chinese reader reads them in Chinese."""
    from gis.patrols.tracks import Fix, clean, store_track

    worker = make_user("grid_worker", grids=town["grids"][:1])
    fixes = [Fix(ORIGIN[0] + CELL * i / 10, ORIGIN[1] + CELL / 2) for i in range(5)]  # no times
    track = store_track(session, worker, clean([fixes]), name="无时间")
    session.expire_all()
    stored = session.get(type(track), track.id)
    i18n.set_locale("zh_Hans_CN")
    try:
        assert "轨迹没有时间" in str(stored.cleaning["warnings"][0])
    finally:
        i18n.set_locale(None)
    assert "has no timestamps" in str(stored.cleaning["warnings"][0])


def test_the_command_line_speaks_chinese_when_asked(engine):
    env = {
        **os.environ,
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "LOCALE": "zh_Hans_CN",
    }
    gridwatch = str(Path(sys.executable).with_name("gridwatch"))
    out = subprocess.run([gridwatch, "db", "status"], env=env, capture_output=True, text=True, check=True)
    assert "外部数据库" in out.stdout
    env["LOCALE"], env["LANG"] = "", "en_US.UTF-8"
    out = subprocess.run([gridwatch, "db", "status"], env=env, capture_output=True, text=True, check=True)
    assert "external (DATABASE_URL)" in out.stdout


def test_exports_speak_the_readers_language(client, login, session, town, make_user):
    _report(session)
    login(make_user("supervisor"))
    table = client.get("/dashboard/export.csv?level=grid", headers=CHINESE).get_data(as_text=True)
    header, *rows = table.lstrip("\ufeff").splitlines()
    assert header.startswith("编码,名称,上报数") and rows[-1].startswith("合计")


def test_the_script_catalogue_is_served_per_locale(client):
    script = client.get("/i18n/zh_Hans_CN.js").get_data(as_text=True)
    assert '"Waiting for signal": "等待信号"' in script and '"handled": "已处置"' in script
    assert '"GW_TIMEZONE"' not in script and 'window.GW_TIMEZONE = "Asia/Shanghai"' in script
    assert client.get("/i18n/en.js").get_data(as_text=True).count("window.GW_CATALOGUE = {}") == 1
