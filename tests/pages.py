"""Helpers for tests that compare whole answers: what changes between two requests of the same page by design."""

import re

# Django masks the CSRF token differently in every response.
_CSRF = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]+(")')


def comparable(response):
    """``response``'s status, content type and body, less what differs between any two requests."""
    return response.status_code, response.get("Content-Type"), _CSRF.sub(rb"\1\2", response.content)
