"""End to end in a real headless browser (Debian's Chromium through Selenium): from an empty page to a trained,
checked, downloaded classifier, with a screenshot of each step.

Screenshots go to the test's tmp dir; set AGILECLF_SCREENSHOT_DIR to keep them (docs/screenshots was made so).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import zipfile
from pathlib import Path

import pytest
from webapp_helpers import EXAMPLES, LABELS, PLANTED

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HOSTILE = "<script>alert('x')</script>"


def _skip_without_browser() -> None:
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[dev]')")
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip("chromium and chromedriver not found; install them: apt-get install -y chromium chromium-driver")


@pytest.fixture()
def live_app(tmp_path, minilm):
    """The app served by uvicorn on a free loopback port, in a thread."""
    import uvicorn

    from agileclf.app import AppSettings, create_app
    from agileclf.app.serving import free_port

    port = free_port("127.0.0.1")
    app = create_app(AppSettings(data_dir=tmp_path / "data", port=port, backbone=minilm))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(10)


@pytest.fixture()
def browser(tmp_path):
    _skip_without_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def test_from_an_empty_page_to_a_downloaded_classifier(live_app, browser, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    url, app = live_app
    driver = browser
    # Chromium may answer a lookup made while a page is being replaced with a transient error: wait through it.
    wait = WebDriverWait(driver, 30, ignored_exceptions=(WebDriverException,))
    shots = tmp_path / "screenshots"
    shots.mkdir()
    keep = os.environ.get("AGILECLF_SCREENSHOT_DIR")

    def shot(name: str, full_page: bool = False) -> None:
        if full_page:  # the whole page, not only the window
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1280, min(height + 20, 4000))
        driver.save_screenshot(str(shots / f"{name}.png"))
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(Path(keep) / f"{name}.png"))
        driver.set_window_size(1280, 1000)

    def by_id(element_id: str):
        return wait.until(ec.presence_of_element_located((By.ID, element_id)))

    def script(code: str):
        """Run `code` in the page, None while a navigation swaps the document (Chromium then answers with
        varying errors, not only StaleElementReference)."""
        try:
            return driver.execute_script(code)
        except WebDriverException:
            return None

    def loaded() -> None:
        wait.until(lambda d: script("return document.readyState") == "complete")

    def reloaded_after(action) -> None:
        """Run `action` (which makes the page navigate) and wait until the new page has loaded."""
        driver.execute_script("window.__before_navigation = true")
        action()
        wait.until(lambda d: script("return window.__before_navigation === undefined") is True)
        loaded()

    def open_tab(name: str) -> None:
        reloaded_after(lambda: by_id(f"tab-{name}").click())

    # 1. create a classifier with three labels (one description is a hostile text: it must show as text)
    driver.get(url)
    assert "No classifiers yet" in by_id("create-form").find_element(By.XPATH, "/html/body").text, driver.current_url
    by_id("create-name").send_keys("Support tickets")
    lines = [f"{x['name']}: {x['description']}" for x in LABELS]
    lines[2] = f"account: {HOSTILE}"
    by_id("create-labels").send_keys("\n".join(lines))
    shot("01-create")
    reloaded_after(lambda: by_id("create-submit").click())
    assert re.search(r"/c/\d+$", driver.current_url)

    # 2. eight examples per label: the first typed one by one, the rest pasted; one planted with a wrong label
    by_id("one-text").send_keys(EXAMPLES["billing"][0])
    Select(by_id("one-label")).select_by_value("billing")
    reloaded_after(lambda: by_id("add-one-submit").click())
    for label, texts in EXAMPLES.items():
        rest = [t for t in texts if t not in (EXAMPLES["billing"][0], PLANTED)]
        if label == "billing":
            rest.append(PLANTED)  # a shipping text labelled billing: the check should find it
        driver.find_element(By.CSS_SELECTOR, "#paste-form").find_element(By.XPATH, "..").click()  # open <details>
        by_id("paste-text").send_keys("\n".join(rest))
        Select(by_id("paste-label")).select_by_value(label)
        reloaded_after(lambda: driver.find_element(By.CSS_SELECTOR, "#paste-form button").click())
    rows = driver.find_elements(By.CSS_SELECTOR, "#example-list tbody tr")
    assert len(rows) == 24
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018 - the hostile description ran no script
    assert HOSTILE in driver.find_element(By.CSS_SELECTOR, "textarea[data-label-id]:last-of-type").get_attribute(
        "value"
    ) or HOSTILE in driver.page_source.replace("&lt;", "<").replace("&gt;", ">")
    shot("02-examples", full_page=True)

    # 3. train in the background, watching live progress
    open_tab("train")
    Select(by_id("train-method")).select_by_value("linear-probe")
    by_id("train-submit").click()
    by_id("job-box")
    shot("03-training")
    WebDriverWait(driver, 180).until(lambda d: "version=" in d.current_url)  # the page moves to the new version
    loaded()

    # 4. the cross-validated metrics on the page are the stored ones
    accuracy = float(re.match(r"([\d.]+)%", by_id("cv-accuracy").text).group(1))
    version_id = int(by_id("results").get_attribute("data-version-id"))
    with app.state.ctx.store.session():
        stored = app.state.ctx.store.version(version_id).metrics
    assert accuracy == pytest.approx(stored["accuracy"] * 100, abs=0.05)
    assert 60 <= accuracy <= 100
    shot("04-results", full_page=True)

    # 5. the planted mislabelled example is listed, with the label it should have
    issues = driver.find_elements(By.CSS_SELECTOR, "#label-issues tbody tr")
    planted = [row for row in issues if row.find_element(By.CSS_SELECTOR, "td.text").text == PLANTED]
    assert planted and "shipping" in planted[0].text
    driver.execute_script("arguments[0].scrollIntoView()", by_id("label-issues"))
    shot("05-mislabelled")

    # 6. try a text: the label and every label's probability
    open_tab("try")
    by_id("try-text").send_keys("my package never arrived")
    by_id("try-submit").click()
    wait.until(ec.visibility_of_element_located((By.ID, "try-result")))
    assert by_id("try-label").text == "shipping"
    assert len(driver.find_elements(By.CSS_SELECTOR, "#try-bars tbody tr")) == 3
    shot("06-try")

    # 7. what to label next: unlabelled texts ranked by uncertainty, labelled in place
    open_tab("next")
    by_id("pool-text").send_keys("my order came broken and I want a refund\nhow do I log in\nis my parcel lost")
    reloaded_after(lambda: driver.find_element(By.CSS_SELECTOR, "#pool-form button").click())
    by_id("rank-button").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#next-list tbody tr")) == 3)
    first = driver.find_element(By.CSS_SELECTOR, "#next-list tbody tr")
    guess = first.find_elements(By.TAG_NAME, "td")[1].text  # the person agrees with the model's guess here
    first.find_element(By.CSS_SELECTOR, f"button[data-label={guess}]").click()
    wait.until(lambda d: f"labelled {guess}" in first.text)
    shot("07-label-next")

    # 8. download the classifier directory and load it
    open_tab("versions")
    shot("08-versions", full_page=True)
    driver.find_element(By.CSS_SELECTOR, "#version-list [data-action=download]").click()
    deadline = time.monotonic() + 30
    while not list(driver.downloads.glob("*.zip")):
        assert time.monotonic() < deadline, "no download arrived"
        time.sleep(0.1)
    time.sleep(0.3)  # Chromium renames the finished file into place
    (archive,) = driver.downloads.glob("*.zip")
    zipfile.ZipFile(archive).extractall(tmp_path / "unzipped")
    from agileclf import load_classifier

    (folder,) = (tmp_path / "unzipped").iterdir()
    assert load_classifier(folder).predict(["reset my password"]) == ["account"]

    # 9. the JSON API behind the pages is documented, offline (Swagger UI from the installed package)
    driver.get(f"{url}/docs")
    WebDriverWait(driver, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) > 20)
    shot("09-api-docs")
