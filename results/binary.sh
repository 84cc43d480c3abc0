# Sourced by the result scripts: sets $binary to $CAUSALREC, or builds the release binary.
binary=${CAUSALREC:-}
if [[ -z "$binary" ]]; then
  swift build -c release --product causalrec >/dev/null
  binary=.build/release/causalrec
fi
# OpenBLAS's idle pool threads (one per core, started when it loads) would spin beside training.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
