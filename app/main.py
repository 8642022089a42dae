"""The ERP application factory."""

from __future__ import annotations

from fastapi import FastAPI

from app.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ERP app; safe to call several times in one process."""
    settings = settings or Settings()
    application = FastAPI(title="Leitstand ERP", version="0.1.0")
    application.state.settings = settings
    return application
