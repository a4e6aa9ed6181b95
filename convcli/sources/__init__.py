"""What comes in: the layer's input, kernel and bias files, and the kernels convcli makes itself.

:mod:`~convcli.sources.inputs` is the entry point for files (``load_input`` -> ``(H, W, C)``,
``load_array`` -> a raw array); it sniffs each file (:mod:`~convcli.sources.sniff`) and hands it to
:mod:`~convcli.sources.arrays` (``.npy``/``.npz``), :mod:`~convcli.sources.images` (Pillow) or
:mod:`~convcli.sources.text` (numeric text). :mod:`~convcli.sources.kernels` makes and reads
kernels and biases. Every file is untrusted: each reader checks what it reads before using it.
"""
