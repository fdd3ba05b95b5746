import { act, fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import type { Execution } from "../api/types";
import { ExecutionsPage } from "./ExecutionsPage";

type Listing = { results: Execution[]; next: string | null; previous: string | null; count?: number };

const pending: { query: Record<string, unknown>; resolve: (answer: Listing) => void }[] = [];

vi.mock("../api/client", async (original) => ({
  ...(await original<typeof import("../api/client")>()),
  api: {
    listExecutions: (query: Record<string, unknown>) => new Promise<Listing>((resolve) => pending.push({ query, resolve })),
    listWorkflows: () => Promise.resolve({ results: [], count: 0, next: null, previous: null }),
  },
}));

// No socket in jsdom: the feed stays "connecting", which is all this test needs.
vi.mock("../lib/liveSocket", async (original) => ({
  ...(await original<typeof import("../lib/liveSocket")>()),
  LiveSocket: class {
    start() {
      return this;
    }
    close() {}
  },
}));

function run(id: string, status: string): Execution {
  return { id, status, workflow: { id: "w1", name: "orders" }, trigger: { type: "api" }, created_at: "2026-12-07T10:00:00Z", started_at: "2026-12-07T10:00:00Z", finished_at: "2026-12-07T10:00:01Z" };
}

describe("the executions list", () => {
  beforeEach(() => pending.splice(0));

  it("shows the newest filter's answer when an older one comes back after it", async () => {
    render(
      <MemoryRouter initialEntries={["/executions"]}>
        <Routes>
          <Route path="/executions" element={<ExecutionsPage />} />
        </Routes>
      </MemoryRouter>,
    );
    expect(pending).toHaveLength(1);
    fireEvent.change(screen.getByTestId("filter-status"), { target: { value: "failed" } });
    expect(pending).toHaveLength(2);
    expect(pending[1].query).toMatchObject({ status: "failed" });

    // The filtered answer first, then the first (unfiltered) load's, late.
    await act(async () => pending[1].resolve({ results: [run("bad", "failed")], next: null, previous: null }));
    await act(async () => pending[0].resolve({ results: [run("good", "succeeded"), run("bad", "failed")], next: null, previous: null }));

    expect(screen.getByTestId("execution-row-bad")).toBeInTheDocument();
    expect(screen.queryByTestId("execution-row-good")).not.toBeInTheDocument();
  });
});
