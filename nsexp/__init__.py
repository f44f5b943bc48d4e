"""nsexp: A/B readouts that test every metric and flag wins that never reach the North Star."""

__version__ = "0.1.0"
