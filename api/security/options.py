"""`mlsim serve --users FILE`, and the warning for a server open to the network without it."""

from __future__ import annotations

import argparse
import ipaddress
import sys

from .users import Users, UsersError, load_users

__all__ = ["UsersError", "add_arguments", "load", "warn_if_open"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("security")
    group.add_argument(
        "--users", metavar="FILE",
        help='require credentials: JSON {"users": {"name": {"password": "...", "roles": ["superuser"]}}} '
        "(see README, Security)",
    )


def load(args: argparse.Namespace) -> Users | None:
    return load_users(args.users) if args.users else None


def warn_if_open(host: str, users: Users | None) -> None:
    """Warn on stderr when a non-loopback address is bound without `--users`: anyone who
    can reach it may change or wipe the cluster (`/_sim`)."""
    if users is None and not is_loopback(host):
        print(
            f"mlsim serve: warning: listening on {host} without --users: anyone who can reach it can "
            "change the cluster, including /_sim (nodes, clock, traffic)",
            file=sys.stderr, flush=True,
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
