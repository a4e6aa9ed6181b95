"""Results -> rich renderables, one module per screen; nothing here prints.

:mod:`~convcli.render.numbers` (grids, flows, styles, a wrapping call), :mod:`~convcli.render.run`,
:mod:`~convcli.render.trace`, :mod:`~convcli.render.params`, :mod:`~convcli.render.stack`,
:mod:`~convcli.render.verify`, :mod:`~convcli.render.explain`, :mod:`~convcli.render.heatmap`.
The texts and the JSON they share with every other view are in :mod:`convcli.present`.
"""
