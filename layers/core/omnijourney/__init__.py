"""omnijourney: one profile per customer across every channel, and journeys that stay consistent with it."""
