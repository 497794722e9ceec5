"""Emergency Tracking (ETT): daily events of a crisis, per location and unit (docs/events-flows.md)."""
