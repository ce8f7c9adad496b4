"""`omnijourney import pinpoint`: Amazon Pinpoint's journeys, templates, segments, settings and endpoints brought
over as omnijourney definitions and customers, with a report of what each became and what needs a human decision
(docs/migrate-from-pinpoint.md)."""
