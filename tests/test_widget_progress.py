"""The widget's Python side without a browser: synced state, streamed instances, nbclient."""

from __future__ import annotations

import copy
import json

import pytest

anywidget = pytest.importorskip("anywidget")

from ipywidgets.widgets.widget import _remove_buffers  # noqa: E402

from uberjob.progress._model import ProgressModel  # noqa: E402
from uberjob.progress._widget import (  # noqa: E402
    BLOCKING_FIRST_DRAW_DELAY,
    ProgressWidget,
    WidgetProgressObserver,
    ipython_progress,
    widget_progress,
)

UPDATE_BUDGET = 64 * 1024
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def wire_size(widget, name: str) -> int:
    """Bytes of the comm message that syncs one trait: its JSON plus its binary buffers."""
    state, paths, buffers = _remove_buffers(widget.get_state(name))
    message = {"method": "update", "state": state, "buffer_paths": paths}
    return len(json.dumps(message)) + sum(memoryview(b).nbytes for b in buffers)


def decode_snapshot(value) -> dict:
    """The snapshot as the frontend receives it (compact JSON bytes)."""
    return json.loads(bytes(value))


def fail(observer, scope, message, exc_type=ValueError):
    try:
        raise exc_type(message)
    except exc_type as e:
        observer.increment_failed(section="run", scope=scope, exception=e)


@pytest.fixture
def observer(monkeypatch, clock):
    """A widget observer that does not display; records what it sends to the frontend."""
    obs = WidgetProgressObserver(ProgressModel(clock=clock), display=False)
    obs.sent = []
    monkeypatch.setattr(obs.widget, "send", lambda content, buffers=None: obs.sent.append(content))
    return obs


def test_the_names_are_one_progress():
    assert ipython_progress is widget_progress
    assert isinstance(widget_progress.observer(), WidgetProgressObserver)


def test_the_widget_carries_the_bundle_and_two_data_traits():
    widget = ProgressWidget(ProgressModel())
    synced = set(widget.keys) - set(anywidget.AnyWidget().keys) - {"_esm", "_css"}
    # _stop and _resume: the Stop and Resume buttons (header.js)
    assert synced == {"_snapshot", "_instances", "_stop", "_resume"}
    assert "uberjob" in widget._esm
    assert "export" in widget._esm
    assert ".uj-root" in widget._css
    assert widget._snapshot["state"] == "pending"


def test_progress_widgets_share_one_layout_and_their_class():
    # ipywidgets would open a Layout comm per widget, and anywidget would make a class per
    # widget for its _esm/_css traits: both cost a short run's display time.
    a, b = ProgressWidget(ProgressModel()), ProgressWidget(ProgressModel())
    assert a.layout is b.layout
    assert type(a) is ProgressWidget
    assert type(b) is ProgressWidget
    assert a._anywidget_id == "uberjob.progress._widget.ProgressWidget"
    a.layout.close()  # e.g. Widget.close_all(): the next widget gets a working layout
    c = ProgressWidget(ProgressModel())
    assert c.layout is not a.layout
    assert c.layout.comm is not None


@pytest.fixture
def shown(monkeypatch):
    """What the widget observer displays, in order (IPython's display replaced)."""
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kwargs: shown.append(obj))
    return shown


@pytest.fixture
def trait_updates(monkeypatch):
    """The names of the synced traits each ProgressWidget sends after it was made."""
    updates = []
    original = ProgressWidget.send_state

    def send_state(self, key=None):
        updates.append(set(key) if isinstance(key, set) else key)  # ipywidgets reuses its set
        return original(self, key)

    monkeypatch.setattr(ProgressWidget, "send_state", send_state)
    return updates


def test_a_short_blocking_run_shows_its_widget_once_when_it_ends(shown, trait_updates, clock):
    observer = WidgetProgressObserver(ProgressModel(clock=clock), clock=clock)
    with observer:
        observer.increment_total(section="run", scope=("f",), amount=3)
        observer.increment_running(section="run", scope=("f",))
        observer.increment_completed(section="run", scope=("f",))
        observer.increment_running(section="run", scope=("f",))
        fail(observer, ("f",), "boom")
        clock.now = BLOCKING_FIRST_DRAW_DELAY / 2
        observer.tick()
        assert observer._widget is None
        assert shown == []
    widget, picture = shown  # the widget, then the static picture below it
    assert widget[WIDGET_VIEW]["model_id"] == observer.widget._model_id
    assert picture["text/plain"] == "uberjob: done, 1 / 3, 1 failed, 0.1s"
    # Made with the final state: no update followed the widget's first message.
    assert trait_updates == []
    assert observer.widget._snapshot["state"] == "done"
    assert [i["message"] for i in observer.widget._instances] == ["boom"]


def test_a_longer_blocking_run_shows_its_widget_from_the_first_tick_after_the_delay(
    shown, trait_updates, clock
):
    observer = WidgetProgressObserver(ProgressModel(clock=clock), clock=clock)
    with observer:
        observer.increment_total(section="run", scope=("f",), amount=2)
        observer.increment_running(section="run", scope=("f",))
        fail(observer, ("f",), "early")
        clock.now = BLOCKING_FIRST_DRAW_DELAY
        observer.tick()
        assert len(shown) == 1
        assert shown[0][WIDGET_VIEW]["model_id"] == observer.widget._model_id
        assert observer.widget._snapshot["state"] == "running"
        # What failed before the widget existed is in its first state, not streamed after.
        assert [i["message"] for i in observer.widget._instances] == ["early"]
        observer.increment_running(section="run", scope=("f",))
        observer.increment_completed(section="run", scope=("f",))
    assert len(shown) == 2
    assert shown[1]["text/plain"].startswith("uberjob: done, 1 / 2, 1 failed")
    assert observer.widget._snapshot["state"] == "done"
    # One update at the end: the snapshot (the one instance was in the widget's first state).
    assert trait_updates == [{"_snapshot"}]


def test_snapshot_trait_follows_the_model_and_is_replaced_whole(observer):
    with observer:
        assert observer.widget._snapshot["state"] == "running"
        first = observer.widget._snapshot
        first_copy = copy.deepcopy(first)
        observer.increment_total(section="run", scope=("a", "f"), amount=3)
        observer.increment_running(section="run", scope=("a", "f"))
        observer._draw(final=False)
        second = observer.widget._snapshot
        assert second is not first
        assert first == first_copy  # the earlier value was not mutated
        assert second["sections"][0]["nodes"][1][1:6] == ["a", 3, 0, 1, 0]
        observer.increment_completed(section="run", scope=("a", "f"))
    final = observer.widget._snapshot
    assert final["state"] == "done"
    assert final["sections"][0]["nodes"][0][2:6] == [3, 1, 0, 0]


def test_instances_are_streamed_once_and_kept_in_the_trait_at_the_end(observer):
    with observer:
        observer.increment_total(section="run", scope=("f",), amount=10)
        fail(observer, ("f",), "one")
        fail(observer, ("f",), "two")
        observer._draw(final=False)
        observer._draw(final=False)  # nothing new: nothing sent
        fail(observer, ("f",), "three")
        observer._draw(final=False)
        assert observer.widget._instances == []
    streamed = [item for msg in observer.sent for item in msg["items"]]
    assert [m["kind"] for m in observer.sent] == ["instances", "instances"]
    assert [i["id"] for i in streamed] == [0, 1, 2]
    assert "ValueError: three" in streamed[2]["traceback"]
    assert [i["id"] for i in observer.widget._instances] == [0, 1, 2]


def test_a_frontend_asking_for_instances_gets_them_all(observer):
    with observer:
        observer.increment_total(section="run", scope=("f",), amount=2)
        fail(observer, ("f",), "boom")
        observer._draw(final=False)
        observer.sent.clear()
        observer.widget._on_frontend_message(observer.widget, {"kind": "request-instances"}, [])
        observer.widget._on_frontend_message(observer.widget, {"kind": "something-else"}, [])
        assert len(observer.sent) == 1
        assert [i["id"] for i in observer.sent[0]["items"]] == [0]


def test_interrupted_and_failed_runs_show_their_final_state(observer):
    with pytest.raises(KeyboardInterrupt), observer:
        raise KeyboardInterrupt
    assert observer.widget._snapshot["state"] == "interrupted"


def test_an_update_with_1000_scopes_and_10000_failures_stays_under_64_kb(observer):
    with observer:
        scopes = [(f"batch_{i // 10}", f"jobs.task_{i}") for i in range(1000)]
        for scope in scopes:
            observer.increment_total(section="run", scope=scope, amount=12)
        for k in range(10_000):
            scope = scopes[k % 1000]
            observer.increment_running(section="run", scope=scope)
            fail(observer, scope, f"bad input {k % 1500}")
        observer._draw(final=False)
        observer.increment_completed(section="run", scope=scopes[0])
        observer._draw(final=False)
    update = wire_size(observer.widget, "_snapshot")
    assert observer.widget._snapshot["failures"]["count"] == 10_000
    assert len(observer.widget._snapshot["sections"][0]["nodes"]) > 1000
    print(f"\nupdate payload: {update / 1024:.1f} KiB")
    assert update < UPDATE_BUDGET
    streamed = sum(len(msg["items"]) for msg in observer.sent)
    assert streamed == observer.model.snapshot()["failures"]["max_instances"]


# ----- through a real kernel (nbclient), no browser -----

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

RUN_CELL = """\
import uberjob
from uberjob.progress import widget_progress

def roll(i):
    if i % 6 == 0:
        raise ValueError(f"<script>alert(1)</script> call {i}")
    return i

plan = uberjob.Plan()
with plan.scope("<img src=x onerror=alert(1)>"):
    calls = [plan.call(roll, i) for i in range(60)]
try:
    uberjob.run(plan, output=calls, max_errors=None, progress=widget_progress)
except uberjob.CallError as error:
    print("RAISED", type(error.__cause__).__name__)
"""


def saved_widget(nb, cell: int) -> dict:
    view = next(o for o in nb.cells[cell].outputs if WIDGET_VIEW in o.get("data", {}))
    model_id = view["data"][WIDGET_VIEW]["model_id"]
    return nb.metadata["widgets"][WIDGET_STATE]["state"][model_id]


def saved_snapshot(saved: dict) -> dict:
    import base64

    state = saved["state"]
    if isinstance(state.get("_snapshot"), dict):
        return state["_snapshot"]
    buffer = next(b for b in saved["buffers"] if b["path"] == ["_snapshot"])
    return json.loads(base64.b64decode(buffer["data"]))


@pytest.mark.slow
def test_a_run_in_a_kernel_leaves_its_final_picture_in_the_saved_widget_state(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(RUN_CELL)]
    nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,
        store_widget_state=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    streams = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "RAISED ValueError" in streams
    saved = saved_widget(nb, 0)
    assert saved["model_module"] == "anywidget"
    assert saved["state"]["_anywidget_id"] == "uberjob.progress._widget.ProgressWidget"
    snapshot = saved_snapshot(saved)
    assert snapshot["state"] == "failed"
    scope_row = next(
        r for r in snapshot["sections"][-1]["nodes"] if r[1] == "<img src=x onerror=alert(1)>"
    )
    assert scope_row[2:6] == [60, 50, 0, 10]
    assert snapshot["failures"]["count"] == 10
    instances = saved["state"]["_instances"]
    assert len(instances) == 10
    assert "<script>alert(1)</script> call 0" in instances[0]["traceback"]
    assert "line 11, in <module>" in instances[0]["symbolic"]  # where plan.call was made


@pytest.mark.slow
def test_the_kernel_answers_a_frontend_request_for_instances(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(RUN_CELL)]
    from nbclient.util import run_sync

    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    )
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        model_id = next(o for o in nb.cells[0].outputs if WIDGET_VIEW in o.get("data", {}))["data"][
            WIDGET_VIEW
        ]["model_id"]
        kc = client.kc
        # what the frontend's model.send({kind: "request-instances"}) puts on the wire
        kc.shell_channel.send(
            kc.session.msg(
                "comm_msg",
                {
                    "comm_id": model_id,
                    "data": {"method": "custom", "content": {"kind": "request-instances"}},
                },
            )
        )
        while True:
            msg = run_sync(kc.get_iopub_msg)(timeout=30)
            data = msg["content"].get("data", {})
            if msg["msg_type"] == "comm_msg" and data.get("method") == "custom":
                break
    reply = data["content"]
    assert reply["kind"] == "instances"
    assert [i["id"] for i in reply["items"]] == list(range(10))


def test_a_widget_asked_for_before_the_first_draw_is_still_shown(shown, clock):
    observer = WidgetProgressObserver(ProgressModel(clock=clock), clock=clock)
    widget = observer.widget  # e.g. a caller keeping a reference before the run starts
    with observer:
        observer.increment_total(section="run", scope=("f",), amount=1)
    assert observer.widget is widget
    assert [bundle.get(WIDGET_VIEW, {}).get("model_id") for bundle in shown] == [
        widget._model_id,
        None,  # the static picture
    ]


def test_the_static_picture_right_after_the_widget_skips_only_the_flush(monkeypatch):
    """ipykernel flushes stdout and stderr before every display (a round trip to its IO thread
    each); right after the widget's own display there is nothing left to flush."""
    from types import SimpleNamespace

    import IPython

    from uberjob.progress._widget import _streams_flushed_already

    class Publisher:
        def __init__(self):
            self.flushes = 0

        def _flush_streams(self):
            self.flushes += 1

    publisher = Publisher()
    monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace(display_pub=publisher))
    with _streams_flushed_already():
        publisher._flush_streams()
    assert publisher.flushes == 0
    assert "_flush_streams" not in publisher.__dict__  # the class's method again
    publisher._flush_streams()
    assert publisher.flushes == 1
    with pytest.raises(RuntimeError), _streams_flushed_already():
        raise RuntimeError("restored on the way out too")
    publisher._flush_streams()
    assert publisher.flushes == 2
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)  # outside IPython: nothing to do
    with _streams_flushed_already():
        pass
