"""Rounds, choropleths, time series, locations, sites."""

from fastapi import APIRouter

router = APIRouter(tags=["figures"])
