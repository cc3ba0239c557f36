//! The coordinator's parts that are pure parsing of hostile bytes, as a library so that they can be
//! fuzzed (see `scanner/fuzz`). The binary is `main.rs`.

pub mod answer;
