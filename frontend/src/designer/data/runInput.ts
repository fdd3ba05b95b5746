/**
 * The checks of a run's input against the workflow's `input_schema` that are shown at the fields
 * of the Run dialog: the required inputs left empty (before asking the server), and the server's
 * own refusal (`invalid_input`, `details.errors[].path`) turned into messages by field.
 */
import type { JsonSchema } from "../../api/types";

export const REQUIRED_MESSAGE = "Required: give a value to run the workflow.";

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === "string" && value.trim() === "");
}

/** The required fields left empty, by dotted path, in the form's order (nested objects included). */
export function missingInputs(schema: JsonSchema | null | undefined, input: unknown, prefix: string[] = []): Record<string, string> {
  const missing: Record<string, string> = {};
  if (!schema?.properties) return missing;
  const value = input && typeof input === "object" && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  const required = new Set(schema.required ?? []);
  for (const [key, sub] of Object.entries(schema.properties)) {
    const path = [...prefix, key];
    if (required.has(key) && isEmpty(value[key])) {
      missing[path.join(".")] = REQUIRED_MESSAGE;
    } else if (sub && typeof sub === "object" && sub.properties && value[key] !== undefined) {
      Object.assign(missing, missingInputs(sub, value[key], path));
    }
  }
  return missing;
}

interface ServerInputError {
  path?: string;
  message?: string;
}

/**
 * The server's input errors by field: `/email` → `email`, `/address/city` → `address.city`, and a
 * missing property (`'email' is a required property` at `/`) at the field it names. What names no
 * field stays under the form (key `form`).
 */
export function inputErrorsFromServer(details: Record<string, unknown> | undefined, message: string): Record<string, string> {
  const listed = Array.isArray(details?.errors) ? (details!.errors as ServerInputError[]) : [];
  const byField: Record<string, string> = {};
  for (const error of listed) {
    const text = String(error.message ?? "");
    const parts = String(error.path ?? "/").split("/").filter(Boolean);
    const named = /^'([^']+)' is a required property$/.exec(text);
    if (named) {
      const key = [...parts, named[1]].join(".");
      byField[key] ??= REQUIRED_MESSAGE;
    } else if (parts.length) {
      byField[parts.join(".")] ??= text;
    }
  }
  if (!Object.keys(byField).length) byField.form = message;
  return byField;
}
