"""mlreport: turn ML run records into a searchable static site."""

__version__ = "0.1.0"
