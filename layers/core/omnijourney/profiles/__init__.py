"""Customer profiles: one per customer across every channel."""
