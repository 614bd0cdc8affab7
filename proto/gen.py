"""Regenerate dylived/wire/_pb/ from proto/*.proto with the pinned grpcio-tools.

    python proto/gen.py            write the generated modules
    python proto/gen.py --check    exit 1 if the committed modules differ from a fresh build

The generator is pinned (grpcio-tools==1.85.1, protoc 35.1, gencode for protobuf 7.35.1) in the
`test` extra of pyproject.toml; never use Debian's protoc 3.21 (see
shared/research/ecosystem.md section 5).
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path


PROTO_DIR = Path(__file__).resolve().parent
OUT_DIR = PROTO_DIR.parent / "dylived" / "wire" / "_pb"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi")


def generate(out_dir: Path) -> None:
    """Run protoc (from grpc_tools) on every .proto file into out_dir."""
    from grpc_tools import protoc

    protos = sorted(str(p.name) for p in PROTO_DIR.glob("*.proto"))
    args = ["protoc", f"-I{PROTO_DIR}", f"--python_out={out_dir}", f"--pyi_out={out_dir}", *protos]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def differences(fresh: Path, committed: Path) -> list[str]:
    """Names of generated files that differ, are missing, or are stale."""
    names = {
        p.name
        for d in (fresh, committed)
        for p in d.iterdir()
        if p.name.endswith(GENERATED_SUFFIXES)
    }
    return sorted(
        n
        for n in names
        if not (fresh / n).exists()
        or not (committed / n).exists()
        or not filecmp.cmp(fresh / n, committed / n, shallow=False)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    if not args.check:
        generate(OUT_DIR)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        diff = differences(Path(tmp), OUT_DIR)
    for name in diff:
        print(f"generated file out of date: dylived/wire/_pb/{name}", file=sys.stderr)
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
