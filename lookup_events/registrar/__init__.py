"""The registrar: the one writer of dataset records, and its loop."""
