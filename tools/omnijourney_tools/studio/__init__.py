"""`omnijourney studio`: the marketer's journeys, simulations and the customer screen as web pages over the working
tree, on loopback only.

`app` is the Starlette application (pages and the editor's JSON routes), `protection` its Host and CSRF checks,
`problems` every error answer as problem+json, `front_end` the scripts `make web` builds,
`bodies` request bodies read against a limit, `checking` the validator run on a file or on the text being typed,
`picture` the diagram with each step a link, `previews` each send step's template for a sample customer,
`working_tree` saving and the `git diff` of what would be proposed; `simulation_routes` the Simulate page's routes,
`simulation_runs` a run in a process of its own, `simulation_result` its report as timelines, funnels and metrics,
`simulation_charts` their charts; `customer` the customer screen for store staff and agents on a local backend;
`command` the CLI's subcommand and `server` uvicorn on a loopback socket.
"""

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8090
