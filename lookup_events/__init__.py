"""dtool-lookup: the write side (events, registrar, stores) and the shared data model."""

__version__ = "0.1.0"
