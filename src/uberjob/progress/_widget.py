"""``widget_progress`` (1.0 name ``ipython_progress``): the progress widget for Jupyter.

One ``anywidget.AnyWidget`` per run with two synced traits, always replaced whole:

- ``_snapshot``: the latest snapshot of the run's :class:`ProgressModel` (docs/snapshot-schema.md);
- ``_instances``: every kept failure instance, set once the run ends (so saved notebooks have them).

While the run goes on, new failure instances are streamed once each with
``widget.send({"kind": "instances", "items": [...]})``; a frontend that missed them (a reloaded
page, a second display) asks with ``{"kind": "request-instances"}`` and gets them all. Every
update comes from the run's owner thread (the ``ModelView`` throttle), never from workers.
"""

from __future__ import annotations

import json

import anywidget
import traitlets

from uberjob.progress._fallback import StaticPicture, snapshot_summary
from uberjob.progress._html import STATIC, static_path
from uberjob.progress._model import ProgressModel
from uberjob.progress._observer import Progress
from uberjob.progress._view import ModelView

__all__ = ["ProgressWidget", "WidgetProgressObserver", "ipython_progress", "widget_progress"]


def _compact_json(value: dict, _widget) -> memoryview:
    return memoryview(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


class ProgressWidget(anywidget.AnyWidget):
    """The widget showing one run's progress (built by :class:`WidgetProgressObserver`)."""

    # anywidget reads (and with ANYWIDGET_HMR=1 watches) these files when the class is defined.
    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"
    # On the wire the snapshot is compact JSON in a binary buffer: no JSON re-escaping, no
    # indentation spaces (an update of 1,000 scopes and 10,000 failures is ~56 KB, not ~66 KB).
    _snapshot = traitlets.Dict().tag(sync=True, to_json=_compact_json)
    _instances = traitlets.List().tag(sync=True)
    # The Stop button of a background run: "" (none), "available", or "requested".
    _stop = traitlets.Unicode("").tag(sync=True)

    def __init__(self, model: ProgressModel, **kwargs):
        static_path("widget.js"), static_path("widget.css")  # a clear error when never built
        super().__init__(_snapshot=model.snapshot(), **kwargs)
        self._progress_model = model
        self._run = None  # the background run's handle, which Stop stops
        self.on_msg(self._on_frontend_message)

    def _on_frontend_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("kind") == "request-instances":
            self.send({"kind": "instances", "items": self._progress_model.instances()})
        elif isinstance(content, dict) and content.get("kind") == "stop":
            self.request_stop()

    def request_stop(self) -> None:
        """What the Stop button does: stop the background run (calls in flight finish)."""
        if self._run is not None and self._stop == "available":
            self._run.stop()
            self._stop = "requested"

    def _repr_mimebundle_(self, **kwargs):
        # The widget view and a one-line summary for places that show text only (the static
        # picture is an output of its own: see WidgetProgressObserver.__enter__). Built here
        # rather than by ipywidgets, whose text is a repr of every trait (the JS bundle too).
        return {
            "text/plain": snapshot_summary(self._snapshot),
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2,
                "version_minor": 0,
                "model_id": self._model_id,
            },
        }

    @property
    def snapshot(self) -> dict:
        """The latest snapshot shown."""
        return self._snapshot


class WidgetProgressObserver(ModelView):
    """Displays a :class:`ProgressWidget` when the run starts and updates it on the throttle."""

    interval = 0.25
    #: Redraw now and then without events too, so the elapsed time moves during long calls.
    max_interval = 1.0

    def __init__(self, model: ProgressModel | None = None, *, display: bool = True):
        super().__init__(model)
        self.widget = ProgressWidget(self.model)
        self._display = display
        self._static_handle = None
        self._displayed = False
        self._attached_run = None
        self._instances_sent = 0

    def attach_run(self, run) -> None:
        """The run's handle displays as this widget; a background run gets a Stop button."""
        run.widget = self.widget
        self._attached_run = run
        if getattr(run, "background", False):
            self.widget._run = run
            self.widget._stop = "available"

    def __enter__(self):
        if self._display:
            from IPython.display import display

            display(self.widget._repr_mimebundle_(), raw=True)
            # The static picture is a separate output right below the widget: wherever the
            # widget is drawn, the widget's CSS hides it (.uj-static); where widgets can't be
            # drawn (nbconvert's HTML offline, a notebook viewer, an untrusted notebook) it
            # shows the run's final picture. A blocking run shows it when it ends (still in its
            # cell); a background run ends on its own thread, so its picture is displayed now
            # and updated then. Either way the widget's view is left alone at the end, so what
            # the reader opened stays open.
            if self._attached_run is not None and self._attached_run.background:
                self._static_handle = display(self._static_bundle(), raw=True, display_id=True)
            self._displayed = True
            if self._attached_run is not None:
                # The handle, as a cell's value, then shows its summary line, not a 2nd widget.
                self._attached_run.widget_displayed = True
        return super().__enter__()

    def _static_bundle(self, snapshot: dict | None = None) -> dict:
        return StaticPicture(snapshot or self.model.snapshot())._repr_mimebundle_()

    def draw(self, snapshot: dict, final: bool) -> None:
        widget = self.widget
        if final:
            with widget.hold_sync():
                widget._instances = self.model.instances()
                widget._snapshot = snapshot
            if self._static_handle is not None:
                self._static_handle.update(self._static_bundle(snapshot), raw=True)
            elif self._displayed:
                from IPython.display import display

                display(self._static_bundle(snapshot), raw=True)
            return
        new = self.model.instances(self._instances_sent)
        if new:
            widget.send({"kind": "instances", "items": new})
            self._instances_sent += len(new)
        widget._snapshot = snapshot


widget_progress = Progress(WidgetProgressObserver)
"""Progress shown as a live widget in Jupyter (the default inside a Jupyter kernel)."""

ipython_progress = widget_progress
"""The uberjob 1.0 name of :data:`widget_progress`."""
