import { useEffect, useRef, useState } from "react";
import { basicSetup } from "codemirror";
import { EditorView, keymap } from "@codemirror/view";
import { EditorState, Annotation } from "@codemirror/state";
import { indentWithTab } from "@codemirror/commands";
import { diagnosticCount, lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { diff } from "@codemirror/merge";
import { measureSince, timed } from "../lib/perf";
import { yamlSyntax } from "../lib/yamlSyntax";
import { useDesigner, useDesignerStoreApi } from "./store";

/** Marks a transaction that brings the store's text into the editor (not typed by the user). */
const fromStore = Annotation.define<boolean>();

export const REVEAL_LINE_EVENT = "mbflow:reveal-line";

export function revealLine(line: number) {
  window.dispatchEvent(new CustomEvent(REVEAL_LINE_EVENT, { detail: line }));
}

const theme = EditorView.theme({
  "&": { height: "100%", fontSize: "12.5px", backgroundColor: "var(--panel)" },
  ".cm-scroller": { fontFamily: "var(--mono)", lineHeight: "1.55" },
  ".cm-gutters": { backgroundColor: "var(--panel-2)", borderRight: "1px solid var(--border)", color: "#98a2b3" },
  ".cm-activeLine": { backgroundColor: "rgba(79,70,229,.05)" },
  ".cm-activeLineGutter": { backgroundColor: "rgba(79,70,229,.08)" },
  "&.cm-focused": { outline: "none" },
});

/** Past this many changed characters in a stretch, the diff settles for a coarser answer. */
const DIFF_SCAN_LIMIT = 2000;

/**
 * The replacements turning `from` into `to`, one for each changed stretch: the cursor and the
 * scroll stay put, and the editor re-reads (parses, measures, draws) only what changed. A canvas
 * edit often changes two far-apart places (a node's lines and, 5,000 lines further, its edges):
 * one replacement spanning both made the editor re-read everything in between.
 */
export function textChanges(from: string, to: string): { from: number; to: number; insert: string }[] {
  if (from === to) return [];
  return diff(from, to, { scanLimit: DIFF_SCAN_LIMIT }).map((c) => ({ from: c.fromA, to: c.toA, insert: to.slice(c.fromB, c.toB) }));
}

export function YamlPanel() {
  const store = useDesignerStoreApi();
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const externalRevision = useDesigner((s) => s.externalRevision);
  const issues = useDesigner((s) => s.issues);
  const warnings = useDesigner((s) => s.warnings);
  const parseProblems = useDesigner((s) => s.parseProblems);
  const [ready, setReady] = useState(false);

  useEffect(() => {
    // The editor is made once the canvas has been painted: on a big drawing, building it first
    // would hold the first picture of the canvas back.
    let cleanup: (() => void) | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = requestAnimationFrame(() => {
      timer = setTimeout(() => {
        cleanup = mountEditor();
        setReady(true);
      }, 0);
    });
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
      cleanup?.();
    };
  }, [store]);

  function mountEditor(): () => void {
    const editor = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: store.getState().text,
        extensions: [
          basicSetup,
          keymap.of([indentWithTab]),
          yamlSyntax(),
          lintGutter(),
          EditorView.lineWrapping,
          theme,
          EditorView.updateListener.of((update) => {
            if (!update.docChanged || update.transactions.some((t) => t.annotation(fromStore))) return;
            store.getState().setText(update.state.doc.toString(), "editor", "editor");
          }),
        ],
      }),
    });
    view.current = editor;
    // A change made elsewhere (canvas, form, undo) reaches the editor in the same task, without
    // waiting for React to render the canvas first.
    const takeStoreText = (wanted: string) => {
      const current = editor.state.doc.toString();
      if (current === wanted) return;
      timed("editor-apply", () => editor.dispatch({ changes: textChanges(current, wanted), annotations: fromStore.of(true) }));
      measureSince("text-changed→editor-updated", "text-changed");
    };
    const unsubscribe = store.subscribe((state, previous) => {
      if (state.externalRevision === previous.externalRevision) return;
      try {
        takeStoreText(state.text);
      } catch {
        // called while the editor is itself updating: take it right after
        queueMicrotask(() => takeStoreText(store.getState().text));
      }
    });
    takeStoreText(store.getState().text);
    const onReveal = (event: Event) => {
      const line = Math.max(1, Math.min((event as CustomEvent<number>).detail, editor.state.doc.lines));
      const at = editor.state.doc.line(line);
      editor.dispatch({ selection: { anchor: at.from, head: at.to }, effects: EditorView.scrollIntoView(at.from, { y: "center" }) });
    };
    window.addEventListener(REVEAL_LINE_EVENT, onReveal);
    return () => {
      unsubscribe();
      window.removeEventListener(REVEAL_LINE_EVENT, onReveal);
      editor.destroy();
      view.current = null;
    };
  }

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const doc = editor.state.doc;
    const at = (line: number | null | undefined, column: number | null | undefined) => {
      const l = doc.line(Math.max(1, Math.min(line ?? 1, doc.lines)));
      const from = Math.min(l.to, l.from + Math.max(0, (column ?? 1) - 1));
      return { from, to: Math.max(from, l.to) };
    };
    const diagnostics: Diagnostic[] = [
      ...parseProblems.map((p) => ({ ...at(p.line, p.column), severity: "error" as const, message: p.message, source: "YAML" })),
      ...issues
        .filter((i) => i.line)
        .map((i) => ({ ...at(i.line, i.column), severity: "error" as const, message: `${i.message} (${i.code})`, source: "MBFlow" })),
      ...warnings
        .filter((i) => i.line)
        .map((i) => ({ ...at(i.line, i.column), severity: "warning" as const, message: `${i.message} (${i.code})`, source: "MBFlow" })),
    ];
    // (None to show and none shown, as on opening: no transaction, and nothing to redraw.)
    if (diagnostics.length === 0 && diagnosticCount(editor.state) === 0) return;
    editor.dispatch(setDiagnostics(editor.state, diagnostics));
  }, [issues, warnings, parseProblems, externalRevision, ready]);

  return <div className="yaml-editor" data-testid="yaml-editor" ref={host} />;
}
