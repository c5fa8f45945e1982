"""Disputes and mediation (矛盾纠纷多元化解): registry, dispute workflow, sessions, agreements, campaigns."""
