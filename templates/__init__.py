"""Jinja2 templates shipped with compactor (installed as ``compactor.templates``)."""
