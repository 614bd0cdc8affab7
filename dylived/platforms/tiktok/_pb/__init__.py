"""Generated from proto/tiktok.proto by proto/gen.py with the pinned grpcio-tools. Never edit by hand."""
