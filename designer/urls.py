"""Browser routes: sign in and out, and the single-page app's client-side routes."""

from django.urls import path, re_path

from designer import views

urlpatterns = [
    path("login", views.login_view, name="login"),
    path("logout", views.logout_view, name="logout"),
    path("", views.app, name="app"),
    path("workflows", views.app),
    path("templates", views.app),
    path("deliveries", views.app),
    path("credentials", views.app),
    path("executions", views.app),
    path("executions/<str:execution_id>", views.app),
    path("designer/new", views.app),
    path("designer/<str:workflow_id>", views.app),
    path("workflows/<str:workflow_id>/executions", views.app),
    path("dashboard", views.app),
    # Any other page (not the API's, the webhooks', the admin's, the files' or the sockets'
    # paths, which answer their own 404) is the app's "not found" page.
    re_path(r"^(?!(?:api|hooks|admin|static|ws)(?:/|$))", views.not_found),
]
