"""The bottom layer of the flow: what a model *is*, independent of its weights and of every stage.

=============  ===============================================================================
structures     the compression structures (block-circulant, ...): their parameters and the registry
               that names each one's implementation at every stage of the flow (the structure seam)
model_shape    :class:`ModelShape`: cell, sizes, layers, projection, peepholes, structure
=============  ===============================================================================

Nothing here imports numpy, torch or any other stage: the golden model, the exporter, the simulator, the
cost model and the CLI all build on these two modules.
"""

from ernn.shape.model_shape import CELLS, GATES, ModelShape
from ernn.shape.structures import BlockCirculant, StructureParams, registry, structure_entry

__all__ = ["CELLS", "GATES", "BlockCirculant", "ModelShape", "StructureParams", "registry", "structure_entry"]
