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

import contextlib
import functools
import json
import logging
import os
import time
from collections.abc import Callable

try:
    import anywidget
    import ipywidgets
    import traitlets
except ModuleNotFoundError as missing:
    # What progress="widget" (or uberjob.progress.widget_progress) hits without the widget
    # library: say how to get it, and what works without it.
    raise ModuleNotFoundError(
        f"uberjob's progress widget needs the anywidget package ({missing}). Install it with "
        "`pip install anywidget`, or `pip install 'uberjob[notebook]'` for all a notebook "
        'needs; or show progress without it: progress="console" or progress="html:PATH".',
        name=missing.name,
    ) from missing

from uberjob.progress._fallback import StaticPicture, snapshot_summary
from uberjob.progress._html import STATIC, static_path
from uberjob.progress._model import ProgressModel
from uberjob.progress._observer import Progress
from uberjob.progress._text import encodable_text, encodable_value
from uberjob.progress._view import ModelView

__all__ = ["ProgressWidget", "WidgetProgressObserver", "ipython_progress", "widget_progress"]

_logger = logging.getLogger(__name__)


def _compact_json(value: dict, _widget) -> memoryview:
    # A lone surrogate in user text can't be UTF-8: shown as U+FFFD rather than failing the run.
    text = encodable_text(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    return memoryview(text.encode())


@functools.cache
def _bundled(name: str) -> str:
    """The text of a built frontend file (read once per process)."""
    return static_path(name).read_text(encoding="utf-8")


class ProgressWidget(anywidget.AnyWidget):
    """The widget showing one run's progress (built by :class:`WidgetProgressObserver`)."""

    if os.environ.get("ANYWIDGET_HMR"):
        # Development: anywidget reads these files itself and watches them (hot reload).
        _esm = STATIC / "widget.js"
        _css = STATIC / "widget.css"
    else:
        # anywidget adds _esm, _css and _anywidget_id to each *instance*, which makes a new
        # class per widget (~0.4 ms, a tenth of a short run's widget cost); as class traits
        # they are set up once (add_traits below skips what the class has).
        _esm = traitlets.Unicode().tag(sync=True)
        _css = traitlets.Unicode().tag(sync=True)
        _anywidget_id = traitlets.Unicode().tag(sync=True)

        @traitlets.default("_esm")
        def _default_esm(self) -> str:
            return _bundled("widget.js")

        @traitlets.default("_css")
        def _default_css(self) -> str:
            return _bundled("widget.css")

        @traitlets.default("_anywidget_id")
        def _default_anywidget_id(self) -> str:
            return f"{type(self).__module__}.{type(self).__name__}"  # what anywidget sets

    # On the wire the snapshot is compact JSON in a binary buffer: no JSON re-escaping, no
    # indentation spaces (an update of 1,000 scopes and 10,000 failures is ~56 KB, not ~66 KB).
    _snapshot = traitlets.Dict().tag(sync=True, to_json=_compact_json)
    _instances = traitlets.List().tag(sync=True)
    # The Stop button of a background run: "" (none), "available", or "requested".
    _stop = traitlets.Unicode("").tag(sync=True)
    # The Resume button of a run that ended failed, stopped or interrupted and can be resumed:
    # "" (none), "available", or "requested" (the kernel took the click).
    _resume = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        model: ProgressModel,
        *,
        snapshot: dict | None = None,
        instances: list | None = None,
        **kwargs,
    ):
        static_path("widget.js"), static_path("widget.css")  # a clear error when never built
        kwargs.setdefault("layout", _shared_layout())
        super().__init__(
            _snapshot=model.snapshot() if snapshot is None else snapshot,
            _instances=encodable_value(instances or []),
            **kwargs,
        )
        self._progress_model = model
        self._run = None  # the run's handle: Stop stops it (background), Resume resumes it
        self._static_display = None  # the display handle of the static picture, if updatable
        self.on_msg(self._on_frontend_message)

    def add_traits(self, **traits) -> None:
        new = {name: trait for name, trait in traits.items() if not self.has_trait(name)}
        if new:
            super().add_traits(**new)

    def _on_frontend_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("kind") == "request-instances":
            items = encodable_value(self._progress_model.instances())
            self.send({"kind": "instances", "items": items})
        elif isinstance(content, dict) and content.get("kind") == "stop":
            self.request_stop()
        elif isinstance(content, dict) and content.get("kind") == "resume":
            self.request_resume()

    def request_stop(self) -> None:
        """What the Stop button does: stop the background run (calls in flight finish)."""
        if self._run is not None and self._stop == "available":
            self._run.stop()
            self._stop = "requested"

    def request_resume(self) -> None:
        """What the Resume button does: resume the run in the background, with its redefined
        functions (``refresh=True``), in this same widget. Runs in the comm handler and returns
        once the resumed run has started: the kernel stays free."""
        run = self._run
        if run is None or self._resume != "available":
            return
        self._resume = "requested"
        from uberjob._resume import resume_run

        try:
            resume_run(run, {"background": True}, refresh=True, show=False)
        except Exception as error:
            self._resume = "available"  # say why, and let the user try again after a fix
            _logger.warning("uberjob: Resume failed: %s: %s", type(error).__name__, error)

    def _repr_mimebundle_(self, **kwargs):
        # The widget view and a one-line summary for places that show text only (the static
        # picture is an output of its own: see WidgetProgressObserver._show). Built here
        # rather than by ipywidgets, whose text is a repr of every trait (the JS bundle too).
        # A saved notebook keeps this text as it was when the output was made, so a live run
        # says only what it is; the static picture below it carries the final summary.
        snapshot = self._snapshot
        live = snapshot.get("state") in ("pending", "running")
        return {
            "text/plain": LIVE_TEXT if live else encodable_text(snapshot_summary(snapshot)),
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


_layout: ipywidgets.Layout | None = None


def _shared_layout() -> ipywidgets.Layout:
    """One ``Layout`` for every progress widget of the kernel (we never style it). Without it
    ipywidgets opens a second comm per widget for a default ``Layout``, and a saved notebook
    keeps a second model per run."""
    global _layout
    if _layout is None or _layout.comm is None:  # none yet, or closed (Widget.close_all)
        _layout = ipywidgets.Layout()
    return _layout


#: The text/plain of a widget output made while its run goes on (see ``_repr_mimebundle_``).
LIVE_TEXT = "uberjob: live progress widget (the run's final summary follows)"

#: A blocking run that ends sooner than this shows its widget once, when it ends: creating and
#: displaying a widget costs a few ms in a kernel, a tenth of a 20,000-call run. Later runs are
#: shown from this point on, well within the 0.25 s a user notices (the owner ticks every 0.1 s).
BLOCKING_FIRST_DRAW_DELAY = 0.12


class WidgetProgressObserver(ModelView):
    """Shows a :class:`ProgressWidget` in the run's cell and updates it on the throttle.

    The widget is made and displayed by the first draw: at the start of a background run (its
    cell ends at once, so later output would land elsewhere), ``BLOCKING_FIRST_DRAW_DELAY`` into
    a blocking one, or at its end if it is shorter than that.
    """

    interval = 0.25
    #: Redraw now and then without events too, so the elapsed time moves during long calls.
    max_interval = 1.0

    def __init__(
        self,
        model: ProgressModel | None = None,
        *,
        display: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(model, clock=clock)
        self._widget: ProgressWidget | None = None
        self._display = display
        self._static_handle = None
        self._displayed = False
        self._static_shown = False
        self._attached_run = None
        self._instances_sent = 0

    @property
    def widget(self) -> ProgressWidget:
        """The run's widget (made now, showing the latest snapshot, if no draw made it yet)."""
        if self._widget is None:
            self._make_widget(self.model.snapshot())
        return self._widget

    @property
    def first_draw_delay(self) -> float:
        background = self._attached_run is not None and self._attached_run.background
        return BLOCKING_FIRST_DRAW_DELAY if self._display and not background else 0.0

    def attach_run(self, run) -> None:
        """The run's handle displays as this widget; a background run gets a Stop button. A
        resumed run goes on in the widget (and the model) of the run it resumes."""
        previous = getattr(run, "continues", None)
        widget = getattr(previous, "widget", None)
        if self._widget is None and isinstance(widget, ProgressWidget):
            self._continue_in(widget, run, previous)
        super().attach_run(run)
        self._attached_run = run
        if self._widget is not None:
            self._link_run(self._widget)

    def _continue_in(self, widget: ProgressWidget, run, previous) -> None:
        self._use_model(widget._progress_model)
        self.model.resume()
        self._widget = widget
        with widget.hold_sync():
            widget._instances = []  # the failures start over (ids from 0 again)
            widget._resume = ""
        # Shown again in another cell (resume() there); not where it already is (the button).
        # A view made not to display (the magic shows a background run's handle as the cell's
        # value instead) shows a continued widget at once: it is the cell's one widget.
        from uberjob.progress._choose import in_jupyter_kernel

        if getattr(run, "show_widget", True) and in_jupyter_kernel():
            self._display = True
        here = _execution_count() if self._display else None
        if not getattr(run, "show_widget", True) or here == previous.displayed_in_cell:
            self._displayed = True
            self._static_handle = widget._static_display
            if not getattr(run, "show_widget", True):
                run.widget_displayed = True
                run.displayed_in_cell = previous.displayed_in_cell

    def _link_run(self, widget: ProgressWidget) -> None:
        run = self._attached_run
        run.widget = widget
        widget._run = run
        widget._stop = "available" if getattr(run, "background", False) else ""

    def _make_widget(self, snapshot: dict) -> ProgressWidget:
        # Everything known so far goes into the widget's first state, in one comm message.
        instances = self.model.instances()
        self._instances_sent = len(instances)
        widget = self._widget = ProgressWidget(self.model, snapshot=snapshot, instances=instances)
        if self._attached_run is not None:
            self._link_run(widget)
        return widget

    def _show(self, widget: ProgressWidget) -> None:
        """Display the widget in the run's cell (once)."""
        if not self._display or self._displayed:
            return
        from IPython.display import display

        from uberjob.progress._choose import in_marimo

        marimo = in_marimo()
        if marimo:
            # marimo draws an anywidget given as itself, and shows the static picture as well
            # as it (nothing hides it there): the widget alone.
            display(widget)
        else:
            display(widget._repr_mimebundle_(), raw=True)
        # The static picture is a separate output right below the widget: wherever the widget
        # is drawn, the widget's CSS hides it (.uj-static); where widgets can't be drawn
        # (nbconvert's HTML offline, a notebook viewer, an untrusted notebook) it shows the
        # run's final picture. A blocking run shows it when it ends (still in its cell); a
        # background run ends on its own thread, so its picture is displayed now and updated
        # then. Either way the widget's view is left alone at the end, so what the reader
        # opened stays open.
        run = self._attached_run
        if run is not None and run.background and not marimo:
            self._static_handle = display(self._static_bundle(), raw=True, display_id=True)
            widget._static_display = self._static_handle
        self._displayed = True
        self._static_shown = not marimo
        if run is not None:
            # The handle, as this cell's value, then shows nothing more (not a 2nd widget).
            run.widget_displayed = True
            run.displayed_in_cell = _execution_count()

    def _static_bundle(self, snapshot: dict | None = None) -> dict:
        picture = StaticPicture(encodable_value(snapshot or self.model.snapshot()))
        return picture._repr_mimebundle_()

    def draw(self, snapshot: dict, final: bool) -> None:
        widget = self._widget
        if widget is None:
            widget = self._make_widget(snapshot)
        elif final:
            with widget.hold_sync():
                widget._instances = encodable_value(self.model.instances())
                widget._snapshot = snapshot
        else:
            new = self.model.instances(self._instances_sent)
            if new:
                widget.send({"kind": "instances", "items": encodable_value(new)})
                self._instances_sent += len(new)
            widget._snapshot = snapshot
        shown_now = not self._displayed
        self._show(widget)  # the first draw does (even if someone asked for the widget before)
        if final:
            run = self._attached_run
            keeps = run is not None and getattr(run, "_keeps_for_resume", lambda: False)()
            resumable = keeps and snapshot.get("state") in ("failed", "stopped", "interrupted")
            widget._resume = "available" if resumable else ""
            if self._static_handle is not None:
                self._static_handle.update(self._static_bundle(snapshot), raw=True)
            elif self._displayed and self._static_shown:
                from IPython.display import display

                bundle = self._static_bundle(snapshot)
                if shown_now:  # right after the widget's own display, which flushed the streams
                    with _streams_flushed_already():
                        display(bundle, raw=True)
                else:
                    display(bundle, raw=True)


@contextlib.contextmanager
def _streams_flushed_already():
    """Skip ipykernel's flush of stdout and stderr before one display: each is a round trip to
    its IO thread (about 1.3 ms here, a few percent of a short run), and right after a display
    that flushed them there is nothing to flush. Display hooks (an ``Output`` widget's capture)
    still see the output: only the flush is skipped."""
    from IPython import get_ipython

    publisher = getattr(get_ipython(), "display_pub", None)
    if publisher is None or not callable(getattr(publisher, "_flush_streams", None)):
        yield
        return
    own = publisher.__dict__.get("_flush_streams")
    publisher._flush_streams = lambda: None
    try:
        yield
    finally:
        if own is None:
            del publisher._flush_streams  # the class's method again
        else:
            publisher._flush_streams = own


def _execution_count() -> int | None:
    from IPython import get_ipython

    return getattr(get_ipython(), "execution_count", None)


widget_progress = Progress(WidgetProgressObserver)
"""Progress shown as a live widget in Jupyter (the default inside a Jupyter kernel)."""

ipython_progress = widget_progress
"""The uberjob 1.0 name of :data:`widget_progress`."""
