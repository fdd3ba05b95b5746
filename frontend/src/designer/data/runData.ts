/**
 * The run whose data the panel shows (the designer's current run, else the workflow's last one)
 * and the pinned data of the open workflow, shared by the data panel, autocomplete and test runs.
 */
import { useEffect } from "react";
import { create } from "zustand";
import { api } from "../../api/client";
import type { Execution } from "../../api/types";
import { useDesigner } from "../store";
import { secretNames } from "./api";
import { loadPinned, savePinned, type Pinned } from "./storage";

interface DataState {
  workflow: string;
  execution: Execution | null;
  pinned: Pinned;
  /** The tenant's secret names, for autocomplete (null until read). */
  secrets: string[] | null;
  load(workflow: string): void;
  setExecution(execution: Execution | null): void;
  pin(nodeId: string, output: unknown): void;
  unpin(nodeId: string): void;
}

export const useDataStore = create<DataState>()((set, get) => ({
  workflow: "",
  execution: null,
  pinned: {},
  secrets: null,
  load(workflow) {
    if (get().workflow === workflow) return;
    set({ workflow, execution: null, pinned: loadPinned(workflow) });
  },
  setExecution(execution) {
    set({ execution });
  },
  pin(nodeId, output) {
    const pinned = { ...get().pinned, [nodeId]: output };
    savePinned(get().workflow, pinned);
    set({ pinned });
  },
  unpin(nodeId) {
    const pinned = { ...get().pinned };
    delete pinned[nodeId];
    savePinned(get().workflow, pinned);
    set({ pinned });
  },
}));

/** Keeps the shown run's detail current: the designer's run when there is one, else the last run. */
export function useRunData(workflowKey: string, workflowId: string | undefined): void {
  const executionId = useDesigner((s) => s.run?.executionId);
  const status = useDesigner((s) => s.run?.status);
  useEffect(() => useDataStore.getState().load(workflowKey), [workflowKey]);
  useEffect(() => {
    if (useDataStore.getState().secrets !== null) return;
    useDataStore.setState({ secrets: [] });
    void secretNames().then((secrets) => useDataStore.setState({ secrets }));
  }, []);
  useEffect(() => {
    let cancelled = false;
    const fetchIt = async () => {
      try {
        let id = executionId;
        if (!id && workflowId) id = (await api.lastExecution(workflowId))?.id;
        if (!id) return;
        const execution = await api.getExecution(id);
        if (!cancelled) useDataStore.getState().setExecution(execution);
      } catch {
        /* no data to show: the panel says so */
      }
    };
    void fetchIt();
    return () => {
      cancelled = true;
    };
  }, [executionId, status, workflowId]);
}
