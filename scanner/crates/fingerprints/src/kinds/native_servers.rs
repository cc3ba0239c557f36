//! Native servers (PostgreSQL), recognised by a string constant of the executable. Not a runtime kind
//! of their own: they are reported as the container's runtime when no kind applies, or after an
//! interpreter the server embeds (see [`crate::kinds::Kind::then_native_servers`]).

use crate::kinds::{Detected, Evidence};
use crate::read::binary::Binary;
use crate::read::byte_search::leading_version;
use crate::read::paths::file_name;
use crate::values;

/// A native server recognised by a string constant in its executable: the text after `needle` starts
/// with the version. `exe_names` limits the (costly) scan to executables with one of these names.
#[derive(Debug, Clone, Copy)]
pub struct BinaryRule {
    pub name: &'static str,
    pub exe_names: &'static [&'static str],
    pub needle: &'static [u8],
}

pub const BINARY_RULES: &[BinaryRule] = &[BinaryRule {
    name: "PostgreSQL",
    exe_names: &["postgres", "postmaster"],
    needle: b"\0PostgreSQL ",
}];

/// The entry point: the native server the process's executable is, if any.
pub fn detect(evidence: &Evidence<'_>) -> Option<Detected> {
    detect_binary(evidence.exe()?)
}

/// A native server identified by a string constant of its executable.
pub fn detect_binary(bin: &Binary) -> Option<Detected> {
    let name = file_name(&bin.path);
    BINARY_RULES
        .iter()
        .filter(|r| r.exe_names.contains(&name))
        .find_map(|rule| {
            let version = bin.find_string(rule.needle, |_, rest| {
                leading_version(rest).and_then(values::version)
            })?;
            Some(Detected {
                name: rule.name.to_owned(),
                version: Some(version),
            })
        })
}
