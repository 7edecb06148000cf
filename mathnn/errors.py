"""The one exception mathnn raises for bad input."""


class InputError(ValueError, TypeError):
    """Bad input to a mathnn function: the message names the argument, what was expected and what was received."""
