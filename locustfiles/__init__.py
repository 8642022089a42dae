"""Locust user classes for the ERP API.

``erp.py`` holds the ERP user mix, ``focused.py`` one user class per endpoint,
and ``endpoints.py`` the request builders both share with ``leitstand bench``.
"""
