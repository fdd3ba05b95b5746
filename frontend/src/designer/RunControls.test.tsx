import { render, screen } from "@testing-library/react";
import { useSession } from "../components/session";
import { RunControls } from "./RunControls";
import { createDesignerStore, DesignerContext, type RunState } from "./store";

const YAML = "apiVersion: mbflow/v1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  nodes:\n    - {id: a, type: noop}\n";

function shown(run: RunState, role = "editor"): string[] {
  useSession.setState({ me: { username: "u", role, tenant: { id: "t", slug: "t", name: "T" }, tenants: [] } });
  const store = createDesignerStore(YAML);
  store.getState().setRun(run);
  const { unmount } = render(
    <DesignerContext.Provider value={store}>
      <RunControls />
    </DesignerContext.Provider>,
  );
  const buttons = screen.queryAllByRole("button").map((button) => button.dataset.testid ?? "");
  expect(screen.getByTestId("run-status")).toHaveTextContent(run.status);
  unmount();
  return buttons;
}

describe("the Run panel's controls", () => {
  it("shows the buttons the run's status allows, in order", () => {
    const run = (status: string): RunState => ({ executionId: "e1", status, nodes: {} });
    expect(shown(run("running"))).toEqual(["run-control-pause", "run-control-cancel"]);
    expect(shown(run("paused"))).toEqual(["run-control-resume", "run-control-cancel"]);
    expect(shown(run("failed"))).toEqual(["run-control-retry", "run-control-rerun"]);
    expect(shown(run("succeeded"))).toEqual(["run-control-rerun"]);
  });

  it("shows a viewer the run's status without controls", () => {
    expect(shown({ executionId: "e1", status: "running", nodes: {} }, "viewer")).toEqual([]);
  });
});
