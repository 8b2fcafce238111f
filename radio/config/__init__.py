"""Configuration files: YAML with line/column marks, and diagnostics that point at them."""
