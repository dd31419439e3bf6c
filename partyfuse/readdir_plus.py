"""readdir that gives libfuse3 each entry's attributes (``FUSE_FILL_DIR_PLUS``).

A listing already holds every entry's size, mode and times.  mfusepy hands
libfuse only the entry's type, so the kernel looks each name up again
(a ``getattr`` upcall per file and folder a walk or a copy touches: one of the
three upcalls per folder of a ``find``, one of four per file of a ``cp -r``).
With the attributes in the answer, libfuse3 sends the kernel a READDIRPLUS
entry per name and those lookups are answered from the kernel's caches for the
mount's entry/attr timeout, as a getattr answered now would be.

Entries whose attributes the core does not know yet (None) go without them
and are looked up as before.  libfuse2 (fusepy, or mfusepy on macOS/FreeBSD)
has no READDIRPLUS: the binding's own readdir stays.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import suppress
from typing import Any

__all__ = ["FILL_DIR_PLUS", "fuse_class"]

#: libfuse3's ``FUSE_FILL_DIR_PLUS`` (enum fuse_fill_dir_flags).
FILL_DIR_PLUS = 2

#: Listings kept between a folder's readdir calls (one per open folder handle
#: being read; a program that stops reading part way leaves one behind).
KEPT_LISTINGS = 64
#: Packed ``struct stat``s kept by their attributes: entries repeat them (a
#: folder's files of one size and minute), and packing one field by field
#: through mfusepy cost 9 µs, copying a packed one 0.6.
KEPT_STATS = 4096


def fuse_class(binding: Any) -> Any:
    """The binding's ``FUSE`` class, with a readdir that fills attributes where
    it is libfuse3 through mfusepy."""
    base = binding.FUSE
    mod = binding.module
    if binding.name != "mfusepy" or binding.libfuse_major < 3:
        return base
    c_stat: Any = getattr(mod, "c_stat", None)
    set_st_attrs: Any = getattr(mod, "set_st_attrs", None)
    if c_stat is None or set_st_attrs is None or not hasattr(base, "readdir_fuse_3"):
        return base  # an mfusepy this was not written against: keep its own

    def packed(attrs: dict[str, Any], use_ns: bool, kept: dict[Any, bytes]) -> Any:
        """A ``struct stat`` holding ``attrs``, from the packed ones if seen before."""
        key = (use_ns, *attrs.items())
        raw = kept.get(key)
        if raw is None:
            st = c_stat()
            set_st_attrs(st, attrs, use_ns)
            if len(kept) >= KEPT_STATS:
                kept.clear()
            kept[key] = bytes(st)
            return st
        return c_stat.from_buffer_copy(raw)

    class PlusFUSE(base):  # type: ignore[misc, valid-type]
        _listed: OrderedDict[int, list[Any]]

        def readdir_fuse_3(
            self, path: bytes | None, buf: Any, filler: Any, offset: int, fip: Any, flags: int
        ) -> int:
            fh = fip.contents.fh
            listed = self.__dict__.setdefault("_listed", OrderedDict())
            items = listed.pop(fh, None) if offset else None
            if items is None:
                decoded = None if path is None else path.decode(self.encoding, self.errors)
                items = self.operations.readdir(decoded, fh)
            encoding, errors, use_ns = self.encoding, self.errors, self.use_ns
            kept = self.__dict__.setdefault("_stats", {})
            for pos in range(offset, len(items)):
                item = items[pos]
                if isinstance(item, str):
                    name, attrs = item, None
                else:
                    name, attrs = item[0], item[1]
                if attrs:
                    st = packed(attrs, use_ns, kept)
                    full = filler(buf, name.encode(encoding, errors), st, pos + 1, FILL_DIR_PLUS)
                else:
                    full = filler(buf, name.encode(encoding, errors), None, pos + 1, 0)
                if full:
                    break
            if offset < len(items):
                # the kernel asks again from where this answer ended, until an
                # answer is empty: keep the listing for that call
                listed[fh] = items
                with suppress(KeyError):  # another thread may trim at the same time
                    while len(listed) > KEPT_LISTINGS:
                        listed.popitem(last=False)
            return 0

    PlusFUSE.__name__ = PlusFUSE.__qualname__ = "PlusFUSE"
    return PlusFUSE
