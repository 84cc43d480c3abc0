// The librdkafka C API plus its embedded mock cluster (rdkafka_mock.h), imported into Swift as
// `CRdKafka`. Debian 12 ships librdkafka 2.0.2 in `librdkafka-dev`; the headers are ABI-compatible
// with newer runtimes (the tests run against 2.16 from the confluent-kafka wheel).
#pragma once
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
