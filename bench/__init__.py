"""Benchmarks that print figures (never assertions). Run each as a script."""
