# The two set-up commands of README.md.
.PHONY: run test build demo clean

# OpenBLAS starts a thread per core when it loads, and its idle threads spin for a while, taking
# CPU from training; causalrec calls it from one thread at a time (docs/architecture.md).
export OPENBLAS_NUM_THREADS = 1

# The main job on the embedded default: mock cluster + paced simulator + the service, ~2 minutes.
run:
	scripts/setup-debian.sh
	swift build -c release
	.build/release/causalrec demo

# All tests, against a real broker process (tansu) started and stopped here. .ci/run calls this.
test:
	scripts/test.sh

build:
	scripts/setup-debian.sh
	swift build -c release

clean:
	rm -rf .build .tools
