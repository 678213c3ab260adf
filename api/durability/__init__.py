"""Durability: the request journal and snapshots behind `mlsim serve --data DIR` and
`--restore FILE`, replayed through the same app on start (one implementation of each
operation)."""
