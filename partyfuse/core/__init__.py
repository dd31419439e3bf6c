"""The IO-free filesystem core.

Nothing under this package may import a socket, HTTP, TLS, FUSE, threading
or time module (tests/core/test_import_guard.py enforces it): time comes from
an injected clock, IO from an injected Transport, locks from an injected
lock factory.
"""
