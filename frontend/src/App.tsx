import { useEffect } from "react";
import { createBrowserRouter, Link, NavLink, Outlet, RouterProvider, useRouteError } from "react-router-dom";
import { Building2, LayoutTemplate, LogOut, Workflow as WorkflowIcon, Zap } from "lucide-react";
import { csrfToken } from "./api/client";
import { Toaster } from "./components/toast";
import { useSession } from "./components/session";
import { WorkflowListPage } from "./pages/WorkflowListPage";
import { TemplatesPage } from "./pages/TemplatesPage";
import { DesignerPage } from "./pages/DesignerPage";

function TenantSwitcher() {
  const me = useSession((s) => s.me);
  const switchTenant = useSession((s) => s.switchTenant);
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
        onChange={async (e) => {
          await switchTenant(e.target.value);
          window.location.assign("/workflows");
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

function Shell() {
  const me = useSession((s) => s.me);
  const load = useSession((s) => s.load);
  useEffect(() => {
    void load();
  }, [load]);
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
  return (
    <div className="empty-state">
      <h2>Page not found</h2>
      <p>{error?.statusText ?? error?.message ?? "This page does not exist."}</p>
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
      { path: "designer/new", element: <DesignerPage /> },
      { path: "designer/:id", element: <DesignerPage /> },
      { path: "*", element: <RouteError /> },
    ],
  },
]);

export function App() {
  return <RouterProvider router={router} />;
}
