"""Local storage of upload bytes until the compressor holds them."""
