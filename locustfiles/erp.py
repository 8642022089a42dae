"""The ERP user mix: people browsing customers and articles, placing orders,
reading invoices and asking for forecasts.

Run it in Locust's web UI with ``locust -f locustfiles/erp.py --host
http://127.0.0.1:8003`` or headless with ``--headless -u 50 -r 10 -t 2m``;
``leitstand bench run`` uses the same class when no ``--endpoints`` are given.
"""

from __future__ import annotations

import random

from locust import FastHttpUser, between, task

from locustfiles.endpoints import ENDPOINTS, ERP_MIX, SeedSizes


class ErpUser(FastHttpUser):
    """One person using the ERP; task weights are the request shares of ``ERP_MIX``."""

    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.sizes = SeedSizes.from_env()

    def _call(self, key: str) -> None:
        ENDPOINTS[key].send(self.client, self.rng, self.sizes)

    @task(ERP_MIX["kunden-list"])
    def browse_customers(self) -> None:
        self._call("kunden-list")

    @task(ERP_MIX["kunde-detail"])
    def open_customer(self) -> None:
        self._call("kunde-detail")

    @task(ERP_MIX["artikel-list"])
    def browse_articles(self) -> None:
        self._call("artikel-list")

    @task(ERP_MIX["artikel-detail"])
    def open_article(self) -> None:
        self._call("artikel-detail")

    @task(ERP_MIX["auftraege-list"])
    def look_at_orders(self) -> None:
        self._call("auftraege-list")

    @task(ERP_MIX["place-order"])
    def place_order(self) -> None:
        self._call("place-order")

    @task(ERP_MIX["rechnung-detail"])
    def read_invoice(self) -> None:
        self._call("rechnung-detail")

    @task(ERP_MIX["prognose"])
    def ask_for_forecast(self) -> None:
        self._call("prognose")
