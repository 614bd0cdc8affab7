"""Generated from douyin.proto (here) by proto/gen.py with the pinned grpcio-tools. Never edit by hand."""
