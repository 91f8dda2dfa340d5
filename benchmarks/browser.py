# Copyright 2026 The zmnet_jax Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""The web app's page driven in headless Chromium (Selenium): for tests/test_demo.py, the
latency benchmark and the screenshot in docs/web_app.md; support, so outside the package. Needs Debian's `chromium` and `chromium-driver` (nothing is
downloaded at run time) and selenium (the [test] extra)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import time
import urllib.request

import numpy as np

from zmnet_jax.data import image_files

RESULT_LINE = re.compile(r'\(result (\d+)\)')  # how `engine.Result.summary` ends
# In the page: optionally click Stylize, then resolve with the milliseconds until the status
# line reports a result numbered above arguments[0] or an error message shows. A
# MutationObserver, so nothing polls (polling costs CPU the server needs).
WATCH_SCRIPT = """
const [after, click, resolve] = arguments;
const start = performance.now();
const number = () => {
  const found = [...document.querySelector('#status').innerText.matchAll(/\\(result (\\d+)\\)/g)];
  return found.length ? Number(found[found.length - 1][1]) : 0;
};
const check = () => {
  const errors = [...document.querySelectorAll('.toast-body')].filter(e => e.innerText.trim());
  if (number() > after || errors.length) {
    observer.disconnect();
    resolve(performance.now() - start);
  }
};
const observer = new MutationObserver(check);
observer.observe(document.body, {subtree: true, childList: true, characterData: true});
if (click) document.querySelector('#run').click();
check();
"""


def free_port() -> int:
  """A localhost port nothing listens on now (for a server the page is served from)."""
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def find_chromium() -> tuple[str, str] | None:
  """(browser, driver) paths, or None where they are not installed."""
  browser = shutil.which('chromium') or shutil.which('chromium-browser')
  driver = shutil.which('chromedriver')
  return (browser, driver) if browser and driver else None


def wait_for(condition, timeout: float, what: str):
  """`condition()`'s first truthy value, polled; AssertionError after `timeout` s."""
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    value = condition()
    if value:
      return value
    time.sleep(0.05)
  raise AssertionError(f'timed out after {timeout} s waiting for {what}')


class PageDriver:
  """One headless Chromium on the app's page (elements found by their elem_id)."""

  def __init__(
    self,
    browser: str,
    driver: str,
    size: tuple[int, int] = (1400, 1000),
    fake_camera: bool = False,
  ):
    """`fake_camera`: Chromium's own test pattern as the webcam, allowed without asking."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage'):
      options.add_argument(arg)
    options.add_argument(f'--window-size={size[0]},{size[1]}')
    if fake_camera:
      options.add_argument('--use-fake-device-for-media-stream')
      options.add_argument('--use-fake-ui-for-media-stream')
    self.by = By
    self.driver = webdriver.Chrome(service=Service(driver), options=options)

  def close(self) -> None:
    self.driver.quit()

  def open(self, url: str, timeout: float = 60) -> None:
    self.driver.get(url)
    wait_for(lambda: self.driver.find_elements(self.by.ID, 'run'), timeout, 'the page')

  def upload(self, elem_id: str, path: str, timeout: float = 30) -> None:
    """Puts a file into an image input and waits until the server has it (its preview)."""
    self._find(f'#{elem_id} input[type=file]').send_keys(os.path.realpath(path))
    wait_for(lambda: self._all(f'#{elem_id} img'), timeout, f'the {elem_id} upload')

  def press(self, timeout: float = 120) -> float:
    """Clicks Stylize; the seconds, timed in the page, until a new result (or an error
    message) shows."""
    return self._watch(timeout, click=True)

  def wait_for_result(self, timeout: float = 120, after: int | None = None) -> float:
    """Until the status shows a result numbered above `after` (default: the one shown
    now), or an error message shows; returns the seconds waited."""
    return self._watch(timeout, after=after)

  def _watch(self, timeout: float, click: bool = False, after: int | None = None) -> float:
    self.driver.set_script_timeout(timeout)
    after = self.result_number() if after is None else after
    try:
      return self.driver.execute_async_script(WATCH_SCRIPT, after, click) / 1000
    except Exception as e:  # selenium's ScriptTimeoutException, without importing it here
      raise AssertionError(f'no result within {timeout} s ({type(e).__name__})') from e

  def result_number(self) -> int:
    """The number of the result the status line reports; 0 before the first. (While a
    request runs, Gradio's progress text shows over the previous line.)"""
    found = RESULT_LINE.findall(self.status())
    return int(found[-1]) if found else 0

  def result_src(self) -> str | None:
    found = self._all('#result img')
    return found[0].get_attribute('src') if found else None

  def result_image(self) -> np.ndarray:
    """The shown result, downloaded as served (uint8 [H, W, 3])."""
    with urllib.request.urlopen(self.result_src()) as response:
      return image_files.decode_image_bytes(response.read(), 'the result')

  def open_tab(self, label: str) -> None:
    tabs = [t for t in self._all('button[role=tab]') if t.text.strip() == label]
    assert tabs, f'no tab {label!r}'
    tabs[0].click()

  def start_camera(self, elem_id: str = 'camera', timeout: float = 30) -> None:
    """Opens an image input's webcam and starts streaming it (Gradio's Record button)."""
    self._find(f'#{elem_id} div[title="grant webcam access"] button').click()
    record = wait_for(
      lambda: self._all(f'#{elem_id} button.capture-button'), timeout, 'the camera to open'
    )
    record[0].click()

  def image_src(self, elem_id: str) -> str | None:
    found = self._all(f'#{elem_id} img')
    return found[0].get_attribute('src') if found else None

  def text(self, elem_id: str) -> str:
    return self._find(f'#{elem_id}').text

  def status(self) -> str:
    return self._find('#status').text

  def error_text(self) -> str:
    texts = (e.get_attribute('textContent') for e in self._all('.toast-body'))
    return ' '.join(' '.join(t.split()) for t in texts)  # also while it fades in

  def screenshot(self, path: str) -> str:
    self.driver.save_screenshot(path)
    return path

  def _find(self, css: str):
    return self.driver.find_element(self.by.CSS_SELECTOR, css)

  def _all(self, css: str):
    return self.driver.find_elements(self.by.CSS_SELECTOR, css)
