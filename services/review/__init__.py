"""The review service; not built yet (see DESIGN.md)."""
