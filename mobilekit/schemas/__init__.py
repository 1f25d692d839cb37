"""JSON Schemas shipped with mobilekit."""
