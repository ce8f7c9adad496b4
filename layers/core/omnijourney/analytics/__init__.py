"""Analytics facts: append-only rows the functions write as things happen (docs/analytics.md).

`columns` defines the table once (name → Glue type), `facts` builds each kind of fact and its record, `stream`
collects them during a unit of work and puts them to Firehose at its end. Tooling reads them back as Parquet
(`omnijourney_tools.lake`); nothing here imports pyarrow or DuckDB.
"""
