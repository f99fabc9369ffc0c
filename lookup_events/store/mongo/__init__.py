"""The MongoDB dataset store."""
