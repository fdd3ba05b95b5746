"""Serve the built single-page app, and the session sign-in it relies on.

The SPA talks to /api/v1 with the session cookie; these views only authenticate, remember the
user's tenant in the session, and hand out ``frontend/dist/index.html`` with a CSRF cookie set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from workflows.tenancy import SESSION_TENANT_KEY, membership_for


def _index_path() -> Path:
    return Path(settings.FRONTEND_DIST) / "index.html"


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


@require_http_methods(["GET", "HEAD", "POST"])
@ensure_csrf_cookie
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    context: dict[str, Any] = {"next": next_url, "username": "", "error": ""}
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        user = authenticate(request, username=username, password=request.POST.get("password", ""))
        if user is not None:
            login(request, user)
            membership = membership_for(user.pk, None)
            if membership is not None:
                request.session[SESSION_TENANT_KEY] = str(membership.tenant_id)
            return HttpResponseRedirect(next_url)
        context.update(username=username, error="That username and password do not match.")
        return render(request, "designer/login.html", context, status=401)
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_url)
    return render(request, "designer/login.html", context)


@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    # A GET only offers the button: signing out changes state, so it needs the CSRF-checked POST.
    if request.method == "POST":
        logout(request)
        return HttpResponseRedirect(settings.LOGIN_URL)
    return render(request, "designer/logout.html")


def _index(request: HttpRequest, status: int = 200) -> HttpResponse:
    index = _index_path()
    try:
        html = index.read_text(encoding="utf-8")
    except FileNotFoundError:
        return render(request, "designer/unavailable.html", {"path": str(index)}, status=503)
    response = HttpResponse(html, content_type="text/html; charset=utf-8", status=status)
    response["Cache-Control"] = "no-cache"
    return response


@require_http_methods(["GET", "HEAD"])
@login_required
@ensure_csrf_cookie
def app(request: HttpRequest, **_route: str) -> HttpResponse:
    return _index(request)


@require_http_methods(["GET", "HEAD"])
@login_required
@ensure_csrf_cookie
def not_found(request: HttpRequest, **_route: str) -> HttpResponse:
    """A page the app does not have: the app itself, which shows its own "not found" page, with
    the 404 status (the API's unknown paths keep their JSON error)."""
    return _index(request, status=404)
