"""Designer responsiveness on a 500-node workflow, measured in headless Chromium (figures, no asserts).

Run: `.venv/bin/python bench/frontend_sync.py [--nodes 500] [--runs 10] [--profile DIR]`
(needs frontend/dist: `make frontend`; Debian's /usr/bin/chromium or $MBFLOW_CHROMIUM).

Setup, as tests/e2e/conftest.py does it: a temporary SQLite DATABASE_URL, `migrate`, `mbflow_demo`,
`uvicorn mbflow_site.asgi:application` on a free port. A native workflow is generated (N nodes of
types transform / http / log with `name` and `position` on a 25-column grid, ~2 edges per node,
acyclic), stored with POST /api/v1/workflows in the signed-in admin's session, and opened in a
1280×800 page.

Every time is taken inside the page, on the page's own clock (`performance.now()`, whose zero is
the navigation start; input events carry `event.timeStamp` on the same clock):

* first render: navigation start → the first animation frame in which every node inside the
  canvas's visible area is drawn: a `.react-flow__node` element that React Flow shows (measured,
  `visibility: visible`) for each node whose box (position from the generated YAML, at least
  220 × 57 px, the smallest node) meets the canvas under the view's transform at that frame. The
  canvas draws only the nodes in view (`onlyRenderVisibleElements`), so this is the frame in which
  the whole picture is on screen; nodes out of view are not counted (the bench used to wait for all
  N elements, when all N were drawn). The time a task posted from the next animation frame runs
  (≈ that frame painted) is printed too, with milestones; it also counts the YAML editor's
  construction, which the designer starts in a task right after the canvas's first frame.
* Before the syncs, the canvas is panned (a mouse drag on its background) so that node n0 and the
  nodes the bench pastes at x = -400 are in view, as a person watching them would have it: nodes
  out of view are not drawn, and their changes have nothing to show.
* YAML → canvas: a key press / text insertion in the CodeMirror editor (`keydown` or
  `beforeinput` timeStamp) → the MutationObserver callback in which the canvas shows the change
  (a node's title, a node added or removed) = "dom"; "paint" = a task posted from the next
  animation frame after that, i.e. the frame that shows it has been produced.
  The rename is typed again with node n0 selected (its property form and data panel shown).
* canvas → YAML: a key press on the canvas (arrow key moving the selected node 5 px, Delete on the
  selected node, Ctrl+Z) or in the property form (typing in the node's name field) → the
  MutationObserver callback in which the editor's visible lines show the new text; "paint" as
  above.

`--trace` also records a Chromium trace of every sample and prints the page's main-thread CPU time
from the input to the frame that shows it (the `tdur` of its top-level tasks: thread time, so less
swayed by a busy machine than the wall times), with its largest parts (script, style, layout, paint).
`--dist DIR` serves the page's HTML and /static/assets/ from another build of the frontend (e.g.
`npx vite build --outDir /tmp/a`), so two builds can be compared in interleaved runs.

Between samples the bench waits for the debounced server validation (450 ms) to come back, so
each sample starts from an idle page. `--profile DIR` also writes a CPU profile of the last first
render and of one sample of each kind (`.cpuprofile`: DevTools → Performance → Load profile).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import BIN, CHROMIUM, PASSWORD, _free_port, _wait_until_up  # noqa: E402
from workflows.spec import dump_yaml  # noqa: E402

COLUMNS = 25
SETTLE_S = 1.0  # > the designer's 450 ms validation debounce + the server's answer

# Installed in every page before its own scripts: the first-render probe and the sync probe.
PROBE = r"""
(() => {
  const bench = (window.__bench = { first: {}, pending: null, results: [] });
  const count = () => document.querySelectorAll('.react-flow__node').length;
  const shownIds = (selector) => new Set(Array.from(document.querySelectorAll(selector), (el) => el.dataset.id));
  // [id, x, y] of every node of the opened workflow (set by the bench before it opens the page).
  const boxes = JSON.parse(sessionStorage.getItem('__benchBoxes') || '[]');
  // The ids of the nodes whose box meets the canvas under the view's current transform; null
  // before React Flow has a viewport.
  // (Read from the inline style, and the canvas's size once: no style or layout forced in a frame.)
  let paneSize = null;
  const inView = () => {
    const pane = document.querySelector('.react-flow');
    const viewport = document.querySelector('.react-flow__viewport');
    const transform = viewport ? viewport.style.transform : '';
    const t = /translate\(([-\d.e]+)px, ([-\d.e]+)px\) scale\(([-\d.e]+)\)/.exec(transform);
    if (!pane || !t) return null;
    paneSize ??= [pane.clientWidth, pane.clientHeight];
    const [width, height] = paneSize;
    const [tx, ty, zoom] = [Number(t[1]), Number(t[2]), Number(t[3])];
    return boxes.filter(([, x, y]) => {
      const left = tx + x * zoom, top = ty + y * zoom;
      return left < width && left + 220 * zoom > 0 && top < height && top + 57 * zoom > 0;
    }).map(([id]) => id);
  };
  const afterPaint = (fn) => requestAnimationFrame(() => setTimeout(fn, 0));
  // First render: checked once per animation frame from the navigation start.
  const frame = () => {
    const f = bench.first;
    const now = performance.now();
    const n = count();
    if (n > 0 && f.firstNode === undefined) f.firstNode = now;
    const wanted = n > 0 ? inView() : null;
    if (wanted && wanted.length > 0) {
      const inDom = shownIds('.react-flow__node');
      if (f.allInDom === undefined && wanted.every((id) => inDom.has(id))) {
        f.allInDom = now; f.inView = wanted.length; f.drawn = n;
      }
      const visible = shownIds('.react-flow__node[style*="visibility: visible"]');
      if (wanted.every((id) => visible.has(id))) {
        f.allVisible = now;
        afterPaint(() => { f.painted = performance.now(); });
        return;
      }
    }
    if (now < 60000) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);

  // Syncs: arm(kind, arg) before the input; the first keydown/beforeinput after it is the start.
  const checks = {
    nodeTitle: (a) => document.querySelector(`[data-testid="node-${a.id}"] .wf-node-title`)?.textContent === a.text,
    nodePresent: (a) => Boolean(document.querySelector(`[data-testid="rf__node-${a.id}"]`)) === a.present,
    yamlLine: (a) => Array.from(document.querySelectorAll('[data-testid=yaml-editor] .cm-line'))
      .some((l) => l.textContent.trim() === a.text) === a.present,
  };
  const onInput = (event) => {
    const p = bench.pending;
    if (p && p.start === undefined) {
      p.start = event.timeStamp; p.startEvent = event.type; performance.mark('bench:input');
    }
  };
  window.addEventListener('keydown', onInput, true);
  window.addEventListener('beforeinput', onInput, true);
  const observer = new MutationObserver(() => {
    const p = bench.pending;
    if (!p || p.start === undefined || p.dom !== undefined) return;
    if (!checks[p.kind](p.arg)) return;
    p.dom = performance.now();
    afterPaint(() => {
      p.paint = performance.now(); performance.mark('bench:paint'); bench.results.push(p); bench.pending = null;
    });
  });
  const watch = () => observer.observe(document.body, { childList: true, subtree: true, characterData: true });
  if (document.body) watch(); else document.addEventListener('DOMContentLoaded', watch);
  bench.arm = (kind, arg) => { bench.pending = { kind, arg }; bench.doneBefore = bench.results.length; };
  bench.done = () => bench.results.length > bench.doneBefore;
  bench.last = () => bench.results[bench.results.length - 1];
})();
"""


def generate(size: int, seed: int = 11) -> dict[str, Any]:
    rng = random.Random(seed)
    kinds = ["transform", "http", "log"]
    nodes, edges = [], []
    for index in range(size):
        kind = kinds[index % 3]
        node: dict[str, Any] = {"id": f"n{index}", "name": f"Node {index}", "type": kind}
        if kind == "transform":
            node["config"] = {"mapping": {"v": "{{ upstream }}", "i": index}}
        elif kind == "http":
            node["config"] = {"method": "POST", "url": f"https://api.example.com/items/{index}", "json": {"i": index}}
        else:
            node["config"] = {"message": f"step {index}", "level": "info"}
        node["position"] = {"x": (index % COLUMNS) * 300, "y": (index // COLUMNS) * 160}
        nodes.append(node)
        if index > 0:
            edges.append({"from": f"n{index - 1}", "to": f"n{index}"})
        if index > 1:
            edges.append({"from": f"n{rng.randrange(0, index - 1)}", "to": f"n{index}"})
    return {"apiVersion": "mbflow/v1", "kind": "Workflow",
            "metadata": {"name": f"bench-{size}", "title": f"Bench {size} nodes"},
            "spec": {"nodes": nodes, "edges": edges}}


def start_server(workdir: Path) -> tuple[str, subprocess.Popen, Any]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}", "DEBUG": "false",
           "MBFLOW_ADMIN_PASSWORD": PASSWORD}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [str(BIN / "python"), str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "mbflow_demo", "--password", PASSWORD], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    port = _free_port()
    log = (workdir / "server.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "uvicorn"), "mbflow_site.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_until_up(url, process)
    return url, process, log


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[rank]


def summary(label: str, values: list[float]) -> str:
    return (f"  {label:<44} median {statistics.median(values):7.1f} ms   p95 {percentile(values, 0.95):7.1f} ms"
            f"   (min {min(values):.1f}, max {max(values):.1f}, n={len(values)})")


# Trace events of the main thread that are counted as its parts (self time, nested ones subtracted).
TRACE_PARTS = {
    "script": {"FunctionCall", "EvaluateScript", "EventDispatch", "TimerFire", "FireAnimationFrame",
               "RunMicrotasks", "v8.callFunction", "V8.Execute", "FireIdleCallback", "XHRReadyStateChange"},
    "gc": {"MinorGC", "MajorGC", "V8.GC_SCAVENGER", "V8.GC_MARK_COMPACTOR", "BlinkGC.AtomicPhase",
           "ThreadState::performIdleLazySweep", "V8.GCIncrementalMarking", "V8.GCFinalizeMC", "V8.GCScavenger"},
    "style": {"UpdateLayoutTree", "RecalculateStyles", "ScheduleStyleRecalculation", "ParseAuthorStyleSheet"},
    "layout": {"Layout", "UpdateLayerTree", "LayoutInvalidationTracking"},
    "paint": {"PrePaint", "Paint", "PaintImage", "Layerize", "Commit", "UpdateLayer", "CompositeLayers",
              "RasterTask", "Decode Image"},
}
TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "blink.user_timing", "toplevel",
                    "v8", "disabled-by-default-v8.gc"]


def trace_cpu(raw: bytes) -> dict[str, float] | None:
    """
    Main-thread CPU ms of the page from the trace's start to the mark `bench:paint` (the frame that
    shows the change was made): the thread time (`tdur`) of its top-level tasks, and self thread
    time by part (TRACE_PARTS; the rest is "other").
    """
    events = json.loads(raw)
    events = events["traceEvents"] if isinstance(events, dict) else events
    paint = next((e for e in events if e.get("name") == "bench:paint"), None)
    if paint is None:
        return None
    pid, tid, end = paint["pid"], paint["tid"], paint["ts"]
    mine = sorted((e for e in events if e.get("pid") == pid and e.get("tid") == tid and e.get("ph") == "X"
                   and "tdur" in e and e["ts"] < end), key=lambda e: (e["ts"], -e.get("dur", 0)))
    total = 0.0
    parts: dict[str, float] = {}
    stack: list[tuple[int, dict[str, Any]]] = []  # (end ts, event) of the open events
    selfs: dict[int, float] = {}
    for event in mine:
        while stack and stack[-1][0] <= event["ts"]:
            stack.pop()
        if not stack:  # an outermost event: a task of the thread
            total += event["tdur"] / 1000
        if stack:
            parent = id(stack[-1][1])
            selfs[parent] = selfs.get(parent, stack[-1][1]["tdur"]) - event["tdur"]
        selfs.setdefault(id(event), event["tdur"])
        stack.append((event["ts"] + event.get("dur", 0), event))
    for event in mine:
        name = event.get("name", "")
        part = next((k for k, names in TRACE_PARTS.items() if name in names), None)
        if part is None:
            part = "other"
        if part is not None:
            parts[part] = parts.get(part, 0.0) + max(0.0, selfs.get(id(event), 0.0)) / 1000
    return {"cpu": total, **parts}


class Bench:
    def __init__(self, page: Any, runs: int, profile_dir: Path | None, trace: bool = False) -> None:
        self.page = page
        self.runs = runs
        self.profile_dir = profile_dir
        self.trace = trace
        self.results: dict[str, list[dict[str, float]]] = {}

    def sample(self, name: str, kind: str, arg: dict[str, Any], action: Callable[[], None]) -> dict[str, float]:
        page = self.page
        page.evaluate("([kind, arg]) => window.__bench.arm(kind, arg)", [kind, arg])
        profiling = self.profile_dir is not None and name not in self.results
        if profiling:
            cdp = page.context.new_cdp_session(page)
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 200})
            cdp.send("Profiler.start")
        browser = page.context.browser
        if self.trace:
            page.evaluate("() => performance.clearMarks('bench:paint')")
            browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
        action()
        page.wait_for_function("() => window.__bench.done()", timeout=20_000)
        cpu = trace_cpu(browser.stop_tracing()) if self.trace else None
        if profiling:
            profile = cdp.send("Profiler.stop")["profile"]
            assert self.profile_dir is not None
            slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
            (self.profile_dir / f"{slug}.cpuprofile").write_text(json.dumps(profile))
            cdp.detach()
        result = page.evaluate("() => window.__bench.last()")
        sample = {"dom": result["dom"] - result["start"], "paint": result["paint"] - result["start"]}
        if cpu is not None:
            sample.update({f"cpu:{k}": v for k, v in cpu.items()})
        self.results.setdefault(name, []).append(sample)
        time.sleep(SETTLE_S)
        return sample

    def report(self, name: str) -> None:
        samples = self.results[name]
        print(summary(f"{name}: input → DOM shows it", [s["dom"] for s in samples]))
        print(summary(f"{name}: input → next frame", [s["paint"] for s in samples]))
        if all("cpu:cpu" in s for s in samples):
            print(summary(f"{name}: main-thread CPU", [s["cpu:cpu"] for s in samples]))
            keys = sorted({k for s in samples for k in s if k.startswith("cpu:") and k != "cpu:cpu"})
            print("    of which (median ms): " + ", ".join(
                f"{k[4:]} {statistics.median([s.get(k, 0.0) for s in samples]):.1f}" for k in keys))


def user_timings(page: Any) -> dict[str, list[float]]:
    """Durations of the app's own performance.measure entries (mbflow:*), by name."""
    entries = page.evaluate(
        "() => performance.getEntriesByType('measure').filter((e) => e.name.startsWith('mbflow:'))"
        ".map((e) => [e.name, e.duration])"
    )
    found: dict[str, list[float]] = {}
    for name, duration in entries:
        found.setdefault(name, []).append(duration)
    return found


def print_user_timings(page: Any, title: str) -> None:
    found = user_timings(page)
    if not found:
        return
    print(f"  app marks during {title} (performance.measure):")
    for name, durations in sorted(found.items()):
        print(f"    {name:<40} median {statistics.median(durations):7.1f} ms   max {max(durations):7.1f} ms"
              f"   n={len(durations)}")
    page.evaluate("() => performance.clearMeasures()")


def node_boxes(document: dict[str, Any]) -> str:
    """[id, x, y] of every node, as the probe reads them from sessionStorage."""
    return json.dumps([[n["id"], n["position"]["x"], n["position"]["y"]] for n in document["spec"]["nodes"]])


def open_designer(page: Any, url: str, workflow_id: str, boxes: str) -> None:
    page.goto(url + "/")  # same origin, so the probe can read the node boxes from sessionStorage
    page.evaluate("(b) => sessionStorage.setItem('__benchBoxes', b)", boxes)
    page.goto(f"{url}/designer/{workflow_id}")


def first_render(context: Any, url: str, workflow_id: str, boxes: str, runs: int,
                 profile_dir: Path | None = None) -> None:
    print("\n(1) First render of /designer/<id>: navigation start → every node in view rendered and visible")
    rows = []
    for run in range(runs):
        page = context.new_page()
        page.goto(url + "/")  # same origin, so the probe can read the node boxes from sessionStorage
        page.evaluate("(b) => sessionStorage.setItem('__benchBoxes', b)", boxes)
        cdp = None
        if profile_dir is not None and run == runs - 1:
            cdp = page.context.new_cdp_session(page)
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 200})
            cdp.send("Profiler.start")
        page.goto(f"{url}/designer/{workflow_id}")
        page.wait_for_function("() => window.__bench.first.painted !== undefined", timeout=60_000)
        if cdp is not None and profile_dir is not None:
            profile = cdp.send("Profiler.stop")["profile"]
            (profile_dir / "first-render.cpuprofile").write_text(json.dumps(profile))
            cdp.detach()
        first = page.evaluate("() => window.__bench.first")
        nav = page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " const api = performance.getEntriesByType('resource')"
            "   .find((r) => new URL(r.name).pathname.startsWith('/api/v1/workflows/'));"
            " return {responseEnd: n.responseEnd, domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd,"
            " apiEnd: api ? api.responseEnd : null, apiStart: api ? api.startTime : null}; }"
        )
        rows.append({**first, **nav})
        if run == runs - 1:
            print_user_timings(page, "the last load")
        page.close()
    keys = [("responseEnd", "HTML received"), ("domContentLoaded", "DOMContentLoaded (bundle parsed + run)"),
            ("apiStart", "GET workflow started"), ("apiEnd", "GET workflow answered"),
            ("firstNode", "first .react-flow__node in a frame"), ("allInDom", "the nodes in view in the DOM (frame)"),
            ("allVisible", "… measured + visible (frame)"), ("painted", "… that frame painted (END)")]
    print("  run  " + " ".join(f"{k[:10]:>10}" for k, _ in keys))
    for index, row in enumerate(rows):
        cells = " ".join(f"{row[k]:10.0f}" if row.get(k) is not None else f"{'-':>10}" for k, _ in keys)
        print(f"  {index + 1:>3}  {cells}")
    for key, label in keys:
        values = [row[key] for row in rows if row.get(key) is not None]
        if values:
            print(summary(f"{label} (since nav start)", values))
    counts = sorted({(row.get("inView"), row.get("drawn")) for row in rows})
    print("  nodes in view / node elements drawn in that frame: " + ", ".join(f"{a} / {b}" for a, b in counts))
    print("  (run 1 has a cold HTTP cache for the JS/CSS bundle; later runs reuse it, as a returning user would)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--profile", type=Path, default=None,
                        help="write a CPU profile (.cpuprofile, for DevTools) of one sample of each kind here")
    parser.add_argument("--trace", action="store_true",
                        help="trace every sample and print the page's main-thread CPU time per sync")
    parser.add_argument("--dist", type=Path, default=ROOT / "frontend" / "dist",
                        help="the frontend build to serve (default frontend/dist)")
    args = parser.parse_args()
    if not (args.dist / "index.html").exists():
        sys.exit(f"{args.dist} has no index.html: run `make frontend` first")
    if not CHROMIUM.exists():
        sys.exit(f"No Chromium at {CHROMIUM}")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    document = generate(args.nodes)
    text = dump_yaml(document)
    print(__doc__.strip().splitlines()[0])
    print(f"workflow: {args.nodes} nodes, {len(document['spec']['edges'])} edges, {len(text.splitlines())} YAML lines, "
          f"{len(text) // 1024} KB; Chromium {CHROMIUM}, headless, 1280×800; {args.runs} samples per figure")

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="mbflow-bench-") as tmp:
        url, process, log = start_server(Path(tmp))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
                context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=url)
                context.set_default_timeout(30_000)
                context.add_init_script(PROBE)
                if args.dist.resolve() != (ROOT / "frontend" / "dist").resolve():
                    serve_build(context, args.dist)
                page = context.new_page()
                page.goto("/login")
                page.fill("#id_username", "admin")
                page.fill("#id_password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{url}/")
                token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
                created = page.request.post("/api/v1/workflows", data={"yaml": text, "message": "bench"},
                                            headers={"X-CSRFToken": token, "Content-Type": "application/json"})
                if created.status != 201:
                    sys.exit(f"POST /api/v1/workflows answered {created.status}: {created.text()[:500]}")
                workflow_id = created.json()["id"]
                page.close()

                boxes = node_boxes(document)
                print(f"build: {args.dist}")
                first_render(context, url, workflow_id, boxes, args.runs, args.profile)
                page = context.new_page()
                open_designer(page, url, workflow_id, boxes)
                page.wait_for_function("() => window.__bench.first.painted !== undefined", timeout=60_000)
                time.sleep(SETTLE_S)
                bring_into_view(page, -400)
                time.sleep(SETTLE_S)
                page.evaluate("() => performance.clearMeasures()")
                bench = Bench(page, args.runs, args.profile, args.trace)
                yaml_to_canvas(bench)
                print_user_timings(page, "(2)")
                canvas_to_yaml(bench)
                print_user_timings(page, "(3)")
                browser.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
    print("\nTargets: first render < 1000 ms, each sync < 100 ms (input → next frame).")


def serve_build(context: Any, dist: Path) -> None:
    """The SPA's HTML and its /static/assets/ come from `dist` instead of the server's frontend/dist."""
    index = (dist / "index.html").read_text(encoding="utf-8")

    def asset(route: Any) -> None:
        name = route.request.url.split("/static/assets/", 1)[1].split("?", 1)[0]
        path = dist / "assets" / name
        if not path.is_file():
            route.fulfill(status=404)
            return
        kind = {".js": "text/javascript", ".css": "text/css"}.get(path.suffix, "application/octet-stream")
        route.fulfill(status=200, body=path.read_bytes(), content_type=kind)

    def document(route: Any) -> None:
        if route.request.resource_type != "document":
            route.fallback()
            return
        response = route.fetch()
        body = response.text()
        if '<div id="root">' in body:
            route.fulfill(response=response, body=index)
        else:
            route.fulfill(response=response)

    context.route("**/static/assets/**", asset)
    from urllib.parse import urlparse

    context.route(lambda url: urlparse(url).path == "/" or urlparse(url).path.startswith("/designer"), document)


def yaml_to_canvas(bench: Bench) -> None:
    page = bench.page
    print("\n(2) YAML → canvas: an edit typed in the CodeMirror editor → the canvas shows it")
    line = page.locator("[data-testid=yaml-editor] .cm-line").filter(has_text="name: Node 0").first
    line.click()
    page.keyboard.press("End")
    for run in range(bench.runs):
        # One character typed at the end of node n0's `name:` line; the node's title follows it.
        if run % 2 == 0:
            bench.sample("rename n0 (type a char)", "nodeTitle", {"id": "n0", "text": "Node 0x"},
                         lambda: page.keyboard.press("x"))
        else:
            bench.sample("rename n0 (type a char)", "nodeTitle", {"id": "n0", "text": "Node 0"},
                         lambda: page.keyboard.press("Backspace"))
    if bench.runs % 2:  # put the name back (unmeasured), so the form test below starts from "Node 0"
        page.keyboard.press("Backspace")
        page.wait_for_function("() => document.querySelector('[data-testid=\"node-n0\"] .wf-node-title')"
                               "?.textContent === 'Node 0'")
        time.sleep(SETTLE_S)
    bench.report("rename n0 (type a char)")
    nodes_line = page.locator("[data-testid=yaml-editor] .cm-line").filter(has_text="nodes:").first
    for run in range(max(2, bench.runs // 2)):
        nodes_line.click()
        page.keyboard.press("End")
        block = f"\n    - id: added{run}\n      type: log\n      position:\n        x: -400\n        y: {run * 10}"
        bench.sample("add a node (paste a block)", "nodePresent", {"id": f"added{run}", "present": True},
                     lambda b=block: page.keyboard.insert_text(b))
        bench.sample("remove it again (Ctrl+Z in the editor)", "nodePresent", {"id": f"added{run}", "present": False},
                     lambda: page.keyboard.press("Control+z"))
    bench.report("add a node (paste a block)")
    bench.report("remove it again (Ctrl+Z in the editor)")
    # The same typing with node n0 selected (its properties and data panel open beside the editor).
    select_node(page, "n0")
    line = page.locator("[data-testid=yaml-editor] .cm-line").filter(has_text="name: Node 0").first
    line.click()
    page.keyboard.press("End")
    name = "rename n0 (type a char), n0 selected"
    for run in range(bench.runs):
        if run % 2 == 0:
            bench.sample(name, "nodeTitle", {"id": "n0", "text": "Node 0x"}, lambda: page.keyboard.press("x"))
        else:
            bench.sample(name, "nodeTitle", {"id": "n0", "text": "Node 0"}, lambda: page.keyboard.press("Backspace"))
    if bench.runs % 2:
        page.keyboard.press("Backspace")
        page.wait_for_function("() => document.querySelector('[data-testid=\"node-n0\"] .wf-node-title')"
                               "?.textContent === 'Node 0'")
        time.sleep(SETTLE_S)
    bench.report(name)


def bring_into_view(page: Any, flow_x: float) -> None:
    """
    Pans the canvas as a person would, dragging its background, until the flow's x = `flow_x`
    (node n0 sits at x = 0, the pasted nodes at -400) is near its left edge; checks that n0 is drawn.
    """
    pane = page.locator(".react-flow").bounding_box()
    translate_x, translate_y, zoom = page.evaluate(
        "() => { const m = new DOMMatrixReadOnly(getComputedStyle(document.querySelector('.react-flow__viewport'))"
        ".transform); return [m.e, m.f, m.a]; }")
    shift = 30 - (translate_x + flow_x * zoom)
    # The strip above the first row of nodes is background (rows start at y = 0 in the flow).
    y = pane["y"] + max(2.0, translate_y / 2)
    start = pane["x"] + 40
    page.mouse.move(start, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(start + shift * step / 10, y)
    page.mouse.up()
    page.wait_for_function("() => Boolean(document.querySelector('[data-testid=\"rf__node-n0\"]'))")


def scroll_yaml_to_top(page: Any) -> None:
    """The checks read the editor's rendered lines: node n0's lines are the first ones."""
    page.locator("[data-testid=yaml-editor] .cm-scroller").evaluate("(el) => { el.scrollTop = 0; }")


def select_node(page: Any, node_id: str) -> None:
    """Focuses a node element and selects it with Enter, as a keyboard user would."""
    page.evaluate("(id) => document.querySelector(`[data-testid=\"rf__node-${id}\"]`).focus()", node_id)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "(id) => document.querySelector(`[data-testid=\"node-${id}\"]`)?.classList.contains('is-selected')",
        arg=node_id)
    scroll_yaml_to_top(page)
    time.sleep(0.3)


def canvas_to_yaml(bench: Bench) -> None:
    page = bench.page
    print("\n(3) canvas → YAML: a change made on the canvas / in the form → the editor shows it")
    page.keyboard.press("Escape")
    select_node(page, "n0")
    for run in range(bench.runs):
        x = 5 * (run + 1)
        bench.sample("move n0 by 5 px (ArrowRight)", "yamlLine", {"text": f"x: {x}", "present": True},
                     lambda: page.keyboard.press("ArrowRight"))
    bench.report("move n0 by 5 px (ArrowRight)")
    for _ in range(max(2, bench.runs // 2)):
        select_node(page, "n0")
        bench.sample("delete n0 (Delete key)", "yamlLine", {"text": "- id: n0", "present": False},
                     lambda: page.keyboard.press("Delete"))
        bench.sample("undo the delete (Ctrl+Z on the canvas)", "yamlLine", {"text": "- id: n0", "present": True},
                     lambda: page.keyboard.press("Control+z"))
    bench.report("delete n0 (Delete key)")
    bench.report("undo the delete (Ctrl+Z on the canvas)")
    select_node(page, "n0")
    field = page.get_by_test_id("field-name")
    field.click()
    page.keyboard.press("End")
    for run in range(bench.runs):
        if run % 2 == 0:
            bench.sample("rename n0 in the property form", "yamlLine", {"text": "name: Node 0y", "present": True},
                         lambda: page.keyboard.press("y"))
        else:
            bench.sample("rename n0 in the property form", "yamlLine", {"text": "name: Node 0", "present": True},
                         lambda: page.keyboard.press("Backspace"))
    bench.report("rename n0 in the property form")
    if bench.profile_dir:
        print(f"  CPU profiles of one sample of each kind: {bench.profile_dir}/*.cpuprofile")


if __name__ == "__main__":
    main()
