"""The designer's graph editing in a real browser with mouse and keyboard: renaming a node rewrites
every reference to it, adding nodes from a node's "+" and the keyboard palette, auto-layout, fit
and find, and fallback / compensation / `when` drawn on the canvas. Screenshots in test-artifacts/
at 1440×900 and 1280×800."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import WAIT_MS, shot
from tests.e2e.test_designer import replace_yaml, wait_for_yaml, wait_until_still, yaml_text

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)

RENAME_DOC = """apiVersion: mbflow/v1
kind: Workflow
metadata: {name: e2e-rename}
spec:
  nodes:
    # Fetch the user first.
    - id: fetch
      type: http
      config: {url: "https://api.example.com/users/1"}
      fallback: backup
      position: {x: 40, y: 60}
    - id: backup
      type: transform
      config:
        mapping: {name: guest}
      position: {x: 40, y: 260}
    - id: shape
      type: transform
      when: "{{ nodes.fetch.output.status == 200 }}"
      config:
        mapping:
          name: "{{ nodes.fetch.output.body.name }}"   # the user's name
          raw: "{{ nodes['fetch'].output.body }}"
      position: {x: 380, y: 60}
    - {id: undo, type: log, config: {message: undo}, position: {x: 380, y: 260}}
  edges:
    - {from: fetch, to: shape}  # main path
  compensation: [{node: undo, compensates: fetch}]
"""


def open_document(page: Page, text: str, width: int = 1440, height: int = 900) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/designer/new")
    # (The first load of the app's code on a busy machine can take a while.)
    page.get_by_test_id("palette-item-http").wait_for(timeout=60_000)
    replace_yaml(page, text)


def test_renaming_a_node_rewrites_every_reference_and_keeps_comments(page: Page) -> None:
    open_document(page, RENAME_DOC)
    page.get_by_test_id("node-fetch").wait_for()
    page.get_by_test_id("node-fetch").click()
    field = page.get_by_test_id("field-id")
    field.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("get_user")
    page.keyboard.press("Enter")
    page.get_by_test_id("node-get_user").wait_for()
    wait_for_yaml(page, r"compensates: get_user")
    text = yaml_text(page)
    assert "nodes.fetch" not in text and "nodes['fetch']" not in text
    assert '{{ nodes.get_user.output.status == 200 }}' in text
    assert "{{ nodes.get_user.output.body.name }}" in text
    assert "{{ nodes['get_user'].output.body }}" in text
    assert "# Fetch the user first." in text and "# the user's name" in text and "# main path" in text
    assert "{from: get_user, to: shape}" in text
    # Validation finds no dangling reference after the rename.
    page.wait_for_function(
        "() => !(document.querySelector('[data-testid=problems]')?.innerText || '').includes('fetch')")
    shot(page, "h4-rename-1440")
    # Undo brings every reference back at once.
    page.get_by_test_id("undo").click()
    wait_for_yaml(page, r"compensates: fetch\}")
    assert "{{ nodes.fetch.output.body.name }}" in yaml_text(page)


ADD_DOC = """apiVersion: mbflow/v1
kind: Workflow
metadata: {name: e2e-add}
spec:
  nodes:
    - id: check
      type: condition
      config: {expression: "{{ input.ok }}"}
      position: {x: 80, y: 120}
  edges: []
"""


def box_of(page: Page, test_id: str) -> dict[str, float]:
    box = page.get_by_test_id(test_id).bounding_box()
    assert box, test_id
    return box


def apart(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
            or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


@pytest.mark.parametrize("size", [(1440, 900), (1280, 800)])
def test_nodes_are_added_from_a_nodes_plus_and_from_the_palette_by_keyboard(page: Page, size: tuple[int, int]) -> None:
    width, height = size
    open_document(page, ADD_DOC, width, height)
    page.get_by_test_id("node-check").click()
    # The "+" after the `true` output opens a searchable picker; Enter adds the first match.
    page.get_by_test_id("add-after-check-true").click()
    expect(page.get_by_test_id("node-picker-search")).to_be_focused()
    page.keyboard.type("log")
    shot(page, f"h4-node-picker-{width}")
    page.keyboard.press("Enter")
    page.get_by_test_id("node-log").wait_for()
    wait_for_yaml(page, r'\{from: check, to: log, port: "true"\}')
    expect(page.get_by_test_id("node-picker")).to_have_count(0)
    # The new node is selected, right of the condition, and has its own "+": arrows and a click.
    page.get_by_test_id("add-after-log").click()
    expect(page.get_by_test_id("node-picker-search")).to_be_focused()
    shot(page, f"h4-node-picker-2-{width}")
    page.keyboard.type("trans")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    page.get_by_test_id("node-transform").wait_for()
    wait_for_yaml(page, r"\{from: log, to: transform\}")
    # Added past the edge of the view, it is brought into view (the view pans there, animated:
    # waited for until the node's right edge is inside the canvas, then checked still).
    page.wait_for_function(
        """() => {
            const canvas = document.querySelector('[data-testid=canvas]').getBoundingClientRect();
            const node = document.querySelector('[data-testid=node-transform]').getBoundingClientRect();
            return node.right <= canvas.right + 1;
        }""",
        timeout=WAIT_MS,
    )
    wait_until_still(page, "transform")
    canvas = box_of(page, "canvas")
    added = box_of(page, "node-transform")
    assert added["x"] + added["width"] <= canvas["x"] + canvas["width"] + 1

    # The palette from the keyboard: Enter in the search adds the first match...
    search = page.get_by_test_id("palette-search")
    search.click()
    page.keyboard.type("http")
    page.keyboard.press("Enter")
    page.get_by_test_id("node-http").wait_for()
    # ...and a focused item is added with Enter.
    search.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("delay")
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("palette-item-delay")).to_be_focused()
    page.keyboard.press("Enter")
    page.get_by_test_id("node-delay").wait_for()

    # Double-clicking an item again and again never stacks the nodes on top of each other.
    search.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    for n in (1, 2, 3):
        page.get_by_test_id("palette-item-noop").dblclick()
        page.get_by_test_id("node-noop" if n == 1 else f"node-noop_{n}").wait_for()
    ids = ["check", "log", "transform", "http", "delay", "noop", "noop_2", "noop_3"]
    # Everything in view (F fits the view), then no two nodes overlap and each "+" went right.
    page.keyboard.press("Escape")
    page.keyboard.press("f")
    wait_until_still(page, *ids)
    boxes = {i: box_of(page, f"node-{i}") for i in ids}
    assert boxes["log"]["x"] > boxes["check"]["x"] + boxes["check"]["width"]
    assert boxes["transform"]["x"] > boxes["log"]["x"] + boxes["log"]["width"]
    for a in ids:
        for b in ids:
            if a < b:
                assert apart(boxes[a], boxes[b]), f"{a} and {b} overlap"
    shot(page, f"h4-added-nodes-{width}")


def test_a_node_dropped_on_the_minimap_lands_beside_it(page: Page) -> None:
    open_document(page, ADD_DOC)
    page.get_by_test_id("node-check").wait_for()
    minimap = page.locator(".react-flow__minimap").bounding_box()
    canvas = box_of(page, "canvas")
    assert minimap
    page.get_by_test_id("palette-item-log").hover()
    page.mouse.down()
    page.mouse.move(minimap["x"] + minimap["width"] - 10, minimap["y"] + minimap["height"] - 10, steps=10)
    page.mouse.up()
    page.get_by_test_id("node-log").wait_for()
    node = box_of(page, "node-log")
    assert apart(node, minimap), (node, minimap)
    assert node["x"] + node["width"] <= canvas["x"] + canvas["width"]
    assert node["y"] + node["height"] <= canvas["y"] + canvas["height"]
    shot(page, "h4-dropped-in-corner-1440")


LAYOUT_DOC = """apiVersion: mbflow/v1
kind: Workflow
metadata: {name: e2e-layout}
spec:
  nodes:
    - {id: start, type: noop, position: {x: 0, y: 0}}
    - {id: check, type: condition, config: {expression: "{{ input.ok }}"}, position: {x: 0, y: 300}}
    - {id: on_false, type: log, config: {message: no}, position: {x: 40, y: 40}}
    - {id: on_true, type: log, config: {message: yes}, position: {x: 60, y: 60}}
    - {id: after, type: http, config: {url: "https://example.com"}, position: {x: 80, y: 80}}
  edges:
    - {from: start, to: check}
    - {from: check, to: on_false, port: "false"}
    - {from: check, to: on_true, port: "true"}
    - {from: on_true, to: after}
"""


def test_auto_layout_uses_real_sizes_and_keeps_a_conditions_branches_in_port_order(page: Page) -> None:
    open_document(page, LAYOUT_DOC)
    page.get_by_test_id("node-after").wait_for()
    page.get_by_test_id("auto-layout").click()
    wait_for_yaml(page, r"id: after.*position: \{x: (?!80,)")
    ids = ["start", "check", "on_false", "on_true", "after"]
    page.wait_for_function(
        """(ids) => { const b = ids.map((i) =>
          document.querySelector(`[data-testid=node-${i}]`)?.getBoundingClientRect());
        return b.every(Boolean) && b[3].top < b[2].top && b[1].left > b[0].right; }""", arg=ids)
    boxes = {i: box_of(page, f"node-{i}") for i in ids}
    for a in ids:
        for b in ids:
            if a < b:
                assert apart(boxes[a], boxes[b]), f"{a} and {b} overlap"
    # The branches leave the condition to the right, the true one above the false one.
    assert boxes["on_true"]["x"] > boxes["check"]["x"] + boxes["check"]["width"]
    shot(page, "h4-auto-layout-1440")


def big_document(count: int) -> str:
    lines = ["apiVersion: mbflow/v1", "kind: Workflow", "metadata: {name: e2e-big}", "spec:", "  nodes:"]
    for n in range(count):
        lines.append(f"    - {{id: n_{n}, type: noop, position: {{x: {(n // 12) * 320}, y: {(n % 12) * 130}}}}}")
    lines.append("  edges:")
    for n in range(count - 1):
        if (n + 1) % 12:
            lines.append(f"    - {{from: n_{n}, to: n_{n + 1}}}")
    return "\n".join(lines) + "\n"


def test_fit_view_shows_a_300_node_drawing_whole_and_ctrl_f_finds_a_node(page: Page) -> None:
    open_document(page, big_document(300))
    page.get_by_test_id("node-n_0").wait_for()
    canvas = box_of(page, "canvas")
    page.mouse.click(canvas["x"] + 30, canvas["y"] + 30)  # the canvas pane, so the keys are the designer's
    page.keyboard.press("f")
    page.wait_for_function(
        """(c) => { const nodes = [...document.querySelectorAll('.react-flow__node')];
        return nodes.length === 300 && nodes.every((n) => { const r = n.getBoundingClientRect();
          return r.left >= c.x - 1 && r.top >= c.y - 1
            && r.right <= c.x + c.width + 1 && r.bottom <= c.y + c.height + 1; }); }""",
        arg=canvas)
    shot(page, "h4-fit-300-1440")
    page.keyboard.press("Control+f")
    page.get_by_test_id("find-node-input").wait_for()
    page.keyboard.type("n_287")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("find-node-count")).to_have_text("1 of 1")
    expect(page.locator(".wf-node.is-selected")).to_have_count(1)
    page.wait_for_function(
        """(c) => { const n = document.querySelector('[data-testid=node-n_287]'); if (!n) return false;
        const r = n.getBoundingClientRect(); const mx = (r.left + r.right) / 2, my = (r.top + r.bottom) / 2;
        return Math.abs(mx - (c.x + c.width / 2)) < 40 && Math.abs(my - (c.y + c.height / 2)) < 40; }""", arg=canvas)
    expect(page.get_by_test_id("node-n_287")).to_have_class(re.compile(r"is-selected"))
    shot(page, "h4-find-node-1440")
    page.keyboard.press("Control+f")  # open already: what it holds is selected, and typing replaces it
    page.keyboard.type("n_123")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("find-node-input")).to_have_value("n_123")
    expect(page.get_by_test_id("find-node-count")).to_have_text("1 of 1")
    expect(page.get_by_test_id("node-n_123")).to_have_class(re.compile(r"is-selected"))
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("find-node")).to_have_count(0)


ROLES_DOC = """apiVersion: mbflow/v1
kind: Workflow
metadata: {name: e2e-roles}
spec:
  nodes:
    - id: charge
      type: http
      config: {url: "https://pay.example.com/charge"}
      fallback: charge_later
      position: {x: 40, y: 40}
    - id: charge_later
      type: log
      config: {message: queued}
      position: {x: 40, y: 330}
    - id: ship
      type: log
      when: "{{ nodes.charge.output.status == 200 }}"
      config: {message: ship}
      position: {x: 420, y: 40}
    - {id: refund, type: log, config: {message: refund}, position: {x: 420, y: 330}}
    - {id: notify, type: log, config: {message: sorry}, position: {x: 800, y: 330}}
  edges:
    - {from: charge, to: ship}
  compensation: [{node: refund, compensates: charge}]
"""


def drag_between(page: Page, source_handle: str, target: str) -> None:
    start = page.locator(source_handle).bounding_box()
    end = page.locator(f"[data-testid=node-{target}] .react-flow__handle.handle-in").bounding_box()
    assert start and end
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + 4, end["y"] + 4, steps=12)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=4)
    page.mouse.up()


@pytest.mark.parametrize("size", [(1440, 900), (1280, 800)])
def test_fallback_compensation_and_when_are_drawn_and_can_be_drawn(page: Page, size: tuple[int, int]) -> None:
    width, height = size
    open_document(page, ROLES_DOC, width, height)
    page.get_by_test_id("node-charge").wait_for()
    page.get_by_role("button", name="Fit view").first.click()
    page.get_by_test_id("node-notify").wait_for()
    wait_until_still(page, "charge", "ship", "notify", "refund")
    # What the YAML says outside `edges` is on the canvas: the fallback, the compensation, `when`.
    expect(page.locator(".react-flow__edge.edge-fallback")).to_have_count(1)
    expect(page.locator(".react-flow__edge.edge-compensation")).to_have_count(1)
    expect(page.get_by_test_id("node-when-ship")).to_contain_text("when nodes.charge.output.status == 200")
    expect(page.locator(".react-flow__edge.edge-fallback")).to_contain_text("fallback")
    shot(page, f"h4-roles-drawn-{width}")

    # Drawn by hand: in the Compensation mode, a connection from ship to notify adds a step.
    page.get_by_test_id("connect-mode-compensation").click()
    drag_between(page, "[data-testid=node-ship] .react-flow__handle.handle-success", "notify")
    wait_for_yaml(page, r"\{node: notify, compensates: ship\}")
    expect(page.locator(".react-flow__edge.edge-compensation")).to_have_count(2)
    expect(page.get_by_test_id("connect-mode-edge")).to_have_attribute("aria-pressed", "true")
    assert "{from: ship, to: notify}" not in yaml_text(page)

    # In the Fallback mode, from ship to refund: ship's fallback.
    page.get_by_test_id("connect-mode-fallback").click()
    drag_between(page, "[data-testid=node-ship] .react-flow__handle.handle-success", "refund")
    wait_for_yaml(page, r"fallback: refund")
    expect(page.locator(".react-flow__edge.edge-fallback")).to_have_count(2)
    shot(page, f"h4-roles-drawn-by-hand-{width}")

    # A fallback link is selected with a click and removed with Delete.
    point = page.evaluate(
        """() => { const path = document.querySelector('.react-flow__edge.edge-fallback .react-flow__edge-path');
        const p = path.getPointAtLength(path.getTotalLength() * 0.3).matrixTransform(path.getScreenCTM());
        return {x: p.x, y: p.y}; }""")
    page.mouse.click(point["x"], point["y"])
    expect(page.locator(".react-flow__edge.edge-fallback.selected")).to_have_count(1)
    page.keyboard.press("Delete")
    expect(page.locator(".react-flow__edge.edge-fallback")).to_have_count(1)
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=yaml-editor] .cm-content').innerText.match(/fallback:/g) || [])"
        ".length === 1")
