"""The HTML report opened from disk: the same picture, and not one network request."""

from __future__ import annotations

import contextlib
import json
import re

from jlab import ARTIFACTS
from playwright.sync_api import expect
from test_hostile import MESSAGE, SCOPE, watch_dialogs

import uberjob
from uberjob.progress import html_progress


def roll(i):
    if i % 6 == 5:
        raise ValueError(MESSAGE if i % 12 == 5 else "Something bad happened.")
    return i


def make_report(path):
    plan = uberjob.Plan()
    calls = []
    for region in (SCOPE, "west"):
        with plan.scope(region):
            calls += [plan.call(roll, i) for i in range(600)]
    with contextlib.suppress(uberjob.CallError):
        uberjob.run(plan, output=calls, max_errors=None, progress=html_progress(path))
    data = re.search(r'id="uj-data">(.*?)</script>', path.read_text(), re.S).group(1)
    return json.loads(data)["snapshot"]


def test_the_report_shows_the_run_and_makes_no_network_request(chromium, tmp_path):
    path = tmp_path / "report.html"
    snapshot = make_report(path)
    context = chromium.new_context(viewport={"width": 1200, "height": 1400})
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    context.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())
    page = context.new_page()
    dialogs = watch_dialogs(page)
    page.goto(path.as_uri())
    nodes = snapshot["sections"][-1]["nodes"]
    root_total, root_done, root_failed = nodes[0][2], nodes[0][3], nodes[0][5]
    expect(page.locator("[data-key='run/0'] .uj-count")).to_have_text(
        f"{root_done:,} / {root_total:,}, {root_failed:,} failed"
    )
    expect(page.locator(".uj-state")).to_have_text("failed")
    summary = (
        f"{snapshot['failures']['count']:,} failed in {len(snapshot['failures']['groups'])} groups"
    )
    expect(page.locator(".uj-failures-summary")).to_have_text(summary)
    expect(page.locator(".uj-name", has_text=SCOPE)).to_have_count(1)
    page.locator(".uj-group-head", has_text=MESSAGE).first.click()
    expect(page.locator(".uj-group pre").first).to_contain_text(f"ValueError: {MESSAGE}")
    assert page.locator("img, iframe, object").count() == 0
    assert page.locator("script").count() == 2  # the report's own data and code
    assert dialogs == []
    assert requests == [path.as_uri()]
    # what the reader opened and searched survives a reload (the running page reloads itself)
    page.locator("input.uj-search").fill("alert")
    page.reload()
    expect(page.locator("input.uj-search")).to_have_value("alert")
    expect(page.locator(".uj-group-head[aria-expanded=true]")).to_have_count(1)
    page.locator("input.uj-search").fill("")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-light.png"), full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(ARTIFACTS / "report-dark.png"), full_page=True)
    context.close()
