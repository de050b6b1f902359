"""Tests of breakwater_client against a running system (see helpers.py)."""
