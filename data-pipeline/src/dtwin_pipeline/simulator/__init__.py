"""Device fleet simulator."""
