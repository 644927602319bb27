"""A real browser for UI tests: Debian's Chromium driven through its chromedriver by Selenium.

Chromium runs headless, with a fresh profile, and with everything that would reach the network
on its own switched off. ``scripts/install-browser`` installs it; without it a UI test is skipped,
except in CI (``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
_OFFLINE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
T = TypeVar("T")


def require_browser() -> None:
    """Skip the calling test without Chromium; in CI, fail instead."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if not missing:
        return
    message = f"{', '.join(missing)} not installed (scripts/install-browser installs them)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a fresh profile in ``profile``, quit on exit."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*_OFFLINE_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()


def wait_for(
    driver: webdriver.Chrome, find: Callable[[webdriver.Chrome], T | None], timeout: float = 60
) -> T:
    """Poll ``find`` until it returns something; fail with a screenshot-worthy message if not."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(WebDriverException):
            found = find(driver)
            if found:
                return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not found in {timeout:g} s on {driver.current_url}")
        time.sleep(0.5)


def text_of(driver: webdriver.Chrome) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def dismiss_welcome(driver: webdriver.Chrome) -> None:
    """Close the Dagster UI's community dialog, shown over the first page of a fresh profile."""
    for button in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
        if button.is_displayed():
            button.click()


def click_text(
    driver: webdriver.Chrome, text: str, *, exact: bool = False, timeout: float = 60
) -> None:
    """Click the last visible element whose own text is ``text`` (``exact``) or contains it.

    The welcome dialog may open over the page at any moment: it is closed and the click tried
    again until it lands.
    """

    def clicked(d: webdriver.Chrome) -> bool:
        dismiss_welcome(d)
        match = f"normalize-space(text())='{text}'" if exact else f"contains(text(), '{text}')"
        found = d.find_elements(By.XPATH, f"//*[{match}]")
        shown = [element for element in found if element.is_displayed()]
        if not shown:
            return False
        shown[-1].click()
        return True

    wait_for(driver, clicked, timeout)
