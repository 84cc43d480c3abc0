# The two set-up commands of README.md.
.PHONY: run test build demo clean

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
