import { readFileSync } from "node:fs";
import { join } from "node:path";
import { useState } from "react";
import { fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { JsonSchema, NodeType } from "../api/types";
import { COMMON_SCHEMA, outputPorts } from "../lib/nodeKinds";
import { coerce, expressionParts, narrowSchema, SchemaForm, taggedUnion } from "./SchemaForm";

const catalog: NodeType[] = JSON.parse(
  readFileSync(join(__dirname, "../__fixtures__/node-types.json"), "utf8"),
);
const typeOf = (name: string) => catalog.find((t) => t.type === name)!;

describe("the form generated from a config schema", () => {
  it("renders every field of the http schema, with an enum select and a key/value map", () => {
    const onChange = vi.fn();
    render(<SchemaForm schema={typeOf("http").config_schema} value={{ url: "https://x.test" }} path={["config"]} onChange={onChange} />);
    const url = screen.getByTestId("field-config.url") as HTMLInputElement;
    expect(url.value).toBe("https://x.test");
    const method = screen.getByTestId("field-config.method") as HTMLSelectElement;
    expect(within(method).getAllByRole("option").map((o) => o.textContent)).toEqual(expect.arrayContaining(["GET", "POST"]));
    expect(screen.getByTestId("field-config.headers")).toBeInTheDocument();

    fireEvent.change(url, { target: { value: "https://y.test/{{ input.id }}" } });
    expect(onChange).toHaveBeenLastCalledWith(["config", "url"], "https://y.test/{{ input.id }}");
    fireEvent.change(method, { target: { value: JSON.stringify("POST") } });
    expect(onChange).toHaveBeenLastCalledWith(["config", "method"], "POST");
    fireEvent.change(url, { target: { value: "" } });
    expect(onChange).toHaveBeenLastCalledWith(["config", "url"], undefined);
  });

  it("renders a form for every type in the catalog without crashing", () => {
    for (const nodeType of catalog) {
      const { unmount } = render(<SchemaForm schema={nodeType.config_schema} value={{}} onChange={() => {}} />);
      unmount();
    }
  });

  it("adds a key to a key/value map", () => {
    const onChange = vi.fn();
    render(<SchemaForm schema={typeOf("http").config_schema} value={{ headers: { Accept: "json" } }} path={["config"]} onChange={onChange} />);
    const map = screen.getByTestId("field-config.headers");
    fireEvent.change(within(map).getByLabelText("New key"), { target: { value: "X-Trace" } });
    fireEvent.click(within(map).getByRole("button", { name: /add/i }));
    expect(onChange).toHaveBeenLastCalledWith(["config", "headers"], { Accept: "json", "X-Trace": "" });
  });

  it("edits numbers, booleans and nested objects of the common fields", () => {
    const onChange = vi.fn();
    render(<SchemaForm schema={COMMON_SCHEMA} value={{ retry: { max_attempts: 3 } }} onChange={onChange} />);
    fireEvent.change(screen.getByTestId("field-retry.max_attempts"), { target: { value: "5" } });
    expect(onChange).toHaveBeenLastCalledWith(["retry", "max_attempts"], 5);
    fireEvent.change(screen.getByTestId("field-retry.jitter"), { target: { value: "true" } });
    expect(onChange).toHaveBeenLastCalledWith(["retry", "jitter"], true);
    fireEvent.change(screen.getByTestId("field-timeout_action"), { target: { value: JSON.stringify("fallback") } });
    expect(onChange).toHaveBeenLastCalledWith(["timeout_action"], "fallback");
  });

  it("keeps the same focused field while an expression is typed into a mapping value", async () => {
    // The form is controlled, as in the property panel: every keystroke comes back as a new value.
    function Controlled() {
      const [config, setConfig] = useState<Record<string, unknown>>({ mapping: { name: "" } });
      return (
        <SchemaForm
          schema={typeOf("transform").config_schema}
          value={config}
          path={["config"]}
          onChange={(path, value) => setConfig((old) => ({ ...old, [path[1] as string]: value }))}
        />
      );
    }
    render(<Controlled />);
    const field = screen.getByTestId("field-config.mapping-value-name") as HTMLInputElement;
    await userEvent.click(field);
    // `{{` is user-event's escape for one literal `{`.
    await userEvent.keyboard("{{{{ nodes.http.output.body.name }}");
    const after = screen.getByTestId("field-config.mapping-value-name") as HTMLInputElement;
    expect(after).toBe(field);
    expect(document.activeElement).toBe(field);
    expect(field.value).toBe("{{ nodes.http.output.body.name }}");
    expect(field.closest(".expr-input")).not.toBeNull(); // highlighted once it holds an expression
  });

  it("lists the other nodes for a fallback", () => {
    render(<SchemaForm schema={COMMON_SCHEMA} value={{}} nodeIds={["a", "b"]} onChange={() => {}} />);
    expect(within(screen.getByTestId("field-fallback")).getAllByRole("option").map((o) => o.textContent)).toEqual(["—", "a", "b"]);
  });

  it("highlights {{ }} expressions", () => {
    const { container } = render(
      <SchemaForm schema={typeOf("log").config_schema} value={{ message: "Hi {{ input.name }}!" }} onChange={() => {}} />,
    );
    expect(container.querySelector(".expr-token")?.textContent).toBe("{{ input.name }}");
    expect(expressionParts("a {{ b }} $.c.d")).toEqual([
      { text: "a ", expression: false },
      { text: "{{ b }}", expression: true },
      { text: " ", expression: false },
      { text: "$.c.d", expression: true },
    ]);
  });
});

describe("schema unions", () => {
  const root: JsonSchema = { $defs: { Auth: { type: "object", properties: { token: { type: "string" } } } } };

  it("follows $ref and drops the null alternative", () => {
    const narrowed = narrowSchema({ anyOf: [{ $ref: "#/$defs/Auth" }, { type: "null" }], title: "Auth" }, root, undefined);
    expect(narrowed.type).toBe("object");
    expect(narrowed.title).toBe("Auth");
    expect(Object.keys(narrowed.properties ?? {})).toEqual(["token"]);
  });

  it("types what is written in a number-or-string field", () => {
    const narrowed = narrowSchema({ anyOf: [{ type: "number" }, { type: "string" }] }, root, undefined);
    expect(narrowed.type).toBe("string");
    const kinds = narrowed["x-coerce"] as string[];
    expect(coerce("30", kinds)).toBe(30);
    expect(coerce("30s", kinds)).toBe("30s");
    expect(coerce("", kinds)).toBeUndefined();
  });
});

describe("tagged unions", () => {
  const http = () => typeOf("http").config_schema;
  const options = (select: HTMLElement) => within(select).getAllByRole("option").map((o) => o.textContent);

  it("offers the http auth variants by their tag, and none for null", () => {
    const onChange = vi.fn();
    render(<SchemaForm schema={http()} value={{ url: "https://x.test" }} path={["config"]} onChange={onChange} />);
    const picker = screen.getByTestId("field-config.auth") as HTMLSelectElement;
    expect(picker.tagName).toBe("SELECT");
    expect(options(picker)).toEqual(["none", "bearer", "basic", "header"]);
    expect(screen.queryByTestId("field-config.auth.token")).not.toBeInTheDocument();
    fireEvent.change(picker, { target: { value: JSON.stringify("bearer") } });
    expect(onChange).toHaveBeenLastCalledWith(["config", "auth"], { type: "bearer" });
  });

  it("selects the variant of an existing value and edits its fields, without a field for the tag", () => {
    const onChange = vi.fn();
    const value = { url: "https://x.test", auth: { type: "basic", username: "ann" } };
    render(<SchemaForm schema={http()} value={value} path={["config"]} onChange={onChange} />);
    const picker = screen.getByTestId("field-config.auth") as HTMLSelectElement;
    expect(picker.value).toBe(JSON.stringify("basic"));
    expect((screen.getByTestId("field-config.auth.username") as HTMLInputElement).value).toBe("ann");
    expect(screen.getByTestId("field-config.auth.password")).toBeInTheDocument();
    expect(screen.queryByTestId("field-config.auth.type")).not.toBeInTheDocument();
    expect(screen.queryByTestId("field-config.auth.token")).not.toBeInTheDocument();

    fireEvent.change(screen.getByTestId("field-config.auth.password"), { target: { value: "{{ secrets.pw }}" } });
    expect(onChange).toHaveBeenLastCalledWith(["config", "auth", "password"], "{{ secrets.pw }}");
    fireEvent.change(picker, { target: { value: JSON.stringify("header") } });
    expect(onChange).toHaveBeenLastCalledWith(["config", "auth"], { type: "header" });
    fireEvent.change(picker, { target: { value: "" } });
    expect(onChange).toHaveBeenLastCalledWith(["config", "auth"], undefined);
  });

  it("keeps a value that is no variant editable as JSON", () => {
    render(<SchemaForm schema={http()} value={{ auth: { type: "oauth" } }} path={["config"]} onChange={() => {}} />);
    expect((screen.getByTestId("field-config.auth") as HTMLSelectElement).value).toBe("");
    expect((screen.getByTestId("field-config.auth-json") as HTMLTextAreaElement).value).toContain("oauth");
  });

  it("is found only for objects sharing a const or enum property", () => {
    const a: JsonSchema = { type: "object", properties: { kind: { enum: ["a", "aa"] }, x: { type: "string" } } };
    const b: JsonSchema = { type: "object", properties: { kind: { const: "b" }, y: { type: "number" } } };
    const union = taggedUnion({ oneOf: [a, b] }, {});
    expect(union?.key).toBe("kind");
    expect(union?.variants.map((v) => v.tag)).toEqual(["a", "aa", "b"]);
    expect(union?.nullable).toBe(false);
    const untagged: JsonSchema = { type: "object", properties: { z: { type: "string" } } };
    expect(taggedUnion({ anyOf: [a, untagged] }, {})).toBeUndefined();
    expect(taggedUnion({ anyOf: [{ type: "string" }, { type: "number" }] }, {})).toBeUndefined();
    expect(narrowSchema({ anyOf: [{ type: "integer" }, { type: "null" }] }, {}, undefined).type).toBe("integer");
  });

  it("renders a non-nullable union with an empty choice and the default rendering of other unions", () => {
    const a: JsonSchema = { type: "object", properties: { kind: { const: "a" } } };
    const b: JsonSchema = { type: "object", properties: { kind: { const: "b" } } };
    render(<SchemaForm schema={{ type: "object", properties: { pick: { oneOf: [a, b] }, n: { anyOf: [{ type: "integer" }, { type: "null" }] } } }} value={{}} onChange={() => {}} />);
    expect(options(screen.getByTestId("field-pick"))).toEqual(["—", "a", "b"]);
    expect((screen.getByTestId("field-n") as HTMLInputElement).type).toBe("number");
  });
});

describe("duration fields", () => {
  it("take 30s and 30 in the http timeout, storing a number for plain numbers", () => {
    const onChange = vi.fn();
    render(<SchemaForm schema={typeOf("http").config_schema} value={{}} path={["config"]} onChange={onChange} />);
    const timeout = screen.getByTestId("field-config.timeout") as HTMLInputElement;
    expect(timeout.type).toBe("text");
    expect(timeout.placeholder).toContain("30s");
    fireEvent.change(timeout, { target: { value: "30s" } });
    expect(onChange).toHaveBeenLastCalledWith(["config", "timeout"], "30s");
    fireEvent.change(timeout, { target: { value: "1h30m" } });
    expect(onChange).toHaveBeenLastCalledWith(["config", "timeout"], "1h30m");
    fireEvent.change(timeout, { target: { value: "45" } });
    expect(onChange).toHaveBeenLastCalledWith(["config", "timeout"], 45);
  });

  it("show a stored number or string as text", () => {
    const { unmount } = render(<SchemaForm schema={typeOf("http").config_schema} value={{ timeout: 30 }} path={["config"]} onChange={() => {}} />);
    expect((screen.getByTestId("field-config.timeout") as HTMLInputElement).value).toBe("30");
    unmount();
    render(<SchemaForm schema={typeOf("http").config_schema} value={{ timeout: "2m" }} path={["config"]} onChange={() => {}} />);
    expect((screen.getByTestId("field-config.timeout") as HTMLInputElement).value).toBe("2m");
  });

  it("take 30s in the Behaviour timeout, whether it is the local schema or the server's Duration", () => {
    const onChange = vi.fn();
    const { unmount } = render(<SchemaForm schema={COMMON_SCHEMA} value={{}} onChange={onChange} />);
    fireEvent.change(screen.getByTestId("field-timeout"), { target: { value: "30s" } });
    expect(onChange).toHaveBeenLastCalledWith(["timeout"], "30s");
    unmount();
    const duration: JsonSchema = {
      anyOf: [{ type: "number", minimum: 0 }, { type: "string", pattern: "^\\s*\\d+(ms|s|m|h|d)$" }],
      examples: ["30s", "1m"],
    };
    render(<SchemaForm schema={{ type: "object", properties: { timeout: { ...duration, title: "Timeout" }, retry: { type: "object", properties: { initial_delay: duration } } } }} value={{ retry: { initial_delay: 1 } }} onChange={onChange} />);
    const timeout = screen.getByTestId("field-timeout") as HTMLInputElement;
    expect(timeout.type).toBe("text");
    expect(timeout.placeholder).toBe("e.g. 30s, 1m");
    fireEvent.change(timeout, { target: { value: "30s" } });
    expect(onChange).toHaveBeenLastCalledWith(["timeout"], "30s");
    fireEvent.change(screen.getByTestId("field-retry.initial_delay"), { target: { value: "2.5" } });
    expect(onChange).toHaveBeenLastCalledWith(["retry", "initial_delay"], 2.5);
  });
});

describe("output ports", () => {
  it("are true/false for a condition and the case labels plus default for a switch", () => {
    expect(outputPorts({ type: "condition", config: {} }, typeOf("condition"))).toEqual(["true", "false"]);
    expect(
      outputPorts({ type: "switch", config: { cases: [{ equals: 1, output: "one" }, { equals: 2, output: "two" }] } }, typeOf("switch")),
    ).toEqual(["one", "two", "default"]);
    expect(outputPorts({ type: "http", config: {} }, typeOf("http"))).toEqual([]);
  });
});
