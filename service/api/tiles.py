"""Vector tiles and TileJSON: filled by the tiles work."""

from fastapi import APIRouter

router = APIRouter(tags=["tiles"])
