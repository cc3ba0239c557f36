//! Shared bounded readers of container files: each caps what it reads, so a hostile file costs little.
//! The runtime kinds (`crate::kinds`) read through these; a reader of one runtime's own format (Go build
//! info, the PE version resource) lives with that runtime instead.

pub mod binary;
pub mod bounded;
pub mod byte_search;
pub mod elf;
pub mod jar;
pub mod json_parser;
pub mod os_release;
pub mod paths;
pub mod process;
pub mod zip;
