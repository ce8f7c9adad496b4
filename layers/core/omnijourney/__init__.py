"""omnijourney: one profile per customer across every channel, and journeys that stay consistent with it.

The map, top to bottom (each layer imports only those below it; `lint-imports` checks it):
    app/                  each function's work end to end (profile updates, erasure), called by the handlers
    runtime/              journeys running: triggers, guards, steps, stores (ledger, runs), consistency rules
    journeys/ channels/   the journey language and compiler · SES, SMS, push
    offers/               offers.yaml and its rules
    profiles/ edge/       one profile per customer · webhooks, sources, ingest, HTTP, quarantine
    vocabulary            the message vocabulary (StrEnums): MessageChannel, Category, the addressed channels
    events, identifiers   the shared vocabulary every layer speaks: the canonical event and identifiers
    platform/             settings, AWS clients, self-binding tables, errors, clock, YAML loading
Tooling (CLI, local backend, simulation, serve, diagrams) is the separate package omnijourney_tools, not shipped.
"""
