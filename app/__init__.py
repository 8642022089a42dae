"""The Leitstand ERP service."""
