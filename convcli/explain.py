"""TEMPORARY shim for the merge: the lesson moved to :mod:`convcli.render.explain` (its words to
:mod:`convcli.render.explain_texts`)."""

# TEMPORARY shim for the merge
from convcli.render.explain import *  # noqa: F403
from convcli.render.explain import (  # noqa: F401
    FORMULA,
    LANGS,
    SECTION_BUILDERS,
    SECTIONS,
    TEXTS,
    Example,
    compute,
    lesson,
    section_aggregation,
    section_control,
    section_prove,
    section_separate_slices,
    section_why_2d,
    text,
)
