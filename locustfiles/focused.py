"""One Locust user class per ERP endpoint, for runs that load a single route.

Pick classes by name, e.g. ``locust -f locustfiles/focused.py --host
http://127.0.0.1:8003 KundeDetailUser``, or all of them with ``--class-picker``
in the web UI. ``leitstand bench run --endpoints kunde-detail`` runs the same
classes.
"""

from __future__ import annotations

import random

from locust import FastHttpUser, between, task

from locustfiles.endpoints import ENDPOINTS, Endpoint, SeedSizes


class FocusedUser(FastHttpUser):
    """A user that requests one endpoint again and again."""

    abstract = True
    endpoint: Endpoint
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.sizes = SeedSizes.from_env()

    @task
    def call_endpoint(self) -> None:
        self.endpoint.send(self.client, self.rng, self.sizes)


class HealthUser(FocusedUser):
    endpoint = ENDPOINTS["health"]


class KundenListUser(FocusedUser):
    endpoint = ENDPOINTS["kunden-list"]


class KundeDetailUser(FocusedUser):
    endpoint = ENDPOINTS["kunde-detail"]


class ArtikelListUser(FocusedUser):
    endpoint = ENDPOINTS["artikel-list"]


class ArtikelDetailUser(FocusedUser):
    endpoint = ENDPOINTS["artikel-detail"]


class PrognoseUser(FocusedUser):
    endpoint = ENDPOINTS["prognose"]


class AuftraegeListUser(FocusedUser):
    endpoint = ENDPOINTS["auftraege-list"]


class RechnungDetailUser(FocusedUser):
    endpoint = ENDPOINTS["rechnung-detail"]


class PlaceOrderUser(FocusedUser):
    endpoint = ENDPOINTS["place-order"]


USER_CLASSES: dict[str, type[FocusedUser]] = {
    user_class.endpoint.key: user_class
    for user_class in (
        HealthUser,
        KundenListUser,
        KundeDetailUser,
        ArtikelListUser,
        ArtikelDetailUser,
        PrognoseUser,
        AuftraegeListUser,
        RechnungDetailUser,
        PlaceOrderUser,
    )
}
