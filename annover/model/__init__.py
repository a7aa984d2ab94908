"""Pure logic over Arrow tables and plain data: canonical tables, stats, the labeling config model."""
