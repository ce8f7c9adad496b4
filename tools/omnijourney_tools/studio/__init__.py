"""`omnijourney studio`: the marketer's journeys as web pages over the working tree, on loopback only.

`app` is the Starlette application (pages and the editor's JSON routes), `protection` its Host and CSRF checks,
`checking` the validator run on a file or on the text being typed, `picture` the diagram with each step a link,
`previews` each send step's template for a sample customer, `working_tree` saving and the `git diff` of what would be
proposed, `server` uvicorn on a loopback socket.
"""

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8090
