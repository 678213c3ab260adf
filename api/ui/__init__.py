"""The live view (`GET /_sim/ui`): one page and its script, served from package data."""
