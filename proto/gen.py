"""Regenerate each platform's protobuf code (dylived/platforms/<name>/_pb/) from its .proto files.

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


REPO = Path(__file__).resolve().parent.parent
# Every platform keeps its schema next to its generated code: dylived/platforms/<name>/_pb/.
SCHEMA_DIRS = sorted(
    d for d in (REPO / "dylived" / "platforms").glob("*/_pb") if any(d.glob("*.proto"))
)
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi")


def generate(proto_dir: Path, out_dir: Path) -> None:
    """Run protoc (from grpc_tools) on every .proto file of proto_dir into out_dir."""
    from grpc_tools import protoc

    protos = sorted(str(p.name) for p in proto_dir.glob("*.proto"))
    args = ["protoc", f"-I{proto_dir}", f"--python_out={out_dir}", f"--pyi_out={out_dir}", *protos]
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
    if not SCHEMA_DIRS:
        print("no .proto files under dylived/platforms/*/_pb/", file=sys.stderr)
        return 1
    if not args.check:
        for schema_dir in SCHEMA_DIRS:
            generate(schema_dir, schema_dir)
        return 0
    stale = []
    for schema_dir in SCHEMA_DIRS:
        with tempfile.TemporaryDirectory() as tmp:
            generate(schema_dir, Path(tmp))
            stale += [schema_dir / name for name in differences(Path(tmp), schema_dir)]
    for path in stale:
        print(f"generated file out of date: {path.relative_to(REPO)}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
