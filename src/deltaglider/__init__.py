"""deltaglider: many versions of large files in S3, stored as xdelta3 deltas.

xdelta3 is compiled into the package (``deltaglider.xdelta``): no binary to
install, no child process, no temporary files.
"""

from deltaglider._version import __version__

__all__ = ["__version__"]
