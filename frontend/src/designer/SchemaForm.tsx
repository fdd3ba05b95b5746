/**
 * A form generated from a JSON Schema: strings, numbers, enums, booleans, nested objects,
 * arrays, key/value maps, and expression fields whose `{{ }}` parts are highlighted.
 * Every change reports the path of the field and its new value; an emptied field reports
 * `undefined`, which the document edit turns into a removed key.
 */
import { createContext, memo, useContext, useEffect, useRef, useState, type ReactNode, type UIEvent } from "react";
import { ChevronDown, ChevronRight, Plus, Trash2 } from "lucide-react";
import type { JsonSchema } from "../api/types";
import "./schemaForm.css";

export type FieldPath = (string | number)[];
export type OnFieldChange = (path: FieldPath, value: unknown) => void;

interface FormProps {
  schema: JsonSchema;
  value: unknown;
  onChange: OnFieldChange;
  path?: FieldPath;
  nodeIds?: string[];
  /** Messages to show at their fields, by dotted path (`email`, `address.city`). */
  errors?: Record<string, string>;
}

/** The schema the `$ref`s point into (pydantic puts shared parts under `$defs`). */
const RootSchema = createContext<JsonSchema>({});

/** The form's field errors, by dotted path. */
const FieldErrors = createContext<Record<string, string>>({});

/** What a field's control carries when its field has an error: marked invalid, described by the message. */
function invalidProps(error: string | undefined, id: string): { "aria-invalid"?: true; "aria-describedby"?: string } {
  return error ? { "aria-invalid": true, "aria-describedby": `${id}-error` } : {};
}

/** Follows `$ref` and single-item `allOf`, keeping the outer title/description/default. */
export function resolveSchema(schema: JsonSchema, root: JsonSchema, depth = 0): JsonSchema {
  if (depth > 20) return schema;
  const ref = schema.$ref as string | undefined;
  if (ref && ref.startsWith("#/")) {
    const target = ref
      .slice(2)
      .split("/")
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], root) as JsonSchema | undefined;
    const { $ref: _ignored, ...rest } = schema;
    void _ignored;
    return resolveSchema({ ...(target ?? {}), ...rest }, root, depth + 1);
  }
  const allOf = schema.allOf as JsonSchema[] | undefined;
  if (allOf?.length === 1) {
    const { allOf: _all, ...rest } = schema;
    void _all;
    return resolveSchema({ ...allOf[0], ...rest }, root, depth + 1);
  }
  return schema;
}

/** The non-null alternatives of an `anyOf` / `oneOf`, nested unions flattened. */
export function alternatives(schema: JsonSchema, root: JsonSchema, depth = 0): JsonSchema[] {
  const list = schema.anyOf ?? schema.oneOf;
  if (!list || depth > 10) return [];
  return list.flatMap((item) => {
    const alt = resolveSchema(item, root);
    if (alt.anyOf || alt.oneOf) {
      // pydantic nests unions (`Duration | None`, a discriminated union `| None`); the inner
      // union's annotations (examples, description) belong to each of its members.
      const notes = withoutUnion(alt);
      return alternatives(alt, root, depth + 1).map((child) => ({ ...notes, ...child }));
    }
    return alt.type === "null" ? [] : [alt];
  });
}

/** Whether an `anyOf` / `oneOf` (or one nested in it) lets the value be null. */
export function allowsNull(schema: JsonSchema, root: JsonSchema, depth = 0): boolean {
  const list = schema.anyOf ?? schema.oneOf;
  if (!list || depth > 10) return false;
  return list.some((item) => {
    const alt = resolveSchema(item, root);
    return alt.type === "null" || allowsNull(alt, root, depth + 1);
  });
}

export interface Variant {
  tag: unknown;
  schema: JsonSchema;
}

/** A union of objects told apart by one property, such as http `auth` (`type: bearer | basic | header`). */
export interface TaggedUnion {
  key: string;
  variants: Variant[];
  nullable: boolean;
  /** The union's own title and description, for the field label. */
  schema: JsonSchema;
}

/** The values a const- or enum-valued property allows; none for any other property. */
function tagsOf(alt: JsonSchema, key: string, root: JsonSchema): unknown[] {
  const prop = alt.properties?.[key];
  if (!prop) return [];
  const resolved = resolveSchema(prop, root);
  return resolved.const !== undefined ? [resolved.const] : resolved.enum ?? [];
}

/** The union as a tagged union, when all its alternatives are objects with a common const/enum property. */
export function taggedUnion(schema: JsonSchema, root: JsonSchema): TaggedUnion | undefined {
  const resolved = resolveSchema(schema, root);
  const options = alternatives(resolved, root);
  if (options.length < 2 || !options.every((alt) => typeOf(alt) === "object" && alt.properties)) return undefined;
  const key = Object.keys(options[0].properties!).find((k) => options.every((alt) => tagsOf(alt, k, root).length > 0));
  if (!key) return undefined;
  const variants = options.flatMap((alt) => tagsOf(alt, key, root).map((tag) => ({ tag, schema: alt })));
  // A tag shared by two alternatives could not say which one a value is.
  if (new Set(variants.map((v) => JSON.stringify(v.tag))).size !== variants.length) return undefined;
  return { key, variants, nullable: allowsNull(resolved, root), schema: withoutUnion(resolved) };
}

/** A union's own annotations (title, description, examples), without its alternatives. */
function withoutUnion(schema: JsonSchema): JsonSchema {
  const rest: JsonSchema = { ...schema };
  delete rest.anyOf;
  delete rest.oneOf;
  delete (rest as { discriminator?: unknown }).discriminator;
  return rest;
}

/** A schema without its union: the one alternative, or the one that fits the current value. */
export function narrowSchema(schema: JsonSchema, root: JsonSchema, value: unknown): JsonSchema {
  const resolved = resolveSchema(schema, root);
  const options = alternatives(resolved, root);
  if (options.length === 0) return resolved;
  const { anyOf: _a, oneOf: _o, ...outer } = resolved;
  void _a;
  void _o;
  const keep = (alt: JsonSchema): JsonSchema => ({ ...alt, ...outer, default: outer.default ?? alt.default });
  if (options.length === 1) return keep(options[0]);
  const kind = Array.isArray(value) ? "array" : value === null || value === undefined ? undefined : typeof value;
  const fits = options.find((alt) => {
    const t = typeOf(alt);
    if (kind === "number") return t === "number" || t === "integer";
    return t === kind;
  });
  if (fits && (kind === "object" || kind === "array")) return keep(fits);
  const scalarKinds = options.map(typeOf).filter((t) => ["string", "number", "integer", "boolean"].includes(t));
  if (scalarKinds.length === options.length) {
    // number | string, bool | expression...: one text field that keeps numbers and booleans typed.
    const stringAlt = options.find((alt) => typeOf(alt) === "string");
    return { ...(stringAlt ?? {}), ...outer, type: "string", "x-coerce": scalarKinds, default: outer.default ?? undefined };
  }
  return fits ? keep(fits) : keep(options[0]);
}

/** Turns typed text into the value a `number | string` (or `bool | string`) field stores. */
export function coerce(text: string, kinds: string[]): unknown {
  if (text === "") return undefined;
  if ((kinds.includes("number") || kinds.includes("integer")) && /^-?\d+(\.\d+)?$/.test(text.trim())) return Number(text);
  if (kinds.includes("boolean") && (text === "true" || text === "false")) return text === "true";
  return text;
}

/** The hint shown in an empty text field: the default, else the schema's examples. */
function placeholderOf(schema: JsonSchema): string {
  if (schema.default != null) return String(schema.default);
  return schema.examples?.length ? `e.g. ${schema.examples.map(String).join(", ")}` : "";
}

function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== "null") ?? "string";
  if (schema.type) return schema.type;
  if (schema.properties) return "object";
  if (schema.enum) return "enum";
  const variant = schema.anyOf ?? schema.oneOf;
  if (variant?.length) return typeOf(variant[0]);
  return "any";
}

const EXPRESSION = /(\{\{[\s\S]*?\}\}|\$\.[A-Za-z_][\w.[\]'"-]*)/g;

export function isExpressionField(schema: JsonSchema, value: unknown): boolean {
  return Boolean(schema["x-expression"]) || schema.format === "expression" || (typeof value === "string" && /\{\{|\$\./.test(value));
}

/** Splits text into plain and `{{ ... }}` / `$.path` parts, for highlighting. */
export function expressionParts(text: string): { text: string; expression: boolean }[] {
  return text
    .split(EXPRESSION)
    .filter((part) => part !== "")
    .map((part) => ({ text: part, expression: /^\{\{[\s\S]*\}\}$|^\$\./.test(part) }));
}

/**
 * A text field (or area) whose `{{ }}` / `$.path` parts are highlighted when `highlight` is on.
 * Whatever is typed, the same <input> stays mounted: typing `{{` into a plain field only turns
 * the highlighting on. Swapping it for another element there would drop the focus mid-word, and
 * the rest of the expression would go to whatever field the browser focused next.
 */
function TextInput(props: {
  value: string;
  onChange: (v: string) => void;
  id?: string;
  testId: string;
  highlight: boolean;
  placeholder?: string;
  multiline?: boolean;
  ariaLabel?: string;
  invalid?: { "aria-invalid"?: true; "aria-describedby"?: string };
}) {
  const mirror = useRef<HTMLDivElement>(null);
  const sync = (el: HTMLInputElement | HTMLTextAreaElement) => {
    if (!mirror.current) return;
    mirror.current.scrollLeft = el.scrollLeft;
    mirror.current.scrollTop = el.scrollTop;
  };
  const placeholder = props.placeholder ?? (props.highlight ? (props.multiline ? "text or {{ expression }}" : "value or {{ expression }}") : "");
  const shared = {
    id: props.id,
    "data-testid": props.testId,
    "aria-label": props.ariaLabel,
    ...props.invalid,
    spellCheck: props.highlight ? false : undefined,
    placeholder,
    value: props.value,
    onScroll: (e: UIEvent<HTMLInputElement | HTMLTextAreaElement>) => sync(e.currentTarget),
  };
  return (
    <div className={`text-input ${props.highlight ? "expr-input" : ""} ${props.multiline ? "multiline" : ""}`}>
      {props.highlight && (
        <div className="expr-mirror" ref={mirror} aria-hidden="true">
          {expressionParts(props.value).map((part, i) =>
            part.expression ? (
              <mark key={i} className="expr-token">
                {part.text}
              </mark>
            ) : (
              <span key={i}>{part.text}</span>
            ),
          )}
          {"\u200b"}
        </div>
      )}
      {props.multiline ? (
        <textarea {...shared} rows={3} onChange={(e) => props.onChange(e.target.value)} />
      ) : (
        <input {...shared} onChange={(e) => props.onChange(e.target.value)} />
      )}
    </div>
  );
}

function label(name: string | number, schema: JsonSchema): string {
  if (schema.title) return schema.title;
  const text = String(name).replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function Field(props: {
  name: string | number;
  schema: JsonSchema;
  required?: boolean;
  children: ReactNode;
  htmlFor?: string;
  inline?: boolean;
  /** The field's dotted path: its error, when the form has one for it, shows under it. */
  errorKey?: string;
}) {
  const error = useContext(FieldErrors)[props.errorKey ?? ""];
  return (
    <div className={`field ${props.inline ? "field-inline" : ""} ${error ? "has-error" : ""}`} data-field={props.errorKey}>
      <label htmlFor={props.htmlFor}>
        {label(props.name, props.schema)}
        {props.required && <span className="required">*</span>}
      </label>
      {props.children}
      {error && (
        <div className="field-error" id={`${props.htmlFor ?? `f-${props.errorKey}`}-error`} role="alert" data-testid={`field-error-${props.errorKey}`}>
          {error}
        </div>
      )}
      {props.schema.description && <div className="hint">{props.schema.description}</div>}
    </div>
  );
}

/** A JSON text area for values the form cannot shape (unions, free objects). */
function JsonField(props: { value: unknown; onChange: (v: unknown) => void; id: string; testId: string; invalid?: { "aria-invalid"?: true; "aria-describedby"?: string } }) {
  const [text, setText] = useState(() => (props.value === undefined ? "" : JSON.stringify(props.value, null, 2)));
  const [error, setError] = useState("");
  useEffect(() => {
    setText(props.value === undefined ? "" : JSON.stringify(props.value, null, 2));
  }, [props.value]);
  return (
    <>
      <textarea
        id={props.id}
        data-testid={props.testId}
        {...props.invalid}
        className="mono"
        rows={Math.min(8, Math.max(2, text.split("\n").length))}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => {
          if (!text.trim()) return props.onChange(undefined);
          try {
            props.onChange(JSON.parse(text));
            setError("");
          } catch {
            setError("Not valid JSON");
          }
        }}
      />
      {error && <div className="field-error">{error}</div>}
    </>
  );
}

function KeyValueField(props: { value: unknown; valueSchema: JsonSchema; onChange: (v: unknown) => void; testId: string }) {
  const entries = Object.entries((props.value as Record<string, unknown>) ?? {});
  const [draftKey, setDraftKey] = useState("");
  const write = (next: [string, unknown][]) => props.onChange(next.length ? Object.fromEntries(next) : undefined);
  const expression = isExpressionField(props.valueSchema, "");
  return (
    <div className="kv" data-testid={props.testId}>
      {entries.map(([key, val], i) => (
        <div className="kv-row" key={i}>
          <input
            className="mono"
            aria-label="Key"
            value={key}
            onChange={(e) => write(entries.map((entry, j) => (j === i ? [e.target.value, entry[1]] : entry)))}
          />
          {typeof val === "string" || val === undefined ? (
            <TextInput
              id={`${props.testId}-${i}`}
              testId={`${props.testId}-value-${key}`}
              ariaLabel="Value"
              highlight={expression || isExpressionField({}, val)}
              value={String(val ?? "")}
              onChange={(v) => write(entries.map((entry, j) => (j === i ? [entry[0], v] : entry)))}
            />
          ) : (
            <input
              className="mono"
              aria-label="Value (JSON)"
              defaultValue={JSON.stringify(val)}
              onBlur={(e) => {
                try {
                  write(entries.map((entry, j) => (j === i ? [entry[0], JSON.parse(e.target.value)] : entry)));
                } catch {
                  /* keep the old value until the JSON parses */
                }
              }}
            />
          )}
          <button className="icon-button" aria-label={`Remove ${key}`} onClick={() => write(entries.filter((_, j) => j !== i))}>
            <Trash2 size={14} />
          </button>
        </div>
      ))}
      <div className="kv-row">
        <input className="mono" placeholder="new key" value={draftKey} onChange={(e) => setDraftKey(e.target.value)} aria-label="New key" />
        <button
          className="button small"
          disabled={!draftKey || entries.some(([k]) => k === draftKey)}
          onClick={() => {
            write([...entries, [draftKey, ""]]);
            setDraftKey("");
          }}
        >
          <Plus size={13} /> Add
        </button>
      </div>
    </div>
  );
}

function ObjectSection(props: { title: string; children: ReactNode; defaultOpen: boolean }) {
  const [open, setOpen] = useState(props.defaultOpen);
  return (
    <fieldset className="section">
      <legend>
        <button className="section-toggle" onClick={() => setOpen(!open)} aria-expanded={open}>
          {open ? <ChevronDown size={14} /> : <ChevronRight size={14} />} {props.title}
        </button>
      </legend>
      {open && <div className="section-body">{props.children}</div>}
    </fieldset>
  );
}

interface ValueProps {
  name: string | number;
  schema: JsonSchema;
  value: unknown;
  path: FieldPath;
  onChange: OnFieldChange;
  required?: boolean;
  nodeIds?: string[];
}

/** A picker for the variant of a tagged union, then the chosen variant's fields. */
function UnionField({ union, name, value, path, onChange, required, nodeIds }: Omit<ValueProps, "schema"> & { union: TaggedUnion }) {
  const id = `f-${path.join("-")}`;
  const testId = `field-${path.join(".")}`;
  const object = value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  const tag = object ? JSON.stringify(object[union.key]) : undefined;
  const current = union.variants.find((v) => JSON.stringify(v.tag) === tag);
  const invalid = invalidProps(useContext(FieldErrors)[path.join(".")], id);
  return (
    <div className="union-field">
      <Field name={name} schema={union.schema} required={required} htmlFor={id} errorKey={path.join(".")}>
        <select
          id={id}
          data-testid={testId}
          {...invalid}
          value={current ? JSON.stringify(current.tag) : ""}
          // Another variant's fields do not fit the new one, so a switch starts from just the tag.
          onChange={(e) => onChange(path, e.target.value ? { [union.key]: JSON.parse(e.target.value) } : undefined)}
        >
          <option value="">{union.nullable ? "none" : "—"}</option>
          {union.variants.map((v) => (
            <option key={JSON.stringify(v.tag)} value={JSON.stringify(v.tag)}>
              {String(v.tag)}
            </option>
          ))}
        </select>
      </Field>
      {current ? (
        <div className="union-body">
          <Properties schema={current.schema} value={object} path={path} onChange={onChange} nodeIds={nodeIds} omit={union.key} />
        </div>
      ) : (
        // A value that is no variant (an expression, an unknown tag) stays visible and editable.
        value !== undefined &&
        value !== null && <JsonField value={value} onChange={(v) => onChange(path, v)} id={`${id}-json`} testId={`${testId}-json`} />
      )}
    </div>
  );
}

function SchemaValue({ name, schema: given, value, path, onChange, required, nodeIds }: ValueProps) {
  const root = useContext(RootSchema);
  const errors = useContext(FieldErrors);
  const union = taggedUnion(given, root);
  if (union) return <UnionField union={union} name={name} value={value} path={path} onChange={onChange} required={required} nodeIds={nodeIds} />;
  const schema = narrowSchema(given, root, value);
  const coerceKinds = schema["x-coerce"] as string[] | undefined;
  const id = `f-${path.join("-")}`;
  const testId = `field-${path.join(".")}`;
  const errorKey = path.join(".");
  const invalid = invalidProps(errors[errorKey], id);
  const set = (v: unknown) => onChange(path, typeof v === "string" && coerceKinds ? coerce(v, coerceKinds) : v);
  const kind = schema.enum ? "enum" : typeOf(schema);

  if (schema.format === "node-id" && nodeIds) {
    return (
      <Field name={name} schema={schema} required={required} htmlFor={id} errorKey={errorKey}>
        <select id={id} data-testid={testId} {...invalid} value={String(value ?? "")} onChange={(e) => set(e.target.value || undefined)}>
          <option value="">—</option>
          {nodeIds.map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
      </Field>
    );
  }

  switch (kind) {
    case "enum":
      return (
        <Field name={name} schema={schema} required={required} htmlFor={id} errorKey={errorKey}>
          <select
            id={id}
            data-testid={testId}
            {...invalid}
            value={value === undefined ? "" : JSON.stringify(value)}
            onChange={(e) => set(e.target.value ? JSON.parse(e.target.value) : undefined)}
          >
            <option value="">{schema.default != null ? `default (${String(schema.default)})` : "—"}</option>
            {(schema.enum ?? []).map((option) => (
              <option key={JSON.stringify(option)} value={JSON.stringify(option)}>
                {String(option)}
              </option>
            ))}
          </select>
        </Field>
      );
    case "boolean":
      return (
        <Field name={name} schema={schema} required={required} htmlFor={id} errorKey={errorKey} inline>
          <select
            id={id}
            data-testid={testId}
            {...invalid}
            value={value === undefined ? "" : String(value)}
            onChange={(e) => set(e.target.value === "" ? undefined : e.target.value === "true")}
          >
            <option value="">{schema.default != null ? `default (${String(schema.default)})` : "—"}</option>
            <option value="true">yes</option>
            <option value="false">no</option>
          </select>
        </Field>
      );
    case "integer":
    case "number":
      if (typeof value === "string") {
        // An expression where a number is expected: keep it editable as text.
        return (
          <Field name={name} schema={schema} required={required} htmlFor={id} errorKey={errorKey}>
            <TextInput id={id} testId={testId} invalid={invalid} highlight value={value} onChange={(v) => set(v === "" ? undefined : v)} />
          </Field>
        );
      }
      return (
        <Field name={name} schema={schema} required={required} htmlFor={id} errorKey={errorKey}>
          <input
            id={id}
            data-testid={testId}
            {...invalid}
            type="number"
            step={kind === "integer" ? 1 : "any"}
            min={schema.minimum}
            max={schema.maximum}
            placeholder={schema.default != null ? String(schema.default) : ""}
            value={value === undefined || value === null ? "" : String(value)}
            onChange={(e) => {
              if (e.target.value === "") return set(undefined);
              const n = kind === "integer" ? parseInt(e.target.value, 10) : parseFloat(e.target.value);
              if (Number.isFinite(n)) set(n);
            }}
          />
        </Field>
      );
    case "string": {
      const text = value === undefined || value === null ? "" : typeof value === "string" ? value : JSON.stringify(value);
      const multiline = /^(prompt|system|message|body|template|script|content|text|description)$/.test(String(name)) || text.includes("\n");
      return (
        <Field name={name} schema={schema} required={required} htmlFor={id} errorKey={errorKey}>
          <TextInput
            id={id}
            testId={testId}
            invalid={invalid}
            multiline={multiline}
            highlight={isExpressionField(schema, text)}
            placeholder={isExpressionField(schema, "") ? undefined : multiline ? (schema.default != null ? String(schema.default) : "") : placeholderOf(schema)}
            value={text}
            onChange={(v) => set(v === "" ? undefined : v)}
          />
        </Field>
      );
    }
    case "object": {
      if (!schema.properties || Object.keys(schema.properties).length === 0) {
        const extra = schema.additionalProperties;
        if (extra === false) return null;
        const valueSchema: JsonSchema = typeof extra === "object" ? extra : {};
        const simple = ["string", "any"].includes(typeOf(valueSchema)) || typeof extra !== "object";
        return (
          <Field name={name} schema={schema} required={required} errorKey={errorKey}>
            {simple && (value === undefined || (typeof value === "object" && !Array.isArray(value))) ? (
              <KeyValueField value={value} valueSchema={valueSchema} onChange={set} testId={testId} />
            ) : (
              <JsonField value={value} onChange={set} id={id} testId={testId} invalid={invalid} />
            )}
          </Field>
        );
      }
      const object = (value && typeof value === "object" ? value : {}) as Record<string, unknown>;
      return (
        <ObjectSection title={label(name, schema)} defaultOpen={Object.keys(object).length > 0 || Boolean(required)}>
          <Properties schema={schema} value={object} path={path} onChange={onChange} nodeIds={nodeIds} />
        </ObjectSection>
      );
    }
    case "array": {
      const items = Array.isArray(value) ? value : [];
      const itemSchema = narrowSchema(schema.items ?? {}, root, undefined);
      const itemKind = itemSchema.enum ? "enum" : typeOf(itemSchema);
      const write = (next: unknown[]) => set(next.length ? next : undefined);
      if (itemKind === "object" && itemSchema.properties) {
        return (
          <ObjectSection title={`${label(name, schema)} (${items.length})`} defaultOpen={items.length > 0}>
            {items.map((item, i) => (
              <div className="array-item" key={i}>
                <div className="array-item-head">
                  <span className="muted small">#{i + 1}</span>
                  <button className="icon-button" aria-label="Remove item" onClick={() => write(items.filter((_, j) => j !== i))}>
                    <Trash2 size={14} />
                  </button>
                </div>
                <Properties schema={itemSchema} value={item} path={[...path, i]} onChange={onChange} nodeIds={nodeIds} />
              </div>
            ))}
            <button className="button small" onClick={() => write([...items, {}])}>
              <Plus size={13} /> Add {label(name, schema).toLowerCase().replace(/s$/, "")}
            </button>
          </ObjectSection>
        );
      }
      if (["string", "integer", "number", "enum"].includes(itemKind)) {
        return (
          <Field name={name} schema={schema} required={required} errorKey={errorKey}>
            <div className="list-field" data-testid={testId}>
              {items.map((item, i) => (
                <div className="kv-row" key={i}>
                  <input
                    value={String(item ?? "")}
                    aria-label={`${String(name)} ${i + 1}`}
                    onChange={(e) => {
                      const raw = e.target.value;
                      const parsed = itemKind === "integer" || itemKind === "number" ? Number(raw) : raw;
                      write(items.map((old, j) => (j === i ? (Number.isNaN(parsed) ? raw : parsed) : old)));
                    }}
                  />
                  <button className="icon-button" aria-label="Remove item" onClick={() => write(items.filter((_, j) => j !== i))}>
                    <Trash2 size={14} />
                  </button>
                </div>
              ))}
              <button className="button small" onClick={() => write([...items, itemKind === "string" ? "" : 0])}>
                <Plus size={13} /> Add
              </button>
            </div>
          </Field>
        );
      }
      return (
        <Field name={name} schema={schema} required={required} htmlFor={id} errorKey={errorKey}>
          <JsonField value={value} onChange={set} id={id} testId={testId} invalid={invalid} />
        </Field>
      );
    }
    default:
      if (typeof value === "string" || value === undefined) {
        return (
          <Field name={name} schema={schema} required={required} htmlFor={id} errorKey={errorKey}>
            <TextInput id={id} testId={testId} invalid={invalid} highlight value={String(value ?? "")} onChange={(v) => set(v === "" ? undefined : v)} />
          </Field>
        );
      }
      return (
        <Field name={name} schema={schema} required={required} htmlFor={id} errorKey={errorKey}>
          <JsonField value={value} onChange={set} id={id} testId={testId} invalid={invalid} />
        </Field>
      );
  }
}

/** `omit` is a key shown elsewhere, such as a union's tag, which has its own picker. */
function Properties({ schema: given, value, path = [], onChange, nodeIds, omit }: FormProps & { omit?: string }) {
  const schema = resolveSchema(given, useContext(RootSchema));
  const object = (value && typeof value === "object" ? value : {}) as Record<string, unknown>;
  const required = new Set(schema.required ?? []);
  const properties = Object.entries(schema.properties ?? {}).filter(([key]) => key !== omit);
  // Keys present in the document but unknown to the schema stay visible and editable.
  const unknown = Object.keys(object).filter((k) => k !== omit && !(schema.properties && k in schema.properties));
  return (
    <>
      {properties.map(([key, sub]) => (
        <SchemaValue
          key={key}
          name={key}
          schema={sub}
          value={object[key]}
          path={[...path, key]}
          onChange={onChange}
          required={required.has(key)}
          nodeIds={nodeIds}
        />
      ))}
      {schema.additionalProperties !== false &&
        unknown.map((key) => (
          <SchemaValue key={key} name={key} schema={{}} value={object[key]} path={[...path, key]} onChange={onChange} nodeIds={nodeIds} />
        ))}
    </>
  );
}

const NO_ERRORS: Record<string, string> = {};

/** The generated form for one object schema; `errors` show at their fields (red outline, message under it). */
export const SchemaForm = memo(function SchemaForm(props: FormProps) {
  return (
    <RootSchema.Provider value={props.schema}>
      <FieldErrors.Provider value={props.errors ?? NO_ERRORS}>
        <SchemaFormBody {...props} schema={resolveSchema(props.schema, props.schema)} />
      </FieldErrors.Provider>
    </RootSchema.Provider>
  );
});

function SchemaFormBody(props: FormProps) {
  const kind = typeOf(props.schema);
  if (kind !== "object") {
    return <SchemaValue name="value" schema={props.schema} value={props.value} path={props.path ?? []} onChange={props.onChange} nodeIds={props.nodeIds} />;
  }
  if (!props.schema.properties || Object.keys(props.schema.properties).length === 0) {
    if (props.schema.additionalProperties === false || props.schema.additionalProperties === undefined) {
      const has = props.value && typeof props.value === "object" && Object.keys(props.value).length > 0;
      if (!has) return <p className="muted small">No settings.</p>;
    }
  }
  return <Properties {...props} />;
}
