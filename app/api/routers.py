"""Every router of the ERP API, in the order they are registered."""

from __future__ import annotations

from fastapi import APIRouter

from app.api import artikel, auftraege, health, kunden, lager, rechnungen

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    kunden.router,
    artikel.router,
    auftraege.router,
    rechnungen.router,
    lager.router,
)
