//! Bounded reads: nothing in this crate reads a file without a limit.

use crate::root::Root;
use std::io::{self, Read};

/// Reads at most `limit` bytes from the start of a regular file inside the root.
pub fn read_prefix(root: &dyn Root, path: &str, limit: usize) -> io::Result<Vec<u8>> {
    let file = root.open(path)?;
    let mut data = Vec::with_capacity(limit.min(64 * 1024));
    file.take(limit as u64).read_to_end(&mut data)?;
    Ok(data)
}
