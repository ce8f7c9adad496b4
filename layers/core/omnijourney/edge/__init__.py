"""What faces the channels: webhook sources, ingest, the HTTP problem mapping and bodies, quarantine (writing)."""
