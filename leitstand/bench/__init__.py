"""The benchmark tool: ``leitstand bench run|compare|plot|profile``.

Locust (and with it gevent's monkey patching) runs only in the child process
started by :mod:`leitstand.bench.runner`; nothing else in this package imports it.
"""
