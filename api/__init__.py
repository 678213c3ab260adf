"""The faces of mlsim: HTTP dialects, the simulator control plane and the command line."""
