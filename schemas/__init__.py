"""Generated JSON Schemas per kind and version (see PROVENANCE.md); package data only."""
