"""Whether a caller hooked a model's torch modules: a forward hook or pre-hook on any of them (``model[0]``,
the encoder's layers, ...), or one torch calls for every module (``register_module_forward_hook`` /
``register_module_forward_pre_hook``).

sentence-transformers calls each module's ``__call__`` on every batch, so such a hook fires there on each
batch; sbert's fast paths (padding-free layers, the cross-encoder's head on packed rows) skip modules, so
inference takes sentence-transformers' path (its batches, its features, the padded forward) while one is set.

Looked at once per batch at most, through a cache: torch numbers every hook handle it makes
(``RemovableHandle.next_id``), so while no handle was made since a look that found none, the modules are not
walked again. (A module hooked before that look and attached to the model after it is not seen.)
"""

from __future__ import annotations

from typing import Any

import torch.nn.modules.module as torch_modules
from torch.utils.hooks import RemovableHandle

# the network's entry holding RemovableHandle.next_id as of the last look that found no hook
_UNHOOKED_AS_OF = "_sbert_unhooked_as_of"


def forward_hooked(network: Any) -> bool:
    """Whether a forward hook or pre-hook would fire on a module of ``network`` (a ``torch.nn.Module``)."""
    if torch_modules._global_forward_hooks or torch_modules._global_forward_pre_hooks:
        return True
    made = RemovableHandle.next_id
    state = network.__dict__  # not through nn.Module's __setattr__ / __getattr__: this is asked per batch
    if state.get(_UNHOOKED_AS_OF) == made:
        return False
    hooked = any(module._forward_hooks or module._forward_pre_hooks for module in network.modules())
    state[_UNHOOKED_AS_OF] = None if hooked else made
    return hooked
