"""Kubernetes documentation conformance suite: the website task pages run as tests."""
