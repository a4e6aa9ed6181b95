"""The framework adapters behind ``convcli verify``: moved to the package :mod:`convcli.verify`.

Replacing a name here changes nothing: the code reads ``convcli.verify.adapters.ADAPTERS`` and
``convcli.verify.environment.installed``.
"""

# TEMPORARY shim for the merge
from convcli import engine  # noqa: F401
from convcli.verify import *  # noqa: F403
from convcli.verify import (  # noqa: F401
    ADAPTERS,
    COMPUTED,
    MISSING,
    REFUSED,
    SEMANTICS,
    Adapter,
    Checked,
    Outcome,
    Problem,
    Refused,
    Unavailable,
    choose_keras_backend,
    compare,
    installable,
    keras_backend,
    reference,
    run_adapter,
    verify,
)
from convcli.verify.adapt_jax import compute as _jax  # noqa: F401
from convcli.verify.adapt_keras import _KERAS_BACKEND_MODULE, _KERAS_CHOICE, _keras_config_backend  # noqa: F401
from convcli.verify.adapt_keras import compute as _keras  # noqa: F401
from convcli.verify.adapt_numpy import compute as _numpy  # noqa: F401
from convcli.verify.adapt_scipy import compute as _scipy  # noqa: F401
from convcli.verify.adapt_tensorflow import compute as _tensorflow  # noqa: F401
from convcli.verify.adapt_torch import TORCH_LAYOUT  # noqa: F401
from convcli.verify.adapt_torch import compute as _torch  # noqa: F401
from convcli.verify.environment import installed as _installed  # noqa: F401
from convcli.verify.environment import version as _version  # noqa: F401
from convcli.verify.problem import first_line as _first_line  # noqa: F401
from convcli.verify.problem import pair_text as _pair_text  # noqa: F401
