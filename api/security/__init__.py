"""Opt-in security (`mlsim serve --users FILE`): Basic auth and API keys, and each dialect's
roles, privileges and refusals."""

from . import options
from .middleware import installer
from .users import Users

__all__ = ["Users", "installer", "options"]
