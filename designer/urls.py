"""Browser routes: sign in and out, and the single-page app's client-side routes."""

from django.urls import path

from designer import views

urlpatterns = [
    path("login", views.login_view, name="login"),
    path("logout", views.logout_view, name="logout"),
    path("", views.app, name="app"),
    path("workflows", views.app),
    path("templates", views.app),
    path("deliveries", views.app),
    path("executions", views.app),
    path("executions/<str:execution_id>", views.app),
    path("designer/new", views.app),
    path("designer/<str:workflow_id>", views.app),
]
