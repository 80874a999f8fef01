"""The one exception type that the command line turns into a one-line message."""


class UserError(Exception):
    """Bad input from the user: printed as `error: <message>` with a non-zero exit, no traceback."""
