"""The shared scorecard (issue 18): the metrics of metrics/*.sql computed from the facts of a lake."""
