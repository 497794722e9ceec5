"""Publishing: the registry of servable datasets (``datasets``), file exports (``exports``) and
their file names (``naming``). The OGC API - Features endpoints (``service.api.ogc``) and the
exports (``service.api.exports``, ``dtm-atlas export``) both read through ``datasets``."""
