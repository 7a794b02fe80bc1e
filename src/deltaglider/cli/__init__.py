"""The ``deltaglider`` command line (``python -m deltaglider``)."""
