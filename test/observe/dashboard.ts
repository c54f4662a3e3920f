/**
 * Reading the Grafana dashboard of docs/observability: its panels and their PromQL queries.
 */

export interface PanelQuery {
  readonly title: string;
  readonly expr: string;
}

interface PanelLike {
  readonly title?: unknown;
  readonly type?: unknown;
  readonly targets?: unknown;
  readonly panels?: unknown;
}

/** Every panel, rows' nested panels included. */
export function dashboardPanels(dashboard: unknown): PanelLike[] {
  const out: PanelLike[] = [];
  const walk = (panels: unknown): void => {
    if (!Array.isArray(panels)) return;
    for (const panel of panels as PanelLike[]) {
      out.push(panel);
      walk(panel.panels);
    }
  };
  walk((dashboard as { panels?: unknown }).panels);
  return out;
}

/** The `expr` of every panel target. */
export function dashboardQueries(dashboard: unknown): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const panel of dashboardPanels(dashboard)) {
    if (!Array.isArray(panel.targets)) continue;
    for (const target of panel.targets as { expr?: unknown }[]) {
      if (typeof target.expr === 'string') out.push({ title: String(panel.title), expr: target.expr });
    }
  }
  return out;
}

/** Metric names a PromQL expression refers to (identifiers of the gateway's metric families). */
export function metricNamesIn(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:portcullis|process|nodejs)_[a-z0-9_]+\b/g) ?? [])];
}
