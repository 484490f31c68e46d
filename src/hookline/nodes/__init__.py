"""Node types: one module each, registered by their type string in `registry`."""
