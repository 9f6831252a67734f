"""The dashboard service; not built yet (see DESIGN.md)."""
