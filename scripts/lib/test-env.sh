# The environment of a test build, sourced by scripts/test.sh and .ci/run (so
# that CI's lints and tests share one build of the C code). Each value can be
# overridden from the environment. Measured in docs/development.md.
#
# - CFLAGS=-O0 -g0: librdkafka's build ignores Cargo's profile and compiles
#   with -O2 -g unless CFLAGS says otherwise, which alone took a quarter of a
#   cold test build; CXXFLAGS likewise for its C++ wrapper (built too). The C code of the other crates (SQLite, zstd) is built
#   by cc-rs, which already follows the dev profile (no optimization, and no
#   debug information for dependencies), so nothing else changes. Release
#   builds never see this: only these two scripts set it.
# - RUST_TEST_THREADS=16: most integration tests wait on processes and
#   services rather than compute; sixteen at a time keep two cores busy.
export CFLAGS=${CFLAGS--O0 -g0}
export CXXFLAGS=${CXXFLAGS--O0 -g0}
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-16}
export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}
export MONGO_URI=${MONGO_URI:-mongodb://127.0.0.1:27017}
