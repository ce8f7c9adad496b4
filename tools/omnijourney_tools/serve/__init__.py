"""`omnijourney serve`: the whole backend on moto behind a local HTTP server, journeys in real time.

`server` turns requests into the functions' events and runs the clock that paces the journeys, as a Starlette app;
`listener` is the HTTP layer it runs on (uvicorn with timeouts and limits, an access log without query strings),
which other local apps can share; `tracking` plays Segment's Tracking API for the analytics libraries; `openapi`
merges the routes' own descriptions into the document served at /openapi.json.
"""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
