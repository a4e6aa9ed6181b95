"""The application: a request becomes a built layer, a run and its results, for every front end.

- :mod:`~convcli.pipeline.request`: :class:`Request`, what to explore (numpy-free), and its checks;
- :mod:`~convcli.pipeline.build`: the layer built from a request (a preset, a kernel file or a
  model's layer: :mod:`~convcli.pipeline.model_layer`), as a :class:`~convcli.pipeline.built.BuiltLayer`
  with its notes and warnings as data;
- :mod:`~convcli.pipeline.memory`: the memory budget, as numbers checked before any work;
- :mod:`~convcli.pipeline.run`: the run, streaming partials to a ``.npz`` and reporting progress;
- :mod:`~convcli.pipeline.explore`: :func:`convcli.explore` and its :class:`Exploration`;
- :mod:`~convcli.pipeline.verify`: ``convcli verify``'s orchestration (the framework worker, the bands, the
  comparison) as a :class:`~convcli.pipeline.verify.VerifyReport`.

Nothing here prints, exits or raises a Typer error: front ends show the notes and warnings and map
:class:`~convcli.errors.ConvcliError` (a :class:`~convcli.pipeline.request.RequestError` being bad
usage) to what they say.
"""
