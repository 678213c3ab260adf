"""The simulated cluster: clock, state, master, services and event log (no HTTP)."""
