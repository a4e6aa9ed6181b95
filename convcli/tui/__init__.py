"""The terminal explorer (``convcli explore``, Textual) and the notebook view of an exploration.

:mod:`convcli.tui.app` is the Textual app (imported only by ``convcli explore``: Textual is the
``convcli[explore]`` extra); :mod:`convcli.tui.state` what it points at; :mod:`convcli.tui.panels`
its rich renderables (:mod:`convcli.tui.blocks`: the trace's grids, drawn once); :mod:`convcli.tui.notebook` how :class:`convcli.pipeline.explore.Exploration`
shows itself in Jupyter and in a terminal. Importing this package imports neither Textual nor rich.
"""
