"""The workstation: a Textual app over ``runtime.Session`` (the only package that imports Textual).

``bridge.py`` is the one place runtime events become Textual messages; panes are folds over the events
they are given (``reset`` then ``apply``), so live sessions, reopened sessions and replay all drive them
the same way.
"""
