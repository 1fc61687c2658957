"""Search over the STAC Items of every version: the index tables, CQL2 filters, item search."""
