"""pytest plugin: the simulator as a live HTTP server (filled in by issue 3)."""
