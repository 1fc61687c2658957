"""The STAC API routes (``/stac``) and the documents they serve."""
