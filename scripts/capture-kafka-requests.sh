#!/usr/bin/env bash
# Refreshes the golden request/response fixtures under test/kafka/protocol/fixtures/ by running
# kcat, confluent-kafka (Debian and the venv of scripts/fetch-python-clients.sh), kafka-python and
# the Java tools of Kafka 3.9/4.x (scripts/fetch-kafka.sh) against our broker through a recorder.
# Compiles into a private directory so the shared dist/ is left alone.
#   scripts/capture-kafka-requests.sh [client-label]   e.g. java-4.x, librdkafka-2.0.2
# Afterwards update COVERED in test/kafka/protocol/goldenCaptured.test.ts if the pairs changed.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json --outDir .build-capture
node .build-capture/test/kafka/protocol/captureKafkaRequests.js "$@"
