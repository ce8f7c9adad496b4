"""`omnijourney serve`: the whole backend on moto behind a local HTTP server, journeys in real time.

`server` is the HTTP server and the clock that paces the journeys; `tracking` plays Segment's Tracking API for the
analytics libraries; `openapi` merges the routes' own descriptions into the document served at /openapi.json.
"""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
