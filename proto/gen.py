"""Regenerate the protobuf gencode from proto/*.proto with the pinned grpcio-tools.

Each .proto goes to the package named in OUT_DIRS (default dylived/wire/_pb/).

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
# a .proto whose gencode lives elsewhere than OUT_DIR → that package's directory
OUT_DIRS = {"tiktok.proto": PROTO_DIR.parent / "dylived" / "platforms" / "tiktok" / "_pb"}


def targets() -> dict[Path, list[str]]:
    """Each output directory → the .proto files generated into it."""
    groups: dict[Path, list[str]] = {}
    for proto in sorted(PROTO_DIR.glob("*.proto")):
        groups.setdefault(OUT_DIRS.get(proto.name, OUT_DIR), []).append(proto.name)
    return groups


def generate(out_dir: Path, protos: list[str]) -> None:
    """Run protoc (from grpc_tools) on the given .proto files into out_dir."""
    from grpc_tools import protoc

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
    stale: list[str] = []
    for out_dir, protos in targets().items():
        if not args.check:
            generate(out_dir, protos)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp), protos)
            where = out_dir.relative_to(PROTO_DIR.parent)
            stale += [f"{where}/{name}" for name in differences(Path(tmp), out_dir)]
    for name in stale:
        print(f"generated file out of date: {name}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
