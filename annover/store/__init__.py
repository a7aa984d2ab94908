"""Storage: write-once objects, snapshots, refs, and the git, DVC and DuckDB adapters."""
