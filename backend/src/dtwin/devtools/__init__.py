"""Developer tooling shared by tests, `make dev` and `make bench` (not used by the running service)."""
