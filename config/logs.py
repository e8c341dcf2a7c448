"""
Structured logs: structlog renders every record, Django's and the libraries' included, as
one JSON object per line (or, for people at a terminal, as readable text). Records made
during a request carry its ``request_id``, bound by django-structlog's middleware.
"""

import structlog

# Applied to records from the standard library's loggers (Django, gunicorn, libraries).
FOREIGN_PRE_CHAIN = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
RENDERERS = {
    "json": lambda: structlog.processors.JSONRenderer(),
    "console": lambda: structlog.dev.ConsoleRenderer(colors=False),
}


def formatter(renderer):
    """A logging formatter for ``LOGGING``: ``renderer`` is a key of ``RENDERERS``."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=FOREIGN_PRE_CHAIN,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            RENDERERS[renderer](),
        ],
    )


def configure():
    """Route structlog's own loggers through the standard library, so that one handler writes everything."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
