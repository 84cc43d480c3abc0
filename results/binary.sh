# Sourced by the result scripts: sets $binary to $CAUSALREC, or builds the release binary.
binary=${CAUSALREC:-}
if [[ -z "$binary" ]]; then
  swift build -c release --product causalrec >/dev/null
  binary=.build/release/causalrec
fi
