"""Journeys as code: the YAML language marketers edit, its validation, and its compilation to Step Functions."""
