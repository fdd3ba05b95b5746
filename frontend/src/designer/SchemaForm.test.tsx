import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fireEvent, render, screen, within } from "@testing-library/react";
import type { JsonSchema, NodeType } from "../api/types";
import { COMMON_SCHEMA, outputPorts } from "../lib/nodeKinds";
import { coerce, expressionParts, narrowSchema, SchemaForm } from "./SchemaForm";

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

describe("output ports", () => {
  it("are true/false for a condition and the case labels plus default for a switch", () => {
    expect(outputPorts({ type: "condition", config: {} }, typeOf("condition"))).toEqual(["true", "false"]);
    expect(
      outputPorts({ type: "switch", config: { cases: [{ equals: 1, output: "one" }, { equals: 2, output: "two" }] } }, typeOf("switch")),
    ).toEqual(["one", "two", "default"]);
    expect(outputPorts({ type: "http", config: {} }, typeOf("http"))).toEqual([]);
  });
});
