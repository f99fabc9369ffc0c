#!/usr/bin/env bash
# Vendor dtool-lookup and its dependencies for AWS Lambda (python3.12, x86_64)
# into infra/aws/build/, the CodeUri of template.yaml. Then deploy:
#   sam deploy --guided --template-file infra/aws/template.yaml
# Needs pip and network access to PyPI. Pure-Python packages published only as
# source are built into wheels here first; everything compiled is fetched as a
# manylinux wheel for the Lambda runtime, whatever this machine runs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
lambda_python=${LAMBDA_PYTHON_VERSION:-3.12}
platform=${LAMBDA_PLATFORM:-manylinux2014_x86_64}
out=${1:-$here/build}

wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT

# 1. Wheels of this project and of every dependency, for this machine.
"$python" -m pip wheel --quiet --wheel-dir "$wheels" "$root[postgres,s3,lambda]"
# 2. Install for Lambda: the locally built pure-Python wheels where they fit,
#    manylinux wheels from PyPI for the rest.
rm -rf "$out"
"$python" -m pip install --quiet --target "$out" \
    --platform "$platform" --implementation cp --python-version "$lambda_python" \
    --only-binary=:all: --find-links "$wheels" \
    "$(ls "$wheels"/dtool_lookup-*.whl)[postgres,s3,lambda]"
# Lambda supplies its own; and nothing reads the compiled caches.
rm -rf "$out"/bin
find "$out" -name __pycache__ -type d -prune -exec rm -rf {} +
echo "built $(du -sh "$out" | cut -f1) in $out"
