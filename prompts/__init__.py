"""Jinja2 templates for every message, email and prompt meant for people (see bot.templates)."""
