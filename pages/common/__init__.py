"""App-layer helpers shared by the pages: session keys, cached resources, sidebar, image input."""
