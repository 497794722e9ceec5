"""DTM-API-compatible reads (/v2, /v3): filled by the DTM API work."""

from fastapi import APIRouter

router = APIRouter(tags=["DTM API compatible"])
