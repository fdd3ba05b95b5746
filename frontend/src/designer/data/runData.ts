/**
 * The run whose data the panel shows (the designer's current run, else the workflow's last one)
 * and the pinned data of the open workflow, shared by the data panel, autocomplete and test runs.
 * Pinned data is read from and written to the server (per workflow; `new`: the new workflow draft).
 */
import { useEffect } from "react";
import { create } from "zustand";
import { api } from "../../api/client";
import type { Execution } from "../../api/types";
import { toast } from "../../components/toast";
import { readPinned, writePinned } from "../serverDrafts";
import { useDesigner } from "../store";
import { secretNames } from "./api";
import { forgetLegacyPinned, loadLegacyPinned, type Pinned } from "./storage";

interface DataState {
  workflow: string;
  execution: Execution | null;
  pinned: Pinned;
  /** Settles once the open workflow's pinned data has been read from the server. */
  ready: Promise<void>;
  /** The last write of pinned data to the server (writes go one after the other). */
  saving: Promise<void>;
  /** The tenant's secret names, for autocomplete (null until read). */
  secrets: string[] | null;
  load(workflow: string): Promise<void>;
  setExecution(execution: Execution | null): void;
  pin(nodeId: string, output: unknown): Promise<void>;
  unpin(nodeId: string): Promise<void>;
  /** Forgets the pinned data of `workflow` here (the server dropped it, e.g. with a discarded draft). */
  clearPinned(workflow: string): void;
  /** Opens `workflow` with the pinned data given, as known already (a new workflow: none, or its draft's). */
  reset(workflow: string, pinned: Pinned): void;
}

/** The server's pinned data of `workflow`, with what an older designer left in this browser moved there once. */
async function fetchPinned(workflow: string): Promise<Pinned> {
  const kept = await readPinned(workflow);
  const legacy = loadLegacyPinned(workflow);
  const moved = Object.keys(legacy).filter((id) => !(id in kept));
  if (!moved.length) {
    if (Object.keys(legacy).length) forgetLegacyPinned(workflow);
    return kept;
  }
  const merged = { ...legacy, ...kept };
  try {
    await writePinned(workflow, merged);
    forgetLegacyPinned(workflow);
  } catch {
    /* not moved (a viewer may not write): shown here as before, moved by the next editor's visit */
  }
  return merged;
}

export const useDataStore = create<DataState>()((set, get) => {
  const persist = (workflow: string, pinned: Pinned): Promise<void> => {
    const saving = get()
      .saving.catch(() => undefined)
      .then(() => writePinned(workflow, pinned))
      .catch((error) => toast.fromError(error, "The pinned data was not saved"));
    set({ saving });
    return saving;
  };
  return {
    workflow: "",
    execution: null,
    pinned: {},
    ready: Promise.resolve(),
    saving: Promise.resolve(),
    secrets: null,
    load(workflow) {
      if (get().workflow === workflow) return get().ready;
      const ready = fetchPinned(workflow)
        .then((pinned) => {
          if (get().workflow === workflow) set({ pinned });
        })
        .catch(() => {
          /* no pinned data to show: the panel offers to pin */
        });
      set({ workflow, execution: null, pinned: {}, ready });
      return ready;
    },
    setExecution(execution) {
      set({ execution });
    },
    pin(nodeId, output) {
      const pinned = { ...get().pinned, [nodeId]: output };
      set({ pinned });
      return persist(get().workflow, pinned);
    },
    unpin(nodeId) {
      const pinned = { ...get().pinned };
      delete pinned[nodeId];
      set({ pinned });
      return persist(get().workflow, pinned);
    },
    clearPinned(workflow) {
      if (get().workflow === workflow) set({ pinned: {} });
    },
    reset(workflow, pinned) {
      set({ workflow, execution: null, pinned, ready: Promise.resolve() });
    },
  };
});

/** Keeps the shown run's detail current: the designer's run when there is one, else the last run. */
export function useRunData(workflowKey: string, workflowId: string | undefined): void {
  const executionId = useDesigner((s) => s.run?.executionId);
  const status = useDesigner((s) => s.run?.status);
  useEffect(() => void useDataStore.getState().load(workflowKey), [workflowKey]);
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
