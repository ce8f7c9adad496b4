"""The journey commands of the CLI (list, validate, compile, schema) and the diagrams drawn from a journey."""
