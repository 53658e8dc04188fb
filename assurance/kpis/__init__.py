"""Performance management: KPI ingest (COPY into staging, set-based insert), rollups,
thresholds with hysteresis, partitions and retention, the lab generator, and the charts of the
KPIs along a service's path.

- `assurance.kpis.ingest.kpi_samples_ingest(rows)`: store a batch, answer per rejected row;
- `assurance.kpis.partitions`: daily partitions ahead, retention of samples and rollups;
- `assurance.kpis.generator.kpi_series_generate(...)`: believable lab series;
- `assurance.kpis.selectors.service_path_kpis(service_id)`: what the charts draw.
"""
