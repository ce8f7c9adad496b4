"""`omnijourney simulate`: replay what customers do across channels through the real handlers, on moto."""
