"""Every HTML report lakeshrink writes renders offline in headless Chromium: no console error, no request other
than the file itself, tables sortable and exportable as CSV.

Chromium is Debian's package (``apt-get install chromium``; .ci/run installs it when missing), driven by the
``playwright`` package's client through ``executable_path`` (no browser download). Without Chromium the tests skip
and say why.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lakeshrink import api
from lakeshrink.sample_data import bundled_dir

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    if exe is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[test]')")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """The three reports, made from the bundled sample data."""
    work = tmp_path_factory.mktemp("reports")
    data = bundled_dir()
    archive = work / "logs.lslog"
    api.logs_compress(sorted((data / "logs").glob("*.log")), archive)
    api.run("logs", "report", str(archive), "-o", str(work / "logs.html"))
    api.encode_rewrite(data / "lake" / "flights_jan", work / "flights_jan", overwrite=True)
    api.run("encode", "report", str(data / "lake" / "flights_jan"), str(work / "flights_jan"), "-o", str(work / "encodings.html"))
    lake = work / "lake"
    shutil.copytree(data / "lake", lake)
    api.containment_scan(lake, work / "scan")
    plan = api.containment_plan(work / "scan", work / "plan", access=data / "access-cold.json", gx=False)
    assert plan["marked"], "the sample plan should mark tables"
    return {"logs": work / "logs.html", "encodings": work / "encodings.html", "plan": Path(plan["report"])}


def _open(browser, path: Path, tmp_path: Path, name: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: requests.append(r.url))
    url = path.resolve().as_uri()
    page.goto(url)
    page.wait_for_load_state("load")
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    return page, errors, [r for r in requests if r != url]


@pytest.mark.parametrize("name,tables,svgs", [("logs", 3, 2), ("encodings", 2, 0), ("plan", 3, 6)])
def test_report_renders_offline(browser, reports, tmp_path, name, tables, svgs):
    path = reports[name]
    text = path.read_text(encoding="utf-8")
    assert "https://" not in text and "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    page, errors, requests = _open(browser, path, tmp_path, name)
    assert errors == [], f"{name}: console errors {errors}"
    assert requests == [], f"{name}: requests left the page: {requests}"
    assert page.locator("h1").inner_text().startswith("lakeshrink")
    assert page.locator("table.data").count() >= tables
    assert page.locator("svg").count() >= svgs
    assert (tmp_path / f"{name}.png").stat().st_size > 10_000  # something was drawn
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # wide tables scroll, not the page
    page.close()


def test_tables_sort_on_click_and_export_csv(browser, reports, tmp_path):
    page, errors, requests = _open(browser, reports["encodings"], tmp_path, "sort")
    first = 'document.querySelector("#columns tbody tr td").textContent'
    bytes_header = page.locator("#columns th", has_text="before").first
    bytes_header.click()
    smallest = page.evaluate(first)
    bytes_header.click()
    largest = page.evaluate(first)
    assert smallest != largest
    page.locator('a.csv[data-table="columns"]').click()
    href = page.locator('a.csv[data-table="columns"]').get_attribute("href")
    assert href.startswith("data:text/csv")
    from urllib.parse import unquote

    csv_text = unquote(href.split(",", 1)[1])
    assert csv_text.splitlines()[0].startswith("column,type,before")
    assert len(csv_text.splitlines()) == 1 + page.locator("#columns tbody tr").count()
    assert errors == [] and requests == []
    page.close()
