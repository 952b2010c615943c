"""The build engine: generated pages to final HTML with Material's own templates, in parallel
and incrementally (DESIGN.md decision 1)."""
