"""omnijourney_tools: what runs on a workstation, never in Lambda; the layer build does not copy this package.

The `omnijourney` command (cli), the local moto backend (local), `omnijourney simulate` (simulation/),
`omnijourney serve` (serve/), the journey commands and diagrams (journeys/) and the operator's view of quarantine.
It imports the domain (`omnijourney`); the domain never imports it (import-linter checks both).
"""
