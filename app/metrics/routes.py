"""Route templates for the ``handler`` label.

After routing, the scope names what matched: ``scope["route"]`` for FastAPI
routes (the route object of the router that declared it) and for routes of a
plain Starlette router, and ``scope["endpoint"]`` for every match. A route's
own template lacks two prefixes, which are recovered here:

- a mount's prefix, from ``root_path`` (Starlette extends it per mount);
- the prefix given to ``include_router``, as the part of the path before the
  route's own pattern matches.

Prefixes with path parameters in them are recovered with their values; no
route in this app uses one.

A response sent before routing (a response cache serving a hit) leaves no
route in the scope. Its path is then matched against the templates of the
app's OpenAPI schema, so a cache hit counts under the same template as a miss.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from starlette.routing import BaseRoute, Host, Mount, Route, compile_path
from starlette.types import Scope

logger = logging.getLogger("leitstand.metrics")

# The handler label of a request that matched no route (scanners, typos).
UNMATCHED = "none"
# Paths remembered by the schema match; past this many, matches are not stored.
MAX_REMEMBERED_PATHS = 4096


class RouteTemplates:
    """Resolve the full route template of a routed request scope."""

    def __init__(self, app: Any) -> None:
        # ``app`` is the Starlette or FastAPI app. Its routes are read at the
        # first request that needs them, when every router has been included.
        self._app = app
        self._by_endpoint: dict[int, str] | None = None
        self._schema_patterns: list[tuple[re.Pattern[str], str]] | None = None
        self._by_path: dict[str, str] = {}
        self._fixed_paths: dict[tuple[int, str, str], str] = {}

    def handler(self, scope: Scope) -> str:
        """Return the template of the route that handled ``scope``, or ``none``."""
        route = scope.get("route")
        if route is not None:
            if getattr(route, "param_convertors", None):
                return _route_template(route, scope)
            # A route without path parameters matches a fixed set of paths:
            # remember each, and skip the prefix search on the next request.
            key = (id(route), scope["path"], scope.get("root_path", ""))
            template = self._fixed_paths.get(key)
            if template is None:
                template = _route_template(route, scope)
                if len(self._fixed_paths) < MAX_REMEMBERED_PATHS:
                    self._fixed_paths[key] = template
            return template
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return self._match_schema(scope["path"])
        templates = self._by_endpoint
        if templates is None or id(endpoint) not in templates:
            # First use, or a route added after it: rebuild the table once.
            templates = self._by_endpoint = endpoint_templates(self._app.routes)
            templates.setdefault(id(endpoint), UNMATCHED)
        return templates[id(endpoint)]

    def _match_schema(self, path: str) -> str:
        template = self._by_path.get(path)
        if template is not None:
            return template
        if self._schema_patterns is None:
            self._schema_patterns = schema_patterns(self._app)
        template = next(
            (template for pattern, template in self._schema_patterns if pattern.match(path)),
            UNMATCHED,
        )
        # Unmatched paths are not stored: scanners send endless different ones.
        if template != UNMATCHED and len(self._by_path) < MAX_REMEMBERED_PATHS:
            self._by_path[path] = template
        return template


def schema_patterns(app: Any) -> list[tuple[re.Pattern[str], str]]:
    """Return a pattern per path template of the app's OpenAPI schema, in route order."""
    openapi = getattr(app, "openapi", None)
    if openapi is None:
        return []
    try:
        paths: dict[str, Any] = openapi().get("paths", {})
    except Exception:
        logger.warning(
            "Building the OpenAPI schema failed; responses sent before routing "
            "are labelled handler=%s",
            UNMATCHED,
            exc_info=True,
        )
        return []
    return [(compile_path(template)[0], template) for template in paths]


def _route_template(route: Any, scope: Scope) -> str:
    path_format: str | None = getattr(route, "path_format", None)
    if path_format is None:
        return UNMATCHED
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    mount_prefix = root_path[len(scope["app_root_path"]) :] if "app_root_path" in scope else ""
    return mount_prefix + _include_prefix(route, path) + path_format


def _include_prefix(route: Any, path: str) -> str:
    """Return the part of ``path`` before ``route``'s own pattern, its router's prefix."""
    pattern = route.path_regex
    if pattern.match(path):
        return ""
    start = path.find("/", 1)
    while start != -1:
        if pattern.match(path[start:]):  # its pattern starts with ^, so slice
            return path[:start]
        start = path.find("/", start + 1)
    return ""


def endpoint_templates(routes: Iterable[BaseRoute], prefix: str = "") -> dict[int, str]:
    """Map the id of each endpoint under ``routes`` to its full template, walking into mounts."""
    templates: dict[int, str] = {}
    for route in routes:
        if isinstance(route, Mount):
            inner = route.routes
            if inner:
                # When the mounted app's router matches nothing, the mounted
                # app itself stays the endpoint, and no route handled the request.
                templates.setdefault(id(route.app), UNMATCHED)
                for key, template in endpoint_templates(inner, prefix + route.path).items():
                    templates.setdefault(key, template)
            else:
                templates.setdefault(id(route.app), prefix + route.path_format)
        elif isinstance(route, Host):
            for key, template in endpoint_templates(route.routes, prefix).items():
                templates.setdefault(key, template)
        elif isinstance(route, Route):
            templates.setdefault(id(route.endpoint), prefix + route.path_format)
    return templates
