import { createContext } from "react";
import type { NodeDetail } from "../../lib/levelOfDetail";

/**
 * The canvas's level of detail (lib/levelOfDetail), set by <Canvas> from the zoom. A context, not
 * node data: crossing the threshold re-renders the node views once, without handing React Flow
 * 500 new node objects.
 */
export const NodeDetailContext = createContext<NodeDetail>("full");
