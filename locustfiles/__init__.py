"""Locust user classes for the ERP API.

``erp.py`` contains the ERP user mix, ``focused.py`` one user class per
endpoint, and ``endpoints.py`` the request builders that both share with
``leitstand bench``.
"""
