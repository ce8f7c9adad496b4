"""What every part stands on: settings, AWS clients, self-binding tables, errors, the clock, YAML loading."""
