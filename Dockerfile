# Builds the causalrec binary and runs it on Debian 12 with librdkafka from Debian.
FROM swift:6.1-bookworm AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librdkafka-dev libopenblas-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product causalrec --static-swift-stdlib

FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librdkafka1 libopenblas0-pthread ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/.build/release/causalrec /usr/local/bin/causalrec
# OpenBLAS would start a spinning thread per core when it loads; causalrec parallelises above it.
ENV OPENBLAS_NUM_THREADS=1
ENTRYPOINT ["/usr/local/bin/causalrec"]
CMD ["run", "--config", "/etc/causalrec/pipeline.yaml"]
