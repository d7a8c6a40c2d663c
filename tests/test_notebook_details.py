"""Notebook details: cells named as IPython names them, no repeated frames, what outputs say."""

from __future__ import annotations

from uberjob.progress._failures import drop_repeated_frames, name_cells

CELL_FILE = "/tmp/ipykernel_4242/1234567.py"

SYMBOLIC = f"""\
Symbolic traceback (most recent call last):
  File "{CELL_FILE}", line 14, in <module>
    calls = [plan.call(work, i) for i in range(100)]
  File "{CELL_FILE}", line 14, in <listcomp>
    calls = [plan.call(work, i) for i in range(100)]
  File "/home/user/lib.py", line 3, in helper
    return plan.call(f)"""


def test_frames_in_a_cell_are_named_as_ipython_names_them():
    named = name_cells(SYMBOLIC, {CELL_FILE: 3})
    assert CELL_FILE not in named
    assert "  Cell In[3], line 14, in <module>\n" in named
    assert '  File "/home/user/lib.py", line 3, in helper' in named  # other files stay
    assert name_cells(SYMBOLIC, {}) == SYMBOLIC  # outside IPython: as it was


def test_a_frame_repeating_the_place_of_the_one_before_is_dropped():
    text = drop_repeated_frames(name_cells(SYMBOLIC, {CELL_FILE: 3}))
    assert text == (
        "Symbolic traceback (most recent call last):\n"
        "  Cell In[3], line 14, in <module>\n"
        "    calls = [plan.call(work, i) for i in range(100)]\n"
        '  File "/home/user/lib.py", line 3, in helper\n'
        "    return plan.call(f)"
    )
    assert drop_repeated_frames(text) == text


def test_in_marimo_the_widget_is_shown_once_without_the_static_picture(monkeypatch):
    import IPython.display

    import uberjob
    from uberjob.progress import _choose
    from uberjob.progress._widget import ProgressWidget

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    monkeypatch.setattr(_choose, "in_marimo", lambda: True)
    plan = uberjob.Plan()
    assert uberjob.run(plan, output=plan.call(abs, -1), progress="widget") == 1
    (widget,) = shown  # the widget itself (marimo draws anywidgets), no static picture
    assert isinstance(widget, ProgressWidget)
    assert uberjob.last_run().widget is widget


def test_in_marimo_progress_true_is_the_widget(monkeypatch):
    from uberjob.progress import _choose, default_progress
    from uberjob.progress._widget import WidgetProgressObserver

    monkeypatch.delenv("UBERJOB_PROGRESS", raising=False)
    monkeypatch.setattr(_choose, "in_marimo", lambda: True)
    assert isinstance(default_progress.observer(), WidgetProgressObserver)
