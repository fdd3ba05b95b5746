/**
 * The business metrics the workflows declare (spec.metrics) over the dashboard's window: per
 * metric its one figure (a counter's sum, a gauge's last value, a histogram's average), how many
 * runs fed it, a histogram's p95, its busiest label sets and a sparkline of the window.
 */
import { Line, LineChart, ResponsiveContainer, Tooltip } from "recharts";
import type { BusinessMetric } from "../api/types";

export interface BusinessRow {
  workflow: { id: string; name: string };
  metric: BusinessMetric;
}

const TYPE_HINT: Record<string, string> = {
  counter: "sum in the window",
  gauge: "last value",
  histogram: "average",
};

export function figureText(value: number | null | undefined): string {
  if (value == null) return "—";
  if (Number.isInteger(value)) return value.toLocaleString();
  return value.toLocaleString(undefined, { maximumFractionDigits: Math.abs(value) < 1 ? 4 : 2 });
}

function labelsText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length ? entries.map(([key, value]) => `${key}=${value}`).join(", ") : "(no labels)";
}

/** Whether the window has too few points for a line (a histogram's empty buckets have no value): they get dots. */
function sparse(metric: BusinessMetric): boolean {
  return metric.time_series.filter((point) => point.value != null).length <= 3;
}

export function BusinessMetrics({ rows, showWorkflow }: { rows: BusinessRow[]; showWorkflow: boolean }) {
  if (rows.length === 0) {
    return (
      <p className="muted small" data-testid="business-metrics-empty">
        No workflow declares business metrics (<span className="mono">spec.metrics</span>): counters, gauges and histograms its finished runs feed.
      </p>
    );
  }
  return (
    <table className="table compact" data-testid="business-metrics">
      <thead>
        <tr>
          <th>Metric</th>
          {showWorkflow && <th>Workflow</th>}
          <th className="num">Value</th>
          <th className="num">Runs</th>
          <th className="num">p95</th>
          <th>Busiest label sets</th>
          <th className="spark-cell">Over the window</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(({ workflow, metric }) => (
          <tr key={`${workflow.id}:${metric.name}`} data-testid="business-metric" data-metric={metric.name}>
            <td>
              <span className="mono">{metric.name}</span> <span className="badge">{metric.type}</span>
              {metric.description && <div className="muted small">{metric.description}</div>}
            </td>
            {showWorkflow && <td>{workflow.name}</td>}
            <td className="num" title={TYPE_HINT[metric.type]}>
              <strong data-testid="business-metric-value">{figureText(metric.value)}</strong>
              <div className="muted small">{TYPE_HINT[metric.type]}</div>
            </td>
            <td className="num">{metric.count.toLocaleString()}</td>
            <td className="num">{metric.type === "histogram" ? figureText(metric.p95) : "—"}</td>
            <td className="small">
              {metric.series.slice(0, 3).map((series) => (
                <div key={labelsText(series.labels)} className="label-set">
                  <span className="mono">{labelsText(series.labels)}</span> <span className="muted">{figureText(series.value)}</span>
                </div>
              ))}
              {metric.series.length > 3 && <div className="muted">+{metric.series.length - 3} more</div>}
            </td>
            <td className="spark-cell">
              <div className="spark">
                <ResponsiveContainer width="100%" height="100%">
                  <LineChart data={metric.time_series.map((point) => ({ time: new Date(point.time).toLocaleString(), value: point.value }))}>
                    <Tooltip formatter={(value) => figureText(typeof value === "number" ? value : null)} labelStyle={{ fontSize: 11 }} contentStyle={{ fontSize: 11 }} />
                    <Line dataKey="value" stroke="#4f46e5" dot={sparse(metric) ? { r: 2 } : false} strokeWidth={1.5} connectNulls isAnimationActive={false} />
                  </LineChart>
                </ResponsiveContainer>
              </div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
