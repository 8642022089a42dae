"""``leitstand serve``: the start-up manager and its worker supervisor."""
