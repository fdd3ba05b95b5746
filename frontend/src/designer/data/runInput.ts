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

const FORMATS: Record<string, string> = {
  email: "Not an e-mail address.",
  "idn-email": "Not an e-mail address.",
  uri: "Not a web address (https://…).",
  date: "Not a date (YYYY-MM-DD).",
  "date-time": "Not a date and time (YYYY-MM-DDThh:mm:ssZ).",
  time: "Not a time (hh:mm:ss).",
  uuid: "Not a UUID.",
  ipv4: "Not an IPv4 address.",
};

const TYPES: Record<string, string> = {
  integer: "a whole number",
  number: "a number",
  string: "text",
  boolean: "yes or no",
  array: "a list",
  object: "an object",
};

/** A JSON Schema validator's message in words for people: "'ada' is not a 'email'" → "Not an e-mail address." */
export function friendlyInputMessage(message: string): string {
  let match = /is not a '([\w-]+)'$/.exec(message);
  if (match) return FORMATS[match[1]] ?? `Not a valid ${match[1]}.`;
  match = /is not of type '(\w+)'/.exec(message);
  if (match) return `Must be ${TYPES[match[1]] ?? match[1]}.`;
  match = /is not one of \[(.*)\]$/.exec(message);
  if (match) return `Must be one of: ${match[1].replace(/'/g, "")}.`;
  match = /is less than the minimum of (\S+)$/.exec(message);
  if (match) return `Must be at least ${match[1]}.`;
  match = /is greater than the maximum of (\S+)$/.exec(message);
  if (match) return `Must be at most ${match[1]}.`;
  if (/should be non-empty|is too short$/.test(message)) return "Too short.";
  if (/is too long$/.test(message)) return "Too long.";
  if (/does not match '/.test(message)) return "Not in the expected form.";
  return message;
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
      byField[parts.join(".")] ??= friendlyInputMessage(text);
    }
  }
  if (!Object.keys(byField).length) byField.form = message;
  return byField;
}
