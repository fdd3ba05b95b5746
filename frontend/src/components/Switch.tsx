/** An on/off switch (a checkbox that looks like one, read by screen readers as a switch). */
export function Switch(props: {
  checked: boolean;
  onChange: (checked: boolean) => void;
  label: string;
  disabled?: boolean;
  title?: string;
  testId?: string;
  showLabel?: boolean;
}) {
  return (
    <label className={`switch ${props.disabled ? "disabled" : ""}`} title={props.title}>
      <input
        type="checkbox"
        role="switch"
        aria-label={props.label}
        aria-checked={props.checked}
        checked={props.checked}
        disabled={props.disabled}
        data-testid={props.testId}
        onChange={(e) => props.onChange(e.target.checked)}
      />
      <span className="switch-track" aria-hidden="true">
        <span className="switch-thumb" />
      </span>
      {props.showLabel && <span className="switch-label">{props.label}</span>}
    </label>
  );
}
