"""A deterministic demo territory modelled on Caux Seine Agglo, written as standard GIS files.

See ``docs/demo-territory.md``: what is public fact, what is invented, and the licences.
"""

from .generator import TerritoryFiles, build_tables, generate_territory, territory_outline

__all__ = ["TerritoryFiles", "build_tables", "generate_territory", "territory_outline"]
