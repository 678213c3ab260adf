"""Elasticsearch's autoscaling for the `ml` tier: the ML decider (pure), the policies and
`_autoscaling/capacity` answers built from cluster state, and a simulated orchestrator that
adds and removes nodes on the simulated clock. See cluster/README.md for the rules."""
