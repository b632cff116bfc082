"""Real-browser fixtures: a ``streamlit run`` server on 127.0.0.1 (its survey database in SURVEY_DATA_DIR, emptied at
the start, and survey admin password ADMIN_PASSWORD) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from xai_core.survey.access import ADMIN_PASSWORD_VARIABLE
from xai_core.survey.repository import DATA_DIR_VARIABLE, DATABASE_URL_VARIABLE

REPOSITORY = Path(__file__).resolve().parents[2]
ARTIFACTS = REPOSITORY / "test-artifacts"
SURVEY_DATA_DIR = ARTIFACTS / "e2e-surveys"
ADMIN_PASSWORD = "e2e-admin-password"
CHROMIUM = os.environ.get("XAI_STUDIO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment() -> dict[str, str]:
    """This process's environment with the survey database in SURVEY_DATA_DIR (no database URL) and ADMIN_PASSWORD."""
    environment = {name: value for name, value in os.environ.items() if name != DATABASE_URL_VARIABLE}
    return {**environment, DATA_DIR_VARIABLE: str(SURVEY_DATA_DIR), ADMIN_PASSWORD_VARIABLE: ADMIN_PASSWORD}


@contextmanager
def streamlit_server(environment: dict[str, str], log_name: str) -> Iterator[str]:
    """``streamlit run app.py`` on a free port of 127.0.0.1 with ``environment``, its output in ARTIFACTS/``log_name``;
    yields the URL once the server answers its health check, and stops it afterwards."""
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / log_name, "w")  # noqa: SIM115 (closed when the server stops)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=REPOSITORY,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=environment,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def server_url():
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.rmtree(SURVEY_DATA_DIR, ignore_errors=True)
    with streamlit_server(server_environment(), "streamlit-server.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM} (make test installs Debian's chromium when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
