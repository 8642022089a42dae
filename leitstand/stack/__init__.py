"""``leitstand up``: every part of the stack on this machine, from one command."""
