"""The IO-free filesystem core.

Nothing under this package may import a socket, HTTP, TLS, FUSE, threading
or time module (tests/core/test_import_guard.py enforces it): time comes from
an injected clock, IO from an injected Transport, locks from an injected
lock factory, background work from an injected ``spawn``.

What it offers the layers around it:

- ``remotefs.RemoteFS``: the read-only filesystem (getattr, readdir, open,
  read, ...) the FUSE adapter and ``partyfuse --ls`` call.
- ``transport.Transport``: the protocol a transport implements (list_dir,
  read_range, probe_size); ``errors``: the typed errors it raises and the
  errno each becomes (``FsError``).
- ``model``: the plain values passed across (``Entry``, ``FileVersion``,
  ``Listing``); ``attrs``: ``Attrs`` for the kernel and ``CacheConfig``.
- ``listings.parse_listing``: directory-listing bytes to entries, for every
  server dialect; ``listings.DIALECTS`` is the one list of dialect names.
- ``names``: remote names to local ones and back (``NameMap``).
- ``stats.Stats``: what a filesystem cost (requests, bytes, hits).

The caches and the read policy behind RemoteFS (``dircache``, ``blockcache``,
``handles``, ``readplan``, ``fetcher``) are its internals.
"""
