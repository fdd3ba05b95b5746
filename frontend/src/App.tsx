import { lazy, Suspense, useEffect } from "react";
import { createBrowserRouter, Link, NavLink, Outlet, RouterProvider, useLocation, useNavigate, useRouteError } from "react-router-dom";
import { Activity, BarChart3, Building2, KeyRound, LayoutTemplate, LogOut, Webhook, Workflow as WorkflowIcon, Zap } from "lucide-react";
import { csrfToken } from "./api/client";
import { Toaster } from "./components/toast";
import { useSession } from "./components/session";
import { WorkflowListPage } from "./pages/WorkflowListPage";
import { TemplatesPage } from "./pages/TemplatesPage";
import { DesignerPage } from "./pages/DesignerPage";
import { DeliveriesPage } from "./pages/DeliveriesPage";
import { CredentialsPage } from "./pages/CredentialsPage";
import { ExecutionsPage } from "./executions/ExecutionsPage";
import { ExecutionDetailPage } from "./executions/ExecutionDetailPage";

// The dashboard brings the chart library: loaded the first time it is opened, in its own chunk.
const DashboardPage = lazy(() => import("./dashboard/DashboardPage").then((module) => ({ default: module.DashboardPage })));

/** The query parameter that asks the workflow list to switch tenant once it is shown. */
const SWITCH_TENANT = "switch_tenant";

function TenantSwitcher() {
  const me = useSession((s) => s.me);
  const navigate = useNavigate();
  if (!me) return null;
  if (me.tenants.length <= 1) {
    return (
      <span className="tenant-chip" title="Tenant">
        <Building2 size={14} /> {me.tenant.name}
      </span>
    );
  }
  return (
    <label className="tenant-chip" title="Switch tenant">
      <Building2 size={14} />
      <select
        aria-label="Tenant"
        data-testid="tenant-switcher"
        value={me.tenant.slug}
        onChange={(e) => {
          // Leave the page first, through the designer's unsaved-changes guard: the tenant
          // changes only once the user has left (useTenantSwitch), never under an open editor.
          navigate(`/workflows?${SWITCH_TENANT}=${encodeURIComponent(e.target.value)}`);
        }}
      >
        {me.tenants.map((t) => (
          <option key={t.id} value={t.slug}>
            {t.name}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Switches the tenant asked for by the switcher once the page has left any open workflow. */
function useTenantSwitch() {
  const location = useLocation();
  const switchTenant = useSession((s) => s.switchTenant);
  useEffect(() => {
    const slug = new URLSearchParams(location.search).get(SWITCH_TENANT);
    if (!slug) return;
    void switchTenant(slug).then(() => window.location.assign("/workflows"));
  }, [location.search, switchTenant]);
}

function Shell() {
  const me = useSession((s) => s.me);
  const load = useSession((s) => s.load);
  useEffect(() => {
    void load();
  }, [load]);
  useTenantSwitch();
  return (
    <div className="app">
      <header className="topbar">
        <Link to="/workflows" className="brand">
          <span className="brand-logo">
            <Zap size={15} />
          </span>
          MBFlow
        </Link>
        <nav className="topnav">
          <NavLink to="/workflows">
            <WorkflowIcon size={15} /> Workflows
          </NavLink>
          <NavLink to="/templates">
            <LayoutTemplate size={15} /> Templates
          </NavLink>
          <NavLink to="/executions">
            <Activity size={15} /> Executions
          </NavLink>
          <NavLink to="/dashboard">
            <BarChart3 size={15} /> Dashboard
          </NavLink>
          <NavLink to="/deliveries">
            <Webhook size={15} /> Deliveries
          </NavLink>
          {me && ["admin", "owner"].includes(me.role) && (
            <NavLink to="/credentials">
              <KeyRound size={15} /> Credentials
            </NavLink>
          )}
        </nav>
        <div className="topbar-right">
          <TenantSwitcher />
          {me && <span className="user" title={`Role: ${me.role}`}>{me.username}</span>}
          <form method="post" action="/logout">
            <input type="hidden" name="csrfmiddlewaretoken" value={csrfToken()} />
            <button className="icon-button" type="submit" title="Sign out" aria-label="Sign out">
              <LogOut size={16} />
            </button>
          </form>
        </div>
      </header>
      <main className="page">
        <Outlet />
      </main>
      <Toaster />
    </div>
  );
}

function RouteError() {
  const error = useRouteError() as { statusText?: string; message?: string } | undefined;
  const location = useLocation();
  return (
    <div className="empty-state" data-testid="not-found">
      <h2>Page not found</h2>
      <p>{error?.statusText ?? error?.message ?? <>There is no page at <span className="mono">{location.pathname}</span>.</>}</p>
      <Link className="button" to="/workflows">
        Back to workflows
      </Link>
    </div>
  );
}

const router = createBrowserRouter([
  {
    path: "/",
    element: <Shell />,
    errorElement: <RouteError />,
    children: [
      { index: true, element: <WorkflowListPage /> },
      { path: "workflows", element: <WorkflowListPage /> },
      { path: "templates", element: <TemplatesPage /> },
      { path: "deliveries", element: <DeliveriesPage /> },
      { path: "credentials", element: <CredentialsPage /> },
      { path: "executions", element: <ExecutionsPage /> },
      { path: "executions/:id", element: <ExecutionDetailPage /> },
      { path: "workflows/:workflowId/executions", element: <ExecutionsPage /> },
      {
        path: "dashboard",
        element: (
          <Suspense fallback={<div className="loading">Loading the dashboard…</div>}>
            <DashboardPage />
          </Suspense>
        ),
      },
      { path: "designer/new", element: <DesignerPage /> },
      { path: "designer/:id", element: <DesignerPage /> },
      { path: "*", element: <RouteError /> },
    ],
  },
]);

export function App() {
  return <RouterProvider router={router} />;
}
