"""GIS data integration: mapping files, readers, the importer and the completeness report.

- :mod:`hyperville.gis.mapping` — the YAML mapping file (which layer becomes which entity type);
- :mod:`hyperville.gis.readers` — GeoPackage, Shapefile, GeoJSON (pyogrio) and CSV, reprojected
  to WGS84 with pyproj;
- :mod:`hyperville.gis.importer` — features → NGSI-LD entities → the twin, all or nothing per
  layer, idempotent re-imports;
- :mod:`hyperville.gis.report` — completeness and quality of the twin's data.

See ``docs/import.md``.
"""
