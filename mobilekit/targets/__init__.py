"""Export targets, one module each, registered by name in `base`."""
