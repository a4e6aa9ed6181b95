"""Legacy Keras ``.h5`` files: the ``model_config`` attribute (the graph) and the shapes of the
arrays in ``model_weights/<layer>/`` (named by each layer group's ``weight_names``); the listing never
reads a value, :func:`layer_arrays` one layer's. The listing is read in a child process first
(:func:`convcli.sources.models.hdf5.read_in_child`): libhdf5 can crash or hang on a damaged file.
"""

from __future__ import annotations

import json

from convcli.errors import LoadError
from convcli.layer.model import Listing
from convcli.sources import sniff
from convcli.sources.models import hdf5, keras_config, tensors
from convcli.sources.models.install import missing
from convcli.text import shown

CONFIG_LIMIT = 64 * 2**20


def _config(f: object) -> object:
    """The file's model config, parsed (None when it has none or it is not JSON)."""
    text = hdf5.text(getattr(f, "attrs", {}).get("model_config"))
    if text is None or len(text) > CONFIG_LIMIT:
        return None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None


def read(name: str) -> Listing:
    """The listing of the legacy ``.h5`` file ``name``, once a child process has read it whole."""
    try:
        import h5py  # noqa: F401 - missing is one line here, before any child starts
    except ImportError:
        raise missing("h5py", ".h5") from None
    hdf5.read_in_child(name, "keras_h5")
    return _read(name)


def _read(name: str) -> Listing:
    import h5py

    try:
        with h5py.File(name, "r") as f:
            raw = f.attrs.get("model_config")
            text = hdf5.text(raw)
            if text is None:
                if f.get("layers", getlink=True) is not None or f.get("model_weights", getlink=True) is None:
                    raise LoadError(f"{name}: an HDF5 file without a model_config: weights only (save the whole "
                                    "model, or use the .keras file)")
                raise LoadError(f"{name}: an HDF5 file without a model_config attribute")
            if len(text) > CONFIG_LIMIT:
                raise LoadError(f"{name}: its model_config is larger than the {CONFIG_LIMIT:,} bytes convcli reads")
            try:
                config = json.loads(text)
            except json.JSONDecodeError as exc:
                raise LoadError(f"{name}: its model_config is not JSON ({exc})") from None
            except RecursionError:
                raise LoadError(f"{name}: its model_config is nested too deeply to read") from None
            weights: dict[str, list[tuple[str, tuple[int, ...]]]] | None = None
            group = hdf5.member(name, f, "model_weights", h5py)
            nested = nested_names(config)
            if isinstance(group, h5py.Group):
                weights = {}
                for layer_name, g in hdf5.children(name, group, h5py):
                    names = hdf5.names(name, g, "weight_names") if isinstance(g, h5py.Group) else []
                    for wname in names:
                        ds = hdf5.member(name, g, wname, h5py)
                        if not isinstance(ds, h5py.Dataset):
                            raise LoadError(f"{name}: layer {shown(layer_name)!r} names an array "
                                            f"{shown(wname)!r} it does not hold")
                        owner = owner_of(layer_name, wname) if layer_name in nested else layer_name
                        weights.setdefault(owner, []).append(
                            (wname.rsplit("/", 1)[-1].split(":")[0], hdf5.check_dataset(name, ds, h5py)))
    except LoadError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise LoadError(f"{name}: not a readable HDF5 file ({sniff.reason(exc)})") from None
    listing = keras_config.listing(name, "h5", config, weights, "model_weights")
    if weights is None:
        return Listing(listing.model, listing.format, listing.layers,
                       (*listing.notes, "the file holds no model_weights: counts come from the config alone"))
    return listing


def nested_names(config: object) -> set[str]:
    """The names of the models nested in a model config (their arrays are named by their layers)."""
    inner = config.get("config") if isinstance(config, dict) else None
    layers = inner.get("layers") if isinstance(inner, dict) else None
    return {entry["config"]["name"] for entry in layers if keras_config.is_nested_model(entry)
            and isinstance(entry["config"].get("name"), str)} if isinstance(layers, list) else set()


def owner_of(group: str, wname: str) -> str:
    """The layer a nested model's array belongs to, named by its path: ``conv1/kernel:0`` (or
    ``backbone/conv1/kernel:0``) in group ``backbone`` is ``backbone/conv1``'s."""
    parts = wname.split("/")[:-1]
    if parts and parts[0] == group:
        parts = parts[1:]
    return "/".join([group, *parts])


def layer_arrays(name: str, want: tensors.Want) -> tensors.Arrays:
    """One layer's kernel and bias: ``model_weights/<layer>/`` by its ``weight_names``, in that
    order (the kernel, then the bias), each checked, then read alone."""
    try:
        import h5py
    except ImportError:
        raise missing("h5py", ".h5") from None
    try:
        with h5py.File(name, "r") as f:
            group = hdf5.member(name, f, "model_weights", h5py)
            layer = want.layer.name
            top = layer.split("/", 1)[0]  # a nested model's layer: its arrays are in the model's group
            g = hdf5.member(name, group, top, h5py) if isinstance(group, h5py.Group) else None
            if not isinstance(g, h5py.Group) or (top != layer and top not in nested_names(_config(f))):
                raise want.error("the file's model_weights hold no weights for it")
            arrays = []
            for wname in hdf5.names(name, g, "weight_names"):
                if top != layer and owner_of(top, wname) != layer:
                    continue
                ds = hdf5.member(name, g, wname, h5py)
                if not isinstance(ds, h5py.Dataset):
                    raise want.error(f"it names an array {shown(str(wname))!r} it does not hold")
                hdf5.check_dataset(name, ds, h5py)
                arrays.append((f"model_weights/{layer}/{wname}", ds))
            in_child = hdf5.arrays_in_child(name, "keras_h5", want, [ds for _, ds in arrays])
            return in_child if in_child is not None else tensors.read_h5(want, arrays)
    except LoadError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise LoadError(f"{name}: not a readable HDF5 file ({sniff.reason(exc)})") from None
