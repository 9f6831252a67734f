"""Framegate: the command-line client (`framegate`) and the local-stack launcher.

Nothing is imported here so `import framegate.stack` stays cheap, and so the
modules work the same when the package is found as a namespace (an editable
install made before this file existed).
"""

__version__ = "0.1.0"
