"""CAMEL role-playing and dataset generation."""
