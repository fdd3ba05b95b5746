from django.urls import path, re_path

from workflows.api import views_access, views_catalog, views_client, views_drafts, views_workflows

# Paths answer with or without a trailing slash, as in the seeds.
S = "/?$"

urlpatterns = [
    re_path(r"^me" + S, views_access.MeView.as_view()),
    re_path(r"^me/tenant" + S, views_access.MeTenantView.as_view()),
    re_path(r"^workflows" + S, views_workflows.WorkflowListView.as_view()),
    re_path(r"^workflows/import" + S, views_workflows.ImportView.as_view()),
    re_path(r"^workflows/validate" + S, views_workflows.ValidateView.as_view()),
    re_path(r"^workflows/(?P<ref>[^/]+)" + S, views_workflows.WorkflowDetailView.as_view()),
    re_path(r"^workflows/(?P<ref>[^/]+)/duplicate" + S, views_workflows.WorkflowDuplicateView.as_view()),
    re_path(r"^workflows/(?P<ref>[^/]+)/versions" + S, views_workflows.VersionListView.as_view()),
    re_path(r"^workflows/(?P<ref>[^/]+)/versions/(?P<number>[0-9]+)" + S, views_workflows.VersionDetailView.as_view()),
    re_path(r"^workflows/(?P<ref>[^/]+)/diff" + S, views_workflows.DiffView.as_view()),
    re_path(r"^workflows/(?P<ref>[^/]+)/rollback" + S, views_workflows.RollbackView.as_view()),
    re_path(r"^workflows/(?P<ref>[^/]+)/export" + S, views_workflows.ExportView.as_view()),
    re_path(r"^workflows/(?P<ref>[^/]+)/client" + S, views_client.WorkflowClientView.as_view()),
    re_path(r"^workflows/(?P<ref>[^/]+)/draft" + S, views_drafts.DraftView.as_view()),
    re_path(r"^workflows/(?P<ref>[^/]+)/pinned" + S, views_drafts.PinnedView.as_view()),
    re_path(r"^drafts/new" + S, views_drafts.CanvasDraftView.as_view()),
    re_path(r"^node-types" + S, views_catalog.NodeTypeListView.as_view()),
    re_path(r"^node-types/(?P<type_name>[^/]+)" + S, views_catalog.NodeTypeDetailView.as_view()),
    path("schema/workflow.json", views_catalog.WorkflowSchemaView.as_view()),
    re_path(r"^templates" + S, views_catalog.TemplateListView.as_view()),
    re_path(r"^templates/(?P<template_id>[^/]+)" + S, views_catalog.TemplateDetailView.as_view()),
    re_path(r"^templates/(?P<template_id>[^/]+)/instantiate" + S, views_catalog.TemplateInstantiateView.as_view()),
    re_path(r"^keys" + S, views_access.KeyListView.as_view()),
    re_path(r"^keys/(?P<key_id>[^/]+)" + S, views_access.KeyDetailView.as_view()),
    re_path(r"^members" + S, views_access.MemberListView.as_view()),
    re_path(r"^members/(?P<member_id>[0-9]+)" + S, views_access.MemberDetailView.as_view()),
]
