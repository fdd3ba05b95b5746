import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { withWhere } from "./toast";

describe("error toasts", () => {
  it("say the YAML line an error points at", () => {
    const error = new ApiError("While parsing a flow node did not find expected node content.", 400, "yaml_syntax", { line: 6, column: 1 });
    expect(withWhere(error)).toBe("While parsing a flow node did not find expected node content. (line 6, column 1)");
    const told = new ApiError("Node `a` has unknown type (line 6)", 400, "invalid_workflow", { line: 6 });
    expect(withWhere(told)).toBe("Node `a` has unknown type (line 6)");
  });

  it("name the fields a body got wrong", () => {
    const error = new ApiError("The request is not valid.", 400, "validation_error", {
      fields: { node_id: ["This field is required."], decision: ["Input should be 'approved' or 'rejected'"] },
    });
    expect(withWhere(error)).toBe(
      "The request is not valid. node_id: This field is required.; decision: Input should be 'approved' or 'rejected'",
    );
    expect(withWhere(new ApiError("Not found.", 404, "not_found"))).toBe("Not found.");
  });
});
