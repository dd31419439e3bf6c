"""The transport's answer rules with plain values: one row per way a server (mis)behaves.

Every misbehaviour switch of ``fakes/servers.py`` that produces an answer has
its rows here (ignore_range, range_past_eof_416, refuse_head, fail_next,
short_body, shift_range), so the rule it exercises is tested without a
socket; ``drop_next`` sends no answer at all (the pool retries the request),
so it, like every other switch, is run through a real exchange with the fake
servers in ``test_switches_end_to_end``.
"""

from __future__ import annotations

import pytest

from fakes.tree import Tree, patterned
from partyfuse.core.errors import (
    Changed,
    Forbidden,
    NotFound,
    ProtocolError,
    Transient,
    TransportError,
)
from partyfuse.core.model import Entry
from partyfuse.http.answers import (
    AskWithGet,
    Fail,
    NothingToRead,
    Probed,
    ReadRequest,
    RetryLater,
    ShortBody,
    SliceWhole,
    TakeBytes,
    decide_head,
    decide_listing,
    decide_probe_get,
    decide_read,
    http_date,
    partial_body_error,
    resolved_entry,
    validator_seen,
    validator_to_send,
    whole_body_error,
)
from tests.support.transports import transport

SIZE = 10_000
MTIME = 1_700_000_000.0
LM = http_date(MTIME)
SMALL = 4096


def req(start: int = 0, end: int = 100, size: int | None = SIZE, validator: str | None = None):
    return ReadRequest("f", start, end, Entry("f", False, size, MTIME), validator)


def cr(first: int, last: int, total: int | str = SIZE) -> dict[str, str]:
    return {"Content-Range": f"bytes {first}-{last}/{total}"}


# (switch in fakes/servers.py or behaviour, request, status, headers, expected decision)
READS = [
    ("honest 206", req(), 206, cr(0, 99), TakeBytes(100)),
    ("honest 206 clipped at EOF", req(9_950, 10_050, None), 206, cr(9_950, 9_999), TakeBytes(50)),
    ("206 total unknown (*)", req(), 206, cr(0, 99, "*"), TakeBytes(100)),
    ("shift_range", req(), 206, cr(1, 100), ProtocolError),
    ("shift_range back", req(10, 20), 206, cr(9, 18), ProtocolError),
    ("206 longer than asked", req(), 206, cr(0, 199), ProtocolError),
    ("206 without Content-Range", req(), 206, {}, ProtocolError),
    ("206 with garbage Content-Range", req(), 206, {"Content-Range": "bytes lots"}, ProtocolError),
    ("206 with another total", req(), 206, cr(0, 99, 99_999), Changed),
    ("ignore_range, small file", req(), 200, {"Content-Length": str(SIZE)},
     SliceWhole(0, 100, SIZE, False)),
    ("ignore_range, small body", req(), 200, {"Content-Length": "4000"}, Changed),
    ("ignore_range, no length", req(size=None), 200, {}, SliceWhole(0, 100, None, False)),
    ("ignore_range, length small", req(size=None), 200, {"Content-Length": "10"},
     SliceWhole(0, 100, 10, True)),
    ("If-Range failed (ETag)", req(validator='"v1"'), 200, {"ETag": '"v2"'}, Changed),
    ("If-Range failed (date)", req(validator=LM), 200, {"Last-Modified": http_date(MTIME + 1)},
     Changed),
    ("If-Range held, Range ignored", req(validator='"v1"'), 200,
     {"ETag": '"v1"', "Content-Length": str(SIZE)}, SliceWhole(0, 100, SIZE, False)),
    ("range_past_eof_416, at EOF", req(SIZE, SIZE + 10, None), 416,
     {"Content-Range": f"bytes */{SIZE}"}, NothingToRead()),
    ("range_past_eof_416, inside the file", req(9_990, 10_010, None), 416,
     {"Content-Range": f"bytes */{SIZE}"}, ProtocolError),
    ("416 with another size", req(), 416, {"Content-Range": "bytes */50"}, Changed),
    ("apache 416 without Content-Range", req(SIZE, SIZE + 1, None), 416, {}, NothingToRead()),
    ("fail_next 503", req(), 503, {}, RetryLater(Transient("x"), None)),
    ("fail_next 503 Retry-After", req(), 503, {"Retry-After": "7"},
     RetryLater(Transient("x"), 7.0)),
    ("fail_next 502", req(), 502, {}, RetryLater(Transient("x"), None)),
    ("fail_next 500", req(), 500, {}, RetryLater(Transient("x"), None)),
    ("429 Retry-After", req(), 429, {"Retry-After": "2"}, RetryLater(Transient("x"), 2.0)),
    ("404 (file deleted)", req(), 404, {}, NotFound),
    ("410", req(), 410, {}, NotFound),
    ("auth 401", req(), 401, {}, Forbidden),
    ("403", req(), 403, {}, Forbidden),
    ("400", req(), 400, {}, ProtocolError),
    ("redirect loop end", req(), 302, {}, ProtocolError),
]  # fmt: skip


@pytest.mark.parametrize(("why", "request_", "status", "headers", "want"), READS,
                         ids=[r[0] for r in READS])  # fmt: skip
def test_read_answers(why, request_, status, headers, want):
    got = decide_read(request_, status, headers, small_body=SMALL)
    if isinstance(want, type):
        assert isinstance(got, Fail), got
        assert type(got.error) is want, got.error
        assert "\n" not in str(got.error)
    elif isinstance(want, RetryLater):
        assert isinstance(got, RetryLater)
        assert isinstance(got.error, type(want.error))
        assert got.delay == want.delay
    else:
        if isinstance(want, SliceWhole) and (want.length or SIZE) <= SMALL:
            want = SliceWhole(want.start, want.end, want.length, True)
        assert got == want


def test_a_retry_after_date_is_a_delay_from_now():
    got = decide_read(req(), 503, {"Retry-After": http_date(MTIME + 30)}, small_body=0, now=MTIME)
    assert isinstance(got, RetryLater) and got.delay == 30.0


# short_body (the fakes keep the Content-Length and send fewer bytes): judged after reading
BODIES = [
    ("206 complete", lambda: partial_body_error(req(), 100, 100), None),
    ("short_body 206", lambda: partial_body_error(req(), 100, 99), ShortBody),
    ("200 small, complete", lambda: whole_body_error(req(0, 100, 200),
        SliceWhole(0, 100, 200, True), 200, 100), None),
    ("short_body 200 small", lambda: whole_body_error(req(0, 100, 200),
        SliceWhole(0, 100, 200, True), 150, 100), ShortBody),
    ("200 small, another length", lambda: whole_body_error(req(0, 100, 200),
        SliceWhole(0, 100, None, True), 300, 100), Changed),
    ("200 large, reached end", lambda: whole_body_error(req(0, 100),
        SliceWhole(0, 100, SIZE, False), 256, 100), None),
    ("short_body 200 large", lambda: whole_body_error(req(0, 100),
        SliceWhole(0, 100, SIZE, False), 50, 50), ShortBody),
]  # fmt: skip


@pytest.mark.parametrize(("why", "judge", "want"), BODIES, ids=[b[0] for b in BODIES])
def test_body_answers(why, judge, want):
    got = judge()
    assert got is None if want is None else isinstance(got, want)


PROBES = [
    ("HEAD with length and date", "head", 200, {"Content-Length": "42", "Last-Modified": LM},
     Probed(42, MTIME)),
    ("HEAD without a date", "head", 200, {"Content-Length": "42"}, Probed(42, None)),
    ("HEAD with a bad date", "head", 200, {"Content-Length": "0", "Last-Modified": "soon"},
     Probed(0, None)),
    ("HEAD without length", "head", 200, {}, AskWithGet()),
    ("HEAD gzipped", "head", 200, {"Content-Length": "9", "Content-Encoding": "gzip"},
     AskWithGet()),
    ("refuse_head 405", "head", 405, {}, AskWithGet()),
    ("HEAD 501", "head", 501, {}, AskWithGet()),
    ("HEAD 404", "head", 404, {}, NotFound),
    ("HEAD fail_next 503", "head", 503, {}, RetryLater(Transient("x"), None)),
    ("GET 206", "get", 206, {**cr(0, 0, 77), "Last-Modified": LM}, Probed(77, MTIME)),
    ("GET 206 shifted", "get", 206, cr(1, 1, 77), ProtocolError),
    ("GET 206 total unknown", "get", 206, cr(0, 0, "*"), ProtocolError),
    ("GET 416 empty file", "get", 416, {"Content-Range": "bytes */0"}, Probed(0, None)),
    ("GET 416 apache", "get", 416, {}, ProtocolError),
    ("GET ignore_range", "get", 200, {"Content-Length": "77"}, Probed(77, None)),
    ("GET 200 chunked", "get", 200, {}, ProtocolError),
    ("GET 401", "get", 401, {}, Forbidden),
]  # fmt: skip


@pytest.mark.parametrize(("why", "method", "status", "headers", "want"), PROBES,
                         ids=[p[0] for p in PROBES])  # fmt: skip
def test_probe_answers(why, method, status, headers, want):
    decide = decide_head if method == "head" else decide_probe_get
    got = decide(status, headers, "size of 'f'")
    if isinstance(want, type):
        assert isinstance(got, Fail) and type(got.error) is want
    elif isinstance(want, RetryLater):
        assert isinstance(got, RetryLater) and isinstance(got.error, Transient)
    else:
        assert got == want


def test_a_probed_date_fills_only_a_listing_without_one():
    undated = Entry("f", False, None, 0.0)
    assert resolved_entry(undated, Probed(5, MTIME)) == Entry("f", False, 5, MTIME)
    assert resolved_entry(undated, Probed(5, None)) == Entry("f", False, 5, 0.0)
    dated = Entry("f", False, None, 123.0, key="k")
    assert resolved_entry(dated, Probed(5, MTIME)) == Entry("f", False, 5, 123.0, key="k")


@pytest.mark.parametrize(
    ("status", "ctype", "want"),
    [(200, "text/html", None), (200, "application/json", None), (200, "", None),
     (200, "application/octet-stream", NotFound), (403, "text/html", Forbidden),
     (404, "text/html", NotFound), (503, "text/html", Transient)],
)  # fmt: skip
def test_listing_answers(status, ctype, want):
    got = decide_listing(status, {"Content-Type": ctype}, "list '/'")
    assert got is None if want is None else type(got.error) is want


def test_validators():
    strong = Entry("f", False, 1, MTIME, etag='"abc"')
    weak = Entry("f", False, 1, MTIME, etag='W/"abc"')
    assert validator_to_send(strong, '"other"', copyparty=False) == '"abc"'
    assert validator_to_send(weak, None, copyparty=False) is None
    assert validator_to_send(weak, '"seen"', copyparty=False) == '"seen"'
    assert validator_to_send(weak, None, copyparty=True) == LM
    assert validator_to_send(Entry("f", False, 1, 0.0), None, copyparty=True) is None
    assert validator_seen({"ETag": '"e"', "Last-Modified": LM}) == '"e"'
    assert validator_seen({"ETag": 'W/"e"', "Last-Modified": LM}) == LM
    assert validator_seen({}) is None


# -- every switch, through a real exchange ------------------------------------

DATA = patterned(300_000, seed=3)


def _switch(server, name: str) -> None:
    if name == "fail_next":
        server.fail_next(1, 503)
    elif name == "fail_many":
        server.fail_next(10, 500)
    elif name == "drop_next":
        server.drop_next(1)
    elif name == "short_body":
        server.short_body = 7
    elif name == "shift_range":
        server.shift_range = 3
    elif name != "honest":
        setattr(server, name, True)


SWITCHES = ["honest", "ignore_range", "range_past_eof_416", "refuse_head", "fail_next",
            "fail_many", "drop_next", "short_body", "shift_range"]  # fmt: skip
RECOVERS = {"honest", "ignore_range", "range_past_eof_416", "refuse_head", "fail_next", "drop_next"}


@pytest.mark.parametrize("kind", ["nginx", "apache"])
@pytest.mark.parametrize("switch", SWITCHES)
def test_switches_end_to_end(fake_server, kind, switch):
    tree = Tree()
    tree.add_file("f.bin", DATA)
    server = fake_server(kind, tree)
    t = transport(server.url("/"))
    (e,) = t.list_dir("")
    _switch(server, switch)
    for start, end in [(0, 4096), (123_456, 200_000), (299_990, 300_000)]:
        try:
            got = t.read_range("f.bin", start, end, e)
        except TransportError as err:
            assert switch not in RECOVERS, err
            assert "\n" not in str(err)
            continue
        assert got == DATA[start:end], (switch, start, end)
    try:
        assert t.probe_size("f.bin", e) == len(DATA)
    except TransportError:
        assert switch not in RECOVERS


@pytest.mark.parametrize(
    ("sent", "field", "answered", "changed"),
    [
        (http_date(MTIME), "Last-Modified", http_date(MTIME + 60), True),
        (http_date(MTIME), "Last-Modified", http_date(MTIME), False),
        ('"v1"', "ETag", '"v2"', True),
        ('"v1"', "ETag", '"v1"', False),
    ],
)
def test_a_206_of_another_version_than_the_if_range_sent_is_a_change(
    sent: str, field: str, answered: str, changed: bool
) -> None:
    # a server that ignores If-Range answers 206 with the new file's bytes at the
    # same size: only its validator tells, and taking them would mix two versions
    headers = {"Content-Range": f"bytes 0-99/{SIZE}", field: answered}
    got = decide_read(req(validator=sent), 206, headers, small_body=0)
    if changed:
        assert isinstance(got, Fail) and isinstance(got.error, Changed)
    else:
        assert got == TakeBytes(100)
