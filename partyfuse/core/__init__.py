"""The IO-free filesystem core.

Nothing under this package may import a socket, HTTP, TLS, FUSE, threading
or time module (tests/core/test_import_guard.py enforces it): time comes from
an injected clock, IO from an injected Transport, locks from an injected
lock factory, background work from an injected ``spawn``.

What it offers the layers around it:

- ``remotefs.RemoteFS``: the read-only filesystem (getattr, readdir, open,
  read, ...) the FUSE adapter and ``partyfuse --ls`` call.
- ``transport.Transport``: the protocol a transport implements (list_dir,
  read_range, probe; ``BatchTransport`` adds read_files); ``errors``: the
  typed errors it raises and the errno each becomes (``FsError``).
- ``model``: the plain values passed across (``Entry``, ``FileVersion``,
  ``Listing``); ``attrs``: ``Attrs`` for the kernel and ``CacheConfig``.
- ``listings.parse_listing``: directory-listing bytes to entries, for every
  server dialect; ``listings.PARSERS`` is the one table of dialect names
  (``listings.DIALECTS``, the ``--html`` values, is derived from it).
- ``names``: remote names to local ones and back (``NameMap``).
- ``stats.Stats``: what a filesystem cost (requests, bytes, hits).
- ``readplan.AHEAD_WINDOWS`` and ``prefetch.CONCURRENCY``: how many background
  jobs the injected ``spawn`` must be able to run at once.

Behind RemoteFS, its internals: ``namespace`` (listings, lookups, the
consistency rule), ``reader`` (the read path), ``fetcher`` (every transport
call), ``prefetcher`` with its pure policy ``prefetch`` and ``walk`` (fetch-ahead
across files and folders), ``readplan`` with ``spans`` (what a read fetches),
the caches ``dircache`` and ``blockcache``, ``handles`` (open files) and
``shared`` (what the parts share); ``limits`` bounds what a listing may
claim.
"""
