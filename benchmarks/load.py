"""Load: N concurrent browser sessions on the Explain page, each in its own Chromium process.

    python benchmarks/load.py                          # N = 1, 5 and 10, a fresh server for each; print the tables
    python benchmarks/load.py --sessions 10            # one N
    python benchmarks/load.py --url http://127.0.0.1:8501 --server-pid 1234   # an already running server
    python benchmarks/load.py --write                  # also update docs/benchmarks.md

Without ``--url`` the script starts ``streamlit run app.py`` on 127.0.0.1 for each N and warms it with one browser visit
to Explore (imports, model and dataset loaded; Explain's maps are not computed yet), as a deployed server would be.
Every session is a separate process with its own Playwright driver and Debian Chromium (``$XAI_STUDIO_CHROMIUM``,
default /usr/bin/chromium). All sessions launch their browser, meet at a barrier, and then at once:

1. first render: open ``/explain`` and wait until the page shows, in elements of the current run (none stale), the
   "Original" tile, every method's map decoded by the browser, and the "Target: " caption;
2. slider: move the "Salt-and-pepper noise" slider with the keyboard, session i by i mod 10 + 1 steps (so sessions
   do not share cached maps), and wait for the same render of the noisy image ("Original + 5% noise", ...).

A session is served when both steps finish within ``--timeout``. Latencies are reported as p50 and p95 (nearest
rank). The server's resident set (its process and all descendants, from /proc) is sampled every 0.5 s. Goal
(issue 8): N = 10, 100 % served, p95 first render < 10 s. A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from _report import write_section  # noqa: E402

START, END = "<!-- load:start -->", "<!-- load:end -->"
REPOSITORY = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("XAI_STUDIO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOISE_STEPS, NOISE_STEP = 10, 0.05  # the select_slider's levels above 0 (xai_core.metrics.robustness.NOISE_LEVELS)
RSS_INTERVAL_S = 0.5
SETTLE_S = 5.0  # RSS is sampled this long after the last session closed its browser
GOAL_SESSIONS, GOAL_FIRST_RENDER_S = 10, 10.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

MAPS_RENDERED = """([title, images]) => {
    const fresh = [...document.querySelectorAll("[data-testid='stElementContainer']")]
        .filter(element => element.getAttribute("data-stale") !== "true");
    const texts = fresh.map(element => element.innerText.trim());
    const pictures = fresh.flatMap(element => [...element.querySelectorAll("[data-testid='stImage'] img")]);
    return texts.includes(title) && texts.some(text => text.startsWith("Target: "))
        && pictures.length === images && pictures.every(img => img.complete && img.naturalWidth > 0);
}"""


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (the smallest value with at least ``fraction`` of the values at or below it)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def process_tree_rss_mb(pid: int) -> float:
    """Resident set (MB) of ``pid`` and all its descendants, read from /proc; processes that exit meanwhile count 0."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        pending += children.get(current, [])
        try:
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * PAGE_SIZE
        except (OSError, IndexError):
            continue
    return total / 2**20


class RSSSampler(threading.Thread):
    """Samples a process tree's resident set every RSS_INTERVAL_S: ``samples`` holds (monotonic time, MB)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.samples, self.stopped = pid, [], threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.append((time.monotonic(), process_tree_rss_mb(self.pid)))
            self.stopped.wait(RSS_INTERVAL_S)


class StreamlitServer:
    """``streamlit run app.py`` on a free port of 127.0.0.1, its output in ``log``; a context manager."""

    def __init__(self, log: Path):
        self.log = log

    def __enter__(self) -> StreamlitServer:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.output = open(self.log, "w")
        started = time.monotonic()
        self.process = subprocess.Popen(
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
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() - started > 120:
                self.__exit__()
                raise RuntimeError(f"streamlit did not start; see {self.log}")
            time.sleep(0.5)
        self.start_s = time.monotonic() - started
        return self

    def _healthy(self) -> bool:
        try:
            return urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2).read() == b"ok"
        except OSError:
            return False

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.output.close()


def warm_up(url: str, timeout_s: float) -> float:
    """One visit to Explore until its prediction shows (imports, model and dataset loaded); returns seconds."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        started = time.monotonic()
        page.goto(f"{url}/explore")
        page.get_by_text("Predicted:").first.wait_for(timeout=timeout_s * 1000)
        seconds = time.monotonic() - started
        browser.close()
    return seconds


def noise_title(steps: int) -> str:
    return f"Original + {steps * NOISE_STEP:.0%} noise"


def measure_session(page, url: str, steps: int, images: int, outcome: dict) -> None:
    """Fill ``outcome`` with first_render_s and slider_s (seconds) as each step finishes."""
    started = time.monotonic()
    page.goto(f"{url}/explain")
    page.wait_for_function(MAPS_RENDERED, arg=["Original", images])
    outcome["first_render_s"] = time.monotonic() - started
    if page.get_by_role("dialog").is_visible():  # "Page not found" when a fresh server's first request is a sub-page
        page.keyboard.press("Escape")
    thumb = page.locator("[data-testid='stSlider']").filter(has_text="Salt-and-pepper noise").get_by_role("slider")
    thumb.focus()
    started = time.monotonic()
    for _ in range(steps):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(MAPS_RENDERED, arg=[noise_title(steps), images])
    outcome["slider_s"] = time.monotonic() - started


def run_session(index: int, url: str, images: int, timeout_s: float, barrier, results) -> None:
    """One user in its own process: launch Chromium, wait at ``barrier``, measure, put the outcome on ``results``."""
    outcome = {"session": index, "first_render_s": None, "slider_s": None, "error": None, "chromium": None}
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            outcome["chromium"] = browser.version
        except PlaywrightError as error:
            browser, outcome["error"] = None, f"launch: {str(error).splitlines()[0]}"
        barrier.wait()
        if browser is not None:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(timeout_s * 1000)
            try:
                measure_session(page, url, index % NOISE_STEPS + 1, images, outcome)
            except PlaywrightError as error:  # recorded and reported: a session that is not served
                outcome["error"] = str(error).splitlines()[0]
            browser.close()
    results.put(outcome)


def load_run(url: str, server_pid: int | None, sessions: int, images: int, timeout_s: float) -> dict:
    """Run ``sessions`` concurrent sessions; returns their outcomes and the server's RSS samples (seconds from the
    moment every browser was up, MB)."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(sessions + 1), context.Queue()
    workers = [context.Process(target=run_session, args=(index, url, images, timeout_s, barrier, results)) for index in range(sessions)]
    sampler = RSSSampler(server_pid) if server_pid else None
    if sampler:
        sampler.start()
    for worker in workers:
        worker.start()
    barrier.wait()
    released = time.monotonic()
    outcomes = sorted((results.get() for _ in workers), key=lambda outcome: outcome["session"])
    finished = time.monotonic()
    for worker in workers:
        worker.join()
    if sampler:
        time.sleep(SETTLE_S)
        sampler.stopped.set()
        sampler.join()
    samples = [(moment - released, mb) for moment, mb in sampler.samples] if sampler else []
    return {"sessions": sessions, "outcomes": outcomes, "rss": samples, "duration_s": finished - released}


def summary_row(run: dict) -> str:
    outcomes = run["outcomes"]
    served = [o for o in outcomes if o["slider_s"] is not None]
    firsts = [o["first_render_s"] for o in outcomes if o["first_render_s"] is not None]
    sliders = [o["slider_s"] for o in served]

    def quantiles(values):
        return f"{percentile(values, 0.5):.2f} | {percentile(values, 0.95):.2f}" if values else "- | -"

    rss = run["rss"]
    before = [mb for moment, mb in rss if moment <= 0]
    memory = f"{(before or [rss[0][1]])[-1]:.0f} / {max(mb for _, mb in rss):.0f} / {rss[-1][1]:.0f}" if rss else "-"
    return (
        f"| {run['sessions']} | {len(served)}/{len(outcomes)} ({len(served) / len(outcomes):.0%}) | "
        f"{quantiles(firsts)} | {quantiles(sliders)} | {run['duration_s']:.1f} | {memory} |"
    )


def rss_timeline(runs: list[dict], step_s: float = 2.0) -> str:
    """Peak server RSS (MB) in each ``step_s`` window from the moment every browser was up, one column per N."""
    end = max((moment for run in runs for moment, _ in run["rss"]), default=0.0)
    header = "| t (s) | " + " | ".join(f"N = {run['sessions']}" for run in runs) + " |\n"
    header += "| ---: |" + " ---: |" * len(runs) + "\n"
    rows = []
    for window in range(math.ceil(end / step_s) + 1):
        low, high = (window - 0.5) * step_s, (window + 0.5) * step_s
        cells = []
        for run in runs:
            inside = [mb for moment, mb in run["rss"] if low <= moment < high]
            cells.append(f"{max(inside):.0f}" if inside else "")
        rows.append(f"| {window * step_s:.0f} | " + " | ".join(cells) + " |")
    return header + "\n".join(rows)


def failures(runs: list[dict]) -> str:
    lines = [f"* N = {run['sessions']}, session {o['session']}: {o['error']}" for run in runs for o in run["outcomes"] if o["error"]]
    return "\n".join(lines) if lines else "None."


def report(runs: list[dict], setup: str, chromium: str, methods: int) -> str:
    goal = next((run for run in runs if run["sessions"] == GOAL_SESSIONS), None)
    if goal is None:
        verdict = f"not measured (no run with N = {GOAL_SESSIONS})"
    else:
        firsts = [o["first_render_s"] for o in goal["outcomes"] if o["first_render_s"] is not None]
        served = sum(o["slider_s"] is not None for o in goal["outcomes"])
        p95 = percentile(firsts, 0.95) if firsts else math.inf
        met = served == GOAL_SESSIONS and p95 < GOAL_FIRST_RENDER_S
        verdict = f"{'met' if met else '**not met**'} ({served}/{GOAL_SESSIONS} served, p95 first render {p95:.2f} s)"
    summary = "\n".join(summary_row(run) for run in runs)
    return f"""{START}
## Load: concurrent browser sessions (issue 8)

Command: `python benchmarks/load.py --write` — {os.cpu_count()} CPU cores, Chromium {chromium} (headless, one process
per session, started before the clock and released together), streamlit {version("streamlit")}, torch
{version("torch")}, Python {platform.python_version()}. {setup}
Each session opens `/explain` (first render: the original and all {methods} maps decoded, the target caption shown),
then session i moves the noise slider by i mod {NOISE_STEPS} + 1 steps (a level of its own, so its maps are computed,
not read from the cache) and waits for the noisy image's {methods} maps. Served: both steps finished within the
timeout. p50/p95 by nearest rank.
Goal: N = {GOAL_SESSIONS}, 100 % served, p95 first render < {GOAL_FIRST_RENDER_S:.0f} s: {verdict}.

| sessions | served | first render p50 (s) | first render p95 (s) | slider -> maps p50 (s) | slider -> maps p95 (s) | all done after (s) | server RSS before / peak / after (MB) |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{summary}

### Server RSS over time
The streamlit process and its descendants, peak of the 0.5 s samples in each 2 s window; t = 0 when every browser
was up and the sessions were released; the last row is {SETTLE_S:.0f} s after the last session ended.

{rss_timeline(runs)}

Sessions not served: {failures(runs)}
{END}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10], help="concurrent sessions, one run each")
    parser.add_argument("--url", help="an already running server (default: start one per run)")
    parser.add_argument("--server-pid", type=int, help="with --url: the server's process id, to sample its RSS")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds each step of a session may take")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    load_average = os.getloadavg()[0]  # other work on the machine slows every session
    from xai_core import EXPLAINERS

    images = 1 + len(EXPLAINERS)
    runs = []
    if args.url:
        setup = f"Server: already running at {args.url}."
        for sessions in args.sessions:
            runs.append(load_run(args.url, args.server_pid, sessions, images, args.timeout))
    else:
        starts = []
        for sessions in args.sessions:
            with StreamlitServer(REPOSITORY / "test-artifacts" / f"load-server-{sessions}.log") as server:
                warm_s = warm_up(server.url, args.timeout)
                starts.append(f"N = {sessions}: {server.start_s:.1f} s to healthy, {warm_s:.1f} s warm-up")
                runs.append(load_run(server.url, server.process.pid, sessions, images, args.timeout))
        setup = "Server: a fresh `streamlit run app.py` per N, warmed by one Explore visit before the sessions (" + "; ".join(starts) + ")."
    setup += f" Load average (1 min) when the script started: {load_average:.1f}."
    chromium = next((o["chromium"] for run in runs for o in run["outcomes"] if o["chromium"]), "not launched")
    section = report(runs, setup, chromium, len(EXPLAINERS))
    print(section)
    if args.write:
        write_section(START, END, section)


if __name__ == "__main__":
    main()
