"""Directory-listing parsers: bytes and a content type in, entries out (pure).

Contract (implemented in this package):

    parse_listing(body: bytes, content_type: str, *, url_path: str,
                  dialect: str | None = None) -> Listing

``url_path`` is the URL path of the listed directory as requested
(percent-encoded, ending in "/"), so absolute hrefs (IIS) and same-origin
links can be resolved.  ``dialect`` forces a parser ("cpp", "nginx", "iis",
"apache", "lighttpd", "python", "generic"); None auto-detects.  Raises
``ListingError`` (a ProtocolError) when nothing matches.
"""
