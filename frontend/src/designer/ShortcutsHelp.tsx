import { Modal } from "../components/Modal";

export const SHORTCUTS: [string, string][] = [
  ["Ctrl/⌘ + S", "Save a new version"],
  ["Ctrl/⌘ + Z", "Undo"],
  ["Ctrl/⌘ + Shift + Z, Ctrl + Y", "Redo"],
  ["Ctrl/⌘ + C / V", "Copy / paste selected nodes"],
  ["Ctrl/⌘ + D", "Duplicate selected nodes"],
  ["Ctrl/⌘ + A", "Select all nodes"],
  ["Delete / Backspace", "Delete the selection"],
  ["Shift + click, Shift + drag", "Add to the selection, box-select"],
  ["L", "Auto-layout"],
  ["F", "Fit the view"],
  ["Ctrl/⌘ + F", "Find a node by id, name or type (Enter: next match)"],
  ["Enter", "In the palette: add the focused node type, or the first match of the search"],
  ["Esc", "Clear the selection, close dialogs"],
  ["?", "Show this help"],
];

export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose} testId="shortcuts-help">
      <table className="shortcuts">
        <tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <tr key={keys}>
              <td>
                {keys.split(/( \/ |, | \+ )/).map((part, i) =>
                  /^( \/ |, | \+ )$/.test(part) ? <span key={i} className="muted">{part}</span> : <kbd key={i}>{part}</kbd>,
                )}
              </td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">Shortcuts apply on the canvas; inside the YAML editor its own keys (including undo) apply.</p>
    </Modal>
  );
}
