/**
 * A fast first reading of a workflow text, for the first drawing of a big workflow.
 *
 * The `yaml` library, whose Document canvas edits need, reads a 120 KB workflow in 250–350 ms
 * when the page has just started; js-yaml reads the same text to the same plain data in about a
 * fifth of that. So a workflow is first drawn from js-yaml's reading, and the `yaml` Document is
 * parsed when the page is idle; that parse is then checked against this reading (LiveWorkflow
 * reads the text again if they ever differ), so the `yaml` library stays the one that decides.
 */
import { load } from "js-yaml";

/**
 * The plain data of `text` (YAML 1.2 core schema, as the `yaml` library reads it); undefined when
 * js-yaml refuses it: a syntax error, a duplicate key, an alias (an item that leans on another
 * cannot be read on its own later, see ./chunks), an empty text, several documents.
 */
export function quickData(text: string): { value: unknown } | undefined {
  try {
    return { value: load(text, { maxAliases: 0 }) };
  } catch {
    return undefined;
  }
}
