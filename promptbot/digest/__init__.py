"""The digest: its model and assembly, its rendering and templates, and its service."""
