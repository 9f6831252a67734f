"""The approval service; not built yet (see DESIGN.md)."""
