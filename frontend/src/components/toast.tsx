import { create } from "zustand";
import { AlertCircle, CheckCircle2, Info, X } from "lucide-react";
import { ApiError } from "../api/client";

export type ToastKind = "error" | "success" | "info";

interface Toast {
  id: number;
  kind: ToastKind;
  message: string;
}

interface ToastState {
  toasts: Toast[];
  push(kind: ToastKind, message: string): void;
  dismiss(id: number): void;
}

let nextId = 1;

export const useToasts = create<ToastState>()((set, get) => ({
  toasts: [],
  push(kind, message) {
    const id = nextId++;
    set({ toasts: [...get().toasts.slice(-4), { id, kind, message }] });
    window.setTimeout(() => get().dismiss(id), kind === "error" ? 8000 : 4000);
  },
  dismiss(id) {
    set({ toasts: get().toasts.filter((t) => t.id !== id) });
  },
}));

export const toast = {
  error: (message: string) => useToasts.getState().push("error", message),
  success: (message: string) => useToasts.getState().push("success", message),
  info: (message: string) => useToasts.getState().push("info", message),
  /** Shows the API's `error.message` (or the thrown error's text). */
  fromError: (error: unknown, prefix?: string) => {
    const message = error instanceof ApiError ? withWhere(error) : error instanceof Error ? error.message : String(error);
    useToasts.getState().push("error", prefix ? `${prefix}: ${message}` : message);
  },
};

/** The API's message with where it points: a YAML line, or the fields a body got wrong. */
export function withWhere(error: ApiError): string {
  const { line, column, fields } = error.details as { line?: unknown; column?: unknown; fields?: unknown };
  if (typeof line === "number" && !error.message.includes(`line ${line}`)) {
    return `${error.message} (line ${line}${typeof column === "number" ? `, column ${column}` : ""})`;
  }
  if (fields && typeof fields === "object") {
    const named = Object.entries(fields as Record<string, unknown>)
      .slice(0, 3)
      .map(([field, problems]) => `${field}: ${Array.isArray(problems) ? problems.join(" ") : String(problems)}`);
    if (named.length) return `${error.message} ${named.join("; ")}`;
  }
  return error.message;
}

const ICONS = { error: AlertCircle, success: CheckCircle2, info: Info };

export function Toaster() {
  const toasts = useToasts((s) => s.toasts);
  const dismiss = useToasts((s) => s.dismiss);
  return (
    <div className="toaster" aria-live="polite">
      {toasts.map((t) => {
        const Icon = ICONS[t.kind];
        return (
          <div key={t.id} className={`toast toast-${t.kind}`} role={t.kind === "error" ? "alert" : "status"} data-testid={`toast-${t.kind}`}>
            <Icon size={16} />
            <span>{t.message}</span>
            <button className="icon-button" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
              <X size={14} />
            </button>
          </div>
        );
      })}
    </div>
  );
}
