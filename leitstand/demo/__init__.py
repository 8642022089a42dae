"""``leitstand demo``: the closed loop shown end to end on a live stack."""
