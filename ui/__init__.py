"""Dock widgets and dialogs (``.ui`` files loaded at runtime)."""
