/**
 * The designer's work kept on the server outside versions (docs/api.md, drafts):
 * - `/workflows/{id}/pinned`: the pinned sample outputs of a workflow's nodes, shared by the
 *   tenant's editors, sent with test runs only;
 * - `/drafts/new`: the user's new workflow not created yet (text, template, pinned data), so that
 *   reopening New workflow after a reload brings the work back.
 */
import { ApiError, csrfToken } from "../api/client";

async function call<T>(method: "GET" | "PUT" | "DELETE", path: string, body?: unknown): Promise<T | null> {
  let response: Response;
  try {
    response = await fetch(`/api/v1/${path}`, {
      method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...(method === "GET" ? {} : { "X-CSRFToken": csrfToken() }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError("The server cannot be reached.", 0, "network_error");
  }
  if (response.status === 204) return null;
  const data = (await response.json().catch(() => null)) as { error?: { message?: string; code?: string; details?: Record<string, unknown> } } | null;
  if (!response.ok) {
    const envelope = data?.error;
    throw new ApiError(envelope?.message ?? `${method} ${path} failed (${response.status})`, response.status, envelope?.code ?? "http_error", envelope?.details ?? {});
  }
  return data as T;
}

export type PinnedNodes = Record<string, unknown>;

export interface CanvasDraft {
  yaml: string;
  template: string;
  pinned: PinnedNodes;
  updated_at: string;
}

/** The user's new workflow draft, or null when there is none (or the user may not keep one). */
export async function getCanvasDraft(): Promise<CanvasDraft | null> {
  try {
    return await call<CanvasDraft>("GET", "drafts/new/");
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 403)) return null;
    throw error;
  }
}

/** Saves the fields given (`yaml`, `template`, `pinned`) of the new workflow draft; the others stay. */
export async function saveCanvasDraft(fields: { yaml?: string; template?: string; pinned?: PinnedNodes }): Promise<CanvasDraft> {
  return (await call<CanvasDraft>("PUT", "drafts/new/", fields))!;
}

export async function discardCanvasDraft(): Promise<void> {
  await call("DELETE", "drafts/new/");
}

export async function getPinned(workflowId: string): Promise<PinnedNodes> {
  return (await call<{ nodes: PinnedNodes }>("GET", `workflows/${encodeURIComponent(workflowId)}/pinned/`))?.nodes ?? {};
}

export async function savePinnedNodes(workflowId: string, nodes: PinnedNodes): Promise<void> {
  await call("PUT", `workflows/${encodeURIComponent(workflowId)}/pinned/`, { nodes });
}

/** The pinned data of a workflow (`new`: of the new workflow draft), as the server keeps it. */
export async function readPinned(key: string): Promise<PinnedNodes> {
  if (key === "new") return (await getCanvasDraft())?.pinned ?? {};
  return getPinned(key);
}

export async function writePinned(key: string, nodes: PinnedNodes): Promise<void> {
  if (key === "new") await saveCanvasDraft({ pinned: nodes });
  else await savePinnedNodes(key, nodes);
}

/**
 * A new workflow was just created from the canvas: its pinned data moves to the workflow and the
 * new workflow draft is deleted.
 */
export async function adoptCanvasDraft(workflowId: string, pinned: PinnedNodes): Promise<void> {
  if (Object.keys(pinned).length) await savePinnedNodes(workflowId, pinned);
  await discardCanvasDraft();
}
