"""One ML node: its resources and the simpy processes that load, serve and stop models."""
