"""Flow Monitoring: counts at flow monitoring points, flow lines and maps (docs/events-flows.md)."""
