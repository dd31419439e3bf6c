"""Helpers the test packages share (no test module imports another).

Fixture modules (copyparty, fake_servers, real_servers, mounts) are registered
once as pytest plugins by tests/conftest.py; the rest are plain helpers: wait
(the one wait_for), ports, factories, names, treecheck, samples, listed, listing_cases,
pages, disk, certs and bench.
"""
