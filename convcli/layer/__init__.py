"""What a conv layer IS, numpy-free: its spec, its geometry, its counts, the ``--stack`` syntax.

Pure Python integer arithmetic (stdlib only), so ``convcli params`` starts fast and every number
is exact. The engine binds a spec to arrays (:func:`convcli.engine.bind`).

- :mod:`.spec`: :class:`~.spec.ConvSpec`, the one layer spec, and :func:`~.spec.check_spec`;
- :mod:`.geometry`: spans, pads and output sizes, once per axis, and their N-axis wrappers;
- :mod:`.counts`: parameters, MACs, FLOPs and the report of one layer or a stack;
- :mod:`.receptive`: receptive field and effective stride of a stack;
- :mod:`.stack`: the ``--stack`` syntax.
"""
