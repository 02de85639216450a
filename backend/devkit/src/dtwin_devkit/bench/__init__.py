"""Benchmarks (`make bench`): measure, print, record; never asserted in tests."""
