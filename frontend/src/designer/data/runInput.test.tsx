import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import type { JsonSchema } from "../../api/types";
import { SchemaForm } from "../SchemaForm";
import { createDesignerStore, DesignerContext } from "../store";
import { friendlyInputMessage, inputErrorsFromServer, missingInputs, REQUIRED_MESSAGE } from "./runInput";
import { TestRunDialog } from "./TestRunDialog";

const SCHEMA: JsonSchema = {
  type: "object",
  required: ["email", "plan"],
  properties: {
    name: { type: "string" },
    email: { type: "string" },
    plan: { type: "string", enum: ["free", "pro"] },
    address: { type: "object", required: ["city"], properties: { city: { type: "string" }, zip: { type: "string" } } },
  },
};

const YAML = `apiVersion: mbflow/v1
kind: Workflow
metadata: {name: signup}
spec:
  input_schema:
    type: object
    required: [email, plan]
    properties:
      name: {type: string}
      email: {type: string}
      plan: {type: string, enum: [free, pro]}
  nodes:
    - {id: a, type: noop}
`;

describe("the run input's required fields", () => {
  it("lists the required fields left empty, in the form's order, nested ones by dotted path", () => {
    expect(missingInputs(SCHEMA, {})).toEqual({ email: REQUIRED_MESSAGE, plan: REQUIRED_MESSAGE });
    expect(missingInputs(SCHEMA, { email: "  ", plan: "pro" })).toEqual({ email: REQUIRED_MESSAGE });
    expect(missingInputs(SCHEMA, { email: "a@b.c", plan: "pro", address: { zip: "1" } })).toEqual({ "address.city": REQUIRED_MESSAGE });
    expect(missingInputs(SCHEMA, { email: "a@b.c", plan: "free" })).toEqual({});
    expect(missingInputs(null, {})).toEqual({});
  });

  it("puts the server's refusals at the fields they name; the rest under the form", () => {
    const details = {
      errors: [
        { path: "/", message: "'email' is a required property" },
        { path: "/plan", message: "'gold' is not one of ['free', 'pro']" },
        { path: "/address", message: "'city' is a required property" },
      ],
    };
    expect(inputErrorsFromServer(details, "bad")).toEqual({
      email: REQUIRED_MESSAGE,
      plan: "Must be one of: free, pro.",
      "address.city": REQUIRED_MESSAGE,
    });
    expect(inputErrorsFromServer({ errors: [{ path: "/", message: "[] is not of type 'object'" }] }, "bad")).toEqual({ form: "bad" });
  });
});

describe("the server's input messages in words for people", () => {
  it.each([
    ["'ada' is not a 'email'", "Not an e-mail address."],
    ["'x' is not a 'date'", "Not a date (YYYY-MM-DD)."],
    ["'x' is not a 'hostname'", "Not a valid hostname."],
    ["'seven' is not of type 'integer'", "Must be a whole number."],
    ["0 is less than the minimum of 1", "Must be at least 1."],
    ["200 is greater than the maximum of 120", "Must be at most 120."],
    ["'' should be non-empty", "Too short."],
    ["'ab' does not match '^[0-9]+$'", "Not in the expected form."],
    ["something else", "something else"],
  ])("%s → %s", (message, expected) => {
    expect(friendlyInputMessage(message)).toBe(expected);
  });
});

describe("field errors in the generated form", () => {
  it("shows each message under its field and marks the control invalid", () => {
    render(<SchemaForm schema={SCHEMA} value={{}} onChange={() => {}} errors={{ email: "Required here", plan: "Pick one" }} />);
    const email = screen.getByTestId("field-email");
    expect(email).toHaveAttribute("aria-invalid", "true");
    expect(email).toHaveAccessibleDescription("Required here");
    expect(email.closest(".field")).toHaveClass("has-error");
    expect(screen.getByTestId("field-error-email")).toHaveTextContent("Required here");
    expect(screen.getByTestId("field-plan")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByTestId("field-name")).not.toHaveAttribute("aria-invalid");
    expect(screen.queryByTestId("field-error-name")).toBeNull();
  });
});

describe("the Run dialog", () => {
  it("flags the required inputs left empty at their fields and moves the focus to the first one", async () => {
    const user = userEvent.setup();
    const store = createDesignerStore(YAML);
    render(
      <MemoryRouter>
        <DesignerContext.Provider value={store}>
          <TestRunDialog workflowId={null} onClose={() => {}} />
        </DesignerContext.Provider>
      </MemoryRouter>,
    );
    await user.type(screen.getByTestId("field-name"), "Ada");
    await user.click(screen.getByTestId("run-start"));

    const email = screen.getByTestId("field-email");
    expect(email).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByTestId("field-error-email")).toHaveTextContent(REQUIRED_MESSAGE);
    expect(screen.getByTestId("field-error-plan")).toHaveTextContent(REQUIRED_MESSAGE);
    expect(screen.queryByTestId("field-error-name")).toBeNull();
    expect(email).toHaveFocus();
    expect(screen.queryByTestId("run-error")).toBeNull(); // no list under the form

    // Given a value, the field is no longer flagged; the other still is.
    await user.type(email, "ada@example.com");
    expect(email).not.toHaveAttribute("aria-invalid");
    expect(screen.queryByTestId("field-error-email")).toBeNull();
    expect(screen.getByTestId("field-error-plan")).toBeInTheDocument();
  });
});
