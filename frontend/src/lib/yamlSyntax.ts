/**
 * YAML highlighting for the editor: @codemirror/lang-yaml, with the blocks still open at the end
 * of the text closed there, so an edit re-parses what it touched and not the text's last section.
 *
 * After every change CodeMirror parses the text again before it draws (up to 20 ms of work),
 * reusing the syntax nodes the change did not touch. @lezer/yaml (1.0.x) lets the blocks open at
 * the end of the text end at the end of input without closing their indentation contexts. Every
 * node of the last top-level section (a workflow's `edges:`, a third of its text) then records the
 * innermost context (that of the last item), not the one it was parsed in, and the parser, which
 * reuses a node only in the context it records, reuses none of them: each edit parsed ~30 KB
 * again, 10–17 ms on a 500-node workflow, wherever it was made. Here the tokenizer that ends
 * blocks also ends them at the end of input (a zero-length block end for each, as a line with
 * less indentation would get): the same tree, with each node carrying its own context.
 *
 * A parse that stops before the end of the text leaves the same kind of nodes around the place it
 * stopped, and CodeMirror parses only so far ahead of what is shown (100,000 characters): on a big
 * workflow the tree ended in the middle of `edges:` and each edit parsed again from there. So the
 * rest of the text is parsed too, a slice at a time while the page is idle; the tree then reaches
 * the end of the text, and each edit's parse (which goes to the end) reuses it.
 * (And smaller flat buffers of nodes, see BUFFER_LENGTH: a change re-reads less after itself.)
 */
import { ensureSyntaxTree, LanguageSupport, LRLanguage, syntaxTreeAvailable } from "@codemirror/language";
import { ViewPlugin, type EditorView, type ViewUpdate } from "@codemirror/view";
import { yamlLanguage } from "@codemirror/lang-yaml";
import { ExternalTokenizer, type InputStream, type LRParser, type ParserConfig, type Stack } from "@lezer/lr";

/** The `blockEnd` term of @lezer/yaml 1.0's grammar (its generated `parser.terms`). */
const BLOCK_END = 63;

/**
 * Syntax nodes come in flat buffers of up to this many (1,024 by default), reused whole or not at
 * all: after a change the parser reads on to the next buffer's start. An edges item is ~10 nodes,
 * so a canvas edit that removes a few edges read ~3,000 characters after each; with 128, ~500.
 */
const BUFFER_LENGTH = 128;

/** The stock tokenizer that emits block ends at line starts (`newlines`), as the parser holds it. */
interface TokenizerInternals {
  token(input: InputStream, stack: Stack): void;
  contextual: boolean;
  fallback: boolean;
  extend: boolean;
}

/**
 * The parser configuration that makes `parser`'s line-start tokenizer also close every open block
 * at the end of input; null if the parser is not built as expected (then it is used as it is).
 */
export function closingBlocksAtEnd(parser: LRParser): ParserConfig | null {
  const tokenizers = (parser as unknown as { tokenizers?: unknown[] }).tokenizers;
  const newlines = tokenizers?.[0];
  if (!(newlines instanceof ExternalTokenizer)) return null;
  const stock = newlines as unknown as TokenizerInternals;
  if (typeof stock.token !== "function" || !stock.contextual) return null;
  const closing = new ExternalTokenizer(
    (input, stack) => {
      if (input.next === -1 && stack.canShift(BLOCK_END)) input.acceptToken(BLOCK_END);
      else stock.token(input, stack);
    },
    { contextual: stock.contextual, fallback: stock.fallback, extend: stock.extend },
  );
  const config = { tokenizers: [{ from: newlines, to: closing }], bufferLength: BUFFER_LENGTH };
  // The term is the grammar's own number: a grammar where it means something else draws another tree.
  return sameTree(parser, parser.configure(config), SAMPLE) ? config : null;
}

const SAMPLE = "a:\n  b:\n    - c: 1\n      d: [1, {e: 2}]\n    - |\n      text\n  f: 'g'\n";

/** Whether both parsers read `text` to the same nodes (types and ranges). */
export function sameTree(a: LRParser, b: LRParser, text: string): boolean {
  const nodes = (parser: LRParser) => {
    const out: string[] = [];
    parser.parse(text).iterate({ enter: (node) => void out.push(`${node.type.id}:${node.from}-${node.to}`) });
    return out.join(" ");
  };
  return nodes(a) === nodes(b);
}

const closing = closingBlocksAtEnd(yamlLanguage.parser);

/** The YAML language of the editor: lang-yaml's, its parser configured as above. */
export const editorYamlLanguage: LRLanguage = closing ? yamlLanguage.configure(closing) : yamlLanguage;

/** The longest slice of parsing done in one idle period. */
const PARSE_SLICE_MS = 8;

type IdleHandle = { cancel(): void };

function whenIdle(run: () => void): IdleHandle {
  if (typeof window.requestIdleCallback === "function") {
    const id = window.requestIdleCallback(run, { timeout: 5000 });
    return { cancel: () => window.cancelIdleCallback(id) };
  }
  const id = window.setTimeout(run, 50);
  return { cancel: () => window.clearTimeout(id) };
}

/** Parses the text to its end while the page is idle, whenever the tree stops short of it. */
export const parseToEndWhenIdle = ViewPlugin.fromClass(
  class {
    private pending: IdleHandle | null = null;

    constructor(private readonly view: EditorView) {
      this.schedule();
    }

    update(update: ViewUpdate) {
      if (update.docChanged) this.schedule();
    }

    destroy() {
      this.pending?.cancel();
      this.pending = null;
    }

    private schedule() {
      if (this.pending || syntaxTreeAvailable(this.view.state)) return;
      this.pending = whenIdle(() => {
        this.pending = null;
        const { state } = this.view;
        // (Moves the editor's own parse forward: the next change starts from the longer tree.)
        ensureSyntaxTree(state, state.doc.length, PARSE_SLICE_MS);
        this.schedule();
      });
    }
  },
);

/** In place of lang-yaml's `yaml()`. */
export function yamlSyntax(): LanguageSupport {
  return new LanguageSupport(editorYamlLanguage, [parseToEndWhenIdle]);
}
