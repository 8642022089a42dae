"""HTTP routes of the ERP API, one router per resource, all of the same shape."""
