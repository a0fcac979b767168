"""The health screen: ingest per source, dead letters, lag, and the state of the parts."""
