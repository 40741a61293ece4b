"""The parts of Streamlit's protocol a tab reads and writes: widget ids matched by key, an element's text, and a
widget's value encoded as the frontend encodes it.

Read from streamlit 1.67 (the server's serdes in streamlit/elements and its frontend bundle): a button is a one-shot
`trigger_value`; a slider sends `double_array_value`; a select slider sends the chosen option's label as
`string_array_value` (older releases sent its index as a number; the option is still picked by index here); a
selectbox or radio sends the label as `string_value`; a chart's selection is JSON text in `string_value`, a custom
component's state JSON in `json_value`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from google.protobuf.message import Message
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

ID_PREFIX = "$$ID"  # Streamlit's generated widget ids: "$$ID-<hash of the widget's parameters>-<user key>"
STATUS = {value: name for name, value in ForwardMsg.ScriptFinishedStatus.items()}
SUCCESS = "FINISHED_SUCCESSFULLY"
FRAGMENT_SUCCESS = "FINISHED_FRAGMENT_RUN_SUCCESSFULLY"
EARLY = "FINISHED_EARLY_FOR_RERUN"
TEXT_KINDS = ("markdown", "heading", "text", "alert", "exception", "progress", "metric")


class ProtocolError(ValueError):
    """A value the tab cannot send (unknown widget kind, an option the widget does not have)."""


@dataclass(frozen=True)
class Widget:
    """A widget as the last run drew it: its id (which changes with its parameters), kind and element proto."""

    id: str
    kind: str  # the Element field that holds it: "slider", "button", "bidi_component", ...
    proto: Message

    @property
    def options(self) -> list[str]:
        """The option labels of a select slider, selectbox or radio."""
        return list(getattr(self.proto, "options", ()))

    @property
    def is_select_slider(self) -> bool:
        return self.kind == "slider" and self.proto.type == Slider.SELECT_SLIDER


def key_of(widget_id: str) -> str | None:
    """The user key at the end of a generated widget id; None for a widget without one."""
    parts = widget_id.split("-", 2)
    if len(parts) < 3 or parts[0] != ID_PREFIX or parts[2] == "None":
        return None
    return parts[2]


def element_widget(element: Element) -> Widget | None:
    """The widget this element is, if it is one with a generated id."""
    kind = element.WhichOneof("type")
    proto = getattr(element, kind) if kind else None
    widget_id = getattr(proto, "id", "")
    if not isinstance(widget_id, str) or not widget_id.startswith(ID_PREFIX):
        return None
    return Widget(widget_id, kind, proto)


def element_text(element: Element) -> str:
    """The visible text of a text-like element ("" for others)."""
    kind = element.WhichOneof("type")
    if kind not in TEXT_KINDS:
        return ""
    proto = getattr(element, kind)
    if kind == "progress":
        return proto.text
    if kind == "metric":
        return f"{proto.label}: {proto.body}"
    if kind == "exception":
        return f"{proto.type}: {proto.message}"
    return proto.body


def element_error(element: Element) -> str | None:
    """The message of a traceback box or an error alert; None for anything else."""
    kind = element.WhichOneof("type")
    if kind == "exception":
        return f"exception {element.exception.type}: {element.exception.message}"
    if kind == "alert" and element.alert.format == Alert.ERROR:
        return f"error alert: {element.alert.body}"
    return None


def widget_state(widget: Widget, value: object) -> WidgetState:
    """`value` for `widget` as the frontend sends it; a select slider takes the index of its option."""
    state = WidgetState(id=widget.id)
    kind = widget.kind
    if kind == "button":
        state.trigger_value = True
    elif widget.is_select_slider:
        options = widget.options
        if not isinstance(value, int) or not 0 <= value < len(options):
            raise ProtocolError(f"{widget.id}: option index {value!r} is not in 0..{len(options) - 1}")
        state.string_array_value.data.append(options[value])
    elif kind == "slider":
        state.double_array_value.data.append(float(value))
    elif kind == "checkbox":
        state.bool_value = bool(value)
    elif kind in ("selectbox", "radio"):
        if value not in widget.options:
            raise ProtocolError(f"{widget.id}: {value!r} is not one of {widget.options}")
        state.string_value = value
    elif kind == "plotly_chart":  # a selection: JSON text as a string value
        state.string_value = json.dumps(value)
    elif kind == "bidi_component":  # a custom component's state: JSON
        state.json_value = json.dumps(value)
    else:
        raise ProtocolError(f"{widget.id}: sending a value to a {kind} is not implemented")
    return state
