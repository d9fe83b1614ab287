"""Make Kubernetes JSON schemas that kubeconform can read from disk, without the internet.

kubeconform fetches its schemas from GitHub by default, which this project's machines and CI
cannot reach. The PyPI package kubernetes-validate ships the same OpenAPI-derived schemas for
every recent Kubernetes version, but each one names itself https://kubernetes.io/api/... and
points at /api/_definitions.json, which a validator would then try to download. This copies one
version's schemas into OUT/<version>-local[-strict]/ with those references made relative to the
file, so kubeconform resolves them next to it:

    python deploy/k8s/vendor_schemas.py --version 1.33.0 --out .tools/k8s-schemas
    kubeconform -schema-location 'OUT/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json' ...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import kubernetes_validate


def rewrite(node: object) -> object:
    if isinstance(node, dict):
        return {key: (value.replace("/api/_definitions.json#", "_definitions.json#") if key == "$ref" and isinstance(value, str)
                      else rewrite(value))
                for key, value in node.items() if key != "$id"}
    if isinstance(node, list):
        return [rewrite(item) for item in node]
    return node


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--version", required=True, help="Kubernetes version, e.g. 1.33.0")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    shipped = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    count = 0
    for flavour in ("local", "local-strict"):
        source = shipped / f"v{args.version}-{flavour}"
        if not source.is_dir():
            raise SystemExit(f"kubernetes-validate has no schemas for Kubernetes {args.version} ({source} is missing)")
        target = args.out / f"v{args.version}-{flavour}"
        target.mkdir(parents=True, exist_ok=True)
        for schema in source.glob("*.json"):
            (target / schema.name).write_text(json.dumps(rewrite(json.loads(schema.read_text()))))
            count += 1
    print(f"{count} schemas for Kubernetes {args.version} in {args.out}")


if __name__ == "__main__":
    main()
