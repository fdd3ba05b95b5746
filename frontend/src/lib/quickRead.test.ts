import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { createDesignerStore } from "../designer/store";
import { LiveWorkflow } from "./liveDoc";
import { quickData } from "./quickRead";
import { parseWorkflow } from "./workflowDoc";

// Lets a test make the quick reading of a whole document (not of its skeleton) disagree with
// the `yaml` library's, as no known text does.
type Reading = (text: string) => { value: unknown } | undefined;
const tamper = vi.hoisted(() => ({ with: null as null | Reading, skeleton: null as null | Reading }));
vi.mock("./quickRead", async (importOriginal) => {
  const original = await importOriginal<typeof import("./quickRead")>();
  const whole = (text: string) => text.includes("- id:");
  return {
    quickData: (text: string) => {
      const reading = whole(text) ? tamper.with : tamper.skeleton;
      return reading ? reading(text) : original.quickData(text);
    },
  };
});
afterEach(() => {
  tamper.with = null;
  tamper.skeleton = null;
});

const FIXTURES = join(__dirname, "../__fixtures__");
const TEMPLATES = join(__dirname, "../../../workflows/templates_library");
const yamlFiles = (dir: string): [string, string][] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".yaml"))
        .map((f) => [f, readFileSync(join(dir, f), "utf8")])
    : [];
const commented = readFileSync(join(FIXTURES, "commented.yaml"), "utf8");

describe("quickData", () => {
  it.each([...yamlFiles(TEMPLATES), ...yamlFiles(FIXTURES)])("reads %s to the data the yaml library reads", (_name, text) => {
    expect(quickData(text)?.value).toEqual(parseDocument(text).toJS());
  });

  it("reads scalars by the YAML 1.2 core schema, as the yaml library does", () => {
    const text = "a: 0o17\nb: 0x1F\nc: 2001-12-14\nd: Yes\ne: ~\nf: 1_000\ng: .5\nh: '12'\n";
    expect(quickData(text)?.value).toEqual(parseDocument(text).toJS());
  });

  it("refuses syntax errors, duplicate keys, aliases and tags it does not know", () => {
    for (const text of ["a: [1", "a: 1\na: 2\n", "a: &x 1\nb: *x\n", "a: !custom y\n", ""]) {
      expect(quickData(text)).toBeUndefined();
    }
  });
});

describe("LiveWorkflow's quick first read", () => {
  it("is checked against the first Document: a disagreement drops it and asks for a new read", () => {
    tamper.with = (text) => {
      const data = parseDocument(text).toJS();
      data.spec.nodes[1].name = "Read wrong";
      return { value: data };
    };
    const live = new LiveWorkflow();
    expect(live.parse(commented).graph!.nodes[1].name).toBe("Read wrong");
    expect(live.takeStale()).toBe(false);
    live.prime(commented);
    expect(live.takeStale()).toBe(true);
    expect(live.takeStale()).toBe(false);
    expect(live.parse(commented).graph).toEqual(parseWorkflow(commented).graph);
  });

  it("checks the reading of the skeleton (metadata, the spec's other keys) too", () => {
    tamper.skeleton = (text) => {
      const data = parseDocument(text).toJS();
      data.metadata.name = "read-wrong";
      return { value: data };
    };
    const live = new LiveWorkflow();
    expect(live.parse(commented).graph!.name).toBe("read-wrong");
    live.prime(commented);
    expect(live.takeStale()).toBe(true);
    expect(live.parse(commented).graph).toEqual(parseWorkflow(commented).graph);
  });

  it("stays when the Document agrees, and chunk-by-chunk reads go on from it", () => {
    const live = new LiveWorkflow();
    const first = live.parse(commented).graph!;
    live.prime(commented);
    expect(live.takeStale()).toBe(false);
    const next = live.parse(commented.replace("type: transform", "type: transform\n      name: Shape")).graph!;
    expect(next.nodes[0]).toBe(first.nodes[0]);
  });
});

describe("the designer store after a quick read the yaml library disagrees with", () => {
  it("draws the yaml library's graph once the Document is parsed", () => {
    tamper.with = (text) => {
      const data = parseDocument(text).toJS();
      data.spec.nodes = data.spec.nodes.map((n: Record<string, unknown>) => ({ ...n, type: "wrong" }));
      return { value: data };
    };
    const store = createDesignerStore(commented);
    expect(store.getState().graph.nodes[0].type).toBe("wrong");
    expect(store.getState().getDoc()).not.toBeNull();
    expect(store.getState().graph).toEqual(parseWorkflow(commented).graph);
  });

  it("shows the yaml library's syntax errors and refuses canvas edits", () => {
    const broken = commented.replace("type: noop", "type: [noop");
    tamper.with = () => ({ value: parseDocument(commented).toJS() });
    const store = createDesignerStore(broken);
    expect(store.getState().parseProblems).toEqual([]);
    store.getState().remove(["start"]);
    expect(store.getState().text).toBe(broken);
    expect(store.getState().parseProblems.length).toBeGreaterThan(0);
    expect(store.getState().parseProblems).toEqual(parseWorkflow(broken).problems);
  });
});
