"""The notify service; not built yet (see DESIGN.md)."""
