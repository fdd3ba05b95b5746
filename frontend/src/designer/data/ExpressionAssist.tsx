/**
 * Autocomplete and live preview for every expression field inside it (the schema form's text
 * fields): typing after `{{` (or Ctrl+Space) offers the names of the context and the keys of the data one level down (from the
 * last run, pinned data, and known output shapes) in a list picked with the arrows and Enter/Tab
 * or the mouse; below a field holding an expression, its value on that data
 * (POST /expressions/evaluate, sandboxed on the server).
 */
import { useEffect, useRef, useState, type DragEvent, type KeyboardEvent, type ReactNode } from "react";
import { evaluateExpression } from "./api";
import { applyCompletion, completionsAt, type CompletionResult } from "./paths";

type Field = HTMLInputElement | HTMLTextAreaElement;

const FIELD_SELECTOR = ".text-input input, .text-input textarea";

function isField(target: EventTarget | null): target is Field {
  return target instanceof HTMLElement && target.matches(FIELD_SELECTOR);
}

/** Sets a React-controlled field's value as typing would (the change reaches its onChange). */
function typeInto(field: Field, text: string) {
  const proto = field instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, "value")!.set!.call(field, text);
  field.dispatchEvent(new Event("input", { bubbles: true }));
}

interface Preview {
  state: "idle" | "busy" | "ok" | "error";
  text: string;
}

export function ExpressionAssist({ context, children }: { context: Record<string, unknown>; children: ReactNode }) {
  const box = useRef<HTMLDivElement>(null);
  const [field, setField] = useState<Field | null>(null);
  const [result, setResult] = useState<CompletionResult | null>(null);
  const [active, setActive] = useState(0);
  const [top, setTop] = useState(0);
  const [value, setValue] = useState("");
  const [preview, setPreview] = useState<Preview>({ state: "idle", text: "" });
  const contextRef = useRef(context);
  contextRef.current = context;

  const place = (el: Field) => {
    if (!box.current) return;
    const outer = box.current.getBoundingClientRect();
    const rect = el.getBoundingClientRect();
    setTop(rect.bottom - outer.top + box.current.scrollTop + 2);
  };

  /** Follows the field; `suggest`: offer completions (after typing, or Ctrl+Space), else close them. */
  const refresh = (el: Field, suggest = false) => {
    setField(el);
    setValue(el.value);
    place(el);
    setResult(suggest ? completionsAt(el.value, el.selectionStart ?? el.value.length, contextRef.current) : null);
    setActive(0);
  };

  // The preview follows the field's value, a moment after typing stops.
  useEffect(() => {
    if (!field || !value.includes("{{")) {
      setPreview({ state: "idle", text: "" });
      return;
    }
    setPreview((p) => ({ ...p, state: "busy" }));
    let stale = false;
    const { secrets: _secrets, ...sent } = contextRef.current;
    const timer = setTimeout(() => {
      evaluateExpression({ expression: value, context: sent })
        .then((answer) => !stale && setPreview({ state: "ok", text: JSON.stringify(answer.value) }))
        .catch((error: Error) => !stale && setPreview({ state: "error", text: error.message }));
    }, 300);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [field, value]);

  const choose = (index: number) => {
    if (!field || !result) return;
    const next = applyCompletion(field.value, result, result.items[index]);
    typeInto(field, next.text);
    const el = field;
    // The caret goes after the completion at once, so keys typed next land there; once React
    // has rendered, again only if nothing was typed since (a later key must not be overtaken).
    el.setSelectionRange(next.caret, next.caret);
    requestAnimationFrame(() => {
      if (el.value === next.text) el.setSelectionRange(next.caret, next.caret);
      refresh(el, true);
    });
  };

  /** A field dragged from the data panel: its expression goes in at the caret (else at the end). */
  const onDrop = (event: DragEvent) => {
    const target = event.target;
    const text = event.dataTransfer.getData("text/plain");
    if (!text.startsWith("{{") || !(target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement)) return;
    event.preventDefault();
    const focused = document.activeElement === target;
    const from = focused ? (target.selectionStart ?? target.value.length) : target.value.length;
    const to = focused ? (target.selectionEnd ?? from) : from;
    const next = target.value.slice(0, from) + text + target.value.slice(to);
    typeInto(target, next);
    target.focus();
    const caret = from + text.length;
    target.setSelectionRange(caret, caret);
    requestAnimationFrame(() => {
      if (target.value === next) target.setSelectionRange(caret, caret);
      if (isField(target)) refresh(target);
    });
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === " " && event.ctrlKey && isField(event.target)) {
      event.preventDefault();
      refresh(event.target, true);
      return;
    }
    if (!result || !isField(event.target)) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      setActive((i) => (i + step + result.items.length) % result.items.length);
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      event.stopPropagation();
      choose(active);
    } else if (event.key === "Escape") {
      event.stopPropagation();
      setResult(null);
    }
  };

  return (
    <div
      className="expr-assist"
      ref={box}
      onFocus={(e) => isField(e.target) && refresh(e.target)}
      onInput={(e) => isField(e.target) && refresh(e.target, true)}
      onClick={(e) => isField(e.target) && refresh(e.target)}
      onKeyUp={(e) => isField(e.target) && (e.key === "ArrowLeft" || e.key === "ArrowRight" || e.key === "Home" || e.key === "End") && refresh(e.target)}
      onKeyDownCapture={onKeyDown}
      onDragOver={(e) => {
        if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) {
          e.preventDefault();
          e.dataTransfer.dropEffect = "copy";
        }
      }}
      onDrop={onDrop}
      onBlur={(e) => {
        if (!box.current?.contains(e.relatedTarget as Node | null)) {
          setResult(null);
          setField(null);
        }
      }}
    >
      {children}
      {field && (result || preview.state !== "idle") && (
        <div className="expr-popup" style={{ top }} data-testid="expression-assist">
          {result && (
            <ul className="expr-completions" role="listbox" data-testid="expression-completions">
              {result.items.map((item, index) => (
                <li
                  key={item.label}
                  role="option"
                  aria-selected={index === active}
                  className={index === active ? "active" : ""}
                  onMouseDown={(e) => {
                    e.preventDefault();
                    choose(index);
                  }}
                  data-testid={`completion-${item.label}`}
                >
                  <span className="mono">{item.label}</span>
                  <span className="muted small">{item.detail}</span>
                </li>
              ))}
            </ul>
          )}
          {preview.state !== "idle" && (
            <div className={`expr-preview ${preview.state}`} data-testid="expression-preview">
              <span className="muted small">{preview.state === "error" ? "Error" : "Preview"}</span>{" "}
              <span className="mono">{preview.state === "busy" && !preview.text ? "…" : preview.text}</span>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
