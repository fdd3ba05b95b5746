"""A workflow's own OpenAPI document: its execute endpoint with its real input and output
schemas, and the execution read back."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from mbflow.codegen.spec import ClientSpec

STATUSES = ["pending", "running", "paused", "succeeded", "failed", "cancelled"]


def openapi_document(spec: ClientSpec, server_url: str = "http://localhost:8181") -> dict[str, Any]:
    execution = {"$ref": "#/components/schemas/Execution"}
    error = {"description": "The error envelope", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}
    started = {"content": {"application/json": {"schema": execution}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": spec.title or spec.name, "version": str(spec.version or 1),
                 "description": spec.description or f"The MBFlow workflow `{spec.name}`."},
        "servers": [{"url": server_url.rstrip("/")}],
        "security": [{"apiKey": []}],
        "paths": {
            f"/api/v1/workflows/{quote(spec.name, safe='')}/execute": {"post": {
                "operationId": "execute", "summary": f"Run {spec.name}",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ExecuteRequest"}}}},
                "responses": {"200": {"description": "It ended within `wait`", **started},
                              "201": {"description": "Started (still running)", **started},
                              "400": error, "401": error, "503": error},
            }},
            "/api/v1/executions/{id}": {"get": {
                "operationId": "getExecution", "summary": "An execution of it, as it stands",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The execution", **started}, "404": error},
            }},
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Input": spec.input(),
                "Output": spec.output(),
                "ExecuteRequest": {"type": "object", "required": ["input"], "properties": {
                    "input": {"$ref": "#/components/schemas/Input"},
                    "wait": {"type": "number", "minimum": 0, "maximum": 300,
                             "description": "Seconds to wait for the result."},
                    "idempotency_key": {"type": "string", "maxLength": 200,
                                        "description": "A second start with the same key returns the first."}}},
                "Execution": {"type": "object", "required": ["id", "status"], "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "status": {"type": "string", "enum": STATUSES},
                    "input": {"$ref": "#/components/schemas/Input"},
                    "output": {"anyOf": [{"$ref": "#/components/schemas/Output"}, {"type": "null"}]},
                    "error": {}, "steps": {"type": "array", "items": {"type": "object"}}}},
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}}}}},
            },
        },
    }
