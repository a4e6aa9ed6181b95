"""What a conv layer IS, numpy-free: its spec, its geometry, its counts, the ``--stack`` syntax.

Pure Python integer arithmetic (stdlib only), so ``convcli params`` starts fast and every number
is exact. The engine binds a spec to arrays (:func:`convcli.engine.bind`).

- :mod:`.spec`: :class:`~.spec.ConvSpec`, the one layer spec, and :func:`~.spec.check_spec`;
- :mod:`.kinds`: one object per conv kind (``spec.kind_obj``): checks, kernel shapes, parameter and
  MAC terms, output size, Keras and PyTorch names, for 1, 2 or 3 spatial axes;
- :mod:`.geometry`: spans, pads and output sizes, once per axis; :class:`~.geometry.Geometry` for
  any number of axes (``spec.geometry(in_size)``);
- :mod:`.listing`: a model file's layers (:class:`~.listing.ModelLayer`) as one neutral listing;
- :mod:`.others`: the listing's layers that are not convolutions, one kind object each;
- :mod:`.model`: a listing's numbers along its graph;
- :mod:`.counts`: parameters, MACs, FLOPs and the report of one layer or a stack;
- :mod:`.receptive`: receptive field and effective stride of a stack;
- :mod:`.stack`: the ``--stack`` syntax.
"""
