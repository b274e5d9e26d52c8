"""The structured failure line every component writes:
``<component> - <flow uuid> - <state> <error>``, so CI can attribute a failure
to its component (and owner) by grepping the output.
"""

from __future__ import annotations

import logging
import uuid

FORMAT_HELP = "<component> - <uuid> - <state> <error>"


def new_flow_id() -> str:
    return str(uuid.uuid4())


def flow_line(component: str, flow_id: str, state: str, error: str) -> str:
    return f"{component} - {flow_id} - {state} {error}"


def log_flow_error(component: str, flow_id: str, state: str, error: BaseException | str) -> str:
    line = flow_line(component, flow_id, state, str(error))
    logging.getLogger(f"dynamo.{component}").error(line)
    return line
