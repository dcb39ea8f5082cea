"""expressivity: a testbed for the formal expressivity of sequence models.

Subpackages: `tasks` (generators and oracles), `architectures` (models), `theory` (predictions, constructions,
checker) and `runners` (CLI, training, grids, result store). Import them explicitly; heavy ones load torch.
"""

__version__ = "0.1.0"
