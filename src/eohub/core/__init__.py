"""Core logic every layer shares and that depends on no other eohub package but errors and config."""
