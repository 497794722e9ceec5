"""MapLibre styles: filled by the styles work."""

from fastapi import APIRouter

router = APIRouter(tags=["styles"])
